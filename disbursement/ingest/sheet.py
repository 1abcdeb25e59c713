"""What the reader gives the rest of ingest: one sheet's cells with positions, and the limits
that keep a hostile file from being parsed at all."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class ReadLimits:
    """Guards against hostile files: checked on the zip directory before any parsing."""

    max_uncompressed_bytes: int = 1_000_000_000
    max_ratio: int = 200  # uncompressed/compressed of any one member above 1 MB
    max_members: int = 10_000
    # rows × columns from A1 to a sheet's farthest cell: python-calamine builds that grid
    # densely (32 bytes a cell), so one stray cell at XFD1048576 would ask for 550 GB.
    max_cells: int = 10_000_000


@dataclass
class RawSheet:
    file: str
    sheet: str
    cells: list[list]  # row-major from A1; '' for empty cells
    merged: list = field(default_factory=list)  # [((r0, c0), (r1, c1)), ...] 0-based inclusive
    uncached: dict = field(default_factory=dict)  # {(row0, col0): formula} saved without a result
