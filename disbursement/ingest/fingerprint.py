"""The same table given twice (an .xlsx and its .xls, or one file named twice) is refused,
never summed: sheets are told apart by a fingerprint of their non-empty cells as text.

Hashing every cell of every sheet was ~0.6 s of a 100k-line national workbook whose 63
sheets are all different. So a sheet is first known by a cheap key that equal tables always
share — its first rows' texts and its last filled row — and the full fingerprint is made only
for sheets whose cheap keys meet.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from pathlib import Path

from disbursement.ingest.read import BOUNDED_SUFFIXES, read_file

HEAD_ROWS = 40  # rows that enter the cheap key


def _line(row: list) -> str:
    """A row's cells as one text: a whole number without ".0", text stripped, trailing empty
    cells dropped (an .xls export pads rows differently from the .xlsx)."""
    return "\x1f".join(
        "" if v is None else str(int(v)) if v.__class__ is float and v.is_integer() else str(v).strip()
        for v in row
    ).rstrip("\x1f")


def fingerprint(cells: list[list]) -> str:
    """A hash of a sheet's non-empty cells as text ("" for an empty sheet): one text and one
    hash update per filled row, so the cells' positions and texts decide."""
    digest = hashlib.sha256()
    filled = False
    for r, row in enumerate(cells):
        line = _line(row)
        if line.strip("\x1f"):
            filled = True
            digest.update(f"{r}\x1e{line}\x1d".encode("utf-8", "surrogatepass"))
    return digest.hexdigest() if filled else ""


def cheap_key(cells: list[list]) -> str:
    """What two sheets with the same fingerprint always share ("" for an empty sheet): the
    filled rows among the first HEAD_ROWS and the position of the last filled row."""
    last = len(cells) - 1
    while last >= 0 and not _line(cells[last]).strip("\x1f"):
        last -= 1
    if last < 0:
        return ""
    head = fingerprint(cells[:HEAD_ROWS])
    return f"{last}:{head}"


class SeenTables:
    """The sheets read so far, by cheap key; `first_with(...)` names the earlier sheet holding
    the same cells, or returns None (and remembers this one).

    No sheet's cells are kept (they were ~80 MB of a national file): when two cheap keys
    meet — rare, except for a file given twice — the earlier file is read again, once, and
    its sheets are fingerprinted. Inputs are only ever read, so it reads back the same cells.
    """

    def __init__(self, read: Callable[[str], list] | None = None) -> None:
        self._by_key: dict[str, list[tuple[str, str]]] = {}  # cheap key → [(file, sheet)]
        self._prints: dict[str, dict[str, str]] = {}  # file → {sheet: fingerprint}
        self._read = read or _read_again

    def first_with(self, cells: list[list], file: str, sheet: str) -> str | None:
        found = self._first(cheap_key(cells), file, sheet, lambda: fingerprint(cells))
        # A file read in a forked child (legacy .xls) is fingerprinted now: reading it again
        # while a later workbook's read-ahead threads run would fork a process with live
        # threads (such files are small, and not streamed anyway).
        if found is None and Path(file).suffix.lower() in BOUNDED_SUFFIXES:
            self._prints.setdefault(file, {})[sheet] = fingerprint(cells)
        return found

    def first_with_key(self, key: str, file: str, sheet: str) -> str | None:
        """`first_with` for a sheet known by its cheap key only (read by a second process):
        on a meeting its own fingerprint comes from reading its file again."""
        return self._first(key, file, sheet, lambda: self._fingerprint(file, sheet))

    def _first(self, key: str, file: str, sheet: str, mine: Callable[[], str | None]) -> str | None:
        if not key:
            return None
        earlier = self._by_key.setdefault(key, [])
        if earlier:
            own = mine()
            for other_file, other_sheet in earlier:
                if self._fingerprint(other_file, other_sheet) == own:
                    return f"{Path(other_file).name} / sheet '{other_sheet}'"
        earlier.append((file, sheet))
        return None

    def _fingerprint(self, file: str, sheet: str) -> str | None:
        known = self._prints.get(file)
        if known is None or sheet not in known:
            self._prints[file] = known = {s.sheet: fingerprint(s.cells) for s in self._read(file)}
        return known.get(sheet)


def _read_again(file: str) -> list:
    return read_file(file, [])
