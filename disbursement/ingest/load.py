"""Load every input into one canonical plan table: read, understand, normalise, per-sheet policy.

The first half of a round (`pipeline.run_round` does the rest): each sheet's header is
understood, the columns a round needs are required (a sheet without them is refused with its
reason), the unit and as-of are decided, Treasury exports are set apart, duplicate sheets and
foreign currencies are refused, and the lines of every reviewable sheet are concatenated.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue, column_letter
from disbursement.ingest.fingerprint import SeenTables
from disbursement.ingest.header import find_layout, load_vocabulary
from disbursement.ingest.join import is_treasury_export, join_treasury
from disbursement.ingest.normalize import normalise_sheet
from disbursement.ingest.read import iter_file
from disbursement.ingest.required import WORDS, Requirement, refusal_reason
from disbursement.ingest.rows import SourceMatcher
from disbursement.model import empty_plan
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
class LoadResult:
    plan: pd.DataFrame  # canonical lines (all, before validation)
    issues: list[Issue]
    sheets: list[SheetReport]
    # (file, sheet) → why a sheet read without a plan column could not be reviewed on its own
    no_plan: dict[tuple[str, str], str] = field(default_factory=dict)


def load_plan(
    paths: Sequence[str | Path], *, year: int, rules, unit: str | None = None, requirement=None
) -> LoadResult:
    """Read every input into one canonical plan table (untrusted lines still included).

    A sheet lacking a column `requirement` (ingest.required) needs is refused — its lines are
    left out and an error issue says why — unless only the disbursement is missing and a
    Treasury export among the inputs supplies it."""
    requirement = requirement or Requirement()
    issues: list[Issue] = []
    reports: list[SheetReport] = []
    frames = []
    waiting: list[tuple[SheetReport, object, str]] = []  # plan sheets lacking only disbursed
    no_plan: dict[tuple[str, str], str] = {}
    vocabulary = load_vocabulary(year)
    sources = SourceMatcher(rules.capital_sources)
    seen = SeenTables()  # the sheets read so far: the same table twice is refused
    for path in paths:
        # The read's own issues (hidden sheets …) come before the file's other issues, as when
        # the whole file was read first; the sheets are given while the next are parsed.
        read_issues: list[Issue] = []
        first_of_file = len(issues)
        for sheet in iter_file(path, read_issues):
            if (twin := seen.first_with(sheet.cells, sheet.file, sheet.sheet)) is not None:
                why = (
                    f"same cells as {twin}: the same table given twice is refused, "
                    "never summed — give each workbook once"
                )
                issues.append(issue("INPUT-DUPLICATE", sheet.file, sheet.sheet, None, None, why))
                reports.append(SheetReport(sheet.file, sheet.sheet, "refused", why))
                continue
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
                reports.append(SheetReport(sheet.file, sheet.sheet, "skipped", reason))
                continue
            foreign = _foreign_unit(sheet, layout)
            if foreign:
                why, row = foreign
                report = SheetReport(sheet.file, sheet.sheet, "read")
                reports.append(report)
                _refuse(report, why, issues, row)
                continue
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
            reports.append(report)
            _note_choices(sheet, layout, issues)
            if treasury_only:  # why it cannot be reviewed alone (said only if nothing else is)
                no_plan[(sheet.file, sheet.sheet)] = _refusal(layout, ["plan_dong"], vocabulary)
            if missing:
                why = _refusal(layout, missing, vocabulary)
                if missing != ["disbursed_dong"]:
                    _refuse(report, why, issues, layout.header_top + 1)
                    continue
                waiting.append((report, None, why))
            sheet_unit, unit_source = unit, "--unit"
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
            result = normalise_sheet(sheet, layout, sources, sheet_unit, issues)
            result.lines.attrs["has_plan"] = not treasury_only
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
            result.lines.attrs["report"] = id(report)
            frames.append(result.lines)
            report.unit, report.unit_source = sheet_unit, unit_source
            report.row_classes, report.lines = result.row_classes, len(result.lines)
        issues[first_of_file:first_of_file] = read_issues
    has_treasury = any(not f.attrs.get("has_plan", True) and len(f) for f in frames)
    if not has_treasury:  # nothing supplies the disbursement those sheets lack: refuse them
        for report, _none, why in waiting:
            _refuse(report, why, issues, report.header_rows[0] if report.header_rows else None)
        gone = {id(report) for report, _none, _why in waiting}
        frames = [f for f in frames if f.attrs.get("report") not in gone]
    frames = [f for f in frames if len(f)]
    plans = [f for f in frames if f.attrs.get("has_plan", True)]
    treasury = [f for f in frames if not f.attrs.get("has_plan", True)]
    plan = pd.concat(plans, ignore_index=True) if plans else empty_plan()
    if treasury and plans:
        plan = join_treasury(plan, pd.concat(treasury, ignore_index=True), issues)
    elif treasury:
        issues.append(
            issue(
                "PLAN-MISSING",
                treasury[0]["file"].iloc[0],
                None,
                None,
                None,
                "only a disbursement export was given; add the plan workbook",
            )
        )
    _check_duplicates(plan, issues)
    return LoadResult(plan, issues, reports, no_plan)


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


def _refuse(report: SheetReport, why: str, issues: list[Issue], row: int | None) -> None:
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
    import re

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


def _check_duplicates(plan, issues: list[Issue]) -> None:
    """The same code under two capital sources is two lines; twice in one source is an issue.
    Lines without a code are told apart by name, source and investor (their identity in the
    audit store, replies and overrides): two such lines alike are an issue too."""
    if plan.empty:
        return
    coded = plan["project_code"].notna().to_numpy(dtype=bool)
    dup = plan[coded]
    dup = dup[dup.duplicated(["project_code", "capital_source"], keep=False).to_numpy()]
    codes = dup["project_code"].tolist()
    issues += _duplicate_groups(
        dup,
        [codes, dup["capital_source"].fillna("").tolist()],
        "DUPLICATE-CODE",
        "project_code",
        lambda first, n, where: (
            f"project code {codes[first]} appears {n} times under the same capital source "
            f"(rows {where}); each line is reviewed separately"
        ),
    )
    uncoded = plan[~coded & plan["project_name"].notna().to_numpy(dtype=bool)]
    if len(uncoded) < 2:
        return
    names = uncoded["project_name"].tolist()
    investors = uncoded["investor"].fillna("").tolist() if "investor" in uncoded else [""] * len(uncoded)
    issues += _duplicate_groups(
        uncoded,
        [
            [fold(x) for x in names],
            uncoded["capital_source"].fillna("").tolist(),
            [fold(x) for x in investors],
        ],
        "DUPLICATE-LINE",
        "project_name",
        lambda first, n, where: (
            f'"{names[first]}" has no project code and appears {n} times under the same '
            f"capital source and investor (rows {where}): each line is reviewed separately, "
            "but a reply or an override cannot tell them apart — give them codes"
        ),
    )


def _duplicate_groups(
    frame, keys: list[list], code: str, column: str, message: Callable[[int, int, str], str]
) -> list[Issue]:
    """One issue per group of lines sharing `keys`, at the first line's `column` cell. Plain
    lists, one pass: a national file can hold thousands of such groups."""
    groups: dict[tuple, list[int]] = {}
    for i, key in enumerate(zip(*keys, strict=True)):
        groups.setdefault(key, []).append(i)
    files, sheets, rows = frame["file"].tolist(), frame["sheet"].tolist(), frame["row"].tolist()
    cells = frame["cells"].tolist()
    out = []
    for _key, members in sorted(groups.items()):
        if len(members) < 2:
            continue
        first = members[0]
        where = ", ".join(f"{sheets[i]}!{rows[i]}" for i in members)
        letter = re.sub(r"\d+$", "", cells[first].get(column, "")) or None
        out.append(
            issue(
                code,
                files[first],
                sheets[first],
                int(rows[first]),
                letter,
                message(first, len(members), where),
            )
        )
    return out
