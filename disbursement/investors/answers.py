"""One returned request workbook as read (`Reply`, its `Answer`s) and how each answer row is
matched to its line and each answer cell read (`investors.replies` walks the workbook)."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbursement.config.issues import issue
from disbursement.errors import Issue, column_letter
from disbursement.investors.spec import Request, RequestLine, Spec
from disbursement.money import parse_amount
from disbursement.text import fold


@dataclass(frozen=True)
class Answer:
    """One answered cell of a reply."""

    line: RequestLine
    field: str
    dong: int | None  # money fields
    text: str | None  # the explanation
    sheet: str
    row: int
    column: str

    @property
    def cell(self) -> str:
        return f"{self.column}{self.row}"


@dataclass
class Reply:
    path: str
    sha256: str
    request: Request | None = None
    investor: str | None = None
    received: dt.date | None = None
    answers: list[Answer] = field(default_factory=list)
    unanswered: list[RequestLine] = field(default_factory=list)
    issues: list[Issue] = field(default_factory=list)
    applicable: bool = True
    file_name: str | None = None  # when read back from the audit store (no path on disk)

    @property
    def name(self) -> str:
        return self.file_name or Path(self.path).name

    @property
    def lines_answered(self) -> int:
        return len({a.line.token for a in self.answers})

    def refuse(
        self,
        code: str,
        message: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
    ) -> None:
        self.applicable = False
        self.issues.append(
            issue(code, self.path, sheet, row, column, message + "; the reply was not applied")
        )

    def warn(
        self,
        code: str,
        message: str,
        sheet: str | None = None,
        row: int | None = None,
        column: str | None = None,
        severity: str | None = None,
    ) -> None:
        self.issues.append(issue(code, self.path, sheet, row, column, message, severity=severity))


def clean(value: Any) -> str:
    return "" if value is None else str(value).strip()


def match_line(
    value,
    by_token: dict[str, RequestLine],
    request: Request,
    reply: Reply,
    sheet: str,
    row: int,
    col_of: dict[str, int | None],
) -> RequestLine | None:
    token = clean(value("key"))
    if token:
        line = by_token.get(token)
        if line is None:
            reply.warn(
                "REPLY-LINE-UNMATCHED",
                f"the row's key {token!r} is not a line of request {request.request_id}: the row is not used",
                sheet,
                row,
                column_letter((col_of["key"] or 1) - 1),
            )
        return line
    code, label = clean(value("project_code")), fold(clean(value("capital_source_label")))
    name = fold(clean(value("project_name")))
    candidates = [
        x
        for x in request.lines
        if code and x.project_code == code and (not label or fold(x.capital_source_label) == label)
    ]
    how = "project code and capital source"
    if not candidates and name:
        candidates = [
            x
            for x in request.lines
            if fold(x.project_name) == name and (not label or fold(x.capital_source_label) == label)
        ]
        how = "project name"
    if len(candidates) != 1:
        why = "no line" if not candidates else f"{len(candidates)} lines"
        reply.warn(
            "REPLY-LINE-UNMATCHED",
            f"the row has no key and matches {why} of request "
            f"{request.request_id} by code or name: the row is not used",
            sheet,
            row,
        )
        return None
    reply.warn(
        "REPLY-MATCHED-BY-NAME" if how == "project name" else "REPLY-MATCHED-BY-CODE",
        f"the row has no key; matched to {candidates[0].project_code or candidates[0].project_name} "
        f"by {how} — check it",
        sheet,
        row,
        severity="info",
    )
    return candidates[0]


def unchanged(
    value, line: RequestLine, unit: int, reply: Reply, sheet: str, row: int, col_of: dict[str, int | None]
) -> bool:
    """The locked cells still say what the request said; otherwise the reply is refused."""
    shown: dict[str, Any] = {
        "project_code": clean(value("project_code")) or None,
        "project_name": clean(value("project_name")),
    }
    expected: dict[str, Any] = {"project_code": line.project_code, "project_name": line.project_name}
    for money, dong in (("plan_dong", line.plan_dong), ("disbursed_dong", line.disbursed_dong)):
        raw = value(money)
        if col_of.get(money) is None:
            continue
        parsed = parse_amount(raw, unit=unit, style="vi")
        shown[money], expected[money] = parsed.dong, dong
    for name, want in expected.items():
        if col_of.get(name) is None or shown.get(name) == want:
            continue
        col = col_of[name] or 1
        reply.refuse(
            "REPLY-ALTERED",
            f"a locked cell was changed: it shows {shown.get(name)!r} where the request said {want!r}",
            sheet,
            row,
            column_letter(col - 1),
        )
        return False
    return True


def read_answer(
    cell, field_id: str, line: RequestLine, unit: int, reply: Reply, sheet: str, spec: Spec
) -> Answer | None:
    raw = cell.value
    column = cell.column_letter
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    is_formula = cell.data_type == "f" or (isinstance(raw, str) and raw.startswith("="))
    if spec.field(field_id).kind == "text":
        return Answer(line, field_id, None, str(raw).strip(), sheet, cell.row, column)
    if is_formula:
        reply.warn(
            "REPLY-FORMULA",
            f"a formula ({str(raw)[:60]}) was typed into an answer "
            "cell: it is kept as text and not evaluated; the figure is not used — type "
            "the number",
            sheet,
            cell.row,
            column,
        )
        return None
    parsed = parse_amount(raw, unit=unit, style="vi")
    if parsed.dong is None:
        reply.warn(
            "REPLY-NOT-AMOUNT",
            f"{parsed.problem or 'not an amount'}: the figure is not used",
            sheet,
            cell.row,
            column,
            severity="error",
        )
        return None
    if parsed.dong < 0:
        reply.warn(
            "REPLY-NEGATIVE",
            "a negative figure: the figure is not used",
            sheet,
            cell.row,
            column,
            severity="error",
        )
        return None
    if field_id == "expected_dong" and parsed.dong > line.plan_dong:
        reply.warn(
            "REPLY-EXPECTED-ABOVE-PLAN",
            f"the investor expects to disburse "
            f"{parsed.dong:,} đồng, {parsed.dong - line.plan_dong:,} above the plan "
            f"({line.plan_dong:,}): that is a need for more capital — it is recorded "
            "as a need only where the need column states it",
            sheet,
            cell.row,
            column,
            severity="info",
        )
    return Answer(line, field_id, parsed.dong, None, sheet, cell.row, column)
