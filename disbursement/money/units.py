"""The one unit table (đồng, nghìn, triệu, tỷ đồng) and the one unit detector; units in
another currency are recognised only to be refused."""

from __future__ import annotations

import re
from dataclasses import dataclass

from disbursement.text import fold


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
    Unit(
        "nghin",
        1_000,
        "nghìn đồng",
        "VND thousand",
        ("nghin", "ngan"),
        r"nghin|ngan|thousand|(?<![\d.,])1[.,]?000",
        "thousand",
    ),
    Unit(
        "trieu", 1_000_000, "triệu đồng", "VND million", ("trieu", "tr"), r"trieu|tr|million|mn", "million|mn"
    ),
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
    for u in _LARGEST_FIRST
    if u.multiple
]
_CUR_ENGLISH = [
    (u.key, re.compile(rf"(?<![a-z]){_CUR}\s*(?:{u.english})(?![a-z])")) for u in _LARGEST_FIRST if u.english
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
