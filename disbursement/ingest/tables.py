"""Small hand-made tables officers give beside the exports: the approved-figures file.

`read_approved_figures` finds the header (Mã dự án, Nguồn vốn, Kế hoạch … sau điều chỉnh) in
the first 10 rows and returns each data row with its Excel row number and the parsed plan after
adjustment (triệu đồng unless the header names another unit). Matching the rows to a recorded
run is the audit store's job (`audit.decisions`); an unreadable file or a missing header raises
`InputUnreadable` naming the file and sheet.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbursement.errors import InputUnreadable, column_letter
from disbursement.ingest.read import read_small_table
from disbursement.money import UNITS, ParsedAmount, detect_foreign_unit, parse_amount, unit_in_header
from disbursement.text import fold

_APPROVED = {
    "project_code": ("ma du an", "ma so du an", "ma da", "project code", "code", "ma"),
    "capital_source": ("nguon von", "capital source", "source", "nguon"),
    "plan_after": ("sau dieu chinh", "plan after", "approved plan", "ke hoach duoc duyet"),
}


@dataclass(frozen=True)
class ApprovedRow:
    row: int  # Excel row number
    code: str
    source: str  # as written (a label or a capital source id)
    value: Any  # the plan-after cell as read
    amount: ParsedAmount


@dataclass(frozen=True)
class ApprovedTable:
    where: str  # the file, and its sheet for a workbook
    letter: str  # column letter of the plan after adjustment
    rows: list[ApprovedRow]


def _approved_header(table: list[list[Any]]) -> tuple[int, dict[str, int]] | None:
    for head, cells in enumerate(table[:10]):
        texts = [fold(str(c)) if c is not None else "" for c in cells]
        cols = {name: next((j for j, t in enumerate(texts) if any(
            (a in t) if name == "plan_after" else (t == a or t.startswith(a + " "))
            for a in aliases)), None) for name, aliases in _APPROVED.items()}
        if None not in cols.values():
            return head, {k: v for k, v in cols.items() if v is not None}
    return None


def amount_unit(header: str, where: str) -> int:
    """đồng per unit of an officer table's amount column, from its header (triệu đồng when it
    names none); a header in another currency ("Số tiền (nghìn USD)") is refused."""
    if detect_foreign_unit(header, header=True):
        raise InputUnreadable(f"{where}: the amount column is in another currency ({header!r}); "
                              "the engine reads only đồng amounts")
    return UNITS[unit_in_header(header) or "trieu"]


def read_approved_figures(path: str | os.PathLike[str]) -> ApprovedTable:
    """The data rows of an approved-figures file (blank rows left out)."""
    path = Path(path)
    sheet, table = read_small_table(path, "the approved-figures file")
    where = f"{path}" + (f" sheet '{sheet}'" if sheet else "")
    found = _approved_header(table)
    if found is None:
        raise InputUnreadable(f"{where}: no header with Mã dự án, Nguồn vốn and Kế hoạch sau "
                              "điều chỉnh (project code, capital source, plan after) in the "
                              "first 10 rows")
    head, cols = found
    unit = amount_unit(str(table[head][cols["plan_after"]]), where)
    rows = []
    for r, cells in enumerate(table[head + 1:], start=head + 2):
        def cell(name: str, cells: list[Any] = cells) -> Any:
            j = cols[name]
            return cells[j] if j < len(cells) else None
        code, source = (str(cell(f) if cell(f) is not None else "").strip()
                        for f in ("project_code", "capital_source"))
        if not code and not source and cell("plan_after") in (None, ""):
            continue
        rows.append(ApprovedRow(r, code, source, cell("plan_after"),
                                parse_amount(cell("plan_after"), unit)))
    return ApprovedTable(where, column_letter(cols["plan_after"]), rows)
