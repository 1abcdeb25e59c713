"""Seeded mutations of the sample workbooks (issue 11): what other provinces' files do to ours.

`mutants(seed, count, folder)` reads the two sample workbooks once, applies one to three
operators to a copy of the cell grid and writes each mutant as .xlsx (or .csv in another
encoding). Every mutant says what it did (`Mutant.ops`) and which figure headers it made
unrecognisable (`Mutant.unknown`), so a test can require that no flag comes from them.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import random
import unicodedata
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from disbursement.ingest.header import find_layout, load_vocabulary
from disbursement.ingest.read import read_file
from tests.fixtures_builder import ENCODINGS, Formula, GridSheet, transform_text, write_grid

ROOT = Path(__file__).resolve().parent.parent
SAMPLES = (
    ROOT / "sample_data" / "son_la_2022_den_30-06.xlsx",
    ROOT / "sample_data" / "son_la_2022_den_30-09.xlsx",
)
UNKNOWN_HEADERS = ("Vốn đã cấp phát", "Số đã chi trả lũy kế", "Cột số 7", "Vốn được phân bổ")
AMOUNT_TEXTS = ("chưa có số liệu", "1.234,5 tr", "n/a", "-", "  ", "12/06/2022", "#REF!", "x")


@dataclass
class Mutant:
    path: Path
    round: int
    ops: list[str] = field(default_factory=list)
    unknown: set[str] = field(default_factory=set)  # canonical figures whose header was replaced


@dataclass
class _Grid:
    name: str
    rows: list[list]
    merges: list[tuple[int, int, int, int]]
    header: int  # 0-based header row
    columns: dict[str, int]  # "code", "plan", "disbursed", "name", "stt" → column
    widths: list[float] = field(default_factory=list)


def _sample_grids() -> list[_Grid]:
    grids = []
    for path in SAMPLES:
        sheet = read_file(path, [])[0]
        rows = [[None if v == "" else v for v in row] for row in sheet.cells]
        layout, _ = find_layout(sheet, load_vocabulary(2022))  # the columns the engine reads
        header = layout.header_top
        names = {
            "stt": "stt",
            "code": "project_code",
            "name": "project_name",
            "plan": "plan_dong",
            "disbursed": "disbursed_dong",
        }
        columns = {key: layout.columns[canonical] for key, canonical in names.items()}
        merges = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged]
        grids.append(_Grid(sheet.sheet, rows, merges, header, columns))
    return grids


def _data_rows(grid: _Grid) -> list[int]:
    start = grid.header + 1
    return [
        r
        for r in range(start, len(grid.rows))
        if grid.rows[r] and any(isinstance(v, int | float) for v in grid.rows[r])
    ]


def _project_rows(grid: _Grid) -> list[int]:
    code = grid.columns.get("code")
    return [
        r for r in _data_rows(grid) if code is not None and code < len(grid.rows[r]) and grid.rows[r][code]
    ]


def _set(grid: _Grid, r: int, c: int, value) -> None:
    row = grid.rows[r]
    row.extend([None] * (c + 1 - len(row)))
    row[c] = value


def op_blank_codes(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    rows = _project_rows(grid)
    for r in rng.sample(rows, k=min(len(rows), rng.randint(1, 12))):
        _set(grid, r, grid.columns["code"], rng.choice([None, " ", "\u200b"]))


def op_hide_column(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    width = max(len(r) for r in grid.rows)
    grid.widths = [14.0] * width
    grid.widths[rng.randrange(width)] = 0  # width 0: hidden in Excel, still read


def op_remove_group_row(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    groups = [r for r in _data_rows(grid) if r not in _project_rows(grid)]
    if groups:
        _delete_row(grid, rng.choice(groups))


def _delete_row(grid: _Grid, r: int) -> None:
    del grid.rows[r]
    merges = []
    for r0, c0, r1, c1 in grid.merges:
        if r0 <= r <= r1:
            continue
        shift = 1 if r0 > r else 0
        merges.append((r0 - shift, c0, r1 - shift, c1))
    grid.merges = merges


def op_text_in_amount(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    rows = _project_rows(grid)
    for r in rng.sample(rows, k=min(len(rows), rng.randint(1, 5))):
        _set(grid, r, grid.columns[rng.choice(["plan", "disbursed"])], rng.choice(AMOUNT_TEXTS))


def op_formula_in_amount(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    rows = _project_rows(grid)
    c = grid.columns[rng.choice(["plan", "disbursed"])]
    for r in rng.sample(rows, k=min(len(rows), rng.randint(1, 5))):
        cached = rng.choice([None, 0, 123.5, "#DIV/0!"])
        _set(grid, r, c, Formula(rng.choice([f"=A{r + 1}*2", "=1/0", f"=SUM(Z{r + 1}:Z{r + 2})"]), cached))


def op_swap_columns(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    width = max(len(r) for r in grid.rows)
    a, b = rng.sample(range(width), 2)
    for row in grid.rows:
        row.extend([None] * (width - len(row)))
        row[a], row[b] = row[b], row[a]
    grid.merges = [m_ for m_ in grid.merges if not ({m_[1], m_[3]} & {a, b}) or m_[1] == m_[3]]
    grid.merges = [
        (r0, b if c0 == a else a if c0 == b else c0, r1, b if c1 == a else a if c1 == b else c1)
        for r0, c0, r1, c1 in grid.merges
    ]
    grid.columns = {k: (b if v == a else a if v == b else v) for k, v in grid.columns.items()}


def op_merge_cells(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    rows = _project_rows(grid)
    if len(rows) < 3:
        return
    r = rng.choice(rows[:-2])
    c = rng.randrange(max(len(row) for row in grid.rows))
    taken = {
        (rr, cc) for r0, c0, r1, c1 in grid.merges for rr in range(r0, r1 + 1) for cc in range(c0, c1 + 1)
    }
    span = [(rr, c) for rr in range(r, r + rng.randint(2, 3))]
    if not taken & set(span):
        grid.merges.append((r, c, span[-1][0], c))


def op_unknown_header(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    figure = rng.choice(["plan", "disbursed"])
    c = grid.columns[figure]
    # the header cells above the column: unmerged, the top one unknown wording, the rest blank
    grid.merges = [x for x in grid.merges if not (x[0] <= grid.header + 2 and x[1] <= c <= x[3])]
    _set(grid, grid.header, c, rng.choice(UNKNOWN_HEADERS))
    for r in range(grid.header + 1, grid.header + 3):
        _set(grid, r, c, None)
    m.unknown.add(f"{figure}_dong")


def op_truncate(grid: _Grid, rng: random.Random, m: Mutant) -> None:
    rows = _data_rows(grid)
    if rows:
        cut = rng.choice(rows)
        grid.rows = grid.rows[:cut]
        grid.merges = [x for x in grid.merges if x[2] < cut]


OPERATORS = {
    f.__name__.removeprefix("op_"): f
    for f in (
        op_blank_codes,
        op_hide_column,
        op_remove_group_row,
        op_text_in_amount,
        op_formula_in_amount,
        op_swap_columns,
        op_merge_cells,
        op_unknown_header,
        op_truncate,
    )
}
ENCODED = ("xlsx", "xlsx", "xlsx", "xlsx", "tcvn3", "vni", "nfd", "csv-utf-8-sig", "csv-utf-16", "csv-cp1258")


def _write(grid: _Grid, path: Path, encoding: str) -> Path:
    if encoding.startswith("csv-"):
        codec = encoding.removeprefix("csv-")
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=";", lineterminator="\r\n")
        for row in grid.rows:
            writer.writerow(["" if v is None else v.cached if isinstance(v, Formula) else v for v in row])
        text = buffer.getvalue()
        if codec == "cp1258":  # Excel on Vietnamese Windows: base letters + combining tones
            text = unicodedata.normalize("NFD", text)
        path = path.with_suffix(".csv")
        path.write_bytes(text.encode(codec, errors="replace"))
        return path
    sheet = GridSheet(grid.name, grid.rows, grid.merges, widths=grid.widths)
    write_grid(path, [sheet], created=dt.date(2022, 6, 30))
    if encoding in ENCODINGS:
        transform_text(path, ENCODINGS[encoding])
    return path


def mutants(seed: int, count: int, folder: Path) -> Iterator[Mutant]:
    """`count` mutants written into `folder`, the same ones for the same seed."""
    rng = random.Random(seed)
    base = _sample_grids()
    names = sorted(OPERATORS)
    folder.mkdir(parents=True, exist_ok=True)
    for i in range(count):
        which = rng.randrange(len(base))
        source = base[which]
        grid = _Grid(
            source.name,
            [list(r) for r in source.rows],
            list(source.merges),
            source.header,
            dict(source.columns),
        )
        m = Mutant(folder / f"mutant_{i:04d}.xlsx", round=1 + which)
        for name in rng.sample(names, k=rng.randint(1, 3)):
            OPERATORS[name](grid, rng, m)
            m.ops.append(name)
        encoding = rng.choice(ENCODED)
        m.ops.append(encoding)
        m.path = _write(grid, m.path, encoding)
        yield m
