"""Legacy Vietnamese text (R-PARSE-1): TCVN3 and VNI-Windows mojibake → Unicode NFC.

Older government spreadsheets were typed in 8-bit "font encodings". Excel stores the bytes as
Latin-1 characters, so a reader sees mojibake:

* **TCVN3** (ABC, TCVN 5712:1993 VN3; fonts ``.VnTime``, ``.VnArial``; upper-case fonts
  ``.VnTimeH``): one character per letter, e.g. ``"Ninh B×nh"`` = "Ninh Bình",
  ``"B¶o Th¾ng"`` = "Bảo Thắng". Only seven capitals have their own code (Ă Â Đ Ê Ô Ơ Ư);
  other accented capitals are typed in a ``...H`` font that draws the lower-case codes as
  capitals, so the stored text is lower-case (``"TæNG Sè"`` on screen reads "TỔNG SỐ").
* **VNI-Windows** (fonts ``VNI-Times``): a base letter followed by a diacritic character,
  e.g. ``"Hoaø"`` = "Hoà", ``"Möôøng"`` = "Mường".

The tables below cover all 134 Vietnamese letters (67 lower-case, 67 upper-case). They were
cross-checked against three independent public converters (backupvietsoft/HRM
``ConvertVNI/ConvertTCVN.cs``, duydev/vietnamese-conversion ``src/charsets.ts`` and
khiemdoan/VBKey ``mdlCodeTable.bas``); the tests pin every letter.

Nothing here raises on bad text: conversion functions map what they know and pass the rest
through unchanged.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

__all__ = [
    "LOWER_LETTERS",
    "UPPER_LETTERS",
    "detect_legacy",
    "fold",
    "repair_text",
    "tcvn3_to_unicode",
    "unicode_to_tcvn3",
    "unicode_to_vni",
    "vni_to_unicode",
]

# The 67 non-ASCII lower-case Vietnamese letters, in the order used by the tables below.
LOWER_LETTERS = "àáảãạăằắẳẵặâầấẩẫậđèéẻẽẹêềếểễệìíỉĩịòóỏõọôồốổỗộơờớởỡợùúủũụưừứửữựỳýỷỹỵ"
UPPER_LETTERS = LOWER_LETTERS.upper()

# TCVN3 (VN3) code for each letter of LOWER_LETTERS, written as the Latin-1 character Excel
# shows for that byte. "\xad" (soft hyphen, byte 0xAD) is "ư".
_TCVN3_LOWER = (
    "\xb5\xb8\xb6\xb7\xb9"
    "\xa8\xbb\xbe\xbc\xbd\xc6"
    "\xa9\xc7\xca\xc8\xc9\xcb"
    "\xae"
    "\xcc\xd0\xce\xcf\xd1"
    "\xaa\xd2\xd5\xd3\xd4\xd6"
    "\xd7\xdd\xd8\xdc\xde"
    "\xdf\xe3\xe1\xe2\xe4"
    "\xab\xe5\xe8\xe6\xe7\xe9"
    "\xac\xea\xed\xeb\xec\xee"
    "\xef\xf3\xf1\xf2\xf4"
    "\xad\xf5\xf8\xf6\xf7\xf9"
    "\xfa\xfd\xfb\xfc\xfe"
)
# The seven capitals TCVN3 encodes separately: Ă Â Đ Ê Ô Ơ Ư.
_TCVN3_UPPER = {
    "Ă": "\xa1",
    "Â": "\xa2",
    "Đ": "\xa7",
    "Ê": "\xa3",
    "Ô": "\xa4",
    "Ơ": "\xa5",
    "Ư": "\xa6",
}

_TO_TCVN3: dict[str, str] = dict(zip(LOWER_LETTERS, _TCVN3_LOWER, strict=True))
_FROM_TCVN3: dict[str, str] = {code: letter for letter, code in _TO_TCVN3.items()}
for _letter, _code in _TCVN3_UPPER.items():
    _TO_TCVN3[_letter] = _code
    _FROM_TCVN3[_code] = _letter
# Capitals without their own code: the .VnTimeH form (the lower-case code).
for _lower, _upper in zip(LOWER_LETTERS, UPPER_LETTERS, strict=True):
    _TO_TCVN3.setdefault(_upper, _TO_TCVN3[_lower])
_FROM_TCVN3_TABLE = str.maketrans(_FROM_TCVN3)
_TO_TCVN3_TABLE = str.maketrans(_TO_TCVN3)

# --- VNI-Windows: generated from its composition rules -------------------------------------
_GRAVE, _ACUTE, _HOOK, _TILDE, _DOT = "\u0300", "\u0301", "\u0309", "\u0303", "\u0323"
_CIRCUMFLEX, _BREVE, _HORN = "\u0302", "\u0306", "\u031b"
_TONES = (None, _GRAVE, _ACUTE, _HOOK, _TILDE, _DOT)
_VNI_PLAIN_TONE = {_GRAVE: "ø", _ACUTE: "ù", _HOOK: "û", _TILDE: "õ", _DOT: "ï"}
_VNI_CIRCUMFLEX = {None: "â", _GRAVE: "à", _ACUTE: "á", _HOOK: "å", _TILDE: "ã", _DOT: "ä"}
_VNI_BREVE = {None: "ê", _GRAVE: "è", _ACUTE: "é", _HOOK: "ú", _TILDE: "ü", _DOT: "ë"}
_VNI_I = {_GRAVE: "ì", _ACUTE: "í", _HOOK: "æ", _TILDE: "ó", _DOT: "ò"}


def _vni_lower(base: str, modifier: str | None, tone: str | None) -> str:
    """VNI-Windows spelling of one lower-case letter (base ASCII vowel + marks)."""
    if base == "i":
        return _VNI_I[tone] if tone else "i"
    if base == "y" and tone == _DOT:
        return "î"
    if modifier == _CIRCUMFLEX:
        return base + _VNI_CIRCUMFLEX[tone]
    if modifier == _BREVE:
        return base + _VNI_BREVE[tone]
    if modifier == _HORN:  # ơ, ư
        head = "ô" if base == "o" else "ö"
        return head + (_VNI_PLAIN_TONE[tone] if tone else "")
    return base + (_VNI_PLAIN_TONE[tone] if tone else "")


def _build_vni() -> dict[str, str]:
    table: dict[str, str] = {"đ": "ñ", "Đ": "Ñ"}
    shapes = [("a", None), ("a", _BREVE), ("a", _CIRCUMFLEX), ("e", None), ("e", _CIRCUMFLEX)]
    shapes += [("i", None), ("o", None), ("o", _CIRCUMFLEX), ("o", _HORN)]
    shapes += [("u", None), ("u", _HORN), ("y", None)]
    for base, modifier in shapes:
        for tone in _TONES:
            if modifier is None and tone is None:
                continue  # plain ASCII vowel
            marks = (modifier or "") + (tone or "")
            letter = unicodedata.normalize("NFC", base + marks)
            spelled = _vni_lower(base, modifier, tone)
            table[letter] = spelled
            table[letter.upper()] = spelled.upper()
    return table


_TO_VNI: dict[str, str] = _build_vni()
_TO_VNI_TABLE = str.maketrans(_TO_VNI)
_FROM_VNI: dict[str, str] = {code: letter for letter, code in _TO_VNI.items()}
# Be lenient about the case of the diacritic character ("Aø" is read as "À").
for _code, _letter in list(_FROM_VNI.items()):
    if len(_code) == 2:
        for _variant in (_code[0] + _code[1].lower(), _code[0] + _code[1].upper()):
            _FROM_VNI.setdefault(_variant, _letter if _code[0].isupper() else _letter.lower())
_VNI_PAIRS = sorted(c for c in _FROM_VNI if len(c) == 2)
_VNI_SINGLES = "".join(sorted(c for c in _FROM_VNI if len(c) == 1))
_VNI_RE = re.compile("(" + "|".join(map(re.escape, _VNI_PAIRS)) + ")|([" + re.escape(_VNI_SINGLES) + "])")

# --- detection evidence -------------------------------------------------------------------
# Vietnamese letters outside Latin-1: their presence means the text is already Unicode.
_UNICODE_ONLY = frozenset(c for c in LOWER_LETTERS + UPPER_LETTERS if ord(c) > 0xFF)
# TCVN3 codes that are neither Vietnamese letters nor VNI-Windows characters.
_TCVN3_STRONG = frozenset("µ¶·¸¹¨»¼½¾©®ª«¬×ÞßÇÐç÷þ¡¢£¤¥¦§")
# Symbols that also decorate ordinary words ("Brand®", "«quote»", "vµ"): they count only on
# the side where a TCVN3 letter would have its neighbour.
_NEEDS_NEXT_LETTER = frozenset("®©")
_NEEDS_PREV_LETTER = frozenset("«µ·ª")
_NEEDS_BOTH_LETTERS = frozenset("»")
# A lower-case ASCII letter followed by one of these (non-Vietnamese) capitals: "ViÖt".
_TCVN3_AFTER_LOWER = frozenset("ÆÇËÎÏÐÑÖØÜÞ")
# .VnTimeH capitals: a lower-case, non-Vietnamese TCVN3 code between ASCII capitals: "TæNG".
_TCVN3_BETWEEN_CAPITALS = frozenset(c for c in _TCVN3_LOWER if c.islower() and c not in LOWER_LETTERS)
# VNI-Windows pairs whose diacritic character is not a Vietnamese letter; "uû" is left out
# because it is also TCVN3 "uỷ" (thuỷ lợi).
_VNI_STRONG_BYTES = {
    "a": "øûïåäëü",
    "e": "øûïåä",
    "o": "øûïåä",
    "u": "øï",
    "y": "øû",
}
_VNI_STRONG = frozenset(
    [base + byte for base, bytes_ in _VNI_STRONG_BYTES.items() for byte in bytes_]
    + [base.upper() + byte.upper() for base, bytes_ in _VNI_STRONG_BYTES.items() for byte in bytes_]
    + ["U\xdb"]
    + ["ö" + tone for tone in "øùûõï"]
    + ["Ö" + tone for tone in "ØÙÛÕÏ"]
    + ["ô" + tone for tone in "øûï"]
    + ["Ô" + tone for tone in "ØÛÏ"]
    + ["öô", "ÖÔ"]
)
_TOKEN_SPLIT = re.compile(r"[\s0-9!-/:-@\[-`{-~\xa0]+")


def _capital(ch: str) -> bool:
    return ch != "" and "A" <= ch <= "Z"


def _is_letter(ch: str) -> bool:
    return ch != "" and (ch.isalpha() or ch in _FROM_TCVN3)


def _marks_tcvn3(ch: str, prev: str, nxt: str) -> bool:
    """Is ``ch``, between ``prev`` and ``nxt`` ("" at the ends), a TCVN3 letter?"""
    if ch in _TCVN3_STRONG:
        if ch in _NEEDS_NEXT_LETTER:
            return _is_letter(nxt)
        if ch in _NEEDS_PREV_LETTER:
            return _is_letter(prev)
        if ch in _NEEDS_BOTH_LETTERS:
            return _is_letter(prev) and _is_letter(nxt)
        return _is_letter(prev) or _is_letter(nxt)
    if ch in _TCVN3_AFTER_LOWER:  # "ViÖt"
        return "a" <= prev <= "z" and prev != ""
    if ch in _TCVN3_BETWEEN_CAPITALS:  # "TæNG"
        return _capital(prev) and _capital(nxt)
    return False


def _tcvn3_evidence(token: str) -> bool:
    if not any("a" <= c.lower() <= "z" for c in token):
        return False
    before = ["", *token[:-1]]
    after = [*token[1:], ""]
    return any(map(_marks_tcvn3, token, before, after))


def _vni_evidence(token: str) -> bool:
    return any(token[i : i + 2] in _VNI_STRONG for i in range(len(token) - 1))


def _evidence(text: str) -> tuple[bool, bool, bool]:
    """(tcvn3, vni, unicode) evidence for one text."""
    if any(c in _UNICODE_ONLY for c in text):
        return False, False, True
    tcvn3 = vni = False
    for token in _TOKEN_SPLIT.split(text):
        if not token or token.isascii():
            continue
        tcvn3 = tcvn3 or _tcvn3_evidence(token)
        vni = vni or _vni_evidence(token)
    return tcvn3, vni, False


def detect_legacy(texts: Iterable[str]) -> str | None:
    """Decide whether a sheet or column is TCVN3 or VNI-Windows mojibake.

    Counts the texts that carry characteristic legacy characters inside otherwise ASCII words
    ("B×nh", "Th¾ng" for TCVN3; "Hoaø", "Möôøng" for VNI) and the texts that already contain
    Unicode-only Vietnamese letters (ă, đ, ơ, ư, ạ, ...). Returns ``"tcvn3"`` or ``"vni"`` when
    that encoding has evidence in more texts than Unicode does and at least twice as many as
    the other legacy encoding; otherwise ``None``. Non-strings are ignored. Plain English,
    numbers and Unicode Vietnamese give ``None``.

    >>> detect_legacy(["Ninh B×nh", "Tæng sè"])
    'tcvn3'
    >>> detect_legacy(["Hoaø Bình"])
    'vni'
    >>> detect_legacy(["Mường Khương", "Total 1,234"]) is None
    True
    """
    tcvn3 = vni = uni = 0
    for text in texts:
        if not isinstance(text, str) or text.isascii():
            continue
        t, v, u = _evidence(text)
        tcvn3 += t
        vni += v
        uni += u
    best, other, name = (tcvn3, vni, "tcvn3") if tcvn3 >= vni else (vni, tcvn3, "vni")
    if best == 0 or best < 2 * other or best == other or best <= uni:
        return None
    return name


# --- conversion ---------------------------------------------------------------------------
_HORN_O = "ơờớởỡợ"
# TCVN3 "ư" is the soft hyphen (0xAD), which copy-paste and some tools silently drop:
# "M\xadêng" → "Mêng". "ơ" + ng/c/u is never a Vietnamese rhyme ("ương", "ước", "ượu" are),
# so the lost "ư" can be restored there.
_LOST_U = re.compile(f"(?<![ưƯ])(?=[{_HORN_O}](?:[nN][gG]|[cCuU]))")
_WORD = re.compile(r"\S+")


def _ascii_letters(text: str) -> list[str]:
    return [c for c in text if c.isascii() and c.isalpha()]


def _shows_as_capitals(text: str) -> bool:
    """ASCII letters all capitals (≥ 2) and some accented lower-case letter: .VnTimeH text."""
    letters = _ascii_letters(text)
    return (
        len(letters) >= 2
        and all(c.isupper() for c in letters)
        and any(c.islower() and not c.isascii() for c in text)
    )


def _fix_capitals(text: str) -> str:
    if _shows_as_capitals(text):
        return text.upper()
    return _WORD.sub(lambda m: m[0].upper() if _shows_as_capitals(m[0]) else m[0], text)


def tcvn3_to_unicode(text: str) -> str:
    """TCVN3 (ABC) mojibake → Unicode NFC.

    Also restores the "ư" lost with a dropped soft hyphen before ng/c/u ("Mêng Kh¬ng" →
    "Mường Khương") and upper-cases words typed in a ``.VnTimeH`` capitals font: when the
    text's (or a word's) ASCII letters are all capitals (at least two) and it contains
    accented lower-case letters, the whole text (or word) is upper-cased ("TæNG Sè" →
    "TỔNG SỐ").

    >>> tcvn3_to_unicode("B¶o Th¾ng")
    'Bảo Thắng'
    """
    if not isinstance(text, str):
        return text
    converted = unicodedata.normalize("NFC", text).translate(_FROM_TCVN3_TABLE)
    converted = _LOST_U.sub("ư", converted)
    return unicodedata.normalize("NFC", _fix_capitals(converted))


def unicode_to_tcvn3(text: str) -> str:
    """Unicode → TCVN3 (ABC). Capitals without their own code use the ``.VnTimeH`` form.

    Used by test fixtures to write legacy workbooks. Characters outside the Vietnamese
    alphabet pass through unchanged.
    """
    return unicodedata.normalize("NFC", text).translate(_TO_TCVN3_TABLE)


def vni_to_unicode(text: str) -> str:
    """VNI-Windows mojibake → Unicode NFC.

    >>> vni_to_unicode("Hoaø Bình")
    'Hoà Bình'
    """
    if not isinstance(text, str):
        return text
    return _VNI_RE.sub(lambda m: _FROM_VNI[m[0]], unicodedata.normalize("NFC", text))


def unicode_to_vni(text: str) -> str:
    """Unicode → VNI-Windows (used by test fixtures to write legacy workbooks)."""
    return unicodedata.normalize("NFC", text).translate(_TO_VNI_TABLE)


_CONVERTERS = {"tcvn3": tcvn3_to_unicode, "vni": vni_to_unicode}


def repair_text(text: str, legacy: str | None = None) -> str:
    """Unicode NFC text for matching and display; converts legacy encodings.

    ``legacy`` is the sheet's encoding from :func:`detect_legacy` (``"tcvn3"``, ``"vni"``)
    or ``None``: then the string is converted only if it carries clear evidence by itself.
    A string that already holds Unicode-only Vietnamese letters is never converted (one
    Unicode cell pasted into a legacy sheet stays intact). Never raises; non-strings are
    returned unchanged.
    """
    if not isinstance(text, str):
        return text
    try:
        text = unicodedata.normalize("NFC", text)
        if text.isascii():
            return text
        if legacy is None:
            legacy = detect_legacy([text])
        convert = _CONVERTERS.get(legacy) if legacy else None
        if convert is None or any(c in _UNICODE_ONLY for c in text):
            return text
        return convert(text)
    except Exception:  # never let one odd cell stop a run
        return text


def fold(text: str) -> str:
    """Matching key: NFC, case-folded, without diacritics (đ → d), whitespace collapsed.

    >>> fold("  Kế hoạch   vốn ĐÃ giao ")
    'ke hoach von da giao'
    """
    if not isinstance(text, str):
        return ""
    folded = unicodedata.normalize("NFC", text).casefold()
    folded = folded.replace("đ", "d").replace("ð", "d")
    stripped = "".join(c for c in unicodedata.normalize("NFD", folded) if not unicodedata.combining(c))
    return " ".join(stripped.split())
