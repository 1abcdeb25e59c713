"""Turn one understood sheet into canonical plan lines (int đồng) plus located issues.

Work is column-wise: each needed column is pulled out of the cell grid once and parsed as a
whole (`money.parse_amount_column`). Only the row classifier walks rows, because group rows
set context (capital source, status, sector) for the project rows under them.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

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


@dataclass
class SheetResult:
    lines: pd.DataFrame
    row_classes: dict[str, int]
    unit: str


def normalise_sheet(
    sheet: RawSheet, layout: SheetLayout, sources: SourceMatcher, unit: str, issues: list[Issue]
) -> SheetResult:
    """Canonical plan lines of one sheet; every doubtful cell becomes an issue record."""
    rows = sheet.cells[layout.data_start :]
    first_row = layout.data_start + 1  # Excel row of rows[0]
    width = max((len(r) for r in rows), default=0)
    if not rows or width == 0:
        return SheetResult(pd.DataFrame(), {}, unit)
    transposed = list(zip(*(r + [""] * (width - len(r)) for r in rows), strict=True))
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
    frame = pd.DataFrame({"cls": classes, "value": values})
    frame["row"] = np.arange(first_row, first_row + n)
    # Group context flows down: a source group resets status and sector under it.
    src = frame["value"].where(frame["cls"] == "source_group")
    src = src.ffill()
    frame["source_id"] = src.where(src != UNKNOWN_SOURCE)
    for pos in map(
        int, np.flatnonzero((frame["cls"] == "source_group") & (frame["value"] == UNKNOWN_SOURCE))
    ):
        label = texts.get("project_name", empty)[pos] or texts.get("stt", empty)[pos]
        report(
            "SOURCE-GROUP-UNKNOWN",
            first_row + int(pos),
            "project_name",
            f"group row {label!r} reads as a capital-source group but names no source of the "
            "rules; its lines are reviewed with source UNKNOWN and kept out of reallocation",
        )
    block = (frame["cls"] == "source_group").cumsum()
    frame["source_label"] = pd.Series(
        [
            t if c == "source_group" else None
            for t, c in zip(texts.get("project_name", empty), classes, strict=True)
        ],
        dtype=object,
    ).ffill()
    for key, cls in (("status", "status_group"), ("sector", "sector_group")):
        frame[key] = frame["value"].where(frame["cls"] == cls).groupby(block).ffill()

    is_line = frame["cls"].eq("project").to_numpy()
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
    check_subtotals(frame, money, blank, is_line, first_row, layout, sheet, issues)
    counts = frame["cls"].value_counts().to_dict()

    lines = pd.DataFrame(index=np.flatnonzero(is_line))
    positions = lines.index.tolist()
    for c, col in texts.items():
        lines[c] = pd.array([col[i] or None for i in positions], dtype="string")
    for c in TEXT_COLUMNS:
        if c not in lines:
            lines[c] = pd.array([None] * len(lines), dtype="string")
    if "capital_source_label" in texts:  # a "Nguồn vốn" column wins over group rows
        labels = lines["capital_source_label"].fillna("")
        ids = [sources.match(t) if t else None for t in labels]
        lines["capital_source"] = pd.array(ids, dtype="string")
    else:
        ids = frame["source_id"].iloc[lines.index]
        labels = frame["source_label"].iloc[lines.index]
        hint = _source_from_hints(layout.source_hints, sources)
        if hint is not None:  # lines above any source group: the sheet's title or name says it
            labels = labels.where(ids.notna(), hint[1])
            ids = ids.fillna(hint[0])
        lines["capital_source"] = pd.array(ids.tolist(), dtype="string")
        lines["capital_source_label"] = pd.array(labels.tolist(), dtype="string")
    group_status = frame["status"].iloc[lines.index].tolist()
    if "status" in texts:
        named = {t: status_from_text(t) for t in set(lines["status"].dropna()) if t}
        cell_status = [named.get(t) for t in lines["status"].fillna("")]
        group_status = [c or g for c, g in zip(cell_status, group_status, strict=True)]
    if "note" in texts and len(lines):
        group_status = _status_from_notes(lines, group_status, sheet, first_row, issues)
    lines["status"] = pd.array(
        [s if isinstance(s, str) and s else STATUS_OTHER for s in group_status], dtype="string"
    )
    if "sector" not in texts:
        lines["sector"] = pd.array(frame["sector"].iloc[lines.index].tolist(), dtype="string")
    for c in MONEY_COLUMNS:
        if c in money:
            data = money[c][lines.index]
            if c in OPTIONAL_MONEY:
                mask = blank[c][lines.index]
                lines[c] = pd.arrays.IntegerArray(np.where(mask, 0, data).astype(np.int64), mask.copy())
            else:
                lines[c] = data.astype(np.int64)
        elif c in OPTIONAL_MONEY:
            lines[c] = pd.array([pd.NA] * len(lines), dtype="Int64")
        else:
            lines[c] = np.zeros(len(lines), dtype=np.int64)
    lines["file"] = sheet.file
    lines["sheet"] = sheet.sheet
    lines["row"] = (lines.index + first_row).astype(np.int64)
    cells = {c: column_letter(i) for c, i in layout.columns.items()}
    keys, letters = list(cells), list(cells.values())
    lines["cells"] = [
        dict(zip(keys, [letter + r for letter in letters], strict=True))
        for r in map(str, lines["row"].tolist())
    ]
    lines["unit"] = unit
    bad_rows = unparseable_required(problems, first_row)
    lines["trusted"] = ~lines["row"].isin(bad_rows)
    return SheetResult(lines.reset_index(drop=True), counts, unit)


INVISIBLE = re.compile("[\\s\u200b\u200c\u200d\u2060\ufeff\u00a0]+")
ZERO_WIDTH = re.compile("[\u200b\u200c\u200d\u2060\ufeff]")


def _clear_invisible_codes(texts: dict[str, list[str]], raw) -> list[int]:
    """Code cells holding only spaces or zero-width characters become no code (their
    positions are returned, to be noted); zero-width characters are dropped from real codes."""
    codes = texts.get("project_code")
    if codes is None or raw is None:
        return []
    cleared = []
    for i, (value, code) in enumerate(zip(raw, codes, strict=True)):
        if isinstance(value, str) and value and not INVISIBLE.sub("", value):
            codes[i] = ""
            cleared.append(i)
        elif code and ZERO_WIDTH.search(code):
            codes[i] = ZERO_WIDTH.sub("", code).strip()
    return cleared


def _status_from_notes(
    lines: pd.DataFrame, status: list, sheet: RawSheet, first_row: int, issues: list[Issue]
) -> list:
    """Lines that neither a group row nor a status column placed: their note ("Ghi chú: dự
    án chuyển tiếp", "DA KCM năm 2022") may say it. Reported once per sheet."""
    notes = lines["note"].fillna("").tolist()
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
        row = first_row + int(lines.index[taken[0]])
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
