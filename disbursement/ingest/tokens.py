"""Canonical matching text: folded words with officers' abbreviations expanded.

Header paths, capital-source labels, status cells and group rows are matched against the
vocabulary only after `canonical`: NFC, case, diacritics and spacing folded (`text.fold`)
and every abbreviation of `rules/abbreviations.yaml` replaced by the words it stands for.
The vocabulary then needs one entry per meaning, not one per spelling: "Tiền SDĐ",
"Tien SDD" and "Tiền sử dụng đất" are the same text to every matcher.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from disbursement.errors import RulesInvalid
from disbursement.files import default_dir, read_yaml
from disbursement.text import fold

CONTEXTS = ("header", "source", "status")
_ENTRY_KEYS = {"means", "exact", "only"}
_WORD = re.compile(r"\w+")


@dataclass(frozen=True)
class Abbreviation:
    written: str  # as in the table (NFC): "DA", "TƯ"
    means: str  # folded: "du an"
    exact: bool  # expand only when written exactly as `written`
    contexts: frozenset[str]


class Abbreviations:
    """The abbreviation table, keyed by folded word."""

    def __init__(self, entries: dict[str, Abbreviation]):
        self.entries = entries

    def canonical(self, text: str, context: str = "header") -> str:
        """`fold(text)` with each abbreviation word replaced by its meaning (in `context`)."""
        return _canonical(self, text, context)


@lru_cache(maxsize=65536)
def _canonical(table: Abbreviations, text: str, context: str) -> str:
    if not isinstance(text, str) or not text:
        return ""
    nfc = unicodedata.normalize("NFC", text)
    # "DA GIAI NGAN" in capitals without marks: "DA" may be "ĐÃ", so exact words stay as written.
    shouting = nfc.isascii() and nfc.upper() == nfc
    parts: list[str] = []
    pos = 0
    for match in _WORD.finditer(nfc):
        word = match.group()
        entry = table.entries.get(word.lower() if word.isascii() else fold(word))
        if entry is None or context not in entry.contexts:
            continue
        if entry.exact and (word != entry.written or shouting):
            continue
        parts.append(nfc[pos : match.start()])
        parts.append(entry.means)
        pos = match.end()
    if not parts:
        return fold(nfc)
    parts.append(nfc[pos:])
    return fold("".join(parts))


def load_abbreviations(path: str | Path | None = None) -> Abbreviations:
    """Read and check an abbreviation table (default: rules/abbreviations.yaml)."""
    return _load(str(path)) if path else _default()


@lru_cache(maxsize=1)
def _default() -> Abbreviations:
    return _load(str(default_dir("rules") / "abbreviations.yaml"))


@lru_cache(maxsize=8)
def _load(source: str) -> Abbreviations:
    data = read_yaml(source, "abbreviation table", RulesInvalid)
    if (
        not isinstance(data, dict)
        or set(data) != {"abbreviations"}
        or not isinstance(data["abbreviations"], dict)
    ):
        raise RulesInvalid(f"{source}: expected one key 'abbreviations' holding a mapping")
    entries: dict[str, Abbreviation] = {}
    for written, spec in data["abbreviations"].items():
        where = f"{source}: abbreviations.{written}"
        if not isinstance(spec, dict) or not isinstance(spec.get("means"), str):
            raise RulesInvalid(f"{where}: expected a mapping with 'means'")
        unknown = set(spec) - _ENTRY_KEYS
        if unknown:
            raise RulesInvalid(f"{where}: unknown key {sorted(unknown)[0]!r}")
        only = spec.get("only", list(CONTEXTS))
        if not isinstance(only, list) or not set(only) <= set(CONTEXTS):
            raise RulesInvalid(f"{where}.only: expected a list of {', '.join(CONTEXTS)}")
        key = fold(str(written))
        if not _WORD.fullmatch(key) or key in entries:
            raise RulesInvalid(f"{where}: must be one word, listed once")
        entries[key] = Abbreviation(
            unicodedata.normalize("NFC", str(written)),
            fold(spec["means"]),
            bool(spec.get("exact", False)),
            frozenset(only),
        )
    return Abbreviations(entries)


def canonical(text: str, context: str = "header") -> str:
    """`canonical` with the built-in abbreviation table."""
    return load_abbreviations().canonical(text, context)
