"""`read_reply`: one returned request workbook → its answers, matched to the request's lines.

The request comes from the workbook's hidden sheet, else from the audit store by the id the
cover and the data sheet show, else (in a review) from the plan's own lines. Rows are matched by
the hidden key column, so sorting and deleting rows do not matter; when the keys were lost,
by project code and capital source, then by name, each with a located warning. Answers are
read with the workbook reader's money rules (vi-VN text, the request's unit); a formula typed
into an answer cell is never evaluated. A reply whose request is unknown, or that was changed
outside its answer cells, is reported and not applied.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from disbursement.files import sha256_file
from disbursement.investors.answers import Reply, clean, match_line, read_answer, unchanged
from disbursement.investors.spec import MONEY_FIELDS, Request, RequestLine, Spec
from disbursement.investors.workbook import LINE_COLUMNS, MARKER, META_KEYS, answer_headers
from disbursement.money import UNITS
from disbursement.text import fold

MAX_REPLY_BYTES = 20 * 1024 * 1024
HEADER_SCAN_ROWS = 15
_ID = re.compile(r"\b([0-9a-f]{16})\b")

Lookup = Callable[[str], Request | None]


def embedded_request(book, path: str) -> tuple[Request | None, str | None]:
    """The request the hidden sheet carries, and the name of that sheet."""
    for sheet in book.worksheets:
        if clean(sheet.cell(1, 1).value) != MARKER:
            continue
        meta = {clean(sheet.cell(r, 1).value): sheet.cell(r, 2).value for r in range(2, len(META_KEYS) + 2)}
        if set(META_KEYS) - set(meta):
            return None, sheet.title
        table = len(META_KEYS) + 3
        names = [clean(sheet.cell(table, c).value) for c in range(1, len(LINE_COLUMNS) + 1)]
        if tuple(names) != LINE_COLUMNS:
            return None, sheet.title
        lines = []
        for values in sheet.iter_rows(min_row=table + 1, max_col=len(LINE_COLUMNS), values_only=True):
            if not values or values[0] in (None, ""):
                continue
            row = dict(zip(LINE_COLUMNS, values, strict=True))
            lines.append(
                RequestLine(
                    token=clean(row["token"]),
                    project_code=clean(row["project_code"]) or None,
                    capital_source=clean(row["capital_source"]),
                    capital_source_label=clean(row["capital_source_label"]),
                    project_name=clean(row["project_name"]),
                    plan_dong=int(row["plan_dong"]),
                    disbursed_dong=int(row["disbursed_dong"]),
                    flagged=bool(row["flagged"]),
                    reason=clean(row["reason"]) or None,
                    figures={f: None if row[f] in (None, "") else int(row[f]) for f in MONEY_FIELDS},
                )
            )
        deadline = clean(meta["deadline"])
        return Request(
            request_id=clean(meta["request_id"]),
            investor=clean(meta["investor"]),
            year=int(meta["year"]),
            round=int(meta["round"]),
            rule_id=clean(meta["rule_id"]),
            as_of=dt.date.fromisoformat(clean(meta["as_of"])),
            deadline=dt.date.fromisoformat(deadline) if deadline else None,
            unit=clean(meta["unit"]),
            file_name=clean(meta["file_name"]),
            lines=tuple(lines),
        ), sheet.title
    return None, None


def _pattern(template: str) -> re.Pattern[str]:
    """A wording template ("Chủ đầu tư: {investor} — …") as a regex capturing its names."""
    out: list[str] = []
    named: set[str] = set()
    for part in re.split(r"(\{[a-z_]+\})", template):
        name = part[1:-1] if part.startswith("{") and part.endswith("}") else None
        if name is None:
            out.append(re.escape(part))
        elif name in named:
            out.append(".+?")
        else:
            named.add(name)
            out.append(f"(?P<{name}>.+?)")
    return re.compile("^" + "".join(out) + "$")


def _find_data_sheet(book, spec: Spec):
    """The data sheet and its header row: the sheet named in the wording, else the first
    sheet with a "Mã dự án" cell in its first rows."""
    wanted = fold(spec.columns["project_code"])
    sheets = sorted(book.worksheets, key=lambda s: s.title != spec.sheets["data"])
    for sheet in sheets:
        for row in range(1, HEADER_SCAN_ROWS + 1):
            for col in range(1, min(sheet.max_column, 60) + 1):
                if fold(clean(sheet.cell(row, col).value)) == wanted:
                    return sheet, row
    return None, None


def _shown_ids(book) -> list[str]:
    """Request ids printed on the cover and in the data sheet's title rows."""
    found: list[str] = []
    for sheet in book.worksheets:
        for row in sheet.iter_rows(min_row=1, max_row=HEADER_SCAN_ROWS, max_col=3, values_only=True):
            for value in row:
                if isinstance(value, str) and "yêu cầu" in value.lower():
                    found += [m for m in _ID.findall(value) if m not in found]
    return found


def read_reply(
    path: str | Path,
    spec: Spec,
    *,
    lookup: Lookup | None = None,
    fallback: Callable[[str | None], Request | None] | None = None,
) -> Reply:
    """Read one reply workbook. `lookup(id)` gives a request recorded in the audit store;
    `fallback(investor)` a request built from a review's plan when no other is known."""
    from openpyxl import load_workbook

    path = str(path)
    source = Path(path)
    if not source.is_file():
        reply = Reply(path, "")
        reply.refuse("REPLY-UNREADABLE", "no such file")
        return reply
    reply = Reply(path, sha256_file(source))
    if source.stat().st_size > MAX_REPLY_BYTES:
        reply.refuse(
            "REPLY-UNREADABLE", f"larger than {MAX_REPLY_BYTES >> 20} MB: not a returned request workbook"
        )
        return reply
    try:
        book = load_workbook(source, data_only=False)
    except Exception as exc:  # a damaged or foreign file is a located refusal, not a crash
        reply.refuse("REPLY-UNREADABLE", f"not a readable .xlsx workbook ({type(exc).__name__})")
        return reply
    try:
        _read_book(book, reply, spec, lookup, fallback)
    except (ValueError, TypeError, KeyError) as exc:
        reply.refuse("REPLY-UNREADABLE", f"the request's hidden sheet is damaged ({exc})")
    finally:
        book.close()
    return reply


def _read_book(book, reply: Reply, spec: Spec, lookup: Lookup | None, fallback) -> None:
    embedded, keys_sheet = embedded_request(book, reply.path)
    shown = _shown_ids(book)
    stored = None
    if lookup is not None:
        for request_id in ([embedded.request_id] if embedded else []) + shown:
            stored = lookup(request_id)
            if stored is not None:
                break
    if embedded is not None and stored is not None and embedded != stored:
        reply.refuse(
            "REPLY-ALTERED",
            f"the hidden sheet '{keys_sheet}' no longer matches "
            f"request {stored.request_id} as recorded in the audit store",
            keys_sheet,
        )
        return
    request = stored or embedded
    sheet, header_row = _find_data_sheet(book, spec)
    if sheet is None:
        reply.refuse(
            "REPLY-UNREADABLE",
            'no sheet with a "Mã dự án" header in its first '
            f"{HEADER_SCAN_ROWS} rows: not a returned request workbook",
        )
        return
    subtitle = _pattern(spec.texts["subtitle"])
    for row in range(1, header_row):
        match = subtitle.match(clean(sheet.cell(row, 1).value))
        if match:
            reply.investor = match.group("investor")
    if request is None and embedded is None and keys_sheet is None:
        reply.warn(
            "REPLY-KEYS-LOST",
            "the request's hidden sheet is missing (the data was "
            "copied to a new workbook?): lines are matched by code and capital source, "
            "then by name — check them",
            sheet.title,
        )
    if request is None and fallback is not None:
        request = fallback(reply.investor)
    if request is None:
        ids = f" (it shows request {', '.join(shown)})" if shown else ""
        reply.refuse(
            "REPLY-UNKNOWN-REQUEST",
            "this reply answers no request known here"
            f"{ids}: the hidden sheet is missing and the audit store has no such "
            "request",
            sheet.title,
        )
        return
    reply.request = request
    reply.investor = request.investor if request.investor else reply.investor
    _read_rows(sheet, header_row, request, reply, spec)


def _read_rows(sheet, header_row: int, request: Request, reply: Reply, spec: Spec) -> None:
    headers = {
        fold(clean(sheet.cell(header_row, c).value)): c
        for c in range(1, sheet.max_column + 1)
        if clean(sheet.cell(header_row, c).value)
    }
    answer_cols: dict[str, int] = {}
    for answer_field, header in zip(spec.fields, answer_headers(request, spec), strict=True):
        col = headers.get(fold(header))
        if col is None:
            reply.refuse(
                "REPLY-ALTERED",
                f'the answer column "{header}" is missing from the header (row {header_row})',
                sheet.title,
                header_row,
            )
            return
        answer_cols[answer_field.id] = col
    col_of = {
        k: headers.get(
            fold(
                spec.columns[k].format_map(
                    {"year": request.year, "as_of": request.as_of.strftime("%d/%m/%Y")}
                )
            )
        )
        for k in (
            "project_code",
            "project_name",
            "capital_source_label",
            "plan_dong",
            "disbursed_dong",
            "key",
        )
    }
    by_token = {x.token: x for x in request.lines}
    unit = UNITS.get(request.unit, UNITS[spec.unit])
    seen: dict[str, int] = {}
    for row in range(header_row + 1, sheet.max_row + 1):

        def value(name: str, row: int = row) -> Any:
            col = col_of.get(name)
            return None if col is None else sheet.cell(row, col).value

        if all(clean(sheet.cell(row, c).value) == "" for c in range(1, sheet.max_column + 1)):
            continue
        line = match_line(value, by_token, request, reply, sheet.title, row, col_of)
        if line is None:
            continue
        if line.token in seen:
            reply.warn(
                "REPLY-LINE-TWICE",
                f"the line {line.project_code or line.project_name} "
                f"appears again (first at row {seen[line.token]}): this row is not used",
                sheet.title,
                row,
            )
            continue
        seen[line.token] = row
        if not unchanged(value, line, unit, reply, sheet.title, row, col_of):
            return
        for field_id, col in answer_cols.items():
            answer = read_answer(sheet.cell(row, col), field_id, line, unit, reply, sheet.title, spec)
            if answer is not None:
                reply.answers.append(answer)
    answered = {a.line.token for a in reply.answers}
    reply.unanswered = [x for x in request.lines if x.token not in answered]


def read_replies(paths: Sequence[str | Path], spec: Spec, **kwargs: Any) -> list[Reply]:
    """Every reply of `paths` (folders give their .xlsx files, in name order)."""
    files: list[Path] = []
    for p in map(Path, paths):
        files += (
            sorted(x for x in p.glob("*.xlsx") if not x.name.startswith(("~$", "."))) if p.is_dir() else [p]
        )
    return [read_reply(f, spec, **kwargs) for f in files]
