"""The request workbook an investor receives, fills and returns.

Three sheets: a cover that says what is asked, by when and how to return it; the data sheet
(a header row with "Mã dự án" and "Kế hoạch vốn năm Y", the answer columns after the locked
ones, a hidden key column); and a hidden sheet holding the request id and each line's key and
figures at request time. The sheet is protected without a password (against accidental edits,
not against anyone): only the answer cells are unlocked; sorting and filtering stay allowed.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from disbursement.errors import column_letter
from disbursement.files import atomic_path
from disbursement.investors.spec import MONEY_FIELDS, Request, Spec
from disbursement.money import rate_scaled
from disbursement.version import __version__

MARKER = "disbursement-request"
FORMAT_VERSION = 1
HEADER_ROW = 5
META_KEYS = (
    "request_id",
    "investor",
    "year",
    "round",
    "rule_id",
    "as_of",
    "deadline",
    "unit",
    "file_name",
    "engine_version",
)
LINE_COLUMNS = (
    "token",
    "project_code",
    "capital_source",
    "capital_source_label",
    "project_name",
    "plan_dong",
    "disbursed_dong",
    "flagged",
    "reason",
    *MONEY_FIELDS,
)
MONEY_FORMAT = "#,##0.000"
WRAPPED = (3, 4, 9)  # name, capital source, reason: 1-based columns whose text wraps


def _height(cells: list[Any], widths: list[int]) -> float:
    """A row tall enough for its wrapped texts (spreadsheets do not grow rows written by a
    library), in points: 15 per line at ~1 character per width unit."""
    lines = max(
        (-(-len(str(cells[c - 1])) // max(widths[c - 1] - 1, 1)) for c in WRAPPED if cells[c - 1]), default=1
    )
    return 15.0 * max(lines, 1)


def texts_for(request: Request, spec: Spec) -> dict[str, str]:
    """The values the wording's {names} are filled with."""
    return {
        "year": str(request.year),
        "next_year": str(request.year + 1),
        "round": f"Đợt {request.round}",
        "as_of": request.as_of.strftime("%d/%m/%Y"),
        "deadline": (
            request.deadline.strftime("%d/%m/%Y") if request.deadline else spec.texts["no_deadline"]
        ),
        "investor": request.investor,
        "request_id": request.request_id,
        "unit": spec.unit,
    }


def answer_headers(request: Request, spec: Spec) -> list[str]:
    values = texts_for(request, spec)
    return [f.header.format_map(values) for f in spec.fields]


def _put(sheet, row: int, col: int, value: Any):
    """Write a cell; text is always text ("=…" typed by anyone stays text, never a formula)."""
    cell = sheet.cell(row=row, column=col, value=value)
    if isinstance(value, str):
        cell.data_type = "s"
    return cell


def write_request(request: Request, spec: Spec, path: str | Path) -> None:
    """Write one request workbook atomically, byte-identical for the same request."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Border, Font, PatternFill, Protection, Side

    from disbursement.files import save_workbook

    values = texts_for(request, spec)
    book = Workbook()
    cover = book.active
    cover.title = spec.sheets["cover"]
    for i, line in enumerate(spec.texts["cover"], start=1):
        text = line.format_map(
            {**values, "answer_headers": "; ".join(f'"{h}"' for h in answer_headers(request, spec))}
        )
        cell = _put(cover, i * 2 - 1, 1, text)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
        cell.font = Font(name="Times New Roman", size=13, bold=i == 1)
    cover.column_dimensions["A"].width = 110
    cover.protection.sheet = True

    data = book.create_sheet(spec.sheets["data"])
    locked = [
        spec.columns[k].format_map(values)
        for k in (
            "stt",
            "project_code",
            "project_name",
            "capital_source_label",
            "plan_dong",
            "disbursed_dong",
            "rate",
            "flagged",
            "reason",
        )
    ]
    headers = [*locked, *answer_headers(request, spec), spec.columns["key"]]
    thin = Side(style="thin")
    box = Border(left=thin, right=thin, top=thin, bottom=thin)
    answer_fill = PatternFill("solid", fgColor="FFF2CC")
    _put(data, 1, 1, spec.texts["title"].format_map(values)).font = Font(bold=True, size=13)
    _put(data, 2, 1, spec.texts["subtitle"].format_map(values)).font = Font(italic=True)
    _put(data, 3, 1, spec.texts["unit_line"]).font = Font(italic=True)
    for col, header in enumerate(headers, start=1):
        cell = _put(data, HEADER_ROW, col, header)
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, horizontal="center", vertical="center")
        cell.border = box
    first_answer = len(locked) + 1
    widths = [6, 11, 40, 24, 13, 13, 9, 10, 32, *([14] * (len(spec.fields) - 1)), 30, 14]
    unit = spec.unit_dong
    for n, line in enumerate(request.lines, start=1):
        row = HEADER_ROW + n
        rate = rate_scaled(line.disbursed_dong, line.plan_dong) if line.plan_dong > 0 else None
        cells = [
            n,
            line.project_code or "",
            line.project_name,
            line.capital_source_label,
            line.plan_dong / unit,
            line.disbursed_dong / unit,
            None if rate is None else rate / 10_000,
            spec.texts["flag_mark"] if line.flagged else "",
            line.reason or "",
        ]
        for col, value in enumerate(cells, start=1):
            cell = _put(data, row, col, value)
            cell.border = box
            cell.alignment = Alignment(wrap_text=col in WRAPPED, vertical="top")
            if col in (5, 6):
                cell.number_format = MONEY_FORMAT
            elif col == 7:
                cell.number_format = "0.00%"
        for col in range(first_answer, first_answer + len(spec.fields)):
            cell = data.cell(row=row, column=col)
            cell.protection = Protection(locked=False)
            cell.fill = answer_fill
            cell.border = box
            if spec.fields[col - first_answer].kind == "money":
                cell.number_format = MONEY_FORMAT
            else:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
        _put(data, row, len(headers), line.token)
        data.row_dimensions[row].height = _height(cells, widths)
    for col, width in enumerate(widths, start=1):
        data.column_dimensions[column_letter(col - 1)].width = width
    data.column_dimensions[column_letter(len(headers) - 1)].hidden = True
    data.row_dimensions[HEADER_ROW].height = 60
    data.freeze_panes = data.cell(row=HEADER_ROW + 1, column=4)
    last = HEADER_ROW + max(len(request.lines), 1)
    data.auto_filter.ref = f"A{HEADER_ROW}:{column_letter(len(headers) - 1)}{last}"
    data.protection.sheet = True
    data.protection.sort = False
    data.protection.autoFilter = False
    data.protection.formatColumns = False
    data.page_setup.orientation = "landscape"
    data.page_setup.fitToWidth = 1
    data.page_setup.fitToHeight = 0
    data.sheet_properties.pageSetUpPr.fitToPage = True
    book.active = 1

    keys = book.create_sheet(spec.sheets["keys"])
    keys.sheet_state = "hidden"
    _put(keys, 1, 1, MARKER)
    _put(keys, 1, 2, FORMAT_VERSION)
    meta = {
        "request_id": request.request_id,
        "investor": request.investor,
        "year": request.year,
        "round": request.round,
        "rule_id": request.rule_id,
        "as_of": request.as_of.isoformat(),
        "deadline": request.deadline.isoformat() if request.deadline else "",
        "unit": request.unit,
        "file_name": request.file_name,
        "engine_version": __version__,
    }
    for i, name in enumerate(META_KEYS, start=2):
        _put(keys, i, 1, name)
        _put(keys, i, 2, meta[name])
    table = len(META_KEYS) + 3
    for col, name in enumerate(LINE_COLUMNS, start=1):
        _put(keys, table, col, name)
    for n, line in enumerate(request.lines, start=1):
        row_values = [
            line.token,
            line.project_code or "",
            line.capital_source,
            line.capital_source_label,
            line.project_name,
            line.plan_dong,
            line.disbursed_dong,
            int(line.flagged),
            line.reason or "",
            *(line.figures.get(f) for f in MONEY_FIELDS),
        ]
        for col, value in enumerate(row_values, start=1):
            _put(keys, table + n, col, value)
    keys.protection.sheet = True

    stamp = dt.datetime.combine(request.as_of, dt.time(8, 0))
    book.properties.creator = "disbursement"
    book.properties.lastModifiedBy = "disbursement"
    book.properties.created = stamp
    book.properties.modified = stamp
    book.properties.title = spec.texts["title"].format_map(values)
    with atomic_path(path) as tmp:
        save_workbook(book, tmp)  # without openpyxl's clock stamp: same request, same bytes
