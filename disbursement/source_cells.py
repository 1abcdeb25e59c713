"""A line's source cells ({"plan_dong": "L15", …}) as its sheet's column letters and its row.

Every canonical line says which Excel cell each of its figures came from. Kept as a dict of
texts per line, that was ~1.4 KB and 15 small objects per line (140 MB and 0.3–0.5 s at 100k
lines) for what a sheet states once: a canonical column → letter map, plus the line's row.
`SourceCells` is that pair: a read-only mapping, equal to the dict it stands for, expanded
only where one is read or printed. A line whose cells were changed (a Treasury export's
disbursement cell, an investor's answer) holds a plain dict instead; every reader takes
either (`Mapping`).

The records handed out (`render.records.flag_records`, the proposal) hold plain dicts
(`plain_cells`): they are JSON for any encoder, and only flagged or proposed lines pay for
one. The flag records `--json` prints and the audit store keeps are encoded as they are made
and hold the `SourceCells` themselves: orjson writes them from the sheet's text with the
row put in (`cells_json`), the same bytes, no dict made.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

import orjson

__all__ = ["SheetLetters", "SourceCells", "cell_of", "cells_json", "line_cells", "plain_cells"]


class SheetLetters:
    """One sheet's canonical column → Excel column letter map, shared by all its lines."""

    __slots__ = ("_columns", "_json", "_letters", "_sorted_json", "letters")

    def __init__(self, letters: Mapping[str, str]) -> None:
        self.letters = dict(letters)
        self._columns, self._letters = tuple(self.letters), tuple(self.letters.values())
        self._json: list[bytes] | None = None
        self._sorted_json: list[bytes] | None = None

    def json_at(self, row: int) -> bytes:
        """orjson's text of `cells_at(row)`, from the sheet's text with the rows left out."""
        if self._json is None:  # the letters never hold \x01: it marks where each row goes
            marked = orjson.dumps({c: f"{letter}\x01" for c, letter in self.letters.items()})
            self._json = marked.split(b"\\u0001")
        return (b"%d" % row).join(self._json)

    def sorted_json_at(self, row: int) -> bytes:
        """orjson's text of `cells_at(row)` with its keys sorted (the audit store's form)."""
        if self._sorted_json is None:
            marked = orjson.dumps(
                {c: f"{letter}\x01" for c, letter in self.letters.items()}, option=orjson.OPT_SORT_KEYS
            )
            self._sorted_json = marked.split(b"\\u0001")
        return (b"%d" % row).join(self._sorted_json)

    def cells_at(self, row: int) -> dict[str, str]:
        """The dict of the line at Excel row `row`."""
        at = str(row)
        return dict(zip(self._columns, [letter + at for letter in self._letters], strict=True))


class SourceCells(Mapping[str, str]):
    """The cells of the line at Excel row `row` of a sheet whose columns are `sheet`."""

    __slots__ = ("row", "sheet")

    def __init__(self, sheet: SheetLetters, row: int) -> None:
        self.sheet, self.row = sheet, row

    def __getitem__(self, key: str) -> str:
        return f"{self.sheet.letters[key]}{self.row}"

    def __iter__(self) -> Iterator[str]:
        return iter(self.sheet.letters)

    def __len__(self) -> int:
        return len(self.sheet.letters)

    def __contains__(self, key: object) -> bool:
        return key in self.sheet.letters

    def __repr__(self) -> str:
        return repr(dict(self))

    def __reduce__(self):  # pickled and copied as the dict it stands for
        return dict, (self.sheet.cells_at(self.row),)


def line_cells(letters: Mapping[str, str], rows: list[int]) -> list[SourceCells]:
    """Each line's source cells from its sheet's column letters: one shared map, one small
    object per line."""
    sheet = SheetLetters(letters)
    return [SourceCells(sheet, r) for r in rows]


def cell_of(cells: Any, column: str | None) -> str:
    """The cell `column` of a line came from ("L15"), "" when unknown."""
    if not column or not isinstance(cells, Mapping):
        return ""
    return cells.get(column) or ""


def cells_json(value: Any) -> Any:
    """orjson's `default` for a record holding `SourceCells`: their text as a fragment (the
    dict is never made); what else orjson cannot write, refused as orjson refuses it."""
    if type(value) is SourceCells:
        return orjson.Fragment(value.sheet.json_at(value.row))
    raise TypeError(f"Type is not JSON serializable: {type(value).__name__}")


def plain_cells(cells: Any) -> dict[str, str]:
    """A line's cells as a dict for a record: expanded from `SourceCells`, a dict as it is
    (shared, never written to), anything else (no cells) empty."""
    if type(cells) is SourceCells:
        return cells.sheet.cells_at(cells.row)
    if isinstance(cells, dict):
        return cells
    return dict(cells) if isinstance(cells, Mapping) else {}
