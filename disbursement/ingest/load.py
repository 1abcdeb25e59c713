"""Load every input into one canonical plan table: read, understand, normalise, per-sheet policy.

The first half of a round (`pipeline.run_round` does the rest): each sheet is understood on
its own (ingest/understand.py: header, required columns, unit, as-of, Treasury exports,
foreign currencies), duplicate sheets are refused, and the lines of every reviewable sheet
are concatenated; Treasury exports supply the disbursement of the plan lines.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue
from disbursement.ingest.fingerprint import SeenTables
from disbursement.ingest.header import load_vocabulary
from disbursement.ingest.join import join_treasury
from disbursement.ingest.required import Requirement
from disbursement.ingest.rows import SourceMatcher
from disbursement.ingest.split import Understood, understood_sheets
from disbursement.ingest.understand import SheetReport, Understanding, refuse
from disbursement.model import empty_plan
from disbursement.source_cells import cell_of, line_cells
from disbursement.text import fold

__all__ = ["LoadResult", "SheetReport", "load_plan"]


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
    understand = Understanding(
        load_vocabulary(year), SourceMatcher(rules.capital_sources), year, unit, requirement
    )
    seen = SeenTables()  # the sheets read so far: the same table twice is refused
    for path in paths:
        # The read's own issues (hidden sheets …) come before the file's other issues, as when
        # the whole file was read first; the sheets are given while the next are parsed.
        read_issues: list[Issue] = []
        first_of_file = len(issues)
        for item in understood_sheets(path, read_issues, understand, replace(understand, cells=False)):
            if isinstance(item, Understood):  # read and understood by the second process
                twin = seen.first_with_key(item.key, item.file, item.sheet)
            else:
                twin = seen.first_with(item.cells, item.file, item.sheet)
            if twin is not None:
                why = (
                    f"same cells as {twin}: the same table given twice is refused, "
                    "never summed — give each workbook once"
                )
                issues.append(issue("INPUT-DUPLICATE", item.file, item.sheet, None, None, why))
                reports.append(SheetReport(item.file, item.sheet, "refused", why))
                continue
            outcome = item.outcome if isinstance(item, Understood) else understand(item)
            if outcome.cells_from is not None and outcome.lines is not None:  # made here, not sent
                outcome.lines["cells"] = line_cells(outcome.cells_from, outcome.lines["row"].tolist())
            issues += outcome.issues
            reports.append(outcome.report)
            if outcome.no_plan_why is not None:
                no_plan[(outcome.report.file, outcome.report.sheet)] = outcome.no_plan_why
            if outcome.waiting_why is not None:
                waiting.append((outcome.report, None, outcome.waiting_why))
            if outcome.lines is not None:
                outcome.lines.attrs["has_plan"] = outcome.has_plan
                outcome.lines.attrs["report"] = id(outcome.report)
                frames.append(outcome.lines)
        issues[first_of_file:first_of_file] = read_issues
    has_treasury = any(not f.attrs.get("has_plan", True) and len(f) for f in frames)
    if not has_treasury:  # nothing supplies the disbursement those sheets lack: refuse them
        for report, _none, why in waiting:
            refuse(report, why, issues, report.header_rows[0] if report.header_rows else None)
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
        letter = re.sub(r"\d+$", "", cell_of(cells[first], column)) or None
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
