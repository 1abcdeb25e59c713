"""CSV files as text: the encoding an officer's export was saved in (UTF-8, UTF-16, cp1258, or
TCVN3/VNI text in a legacy font, repaired later per sheet), its delimiter, a rectangular grid."""

from __future__ import annotations

import csv
import io
import unicodedata
from pathlib import Path

from disbursement.errors import InputUnreadable
from disbursement.ingest.sheet import RawSheet

# cp1258 (Vietnamese Windows) writes most tones as a combining byte after the vowel:
# grave 0xCC, hook 0xD2, tilde 0xDE, acute 0xEC, dot below 0xF2.
_CP1258_TONES = frozenset(b"\xcc\xd2\xde\xec\xf2")
_CP1258_VOWELS = frozenset(b"aeiouyAEIOUY\xe2\xea\xf4\xf5\xfd\xe3\xc2\xca\xd4\xd5\xdd\xc3")


def _cp1258_tones(raw: bytes) -> bool:
    """Combining tone bytes, nearly all right after a vowel: cp1258 text, not TCVN3/VNI
    (whose tone-bearing letters are single bytes that replace the vowel)."""
    after_vowel = total = 0
    for i, byte in enumerate(raw[:200_000]):
        if byte in _CP1258_TONES:
            total += 1
            after_vowel += i > 0 and raw[i - 1] in _CP1258_VOWELS
    return total >= 3 and after_vowel >= 0.9 * total


def _utf16(raw: bytes) -> str | None:
    """UTF-16 with a byte-order mark, or without one when every other byte of ASCII text is 0."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    sample = raw[:4000]
    if len(sample) >= 4 and len(sample) % 2 == 0:
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if odd >= 0.3 * len(sample) // 2 and even == 0:
            return raw.decode("utf-16-le")
        if even >= 0.3 * len(sample) // 2 and odd == 0:
            return raw.decode("utf-16-be")
    return None


def _decode_csv(raw: bytes, name: str = "") -> str:
    """UTF-8 (with or without BOM) or UTF-16 (either byte order) first; else ANSI bytes:
    cp1258 when its combining tone bytes follow vowels, kept as cp1252 when they are TCVN3/VNI
    text typed in a legacy font (repaired later, per sheet), otherwise cp1258. NFC always."""
    from disbursement.text import detect_legacy

    try:
        text = _utf16(raw)
    except UnicodeDecodeError:
        raise InputUnreadable(
            f"{name}: looks like UTF-16 text but does not decode as UTF-16; save it again as CSV UTF-8"
        ) from None
    if text is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
    if text is None and _cp1258_tones(raw):
        text = raw.decode("cp1258", errors="replace")
    if text is None:
        try:
            ansi = raw.decode("cp1252")
        except UnicodeDecodeError:
            ansi = raw.decode("latin-1")
        if detect_legacy(ansi.splitlines()[:200]):
            return ansi
        try:
            text = raw.decode("cp1258")
        except UnicodeDecodeError:
            return ansi
    return unicodedata.normalize("NFC", text)


def read_csv(path: Path) -> RawSheet:
    text = _decode_csv(path.read_bytes(), str(path))
    if "\x00" in text:
        raise InputUnreadable(
            f"{path}: holds NUL characters, so it is not a text CSV; save it again as CSV UTF-8"
        )
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise InputUnreadable(f"{path}: not a readable CSV ({exc})") from None
    width = max((len(r) for r in rows), default=0)
    cells = [r + [""] * (width - len(r)) for r in rows]
    return RawSheet(str(path), path.stem, cells, [])
