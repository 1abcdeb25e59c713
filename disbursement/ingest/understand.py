"""One sheet understood: its header, the columns the round requires, its unit, its lines.

`Understanding(sheet)` decides everything about a sheet that needs no other sheet: skipped
(no table, another year), refused (a foreign currency, a required column missing), or read
into canonical lines, with the reasons as issue records and the report `inspect` prints.
`ingest.load` puts the sheets together; a large workbook's second process calls the same
function on its share of the sheets (ingest/split.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue, column_letter
from disbursement.ingest.header import Vocabulary, find_layout
from disbursement.ingest.join import is_treasury_export
from disbursement.ingest.normalize import normalise_sheet
from disbursement.ingest.required import WORDS, Requirement, refusal_reason
from disbursement.ingest.rows import SourceMatcher
from disbursement.money import detect_foreign_unit, unit_label
from disbursement.text import fold


@dataclass
class SheetReport:
    """How one sheet was understood (what `inspect` prints)."""

    file: str
    sheet: str
    status: str  # "read" | "skipped" | "refused" (a table the round cannot use; see reason)
    reason: str = ""
    header_rows: tuple[int, int] | None = None  # 1-based Excel rows
    ordinal_rows: list[int] = field(default_factory=list)
    columns: dict[str, dict] = field(default_factory=dict)  # canonical → {column, header}
    unit: str | None = None
    unit_source: str = ""
    as_of: str | None = None
    legacy_encoding: str | None = None
    row_classes: dict[str, int] = field(default_factory=dict)
    lines: int = 0
    # figure → the candidate columns, the one chosen and the rule (ingest.candidates)
    candidates: dict[str, dict] = field(default_factory=dict)


@dataclass
class SheetOutcome:
    """What one sheet gives the load: its report, its issues in order, its lines (None when
    it was skipped or refused), and why it waits for a Treasury export or cannot be
    reviewed alone. Picklable: the second process of a large workbook sends it back."""

    report: SheetReport
    issues: list[Issue]
    lines: pd.DataFrame | None = None
    has_plan: bool = True
    waiting_why: str | None = None
    no_plan_why: str | None = None
    # the column letters of lines sent without their `cells` (Understanding(cells=False))
    cells_from: dict[str, str] | None = None


@dataclass
class Understanding:
    """`understand(sheet)`: header, required columns, unit and lines of one sheet, with
    everything it needs bound (a forked second process calls it as it is)."""

    vocabulary: Vocabulary
    sources: SourceMatcher
    year: int
    unit: str | None
    requirement: Requirement
    cells: bool = True  # False: the lines' `cells` left for `SheetOutcome.cells_from`

    def __call__(self, sheet) -> SheetOutcome:
        vocabulary, sources, year, requirement = self.vocabulary, self.sources, self.year, self.requirement
        issues: list[Issue] = []
        layout, reason = find_layout(sheet, vocabulary, requirement.as_of_in(year))
        if layout is not None and "plan_dong" not in layout.columns:
            hint = _year_hint(sheet, year)
            if hint:  # another year's plan: reading it as this year's would be wrong
                layout, reason = None, hint
        if layout is None:
            reason = _year_hint(sheet, year) or reason
            issues.append(
                issue("SHEET-SKIPPED", sheet.file, sheet.sheet, None, None, f"sheet skipped: {reason}")
            )
            return SheetOutcome(SheetReport(sheet.file, sheet.sheet, "skipped", reason), issues)
        foreign = _foreign_unit(sheet, layout)
        if foreign:
            why, row = foreign
            report = SheetReport(sheet.file, sheet.sheet, "read")
            refuse(report, why, issues, row)
            return SheetOutcome(report, issues)
        treasury_why = is_treasury_export(sheet, layout) if "disbursed_dong" in layout.columns else None
        treasury_only = treasury_why is not None or (
            "plan_dong" not in layout.columns
            and "disbursed_dong" in layout.columns
            and not layout.choices.get("plan_dong", {}).get("ambiguous")
        )
        missing = [] if treasury_only else requirement.missing(list(layout.columns))
        report = SheetReport(
            sheet.file,
            sheet.sheet,
            "read",
            header_rows=(layout.header_top + 1, layout.header_bottom + 1),
            ordinal_rows=[r + 1 for r in layout.ordinal_rows],
            columns={
                c: {"column": column_letter(i), "header": layout.paths[i]}
                for c, i in sorted(layout.columns.items(), key=lambda kv: kv[1])
            },
            as_of=layout.as_of.isoformat() if layout.as_of else None,
            legacy_encoding=layout.legacy,
            candidates=layout.choices,
        )
        outcome = SheetOutcome(report, issues, has_plan=not treasury_only)
        _note_choices(sheet, layout, issues)
        if treasury_only:  # why it cannot be reviewed alone (said only if nothing else is)
            outcome.no_plan_why = _refusal(layout, ["plan_dong"], vocabulary)
        if missing:
            why = _refusal(layout, missing, vocabulary)
            if missing != ["disbursed_dong"]:
                refuse(report, why, issues, layout.header_top + 1)
                return outcome
            outcome.waiting_why = why
        sheet_unit, unit_source = self.unit, "--unit"
        if sheet_unit is None:
            sheet_unit, unit_source = layout.unit, layout.unit_text or ""
        if sheet_unit is None:
            sheet_unit, unit_source = _guess_unit(sheet, layout, sources)
            issues.append(
                issue(
                    "UNIT-ASSUMED",
                    sheet.file,
                    sheet.sheet,
                    None,
                    None,
                    "no unit line (e.g. 'Đơn vị: triệu đồng') found; amounts read "
                    f"as {unit_label(sheet_unit)} ({unit_source}) — pass --unit if "
                    "that is wrong",
                )
            )
        result = normalise_sheet(sheet, layout, sources, sheet_unit, issues, cells=self.cells)
        if not self.cells and "cells" in result.lines:
            outcome.cells_from = result.letters
        if treasury_only:  # a Treasury plan column is a cross-check, never a second plan
            result.lines["treasury_plan_dong"] = (
                result.lines["plan_dong"].astype("Int64")
                if "plan_dong" in layout.columns
                else pd.array([pd.NA] * len(result.lines), dtype="Int64")
            )
            if treasury_why:
                issues.append(
                    issue(
                        "TREASURY-RECOGNISED",
                        sheet.file,
                        sheet.sheet,
                        None,
                        None,
                        f"read as a State Treasury (KBNN) export because {treasury_why}"
                        + (
                            "; its plan column only cross-checks the plan workbook"
                            if "plan_dong" in layout.columns
                            else ""
                        ),
                    )
                )
        outcome.lines = result.lines
        report.unit, report.unit_source = sheet_unit, unit_source
        report.row_classes, report.lines = result.row_classes, len(result.lines)
        return outcome


def _refusal(layout, missing: list[str], vocabulary) -> str:
    return refusal_reason(
        missing,
        header_rows=(layout.header_top + 1, layout.header_bottom + 1),
        paths=layout.paths,
        used=set(layout.columns.values()),
        year=vocabulary.year,
        not_money=vocabulary.not_money,
        choices=layout.choices,
    )


def _note_choices(sheet, layout, issues: list[Issue]) -> None:
    """COLUMN-CHOSEN: which column became a figure among several, by which rule."""
    for canonical, choice in layout.choices.items():
        if choice["ambiguous"]:
            continue
        chosen = next(x for x in choice["candidates"] if x["column"] == choice["chosen"])
        passed = "; ".join(
            f"{x['column']} “{x['header']}”" for x in choice["candidates"] if x["passed_over_by"]
        )
        issues.append(
            issue(
                "COLUMN-CHOSEN",
                sheet.file,
                sheet.sheet,
                layout.header_top + 1,
                chosen["column"],
                f"{WORDS.get(canonical, canonical)}: column {chosen['column']} "
                f"“{chosen['header']}” chosen by {choice['rule']} ({choice['says']}); passed over: "
                f"{passed}",
            )
        )


def _foreign_unit(sheet, layout) -> tuple[str, int] | None:
    """(reason, Excel row) when the sheet's unit line or its plan / disbursement header names a
    foreign currency: amounts in USD are never read as đồng (the sheet is refused)."""
    for r, row in enumerate(sheet.cells[: layout.header_top]):
        for value in row:
            if isinstance(value, str) and detect_foreign_unit(value):
                return (
                    f"amounts are in another currency ({value.strip()!r}); the engine reads "
                    "only đồng amounts — convert the sheet to triệu đồng",
                    r + 1,
                )
    for canonical in ("plan_dong", "disbursed_dong"):
        if canonical in layout.columns:
            header = layout.paths[layout.columns[canonical]]
            if detect_foreign_unit(header, header=True):
                return (
                    f"the {canonical.removesuffix('_dong')} column is in another currency "
                    f"({header!r}); the engine reads only đồng amounts",
                    layout.header_top + 1,
                )
    return None


def refuse(report: SheetReport, why: str, issues: list[Issue], row: int | None) -> None:
    report.status, report.reason, report.lines = "refused", why, 0
    issues.append(issue("SHEET-REFUSED", report.file, report.sheet, row, None, why))


def _guess_unit(sheet, layout, sources) -> tuple[str, str]:
    """No unit line: triệu đồng unless the amounts are far too large for triệu (then đồng)."""
    import numpy as np

    probe = normalise_sheet(sheet, layout, sources, "trieu", []).lines
    for column in ("plan_dong", "disbursed_dong"):
        if column in probe and len(probe):
            values = probe[column].to_numpy(dtype=np.int64)
            values = values[values > 0]
            # A median line above 10^6 triệu (1.000 tỷ đồng) means the sheet is in đồng.
            if len(values) and np.median(values) > 10**12:
                return "dong", "guessed from the size of the amounts"
    return "trieu", "assumed"


def _year_hint(sheet, year: int) -> str:
    """When a header names another plan year, say so: the officer forgot --year."""
    text = " ".join(fold(str(v)) for row in sheet.cells[:15] for v in row if isinstance(v, str))
    # never the year of next year's draft ("Dự kiến kế hoạch … 2023") or of carried-over capital
    pattern = (
        r"(?<!du kien )ke hoach (?:von )?(?:dau tu cong )?(?:nam )?(20\d\d)"
        r"(?! keo dai)(?![-–]20)"
    )
    years = {int(y) for y in re.findall(pattern, text)}
    if years and year not in years:
        return f"its header is for plan year {min(years)}, not {year}; run with --year {min(years)}"
    return ""
