"""An annotated copy of an input workbook: the officer's own sheet, flagged rows highlighted.

`annotate_copy` writes a copy of one input file in which every flagged project row is filled
(amber), the offending cell of each flag carries a comment (the disbursed cell for a rate
flag: rule id, rate, threshold, data date, plan and disbursement; the expected-disbursement
cell for a round-3 flag), and each cell named by an issue (row + column) carries the issue's
code and message. Error cells are also filled (light red). The original is only ever read.

* .xlsx / .xlsm are copied with openpyxl, keeping the officer's formatting, formulas and
  (for .xlsm) macros; the copy keeps the input's suffix. openpyxl does not keep the cached
  results of formulas: Excel and LibreOffice recalculate them on opening.
* .xls, .ods, .xlsb and .csv cannot be written back in their own format: the copy is an .xlsx
  of their cell values and merged ranges (not their formatting); the returned path says so
  (``<stem>.annotated.xlsx`` whatever suffix was asked for).

The output is written atomically (a failed run leaves no partial file) and is byte-stable:
fixed workbook properties (dated by the round's data date), fixed zip entry times and order.
"""

from __future__ import annotations

import datetime as dt
import os
import warnings
from collections.abc import Iterable, Mapping
from pathlib import Path

from disbursement.errors import InputUnreadable, Issue, OutputError, cell_column, column_letter
from disbursement.files import atomic_path, save_workbook
from disbursement.money import format_pct, format_trieu
from disbursement.render.env import environment, in_notation
from disbursement.render.words import issue_text, wording

OPENPYXL_SUFFIXES = {".xlsx", ".xlsm"}
FLAG_FILL = "FFFFE699"  # amber: a flagged project row
ERROR_FILL = "FFF4CCCC"  # light red: a cell with an error issue
AUTHOR = "disbursement"
FIXED_STAMP = dt.datetime(2000, 1, 1)  # properties date when no round date is known
_MAX_COMMENT = 2000  # Excel's comment boxes become unusable far below its 32k limit


def annotated_name(src: str | os.PathLike) -> str:
    """File name of the annotated copy of `src`: ``<stem>.annotated.xlsx`` (``.xlsm`` kept)."""
    path = Path(src)
    suffix = ".xlsm" if path.suffix.lower() == ".xlsm" else ".xlsx"
    return f"{path.stem}.annotated{suffix}"


def annotate_copy(
    src_path: str | os.PathLike,
    dst_path: str | os.PathLike,
    flags_df,
    issues: Iterable[Issue],
    *,
    round_info=None,
    lang: str = "vi",
) -> Path:
    """Write the annotated copy of `src_path` and return the path actually written.

    `flags_df` is the round's flags (`RunResult.flags`; lines of other files are ignored),
    `issues` the run's issues (those of other files are ignored). `round_info`
    (`RunResult.round`) adds the threshold and data date to each flag's comment and dates
    the copy's properties; without it they come from `flags_df.attrs["round"]` if set.
    The suffix of `dst_path` is changed when the copy cannot be in that format (see module
    docstring). Raises `OutputError` when `dst_path` is the input itself.
    """
    src = Path(src_path)
    dst = Path(dst_path)
    if not src.is_file():
        raise InputUnreadable(f"{src}: no such file")
    suffix = src.suffix.lower()
    wanted = ".xlsm" if suffix == ".xlsm" else ".xlsx"
    if dst.suffix.lower() != wanted:
        dst = dst.with_suffix(wanted)
    if dst.resolve() == src.resolve():
        raise OutputError(f"{dst}: the annotated copy would overwrite the input; choose another name")
    if round_info is None:
        round_info = getattr(flags_df, "attrs", {}).get("round")
    notes = _Notes(wording(environment(), "ghi_chu", lang), lang)
    for flag in _all_flags(flags_df):
        if _same_file(flag.file, src):
            _note_flag(notes, flag, round_info)
        elif (where := _cell_in(src, flag)) is not None:  # a Treasury row joined to a plan line
            _note_flag(notes, flag, round_info, where)
    for issue in issues:
        if _same_file(issue.file, src) and issue.row:
            _note_issue(notes, issue)
    stamp = dt.datetime.combine(round_info.as_of, dt.time()) if round_info is not None else FIXED_STAMP
    workbook, names = _load(src)
    _apply(workbook, notes, names)
    props = workbook.properties
    props.created = props.modified = stamp
    props.lastModifiedBy = AUTHOR
    if suffix not in OPENPYXL_SUFFIXES:
        props.title = str(notes.words.copy_title(src.name))
        props.creator = AUTHOR
    with atomic_path(dst) as tmp:
        save_workbook(workbook, tmp)
    return dst


# ------------------------------------------------------------------ what to write where


class _Notes:
    """Per sheet: rows to fill, cells to fill, comment texts per cell (in insertion order)."""

    def __init__(self, words, lang: str) -> None:
        self.words, self.lang = words, lang  # templates/<lang>/ghi_chu.j2
        self.rows: dict[str | None, set[int]] = {}
        self.error_cells: dict[str | None, set[tuple[int, str]]] = {}
        self.comments: dict[str | None, dict[tuple[int, str], list[str]]] = {}

    def fill_row(self, sheet, row: int) -> None:
        self.rows.setdefault(sheet, set()).add(row)

    def fill_cell(self, sheet, row: int, column: str) -> None:
        self.error_cells.setdefault(sheet, set()).add((row, column))

    def comment(self, sheet, row: int, column: str, text: str) -> None:
        texts = self.comments.setdefault(sheet, {}).setdefault((row, column), [])
        if text not in texts:
            texts.append(text)


def _same_file(name, src: Path) -> bool:
    if not name:
        return False
    if str(name) == str(src):
        return True
    try:
        return Path(name).resolve() == src.resolve()
    except (OSError, ValueError):
        return False


def _all_flags(flags_df) -> list:
    if flags_df is None or len(flags_df) == 0:
        return []
    return list(flags_df.itertuples(index=False))


def _cell_in(src: Path, flag) -> tuple[str, str, int] | None:
    """(sheet, column, row) when the flag's disbursement was read from `src` for another file's
    line: the Treasury join cites it as "kbnn.xlsx:KBNN!F8"."""
    cells = flag.cells if isinstance(flag.cells, Mapping) else {}
    ref = cells.get("disbursed_dong")
    if not isinstance(ref, str) or ":" not in ref or "!" not in ref:
        return None
    name, rest = ref.split(":", 1)
    sheet, cell = rest.rsplit("!", 1)
    found = _split_cell(cell)
    if name != src.name or found is None:
        return None
    return sheet, found[0], found[1]


def _split_cell(ref) -> tuple[str, int] | None:
    """ "J14" → ("J", 14); a reference into another file ("kbnn.xlsx:KBNN!F8") → None."""
    if not isinstance(ref, str) or not ref or "!" in ref or ":" in ref:
        return None
    letters = cell_column(ref)
    digits = ref[len(letters) :]
    if not letters.isalpha() or not digits:
        return None
    return letters.upper(), int(digits)


def _value(flag, name):
    import pandas as pd

    value = getattr(flag, name, None)
    return None if value is None or (not isinstance(value, str) and pd.isna(value)) else value


def _note_flag(notes: _Notes, flag, info, elsewhere: tuple[str, str, int] | None = None) -> None:
    sheet, row = flag.sheet, int(flag.row)
    cells = flag.cells if isinstance(flag.cells, Mapping) else {}
    plan, done = int(flag.plan_dong), int(flag.disbursed_dong)
    expected = _value(flag, "expected_dong")
    rule = _value(flag, "rule_id") or "?"
    threshold = info.threshold_pct if info is not None else None
    words = notes.words
    title = str(words.title(rule, info.name if info is not None else ""))
    date = str(words.as_of(info.as_of.strftime("%d/%m/%Y"))) if info is not None else ""
    money = str(
        words.money(
            in_notation(format_trieu(plan), notes.lang), date, in_notation(format_trieu(done), notes.lang)
        )
    )
    if threshold is not None or expected is None:
        rate = format_pct(done, plan)  # truncated: never reads as the threshold
        if notes.lang == "en":
            rate = rate.replace(",", ".")
        text = f"{words.rate_flag(title, rate, threshold, date)}\n{money}"
        wanted: tuple[str, ...] = ("disbursed_dong", "plan_dong", "project_name")
    else:
        said = words.expected_flag(
            title,
            bool(_value(flag, "forecast")),
            in_notation(format_trieu(int(expected)), notes.lang),
            in_notation(format_trieu(plan), notes.lang),
        )
        text = f"{said}\n{money}"
        wanted = ("expected_dong", "disbursed_dong", "plan_dong", "project_name")
    where = next((c for c in (_split_cell(cells.get(k)) for k in wanted) if c), None)
    column = where[0] if where else "A"
    if elsewhere is not None:  # the figure's own row in the Treasury export
        code = _value(flag, "project_code") or ""
        sheet, column, row = elsewhere
        text = f"{text}\n{words.plan_line(code, Path(str(flag.file)).name, flag.sheet, flag.row)}"
    notes.fill_row(sheet, row)
    notes.comment(sheet, row, column, text)


def _note_issue(notes: _Notes, issue: Issue) -> None:
    column = (issue.column or "A").upper()
    if not column.isalpha():
        column = "A"
    word = dict(notes.words.severities).get(issue.severity, issue.severity)
    if issue.row is None:
        return
    notes.comment(
        issue.sheet, int(issue.row), column, f"[{issue.code}] {word}: {issue_text(issue, notes.lang)}"
    )
    if issue.severity == "error" and issue.column:
        notes.fill_cell(issue.sheet, int(issue.row), column)


# ------------------------------------------------------------------ workbook in, workbook out


def _load(src: Path):
    import openpyxl

    if src.suffix.lower() in OPENPYXL_SUFFIXES:
        try:
            with warnings.catch_warnings():  # dropped extensions (data validation …) are fine
                warnings.simplefilter("ignore")
                book = openpyxl.load_workbook(
                    src, keep_vba=src.suffix.lower() == ".xlsm", keep_links=True, rich_text=True
                )
            return book, {ws.title: ws.title for ws in book.worksheets}
        except Exception as exc:
            raise InputUnreadable(f"{src}: cannot open the workbook to annotate it ({exc})") from None
    return _values_workbook(src)


def _values_workbook(src: Path):
    """An openpyxl workbook of the cell values and merges of a .xls/.ods/.xlsb/.csv, and
    {sheet title in the copy: sheet name as read} (titles are limited to 31 characters)."""
    import openpyxl

    from disbursement.ingest.read import read_file

    book = openpyxl.Workbook()
    book.remove(book.active)
    sheets: list[tuple[str, list[list], list, bool]] = []
    if src.suffix.lower() == ".csv":
        sheet = read_file(src, [])[0]
        sheets.append((sheet.sheet, sheet.cells, [], False))
    else:
        import python_calamine as calamine

        try:
            source = calamine.load_workbook(str(src))
        except Exception as exc:
            raise InputUnreadable(f"{src}: cannot read the workbook to annotate it ({exc})") from None
        for meta in source.sheets_metadata:
            if str(meta.typ).split(".")[-1] != "WorkSheet":
                continue
            data = source.get_sheet_by_name(meta.name)
            hidden = str(meta.visible).split(".")[-1] != "Visible"
            sheets.append(
                (
                    meta.name,
                    data.to_python(skip_empty_area=False),
                    list(data.merged_cell_ranges or []),
                    hidden,
                )
            )
    used: set[str] = set()
    names: dict[str, str] = {}
    for name, cells, merged, hidden in sheets:
        ws = book.create_sheet(_sheet_title(name, used))
        names[ws.title] = name
        for r, row in enumerate(cells, start=1):
            for c, value in enumerate(row, start=1):
                if value is None or value == "":
                    continue
                cell = ws.cell(row=r, column=c, value=value)
                if isinstance(value, str):
                    cell.data_type = "s"  # "=…" text stays text, never a formula
        for (r0, c0), (r1, c1) in merged:
            if (r0, c0) != (r1, c1):
                ws.merge_cells(start_row=r0 + 1, start_column=c0 + 1, end_row=r1 + 1, end_column=c1 + 1)
        for c in range(1, max((len(r) for r in cells[:200]), default=0) + 1):
            longest = max(
                (len(str(r[c - 1])) for r in cells[:200] if len(r) >= c and r[c - 1] != ""), default=0
            )
            ws.column_dimensions[column_letter(c - 1)].width = min(max(8, longest * 0.9), 60)
        if hidden:
            ws.sheet_state = "hidden"
    if not book.worksheets:
        book.create_sheet("Sheet1")
    return book, names


def _sheet_title(name: str, used: set[str]) -> str:
    title = "".join("_" if ch in "[]:*?/\\" else ch for ch in name)[:31] or "Sheet"
    base, n = title, 2
    while title.lower() in used:
        tail = f" ({n})"
        title, n = base[: 31 - len(tail)] + tail, n + 1
    used.add(title.lower())
    return title


def _anchor(ws, ref: str):
    """The cell that holds `ref`'s value and comment: the top-left cell of a merged range
    (a merged cell's own comment and style are read-only in openpyxl)."""
    from openpyxl.cell.cell import MergedCell

    cell = ws[ref]
    if isinstance(cell, MergedCell):
        for merged in ws.merged_cells.ranges:
            if ref in merged:
                return ws.cell(row=merged.min_row, column=merged.min_col)
    return cell


def _apply(workbook, notes: _Notes, names: dict[str, str]) -> None:
    from openpyxl.cell.cell import MergedCell
    from openpyxl.comments import Comment
    from openpyxl.styles import PatternFill

    flag_fill = PatternFill(fill_type="solid", start_color=FLAG_FILL, end_color=FLAG_FILL)
    error_fill = PatternFill(fill_type="solid", start_color=ERROR_FILL, end_color=ERROR_FILL)
    flag_id = None  # the flag fill's number, added at the first cell it fills (see _fill)
    by_name = {names.get(ws.title, ws.title): ws for ws in workbook.worksheets}
    single = workbook.worksheets[0] if len(workbook.worksheets) == 1 else None

    def sheet_of(name):
        return by_name.get(name) or (single if name is None or len(by_name) == 1 else None)

    for name, rows in notes.rows.items():
        ws = sheet_of(name)
        if ws is None:
            continue
        width = max(ws.max_column, 1)
        for row in sorted(rows):
            for col in range(1, width + 1):
                cell = ws.cell(row=row, column=col)
                if not isinstance(cell, MergedCell):  # its range's top-left cell carries the fill
                    if flag_id is None:
                        flag_id = workbook._fills.add(flag_fill)
                    _fill(cell, flag_id)
    for name, cells in notes.error_cells.items():
        ws = sheet_of(name)
        if ws is None:
            continue
        for row, column in sorted(cells):
            _anchor(ws, f"{column}{row}").fill = error_fill
    for name, comments in notes.comments.items():
        ws = sheet_of(name)
        if ws is None:
            continue
        for (row, column), texts in comments.items():
            cell = _anchor(ws, f"{column}{row}")
            body = "\n\n".join(texts)
            if cell.comment is not None and cell.comment.text:
                body = f"{cell.comment.text}\n\n— {AUTHOR} —\n{body}"
            if len(body) > _MAX_COMMENT:
                body = body[: _MAX_COMMENT - 1] + "…"
            lines = body.count("\n") + 1 + len(body) // 60
            cell.comment = Comment(body, AUTHOR, height=min(60 + 15 * lines, 600), width=360)


def _fill(cell, fill_id: int) -> None:
    """`cell.fill = <the fill numbered fill_id>`, as openpyxl's own setter does it, without
    looking the fill up in the workbook's list again: that hashes the whole fill each time
    (~25 µs; a flagged row of a province's workbook is ~15 cells, 11k cells for 1k lines)."""
    from openpyxl.styles.cell_style import StyleArray

    if not cell._style:
        cell._style = StyleArray()
    cell._style.fillId = fill_id
