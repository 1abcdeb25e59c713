"""Reading one cell as exact integer đồng (R-PARSE-2: vi-VN / en-US notation, unit words in
the cell), never raising; and the column's notation from its strings."""

from __future__ import annotations

import math
import numbers
import re
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Context, Decimal
from typing import Any

from disbursement.money.units import _cell_multiplier

MAX_DONG = 10**18

_CTX = Context(prec=200)
_ONE = Decimal(1)
_FAST_LIMIT = 10**15  # |đồng| below this: float64 round trips are provably exact
_MAX_TEXT = 80  # longer strings are not amounts


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
