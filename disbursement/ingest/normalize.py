"""Turn one understood sheet into canonical plan lines (int đồng) plus located issues.

Work is column-wise: each needed column is pulled out of the cell grid once and parsed as a
whole (`money.parse_amount_column`). Only the row classifier walks rows, because group rows
set context (capital source, status, sector) for the project rows under them.
"""

from __future__ import annotations

import operator
import re
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue, column_letter
from disbursement.ingest.amount_checks import (
    check_subtotals,
    fill_formulas,
    report_cells,
    report_merged_money,
    unparseable_required,
)
from disbursement.ingest.header import SheetLayout
from disbursement.ingest.read import RawSheet
from disbursement.ingest.rows import (
    UNKNOWN_SOURCE,
    SourceMatcher,
    classify,
    status_from_text,
    status_in_note,
    text_column,
)
from disbursement.model import MONEY_COLUMNS, OPTIONAL_MONEY, STATUS_OTHER, TEXT_COLUMNS
from disbursement.money import UNITS, parse_amount_column
from disbursement.source_cells import line_cells


@dataclass
class SheetResult:
    lines: pd.DataFrame
    row_classes: dict[str, int]
    unit: str
    letters: dict[str, str] = field(default_factory=dict)  # canonical column → its letter


def normalise_sheet(
    sheet: RawSheet,
    layout: SheetLayout,
    sources: SourceMatcher,
    unit: str,
    issues: list[Issue],
    *,
    cells: bool = True,
) -> SheetResult:
    """Canonical plan lines of one sheet; every doubtful cell becomes an issue record.

    `cells=False` leaves the `cells` column None, for `line_cells(result.letters, rows)` to
    fill where the lines are put together (a second process sends its lines without them)."""
    rows = sheet.cells[layout.data_start :]
    first_row = layout.data_start + 1  # Excel row of rows[0]
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        return SheetResult(pd.DataFrame(), {}, unit)
    transposed = _Columns(rows, width)
    merged = [(r0, c0, r1, c1) for (r0, c0), (r1, c1) in sheet.merged if r1 > r0 and r0 >= layout.data_start]
    if merged:
        _spread_merged_text(sheet.cells, layout, transposed, merged)

    def column(canonical: str):
        index = layout.columns.get(canonical)
        return transposed[index] if index is not None and index < width else None

    def report(code, row, canonical, message):
        letter = column_letter(layout.columns[canonical]) if canonical in layout.columns else None
        cells = column(canonical)
        raw = cells[row - first_row] if cells is not None and 0 <= row - first_row < len(cells) else None
        issues.append(
            issue(
                code,
                sheet.file,
                sheet.sheet,
                row,
                letter,
                message,
                figure=canonical,
                value="" if raw is None else str(raw),
            )
        )

    n = len(rows)
    empty = [""] * n
    texts = {c: text_column(column(c) or empty, layout.legacy) for c in TEXT_COLUMNS if c in layout.columns}
    unit_dong = UNITS[unit]
    money: dict[str, np.ndarray] = {}
    blank: dict[str, np.ndarray] = {}
    problems: dict[str, list] = {}
    for canonical in MONEY_COLUMNS:
        values = column(canonical)
        if values is None:
            continue
        amounts, was_blank, found = parse_amount_column(values, unit_dong)
        if sheet.uncached:
            found = found + fill_formulas(
                sheet, layout.columns[canonical], layout.data_start, unit_dong, amounts, was_blank
            )
        money[canonical], blank[canonical], problems[canonical] = amounts, was_blank, found
    if layout.disbursed_parts:  # "Tạm ứng" + "Thanh toán KLHT", no total: giải ngân is both
        parsed = [
            parse_amount_column(transposed[c] if c < width else empty, unit_dong)
            for c in layout.disbursed_parts
        ]
        money["disbursed_dong"] = sum((p[0] for p in parsed[1:]), parsed[0][0])
        blank["disbursed_dong"] = np.logical_and.reduce([p[1] for p in parsed])
        problems["disbursed_dong"] = [x for p in parsed for x in p[2]]
    has_amount = np.zeros(n, dtype=bool)
    for canonical in ("plan_dong", "disbursed_dong"):
        if canonical in blank:
            has_amount |= ~blank[canonical]
    blank_codes = _clear_invisible_codes(texts, column("project_code"))
    if "project_code" in texts and "project_name" in texts:
        _labels_typed_in_code_column(texts["project_code"], texts["project_name"])
    classes, values = classify(
        texts.get("stt", empty),
        texts.get("project_name", empty),
        texts.get("project_code", empty),
        has_amount.tolist(),
        sources,
    )
    context = _GroupContext(classes)
    for pos in np.flatnonzero(context.kind == "source_group").tolist():
        if values[pos] != UNKNOWN_SOURCE:
            continue
        label = texts.get("project_name", empty)[pos] or texts.get("stt", empty)[pos]
        report(
            "SOURCE-GROUP-UNKNOWN",
            first_row + int(pos),
            "project_name",
            f"group row {label!r} reads as a capital-source group but names no source of the "
            "rules; its lines are reviewed with source UNKNOWN and kept out of reallocation",
        )
    is_line = context.kind == "project"
    if sheet.uncached:
        issues.append(
            issue(
                "FORMULA-NO-RESULT",
                sheet.file,
                sheet.sheet,
                None,
                None,
                f"{len(sheet.uncached)} formula cells were saved without their results; "
                "simple sums were computed by the engine, the rest are reported per cell",
            )
        )
    report_cells(problems, is_line, first_row, report)
    for pos in map(int, blank_codes):
        if is_line[pos]:
            report(
                "CODE-BLANK",
                first_row + pos,
                "project_code",
                "the project code cell holds only spaces or invisible characters; the line "
                "is read as having no code",
            )
    for canonical, why in layout.inferred.items():
        report(
            "COLUMN-INFERRED",
            layout.header_top + 1,
            canonical,
            f"{canonical} column recognised by its content: {why}",
        )
    if merged:
        report_merged_money(merged, layout, is_line, first_row, report)
    check_subtotals(classes, money, blank, is_line, first_row, layout, sheet, issues)
    counts = pd.Series(classes, dtype=object).value_counts().to_dict()

    positions = np.flatnonzero(is_line)
    picked = positions.tolist()
    # The columns in the order a column-by-column assignment gave them (a dict keeps the
    # place of a key given again), made into one frame at the end.
    columns: dict[str, object] = {}
    shown: dict[str, list] = {c: [col[i] or None for i in picked] for c, col in texts.items()}
    for c in [*shown, *(c for c in TEXT_COLUMNS if c not in shown)]:
        columns[c] = pd.array(shown.get(c, [None] * len(picked)), dtype="string")
    if "capital_source_label" in texts:  # a "Nguồn vốn" column wins over group rows
        ids = [sources.match(t) if t else None for t in shown["capital_source_label"]]
        columns["capital_source"] = pd.array(ids, dtype="string")
    else:
        ids = [None if v == UNKNOWN_SOURCE else v for v in context.take(context.source_row, picked, values)]
        labels = context.take(context.source_row, picked, texts.get("project_name", empty))
        hint = _source_from_hints(layout.source_hints, sources)
        if hint is not None:  # lines above any source group: the sheet's title or name says it
            labels = [label if i is not None else hint[1] for i, label in zip(ids, labels, strict=True)]
            ids = [hint[0] if i is None else i for i in ids]
        columns["capital_source"] = pd.array(ids, dtype="string")
        columns["capital_source_label"] = pd.array(labels, dtype="string")
    group_status = context.take(context.status_row, picked, values)
    if "status" in texts:
        cell_texts = shown["status"]
        named = {t: status_from_text(t) for t in set(cell_texts) if t}
        cell_status = [named.get(t) if t else None for t in cell_texts]
        group_status = [c or g for c, g in zip(cell_status, group_status, strict=True)]
    if "note" in texts and picked:
        group_status = _status_from_notes(shown["note"], positions, group_status, sheet, first_row, issues)
    columns["status"] = pd.array(
        [s if isinstance(s, str) and s else STATUS_OTHER for s in group_status], dtype="string"
    )
    if "sector" not in texts:
        columns["sector"] = pd.array(context.take(context.sector_row, picked, values), dtype="string")
    n_lines = len(picked)
    for c in MONEY_COLUMNS:
        if c in money:
            data = money[c][positions]
            if c in OPTIONAL_MONEY:
                mask = blank[c][positions]
                columns[c] = pd.arrays.IntegerArray(np.where(mask, 0, data).astype(np.int64), mask.copy())
            else:
                columns[c] = data.astype(np.int64)
        elif c in OPTIONAL_MONEY:
            columns[c] = pd.array([pd.NA] * n_lines, dtype="Int64")
        else:
            columns[c] = np.zeros(n_lines, dtype=np.int64)
    lines = pd.DataFrame(columns, index=pd.RangeIndex(n_lines))
    lines["file"] = sheet.file
    lines["sheet"] = sheet.sheet
    excel_rows = (positions + first_row).astype(np.int64)
    letters = {c: column_letter(i) for c, i in layout.columns.items()}
    lines["row"] = excel_rows
    lines["cells"] = line_cells(letters, excel_rows.tolist()) if cells else None
    lines["unit"] = unit
    bad_rows = unparseable_required(problems, first_row)
    lines["trusted"] = ~np.isin(excel_rows, list(bad_rows))
    return SheetResult(lines, counts, unit, letters)


class _Columns:
    """The data rows' cells column by column, each column made when it is first asked for
    (only the columns the layout maps are: a sheet is often twice as wide); a short row reads
    as empty cells."""

    def __init__(self, rows: list[list], width: int) -> None:
        self.rows, self.width = rows, width
        self.even = min(map(len, rows), default=width) == width
        self.made: dict[int, list] = {}

    def __len__(self) -> int:
        return self.width

    def __getitem__(self, k: int) -> list:
        if k not in self.made:
            if self.even:
                self.made[k] = list(map(operator.itemgetter(k), self.rows))
            else:
                self.made[k] = [r[k] if k < len(r) else "" for r in self.rows]
        return self.made[k]

    def __setitem__(self, k: int, column: list) -> None:
        self.made[k] = column


INVISIBLE = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u00a0]+")
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _clear_invisible_codes(texts: dict[str, list[str]], raw) -> list[int]:
    """Code cells holding only spaces or zero-width characters become no code (their
    positions are returned, to be noted); zero-width characters are dropped from real codes."""
    codes = texts.get("project_code")
    if codes is None or raw is None:
        return []
    cells = [v for v in raw if isinstance(v, str)]
    if ZERO_WIDTH.search("".join(cells)) or ZERO_WIDTH.search("".join(codes)):
        return _clear_cell_by_cell(codes, raw)
    # no zero-width character in the column (the usual case): a cell is invisible exactly when
    # it is whitespace only (INVISIBLE is whitespace and ZERO_WIDTH)
    cleared = [i for i, v in enumerate(raw) if isinstance(v, str) and v.isspace()]
    for i in cleared:
        codes[i] = ""
    return cleared


def _clear_cell_by_cell(codes: list[str], raw) -> list[int]:
    cleared = []
    for i, (value, code) in enumerate(zip(raw, codes, strict=True)):
        if isinstance(value, str) and value and not INVISIBLE.sub("", value):
            codes[i] = ""
            cleared.append(i)
        elif code and ZERO_WIDTH.search(code):
            codes[i] = ZERO_WIDTH.sub("", code).strip()
    return cleared


def _status_from_notes(
    notes: list, positions: np.ndarray, status: list, sheet: RawSheet, first_row: int, issues: list[Issue]
) -> list:
    """Lines that neither a group row nor a status column placed: their note ("Ghi chú: dự
    án chuyển tiếp", "DA KCM năm 2022") may say it. Reported once per sheet."""
    found = [
        s if isinstance(s, str) and s else (status_in_note(n) if n else None)
        for s, n in zip(status, notes, strict=True)
    ]
    taken = [
        i
        for i, (old, new) in enumerate(zip(status, found, strict=True))
        if new and not (isinstance(old, str) and old)
    ]
    if taken:
        row = first_row + int(positions[taken[0]])
        issues.append(
            issue(
                "STATUS-FROM-NOTE",
                sheet.file,
                sheet.sheet,
                row,
                None,
                f"{len(taken)} lines without a status group row or status column "
                "take their status from the note column (e.g. 'dự án chuyển tiếp')",
            )
        )
    return found


class _GroupContext:
    """Which group row above each row sets its context: the last capital-source group, and the
    last status / sector group since that source group (-1: none). One numpy pass over the
    row classes instead of pandas' forward fills per group."""

    def __init__(self, classes: list[str]) -> None:
        self.kind = np.array(classes, dtype=object)
        where = np.arange(len(classes))
        is_source = self.kind == "source_group"
        self.source_row = _last_at_or_above(is_source, where)
        self.status_row = self._since_source(self.kind == "status_group", where)
        self.sector_row = self._since_source(self.kind == "sector_group", where)

    def _since_source(self, is_group: np.ndarray, where: np.ndarray) -> np.ndarray:
        last = _last_at_or_above(is_group, where)
        return np.where(last > self.source_row, last, -1)

    @staticmethod
    def take(rows: np.ndarray, picked: list[int], values: list) -> list:
        """`values` at the group row each of the rows `picked` inherits from (None: none)."""
        found = rows[picked].tolist() if picked else []
        return [values[j] if j >= 0 else None for j in found]


def _last_at_or_above(flags: np.ndarray, where: np.ndarray) -> np.ndarray:
    return np.maximum.accumulate(np.where(flags, where, -1)) if len(where) else where


# Text that a cell merged over several lines gives to each of them (one investor for three
# projects); never the project's own identity (STT, code, name).
FILL_DOWN = (
    "investor",
    "location",
    "sector",
    "capital_source_label",
    "budget_level",
    "status",
    "category",
    "investment_decision",
    "note",
)


def _spread_merged_text(cells, layout, transposed, merged) -> None:
    start = layout.data_start
    for canonical in FILL_DOWN:
        k = layout.columns.get(canonical)
        if k is None or k >= len(transposed):
            continue
        for r0, c0, r1, c1 in merged:
            if not c0 <= k <= c1 or r0 >= len(cells) or c0 >= len(cells[r0]) or cells[r0][c0] in ("", None):
                continue
            column = transposed[k] = list(transposed[k])
            for r in range(r0, min(r1, start + len(column) - 1) + 1):
                if column[r - start] in ("", None):
                    column[r - start] = cells[r0][c0]


CODE_LIKE = re.compile(r"^[\w./-]{1,30}$")


def _labels_typed_in_code_column(codes: list[str], names: list[str]) -> None:
    """A group label ("Dự án chuyển tiếp", "VỐN XỔ SỐ KIẾN THIẾT") typed in the code column,
    left of an empty name cell, is the row's name: project codes are single tokens."""
    for i, (code, name) in enumerate(zip(codes, names, strict=True)):
        if code and not name and not CODE_LIKE.match(code):
            names[i], codes[i] = code, ""


def _source_from_hints(hints: list[str], sources: SourceMatcher) -> tuple[str, str] | None:
    """(source id, text) from a title such as "NGUỒN VỐN: XỔ SỐ KIẾN THIẾT" or the sheet name."""
    for text in hints:
        found = sources.match(text)
        if found:
            return found, text
    return None
