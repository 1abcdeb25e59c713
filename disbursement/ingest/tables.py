"""Small hand-made tables officers give beside the exports: overrides and approved figures.

`find_header` is the one header matcher of the officer's tables (the overrides file and the
approved-figures file), its vocabulary in `rules/officer_tables.yaml`. `read_approved_figures`
finds the header (Mã dự án, Nguồn vốn, Kế hoạch … sau điều chỉnh) in the first 10 rows and
returns each data row with its Excel row number and the parsed plan after adjustment (triệu
đồng unless the header names another unit). Matching the rows to a recorded run is the audit
store's job (`audit.decisions`); an unreadable file or a missing header raises `InputUnreadable`
naming the file and sheet.
"""

from __future__ import annotations

import functools
import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbursement.config.rules import RULES_DIR, _Reader
from disbursement.errors import InputUnreadable, RulesInvalid, column_letter
from disbursement.files import read_yaml
from disbursement.ingest.read import read_small_table
from disbursement.money import UNITS, ParsedAmount, detect_foreign_unit, parse_amount, unit_in_header
from disbursement.text import fold

TABLES_FILE = RULES_DIR / "officer_tables.yaml"
TABLE_KINDS = {"overrides": "overrides", "approved": "approved-figures"}  # kind → its name
HEADER_ROWS = 10  # the header is looked for in the first rows only


def header_fold(value: object) -> str:
    """`text.fold` with punctuation as word breaks (+ and - kept: the overrides' kinds)."""
    return " ".join(re.sub(r"[^a-z0-9+\-]+", " ", fold(str(value))).split())


@dataclass(frozen=True, slots=True)
class HeaderField:
    """One column of an officer table and the headers that name it (rules/officer_tables.yaml)."""

    name: str
    aliases: tuple[str, ...]  # folded; one word: the whole header; more: the header's start
    contains: tuple[str, ...]  # folded; anywhere in the header
    required: bool

    def matches(self, text: str) -> bool:
        return any(text == a or (" " in a and text.startswith(a + " ")) for a in self.aliases) or any(
            c in text for c in self.contains
        )


@functools.cache
def table_fields(kind: str, path: str | None = None) -> tuple[HeaderField, ...]:
    """The fields of one officer table, in priority order, read strictly from the rules."""
    source = path or str(TABLES_FILE)
    top = _Reader(source, read_yaml(source, "officer-table vocabulary", RulesInvalid), "")
    top.allow(*TABLE_KINDS)
    table = top.section(kind)
    fields = []
    for name in table.data:
        entry = table.section(str(name))
        entry.allow("aliases", "contains", "required")
        fields.append(
            HeaderField(
                str(name),
                tuple(header_fold(a) for a in entry.get("aliases", list, [])),
                tuple(header_fold(a) for a in entry.get("contains", list, [])),
                entry.get("required", bool, False),
            )
        )
    return tuple(fields)


def find_header(rows: list[list[Any]], kind: str, where: str, expected: str) -> tuple[int, dict[str, int]]:
    """(header row index, field → column index) of an officer table, or `InputUnreadable`.

    The header is the first of the first rows holding at least three (or all) required
    fields; a required field it lacks, or one field named by two columns, is refused with the
    row and the columns, never guessed. `expected` lists the headers in the officer's words.
    """
    fields = table_fields(kind)
    required = [f.name for f in fields if f.required]
    for i, cells in enumerate(rows[:HEADER_ROWS]):
        texts = [header_fold(c) if c is not None else "" for c in cells]
        found: dict[str, list[int]] = {}
        for j, text in enumerate(texts):
            field = next((f for f in fields if text and f.matches(text)), None)
            if field is not None:
                found.setdefault(field.name, []).append(j)
        if sum(name in found for name in required) < min(3, len(required)):
            continue
        missing = [name for name in required if name not in found]
        if missing:
            raise InputUnreadable(
                f"{where}: the {TABLE_KINDS[kind]} header (row {i + 1}) lacks: "
                f"{', '.join(missing)}; "
                f"expected columns: {expected}"
            )
        for name, columns in found.items():
            if len(columns) > 1:
                letters = ", ".join(column_letter(j) for j in columns)
                raise InputUnreadable(
                    f"{where}: row {i + 1}: columns {letters} could each be "
                    f"{name}; rename all but one (expected columns: {expected})"
                )
        return i, {name: columns[0] for name, columns in found.items()}
    raise InputUnreadable(
        f"{where}: no {TABLE_KINDS[kind]} header found in the first "
        f"{HEADER_ROWS} rows; expected columns: {expected}"
    )


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


def amount_unit(header: str, where: str) -> int:
    """đồng per unit of an officer table's amount column, from its header (triệu đồng when it
    names none); a header in another currency ("Số tiền (nghìn USD)") is refused."""
    if detect_foreign_unit(header, header=True):
        raise InputUnreadable(
            f"{where}: the amount column is in another currency ({header!r}); "
            "the engine reads only đồng amounts"
        )
    return UNITS[unit_in_header(header) or "trieu"]


def read_approved_figures(path: str | os.PathLike[str]) -> ApprovedTable:
    """The data rows of an approved-figures file (blank rows left out)."""
    path = Path(path)
    sheet, table = read_small_table(path, "the approved-figures file")
    where = f"{path}" + (f" sheet '{sheet}'" if sheet else "")
    head, cols = find_header(
        table,
        "approved",
        where,
        "Mã dự án, Nguồn vốn, Kế hoạch sau điều chỉnh (project code, capital source, plan after adjustment)",
    )
    unit = amount_unit(str(table[head][cols["plan_after"]]), where)
    rows = []
    for r, cells in enumerate(table[head + 1 :], start=head + 2):

        def cell(name: str, cells: list[Any] = cells) -> Any:
            j = cols[name]
            return cells[j] if j < len(cells) else None

        code, source = (
            str(cell(f) if cell(f) is not None else "").strip() for f in ("project_code", "capital_source")
        )
        if not code and not source and cell("plan_after") in (None, ""):
            continue
        rows.append(ApprovedRow(r, code, source, cell("plan_after"), parse_amount(cell("plan_after"), unit)))
    return ApprovedTable(where, column_letter(cols["plan_after"]), rows)
