"""Money as exact integer đồng: reading spreadsheet cells, percentage tests, vi-VN display.

Inside the engine every amount is an ``int`` number of đồng (``int64`` in frames); people read
triệu đồng. Decisions never use floats:

* :func:`parse_amount` / :func:`parse_amount_column` turn cells (numbers, vi-VN or en-US text)
  into đồng with :class:`~decimal.Decimal` or a verified numpy fast path, and report every
  cell they could not read exactly instead of raising.
* :func:`below_pct` is the exact threshold test ``numerator / denominator < pct %``
  ("dưới 50%" is strictly below; R-CALC-4).
* :func:`format_trieu`, :func:`format_dong` render vi-VN amounts ("17.410,437") with integer
  arithmetic, rounding half away from zero; rates ("49,99") are truncated, never rounded up
  (:func:`rate_scaled`, the one rate display policy).

Number notation (R-PARSE-2). vi-VN writes "1.234.567" and "12.345,5"; en-US "1,234,567.5".
A string that is valid in only one notation is read in that notation. A string valid in
both with different values ("1.234", "1,234") is *ambiguous*: read as vi-VN
("1.234" = 1234, "1,234" = 1,234) and flagged, unless the caller passes ``style`` or
:func:`infer_style` finds evidence in the rest of the column. A cell that contradicts an
explicit style is still read by its structure, with a problem note, because the structure
is unambiguous (T8 shows how English re-publications garble magnitudes; the pipeline must
sanity-check totals anyway).

Unit words inside a cell ("1.234 triệu", "5 tỷ đồng", "VND 1,926,908 billion") are accepted:
the cell's own unit is used, and a note is added when it differs from the column's unit.
"""

from __future__ import annotations

import math
import numbers
import operator
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import TYPE_CHECKING, Any

from disbursement.text import fold

if TYPE_CHECKING:  # pragma: no cover
    import numpy as np

__all__ = [
    "MAX_DONG",
    "UNITS",
    "UNIT_KEYS",
    "UNIT_TABLE",
    "ParsedAmount",
    "Unit",
    "below_pct",
    "below_pct_array",
    "detect_foreign_unit",
    "detect_unit",
    "format_dong",
    "format_pct",
    "format_rate",
    "format_rates",
    "format_trieu",
    "infer_style",
    "parse_amount",
    "parse_amount_column",
    "rate_scaled",
    "trieu_float",
    "unit_in_header",
    "unit_label",
]

#: Largest amount accepted, in đồng (fits int64 with room for sums of a few columns).
MAX_DONG = 10**18

_CTX = Context(prec=200)
_ONE = Decimal(1)
_FAST_LIMIT = 10**15  # |đồng| below this: float64 round trips are provably exact
_MAX_TEXT = 80  # longer strings are not amounts

# --- units ---------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class Unit:
    """One unit an amount column may be written in: the one unit table (R-PARSE-1).

    ``key`` is the ``--unit`` value; ``dong`` the đồng per unit; ``vi`` / ``en`` how a document
    names it; ``bare`` the folded words that name it alone ("(Tr.đ)", "ĐVT: đồng");
    ``multiple`` the words of its multiple before a currency word ("triệu đồng", "1.000 đồng");
    ``english`` the English multiple after the currency ("VND million").
    """

    key: str
    dong: int
    vi: str
    en: str
    bare: tuple[str, ...]
    multiple: str = ""
    english: str = ""


#: The units of amounts, smallest first. Units in another currency (USD, EUR …) are not in the
#: table and are refused, never read as đồng (:func:`detect_foreign_unit`).
UNIT_TABLE: tuple[Unit, ...] = (
    Unit("dong", 1, "đồng", "VND", ("dong", "vnd", "d")),
    Unit("nghin", 1_000, "nghìn đồng", "VND thousand", ("nghin", "ngan"),
         r"nghin|ngan|thousand|(?<![\d.,])1[.,]?000", "thousand"),
    Unit("trieu", 1_000_000, "triệu đồng", "VND million", ("trieu", "tr"),
         r"trieu|tr|million|mn", "million|mn"),
    Unit("ty", 1_000_000_000, "tỷ đồng", "VND billion", ("ty",), r"ty|billion|bn", "billion|bn"),
)
UNITS: dict[str, int] = {u.key: u.dong for u in UNIT_TABLE}
UNIT_KEYS: tuple[str, ...] = tuple(UNITS)  # the CLI's --unit choices
_BY_KEY = {u.key: u for u in UNIT_TABLE}


def unit_label(key: str, lang: str = "vi") -> str:
    """How a document names a unit of :data:`UNIT_TABLE`: "trieu" → "triệu đồng" / "VND million"."""
    unit = _BY_KEY[key]
    return unit.en if lang == "en" else unit.vi


_LARGEST_FIRST = tuple(reversed(UNIT_TABLE))
_CUR = "(?:" + "|".join(_BY_KEY["dong"].bare) + ")"
_MULT_CUR = [
    (u.key, re.compile(rf"(?<![a-z])(?:{u.multiple})\s*\.?\s*{_CUR}(?![a-z])"))
    for u in _LARGEST_FIRST if u.multiple
]
_CUR_ENGLISH = [
    (u.key, re.compile(rf"(?<![a-z]){_CUR}\s*(?:{u.english})(?![a-z])"))
    for u in _LARGEST_FIRST if u.english
]
_BARE = {word: u.key for u in _LARGEST_FIRST for word in u.bare}
_BARE_RE = "(" + "|".join(_BARE) + r")(?![a-z])"
_LABEL = re.compile(r"(?<![a-z])(?:don vi tinh|don vi|dvt)(?![a-z])\s*[:.]?\s*\(?\s*" + _BARE_RE)
_PAREN = re.compile(r"\(\s*" + _BARE_RE + r"\s*\)")
_WHOLE = re.compile(r"[\s(\[]*" + _BARE_RE + r"[\s.)\]:]*")
_VND = re.compile(r"(?<![a-z])vnd(?![a-z])")
_TRILLION = re.compile(r"(?<![a-z])(?:(?:nghin|ngan)\s*ty|trillion)(?![a-z])")


# Units in another currency ("Đơn vị: nghìn USD", "(triệu USD)"): never read as đồng.
_FOREIGN = re.compile(
    r"(?<![a-z])(?:(nghin|ngan|trieu|ty|ngan|nghin ty)\s*)?"
    r"(usd|us\$|eur|euro|jpy|yen|cny|rmb|nhan dan te|krw|won|sdr|do la(?: my)?|dola)(?![a-z])"
)
_UNIT_WORDS = re.compile(r"(?<![a-z])(don vi tinh|don vi|dvt)(?![a-z])")


def detect_foreign_unit(text: str, header: bool = False) -> str | None:
    """The foreign-currency unit a unit line ("Đơn vị tính: nghìn USD") or an amount header
    ("Kế hoạch vốn (triệu USD)", `header=True`) names, as written folded; else None."""
    if not isinstance(text, str) or not text.strip():
        return None
    f = fold(text)
    m = _FOREIGN.search(f)
    if m is None or not (header or _UNIT_WORDS.search(f) or m[1] or f.startswith("(")):
        return None
    return m[0]


def unit_in_header(text: str) -> str | None:
    """The unit a unit line or header text names, a key of :data:`UNIT_TABLE`, or ``None``:
    the one unit detector (sheet unit lines, amount headers, the overrides and approved-figures
    tables, the words in a cell).

    Accepts "Đơn vị: triệu đồng", "ĐVT: đồng", "Đơn vị tính: tỷ đồng", "nghìn đồng",
    "ngàn đồng", "1.000 đồng" (nghìn), "(triệu đồng)", "Tr.đ", "trđ", "VNĐ", "VND", "đồng",
    "billion VND"; with or without diacritics, any case, NFC or NFD. "Tỷ lệ (%)" and
    "Giá trị hợp đồng" have no unit. "nghìn tỷ đồng" (10¹² đồng) is not a unit of
    :data:`UNITS` and gives ``None`` rather than a wrong "tỷ".

    >>> unit_in_header("Đơn vị tính: Triệu đồng")
    'trieu'
    >>> unit_in_header("Tỷ lệ giải ngân (%)") is None
    True
    """
    if not isinstance(text, str) or not text.strip():
        return None
    f = fold(text)
    if _TRILLION.search(f):
        return None
    for name, pattern in _MULT_CUR + _CUR_ENGLISH:
        if pattern.search(f):
            return name
    for pattern in (_LABEL, _PAREN):
        m = pattern.search(f)
        if m:
            return _BARE[m[1]]
    m = _WHOLE.fullmatch(f)
    if m:
        return _BARE[m[1]]
    if _VND.search(f):
        return "dong"
    return None


_CELL_TRILLION = re.compile(rf"(?:(?:nghin|ngan)\s*ty|trillion)\s*{_CUR}?|{_CUR}\s*trillion")
_CELL_ENGLISH = {"billion": "ty", "bn": "ty", "million": "trieu", "mn": "trieu", "thousand": "nghin"}


detect_unit = unit_in_header  # the former name, kept for callers


def _cell_multiplier(text: str) -> int | None:
    """đồng per unit named by the words written next to a number in a cell, or None.

    Besides the :func:`unit_in_header` units, a cell may say "nghìn tỷ" / "trillion" (10¹²).
    """
    f = fold(text).strip(" .()")
    if _CELL_TRILLION.fullmatch(f):
        return 10**12
    unit = unit_in_header(text) or _CELL_ENGLISH.get(f)
    return UNITS[unit] if unit else None


# --- parsing -------------------------------------------------------------------------------
@dataclass(frozen=True, slots=True)
class ParsedAmount:
    """Result of reading one cell.

    ``dong`` is the amount in đồng (``0`` for a blank or a dash), or ``None`` when the cell is
    not an amount; ``problem`` explains anything the officer should look at (set together
    with ``dong`` for notes such as "fractional đồng rounded"); ``ambiguous`` is true when
    the text reads differently in vi-VN and en-US notation and vi-VN was assumed.
    """

    dong: int | None
    problem: str | None = None
    ambiguous: bool = False


_BLANK = ParsedAmount(0)
_DASHES = re.compile(r"[-\u2010-\u2015\u2212]+")
_SPACE_CHARS = re.compile(r"[\s\u00a0\u2007\u2009\u202f\u200a]+")
_NUMBER = re.compile(r"(?P<pre>[^0-9]*?)(?P<num>[.,]?[0-9](?:[0-9., ]*[0-9])?)(?P<post>[^0-9]*)")
_PRE = re.compile(r"(?P<text>.*?)(?P<sign>[\s(+\-\u2010-\u2015\u2212]*)", re.DOTALL)
_POST = re.compile(r"(?P<close>[\s)]*)(?P<text>.*)", re.DOTALL)
_SIMPLE = re.compile(r"(?P<sign>[-+\u2212]?)(?P<num>[.,]?[0-9](?:[0-9.,]*[0-9])?)")
_EXPONENT = re.compile(r"[0-9]+(?:[.,][0-9]+)?[eE][+-]?[0-9]+")
_EXCEL_ERRORS = frozenset(
    {
        "#REF!",
        "#DIV/0!",
        "#N/A",
        "#VALUE!",
        "#NAME?",
        "#NUM!",
        "#NULL!",
        "#SPILL!",
        "#CALC!",
        "#GETTING_DATA",
        "#FIELD!",
        "#BLOCKED!",
        "#CONNECT!",
        "#BUSY!",
        "#UNKNOWN!",
    }
)
_STYLES = (None, "vi", "en")
_STYLE_NAME = {"vi": "vi-VN", "en": "en-US"}
_COLUMN_OF = {"vi": "a vi-VN column", "en": "an en-US column"}


def _show(value: object) -> str:
    try:
        if isinstance(value, str):
            text = value
        elif isinstance(value, numbers.Number) and not isinstance(value, bool):
            text = str(value)  # np.int64(5) → "5"
        else:
            text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    return repr(text if len(text) <= 40 else text[:37] + "...")


def _not_amount(value: object, why: str = "") -> ParsedAmount:
    return ParsedAmount(None, f"not an amount: {_show(value)}{why}")


_VI = re.compile(r"(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:[. ][0-9]{3})+)?(?:,(?P<frac>[0-9]+))?")
_EN = re.compile(r"(?P<int>[0-9]+|[1-9][0-9]{0,2}(?:[, ][0-9]{3})+)?(?:\.(?P<frac>[0-9]+))?")


def _read(num: str, pattern: re.Pattern[str], thousands: str) -> Decimal | None:
    """Value of a digits-and-separators string in one notation, or None if invalid there.

    Thousands groups (``thousands`` or a space) must be complete: a head of 1–3 digits not
    starting with 0, then groups of exactly 3 digits.
    """
    m = pattern.fullmatch(num)
    if m is None or (m["int"] is None and m["frac"] is None):
        return None
    digits = (m["int"] or "0").replace(thousands, "").replace(" ", "")
    return Decimal(f"{digits}.{m['frac']}" if m["frac"] else digits)


def _readings(num: str) -> tuple[Decimal | None, Decimal | None]:
    """(vi-VN value, en-US value) of a number string; None where invalid in that notation."""
    return _read(num, _VI, "."), _read(num, _EN, ",")


def _to_dong(value: Decimal, multiplier: int) -> tuple[int | None, str | None]:
    dong = _CTX.multiply(value, Decimal(multiplier))
    if abs(dong) > MAX_DONG:
        return None, "amount out of range"
    if dong == dong.to_integral_value(context=_CTX):
        return int(dong), None
    rounded = dong.quantize(_ONE, rounding=ROUND_HALF_UP, context=_CTX)
    return int(rounded), "fractional đồng rounded"


def _from_float(x: float, unit: int) -> ParsedAmount:
    """Exact đồng from a float cell (see parse_amount); mirrored by the vectorised path."""
    x = float(x)
    if math.isnan(x):
        return _BLANK
    if math.isinf(x):
        return _not_amount(x)
    exact = _CTX.multiply(Decimal(repr(x)), Decimal(unit))
    if abs(exact) > MAX_DONG:
        return ParsedAmount(None, f"amount out of range: {_show(x)}")
    if exact == exact.to_integral_value(context=_CTX):
        return ParsedAmount(int(exact))
    # Binary noise of a computed cell (=0.1+0.2 → 0.30000000000000004): the float is within
    # 4 ulp of a whole number of đồng.
    r = round(x * unit)
    if abs(r) < _FAST_LIMIT and abs(r / unit - x) <= 4 * math.ulp(x):
        return ParsedAmount(r)
    return ParsedAmount(
        int(exact.quantize(_ONE, rounding=ROUND_HALF_UP, context=_CTX)),
        "fractional đồng rounded",
    )


def _split_number(text: str) -> tuple[str, str, bool, str] | None:
    """(number, unit text, negative, error) pieces of a cell text, or None if no number."""
    simple = _SIMPLE.fullmatch(text)
    if simple is not None:
        return simple["num"], "", bool(simple["sign"]) and simple["sign"] != "+", ""
    m = _NUMBER.fullmatch(text)
    if m is None:
        return None
    pre = _PRE.fullmatch(m["pre"])
    post = _POST.fullmatch(m["post"])
    if pre is None or post is None:  # pragma: no cover - both patterns match any text
        return None
    sign = pre["sign"].replace(" ", "")
    close = post["close"].replace(" ", "")
    opened = sign.count("(")
    minus = sum(sign.count(c) for c in "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212")
    if opened > 1 or opened != close.count(")") or minus + sign.count("+") > 1:
        return m["num"], "", False, "bad sign"
    unit_text = f"{pre['text']} {post['text']}".strip()
    return m["num"], unit_text, bool(opened or minus), ""


def _parse_text(value: str, unit: int, style: str | None) -> ParsedAmount:
    text = value.strip()
    if not text:
        return _BLANK
    if _DASHES.fullmatch(text):
        return _BLANK
    if len(text) > _MAX_TEXT:
        return _not_amount(value)
    if text.upper() in _EXCEL_ERRORS or (text.startswith("#") and text[-1:] in "!?"):
        return _not_amount(value, " (Excel error value)")
    if "%" in text:
        return _not_amount(value, " (a percentage)")
    text = _SPACE_CHARS.sub(" ", text)
    if _EXPONENT.fullmatch(text):
        mantissa = Decimal(text.replace(",", "."))
        dong, note = _to_dong(mantissa, unit)
        return ParsedAmount(dong, note if dong is not None else f"{note}: {_show(value)}")
    pieces = _split_number(text)
    if pieces is None:
        return _not_amount(value)
    num, unit_text, negative, error = pieces
    if error:
        return _not_amount(value)
    notes: list[str] = []
    multiplier = unit
    if unit_text:
        cell_multiplier = _cell_multiplier(unit_text)
        if cell_multiplier is None:
            return _not_amount(value)
        if cell_multiplier != unit:
            notes.append(f"unit {unit_text!r} in the cell used instead of the column unit")
        multiplier = cell_multiplier
    vi, en = _readings(num)
    ambiguous = False
    if vi is None and en is None:
        return _not_amount(value)
    if style is None:
        if vi is not None and en is not None and vi != en:
            ambiguous = True
        number = vi if vi is not None else en
    else:
        preferred, other = (vi, en) if style == "vi" else (en, vi)
        if preferred is not None:
            number = preferred
        else:
            number = other
            written = "en" if style == "vi" else "vi"
            notes.append(f"{_STYLE_NAME[written]} number {value.strip()!r} in {_COLUMN_OF[style]}")
    assert number is not None
    if negative:
        number = -number
    dong, note = _to_dong(number, multiplier)
    if dong is None:
        return ParsedAmount(None, f"{note}: {_show(value)}")
    if note:
        notes.append(note)
    return ParsedAmount(dong, "; ".join(notes) or None, ambiguous)


def parse_amount(value: Any, unit: int = 1_000_000, style: str | None = None) -> ParsedAmount:
    """Read one cell as an exact number of đồng. Never raises on any ``value``.

    ``unit`` is the đồng per unit of the column (``UNITS["trieu"]`` by default); ``style`` is
    ``"vi"``, ``"en"`` or ``None`` (decide from the string; see the module docstring).

    * ``None``, ``""``, whitespace and dashes ("-", "–", "—") are 0 (not a problem).
    * ``int`` and ``Decimal`` are exact; ``float`` is read as its shortest decimal
      (``Decimal(repr(x))``: 17410.437 triệu → 17_410_437_000 đồng). A float within 4 ulp of a
      whole number of đồng is taken as that number (binary noise of formula cells); NaN is
      blank.
    * Text: vi-VN ("1.234.567", "12.345,5", NBSP/thin-space grouping) or en-US
      ("1,234,567.5"); "(1.234)" and "-1.234" are negative; unit words before or after the
      number are used ("1.234 triệu", "5 tỷ đồng").
    * Fractions of a đồng are rounded half away from zero, with
      ``problem="fractional đồng rounded"``.
    * Percentages ("45,2%"), Excel errors ("#REF!"), booleans, dates and free text give
      ``dong=None`` and a problem such as ``"not an amount: '#REF!' (Excel error value)"``.

    >>> parse_amount(" 17.410,437 ")
    ParsedAmount(dong=17410437000, problem=None, ambiguous=False)
    >>> parse_amount("1.234").ambiguous
    True
    """
    if style not in _STYLES:
        raise ValueError(f"style must be 'vi', 'en' or None, not {style!r}")
    if isinstance(unit, bool) or not isinstance(unit, int) or unit <= 0:
        raise ValueError(f"unit must be a positive int number of đồng, not {unit!r}")
    try:
        if value is None:
            return _BLANK
        if isinstance(value, str):
            return _parse_text(value, unit, style)
        if isinstance(value, bool) or type(value).__name__ == "bool_":
            return _not_amount(value)
        if isinstance(value, numbers.Integral):
            dong, note = _to_dong(Decimal(int(value)), unit)
            return ParsedAmount(dong, None if dong is not None else f"{note}: {_show(value)}")
        if isinstance(value, float) or type(value).__name__ in ("float32", "float16"):
            return _from_float(float(value), unit)
        if isinstance(value, Decimal):
            if value.is_nan():
                return _BLANK if value.is_qnan() else _not_amount(value)
            if not value.is_finite():
                return _not_amount(value)
            dong, note = _to_dong(value, unit)
            if dong is None:
                return ParsedAmount(None, f"{note}: {_show(value)}")
            return ParsedAmount(dong, note)
        if hasattr(value, "isoformat"):  # a date/time cell: the number is shown as a date
            return _not_amount(value.isoformat(), " (a date; check the cell's number format)")
        return _not_amount(value)
    except Exception:  # never let one odd cell stop a run
        return _not_amount(value)


def infer_style(strings: Iterable[str]) -> str | None:
    """Decide vi-VN (``"vi"``) or en-US (``"en"``) notation for a column from its text cells.

    A string counts as evidence when it is valid in only one notation: "1.234.567",
    "1.234,5", "12,5" are vi-VN; "1,234,567", "1,234.5", "12.5" are en-US. Strings that read
    the same in both ("1234") or differently ("1.234") are no evidence. Returns the notation
    with evidence in at least twice as many strings (every occurrence counts) as the other,
    else ``None``. Non-strings are ignored.

    >>> infer_style(["1.234", "12.345,5"])
    'vi'
    """
    return _style_from_counts(Counter(s for s in strings if isinstance(s, str)))


def _style_from_counts(counts: Mapping[str, int]) -> str | None:
    """:func:`infer_style` over distinct strings with their number of occurrences."""
    vi_count = en_count = 0
    for value, times in counts.items():
        if len(value) > _MAX_TEXT or "%" in value:
            continue
        text = _SPACE_CHARS.sub(" ", value.strip())
        pieces = _split_number(text) if text else None
        if pieces is None:
            continue
        vi, en = _readings(pieces[0])
        if vi is not None and en is None:
            vi_count += times
        elif en is not None and vi is None:
            en_count += times
    if vi_count >= 2 * en_count and vi_count > en_count:
        return "vi"
    if en_count >= 2 * vi_count and en_count > vi_count:
        return "en"
    return None


def _fast_floats(x: np.ndarray, unit: int) -> tuple[np.ndarray, np.ndarray]:
    """Vectorised :func:`_from_float` for the cells it can decide exactly.

    Returns (đồng as float64, ok mask). ``ok`` holds where ``r = rint(x·unit)`` satisfies
    ``|r| < 10**15`` and ``|r/unit - x| ≤ 4 ulp(x)``; for those cells the scalar function
    returns exactly ``r`` (for ``r/unit == x`` the shortest repr of ``x`` *is* ``r/unit``,
    since decimals of ≤ 15 significant digits are unique as doubles). The rest (fractions,
    huge values, NaN, inf) go through the scalar path.
    """
    import numpy as np

    with np.errstate(invalid="ignore", over="ignore"):
        r = np.rint(x * float(unit))
        ok = np.abs(r) < _FAST_LIMIT
        ok &= np.abs(r / float(unit) - x) <= 4 * np.spacing(np.abs(x))
    return r, ok


def _ambiguity_note(text: str) -> str:
    return f"ambiguous number {text.strip()!r}: read as vi-VN (en-US would differ)"


def parse_amount_column(
    values: Sequence[Any], unit: int, style: str | None = None
) -> tuple[np.ndarray, np.ndarray, list[tuple[int, str]]]:
    """Read a whole column (as python-calamine returns it) into exact đồng, vectorised.

    Returns ``(amounts, was_blank, problems)``: an ``int64`` array of đồng (0 where blank or
    unreadable), a bool array true for empty cells (None, NaN, "" or whitespace; a dash is
    an explicit zero, not blank) and a list of ``(position, problem)`` for every cell that
    was unreadable, ambiguous, rounded or otherwise noteworthy (positions are 0-based
    indexes into ``values``). Each cell gets exactly what :func:`parse_amount` gives it with
    the column's ``style`` (by default :func:`infer_style` of the column's strings).

    Numbers go through a numpy fast path that is exact (see :func:`_fast_floats`); each
    distinct string is parsed once.
    """
    import numpy as np

    if style not in _STYLES:
        raise ValueError(f"style must be 'vi', 'en' or None, not {style!r}")
    if isinstance(unit, bool) or not isinstance(unit, int) or unit <= 0:
        raise ValueError(f"unit must be a positive int number of đồng, not {unit!r}")

    dtype = getattr(values, "dtype", None)
    if dtype is not None and getattr(dtype, "kind", "") in "fiu":
        items: Any = np.asarray(values)
        numeric = np.arange(len(items))
        floats = items.astype(np.float64)
        others: list[int] = []
        strings: dict[int, str] = {}
        nones: list[int] = []
    else:
        items = values if isinstance(values, list) else list(values)
        kinds = set(map(type, items))
        floats = None
        if str in kinds and kinds <= {float, int, str, type(None)}:
            # python-calamine gives "" for an empty cell, which reads exactly as None (blank):
            # numbers and empty cells together still take the vectorised path.
            cells = np.array(items, dtype=object)
            empty = cells == ""
            if empty.any() and str not in set(map(type, cells[~empty])):
                cells[empty] = None
                items = cells.tolist()
                kinds = (kinds - {str}) | {type(None)}
        if kinds <= {float, int, type(None)}:
            try:
                floats = np.array(items, dtype=np.float64)
            except (OverflowError, TypeError, ValueError):
                floats = None
        others, strings, nones = [], {}, []
        if floats is not None:
            numeric = np.arange(len(items))  # None became NaN: blank
        else:
            num_idx: list[int] = []
            for i, v in enumerate(items):
                t = type(v)
                if t is float or (t is int and -(2**53) <= v <= 2**53):
                    num_idx.append(i)
                elif t is str:
                    strings[i] = v
                elif v is None:
                    nones.append(i)
                else:
                    others.append(i)
            numeric = np.array(num_idx, dtype=np.intp)
            floats = np.array([items[i] for i in num_idx], dtype=np.float64)

    n = len(items)
    amounts = np.zeros(n, dtype=np.int64)
    blank = np.zeros(n, dtype=bool)
    problems: list[tuple[int, str]] = []

    if len(numeric):
        nan = np.isnan(floats)
        blank[numeric[nan]] = True
        r, ok = _fast_floats(floats, unit)
        amounts[numeric[ok]] = r[ok].astype(np.int64)
        others.extend(numeric[~ok & ~nan].tolist())
    blank[nones] = True

    for i in others:
        parsed = parse_amount(items[i], unit)
        if parsed.dong is not None:
            amounts[i] = parsed.dong
        if parsed.problem:
            problems.append((i, parsed.problem))

    if strings:
        unique = Counter(strings.values())
        column_style = style if style is not None else _style_from_counts(unique)
        # per distinct text: (đồng or 0, blank?, problem note or None)
        outcome: dict[str, tuple[int, bool, str | None]] = {}
        for s in unique:
            parsed = parse_amount(s, unit, column_style)
            notes = [parsed.problem] if parsed.problem else []
            if parsed.ambiguous:
                notes.append(_ambiguity_note(s))
            outcome[s] = (parsed.dong or 0, not s.strip(), "; ".join(notes) or None)
        positions = list(strings)
        results = [outcome[s] for s in strings.values()]
        amounts[positions] = [r[0] for r in results]
        blank[positions] = [r[1] for r in results]
        problems.extend((i, r[2]) for i, r in zip(positions, results, strict=True) if r[2])

    problems.sort(key=lambda item: item[0])
    return amounts, blank, problems


# --- decisions -----------------------------------------------------------------------------
def below_pct(numerator: int, denominator: int, pct: int) -> bool:
    """Exact ``numerator / denominator < pct %`` as ``numerator * 100 < pct * denominator``.

    "dưới 50%" is strictly below: 499.999 of 1.000.000 is below 50, 500.000 is not.
    """
    return numerator * 100 < pct * denominator


def below_pct_array(numerator: np.ndarray, denominator: np.ndarray, pct: int) -> np.ndarray:
    """Element-wise :func:`below_pct` for int64 arrays, exact without overflow.

    Uses int64 arithmetic when every product fits (amounts up to ~9·10¹⁶ đồng); otherwise
    falls back to Python integers.
    """
    import numpy as np

    pct = operator.index(pct)  # an int: a float threshold would not be exact
    num = np.asarray(numerator, dtype=np.int64)
    den = np.asarray(denominator, dtype=np.int64)
    limit = np.iinfo(np.int64).max
    biggest_num = max(abs(int(num.min())), abs(int(num.max()))) if num.size else 0
    biggest_den = max(abs(int(den.min())), abs(int(den.max()))) if den.size else 0
    if biggest_num * 100 <= limit and biggest_den * abs(pct) <= limit:
        return num * 100 < den * pct
    num_o, den_o = np.broadcast_arrays(num.astype(object), den.astype(object))
    flat = [int(a) * 100 < pct * int(b) for a, b in zip(num_o.ravel(), den_o.ravel(), strict=True)]
    return np.array(flat, dtype=bool).reshape(num_o.shape)


# --- display -------------------------------------------------------------------------------
def _group(n: int) -> str:
    return f"{n:,}".replace(",", ".")


def _round_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half away from zero (denominator > 0)."""
    q, r = divmod(abs(numerator), denominator)
    if 2 * r >= denominator:
        q += 1
    return -q if numerator < 0 else q


def _decimal_text(scaled: int, decimals: int) -> str:
    """vi-VN text of ``scaled / 10**decimals`` (scaled already rounded)."""
    sign = "-" if scaled < 0 else ""
    whole, frac = divmod(abs(scaled), 10**decimals)
    text = _group(whole)
    if decimals:
        text += "," + str(frac).zfill(decimals)
    return sign + text


def format_trieu(dong: int, decimals: int = 3) -> str:
    """đồng → vi-VN triệu đồng text: 17_410_437_000 → "17.410,437"; -1_234_500_000 →
    "-1.234,500". Exact; rounds half away from zero at the last decimal."""
    dong = int(dong)
    if decimals < 0:
        raise ValueError("decimals must be >= 0")
    if decimals > 6:
        return _decimal_text(dong * 10 ** (decimals - 6), decimals)
    return _decimal_text(_round_div(dong, 10 ** (6 - decimals)), decimals)


def format_dong(dong: int) -> str:
    """đồng → vi-VN text with "." grouping: 17_410_437_000 → "17.410.437.000"."""
    dong = int(dong)
    return ("-" if dong < 0 else "") + _group(abs(dong))


def rate_scaled(num: int, den: int, decimals: int = 2) -> int | None:
    """The one rate display policy: ``num / den`` in percent, scaled by ``10**decimals`` and
    truncated toward zero, in integers; ``None`` when ``den == 0`` (rate undefined, R-CALC-2).

    Truncation, never rounding up, is what keeps a line under a threshold from ever reading as
    the threshold (499.960.000 of 1.000.000.000 is "49,99", not "50,00"): every output that
    shows a rate (terminal, JSON display strings, flags, register, memo, appendix) goes
    through this function.
    """
    num, den = int(num), int(den)
    if den == 0:
        return None
    if den < 0:
        num, den = -num, -den
    scaled = abs(num) * 100 * 10**decimals // den
    return -scaled if num < 0 else scaled


def format_pct(num: int, den: int, decimals: int = 2) -> str:
    """``num / den`` as a vi-VN percentage without the sign: (4_999, 10_000) → "49,99";
    (499_960, 1_000_000) → "49,99" (truncated by :func:`rate_scaled`, never rounded up).

    ``den == 0`` gives "" (rate undefined, R-CALC-2). Display only: decisions use
    :func:`below_pct`.
    """
    scaled = rate_scaled(num, den, decimals)
    return "" if scaled is None else _decimal_text(scaled, decimals)


def format_rate(disbursed: int, plan: int, threshold_pct: int | None = None) -> str:
    """A line's rate for documents, the same text as everywhere (:func:`format_pct`).

    ``threshold_pct`` is accepted for older callers and ignored: truncation alone keeps a rate
    below the threshold from reading as the threshold.
    """
    return format_pct(disbursed, plan)


def format_rates(disbursed: np.ndarray, plan: np.ndarray) -> list[str]:
    """:func:`format_pct` of each line (two decimals), vectorised; "" where plan ≤ 0 (a line
    with no plan has no rate: not applicable)."""
    import numpy as np

    disbursed = np.asarray(disbursed, dtype=np.int64)
    plan = np.asarray(plan, dtype=np.int64)
    text = [""] * len(plan)
    fast = (plan > 0) & (np.abs(disbursed) < 9 * 10**14)  # ×10^4 stays inside int64
    scaled = np.abs(disbursed[fast]) * 10_000 // plan[fast]
    for i, h, negative in zip(np.flatnonzero(fast).tolist(), scaled.tolist(),
                              (disbursed[fast] < 0).tolist(), strict=True):
        text[i] = _decimal_text(-h if negative else h, 2)
    for i in np.flatnonzero(~fast & (plan > 0)).tolist():
        text[i] = format_pct(int(disbursed[i]), int(plan[i]))
    return text


def trieu_float(dong: int) -> float:
    """đồng → triệu đồng as the nearest float, for writing Excel cells (never for decisions)."""
    return int(dong) / 1_000_000
