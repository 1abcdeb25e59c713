"""Lazy validation of the canonical plan table: every failure becomes an issue record.

pandera collects all failures at once (`lazy=True`); we turn its failure cases into issues
at the user's Excel row and column, and drop only the lines whose failures make them
untrustworthy (no name, negative plan or disbursement). Nothing here raises on bad data.
"""

from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterator

import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue, cell_column
from disbursement.model import OPTIONAL_MONEY, PLAN_TABLE, STATUS_OTHER, STATUSES
from disbursement.money import format_trieu
from disbursement.source_cells import cell_of

MESSAGES = {
    "name_present": "project row has no name; line excluded from the review",
    "plan_not_negative": "plan is negative; line excluded from the review",
    "disbursed_not_negative": "disbursement is negative; line excluded from the review",
    "status_known": "unknown project status",
}


@contextlib.contextmanager
def _without_data_synthesis() -> Iterator[None]:
    """pandera imports hypothesis's strategies, when hypothesis is installed, the first time it
    validates: ~0.2 s of every review's start-up (more under load) for data synthesis we never
    use. Hidden while pandera loads its backends; a process that already imported hypothesis
    (the test suite) keeps it as it is."""
    if "hypothesis" in sys.modules:
        yield
        return
    sys.modules["hypothesis"] = None  # type: ignore[assignment]  # import → ImportError
    try:
        yield
    finally:
        if "hypothesis" in sys.modules and sys.modules["hypothesis"] is None:
            del sys.modules["hypothesis"]


def plainly_valid(plan: pd.DataFrame) -> bool:
    """True when every check of the schema visibly passes: each validated column of
    `model.PLAN_TABLE` present with its exact dtype and no missing value where none is allowed,
    and the checks themselves, in numpy. Conservative: anything else (an odd dtype, one
    failing line) is for pandera to find and report — whose import and lazy validation cost
    ~0.4 s of every review and are then not paid for a table with nothing to report."""
    for spec in PLAN_TABLE:
        if not spec.validated:
            continue
        if spec.name not in plan:
            if spec.name in OPTIONAL_MONEY:
                continue
            return False
        column = plan[spec.name]
        if str(column.dtype) != spec.dtype or (not spec.nullable and column.isna().any()):
            return False
    optional = [c for c in OPTIONAL_MONEY if c in plan]
    planned, disbursed = plan["plan_dong"].to_numpy(), plan["disbursed_dong"].to_numpy()
    room = planned + (
        plan["carried_over_dong"].fillna(0).to_numpy(dtype="int64") if "carried_over_dong" in plan else 0
    )
    return bool(
        (plan["project_name"].str.strip().str.len() > 0).all()
        and plan["status"].isin(STATUSES).all()
        and (planned >= 0).all()
        and (disbursed >= 0).all()
        and (disbursed <= room).all()
        and (plan["row"].to_numpy() >= 1).all()
        and all((plan[c].dropna() >= 0).all() for c in optional)
    )


def validate(plan: pd.DataFrame, issues: list[Issue]) -> pd.DataFrame:
    """Trusted lines of `plan` (a fresh frame); appends one issue per failure."""
    plan = plan.reset_index(drop=True)
    if plan.empty:
        return plan
    blocked = ~plan["trusted"].to_numpy(dtype=bool)
    unreadable = blocked.copy()
    if not plainly_valid(plan):
        _schema_failures(plan, issues, blocked, unreadable)
    _sources_and_statuses(plan, issues)
    return plan[~blocked].reset_index(drop=True)


def _schema_failures(plan: pd.DataFrame, issues: list[Issue], blocked, unreadable) -> None:
    """pandera's lazy validation: every failure case an issue; blocking ones drop the line."""
    import pandera.errors

    from disbursement.ingest.schema import BLOCKING_CHECKS, plan_schema

    try:
        with _without_data_synthesis():
            plan_schema().validate(plan, lazy=True)
    except pandera.errors.SchemaErrors as exc:
        cases = exc.failure_cases
        seen: set[tuple[str, int, object]] = set()
        for case in cases.itertuples(index=False):
            check = str(case.check).split("(")[0]
            index = case.index
            if index is None or pd.isna(index):
                continue
            i = int(index)
            # a frame-wide check fails once per column of the line: report the line once
            key = (check, i, None if check == "disbursed_within_plan" else case.column)
            if key in seen or (check == "disbursed_within_plan" and unreadable[i]):
                continue  # ... and not at all when an amount was unreadable (it reads as 0)
            seen.add(key)
            line = plan.iloc[i]
            if check == "disbursed_within_plan":
                message = (
                    f"disbursed {format_trieu(int(line.disbursed_dong))} triệu đồng exceeds "
                    f"the plan {format_trieu(int(line.plan_dong))} (R-CALC-3); check the figures"
                )
                column = "disbursed_dong"
            else:
                message = MESSAGES.get(check, f"check {check} failed: {case.failure_case!r}")
                column = case.column
            letter = _letter(line, column)
            # blocking checks are errors, the others warnings (rules/issues.yaml)
            issues.append(issue(check_code(check), line.file, line.sheet, int(line.row), letter, message))
            if check in BLOCKING_CHECKS:
                blocked[i] = True


def _sources_and_statuses(plan: pd.DataFrame, issues: list[Issue]) -> None:
    """Lines of no known capital source (kept, marked UNKNOWN) and of no status, said."""
    unknown = plan["capital_source"].isna().to_numpy()
    for i in unknown.nonzero()[0]:
        line = plan.iloc[i]
        label = line.capital_source_label if pd.notna(line.capital_source_label) else "(none)"
        issues.append(
            issue(
                "SOURCE-UNKNOWN",
                line.file,
                line.sheet,
                int(line.row),
                None,
                f"capital source {label!r} is not in the rules vocabulary; the "
                "line is reviewed but kept out of reallocation (source UNKNOWN)",
            )
        )
    if unknown.any():
        first = plan[unknown].iloc[0]
        total = int(plan.loc[unknown, "plan_dong"].sum())
        issues.append(
            issue(
                "SOURCE-UNKNOWN-TOTAL",
                first.file,
                None,
                None,
                None,
                f"{int(unknown.sum())} lines with {format_trieu(total)} triệu đồng of "
                "plan have no known capital source: reviewed, but neither recalled "
                "nor given capital",
            )
        )
    plan.loc[unknown, "capital_source"] = "UNKNOWN"
    other = (plan["status"] == STATUS_OTHER).to_numpy()
    if other.any():
        first = plan[other].iloc[0]
        issues.append(
            issue(
                "STATUS-UNKNOWN",
                first.file,
                first.sheet,
                int(first.row),
                None,
                f"{int(other.sum())} lines have no status (chuyển tiếp / khởi công mới "
                "/ hoàn thành) from a group row or column; rounds scoped by status "
                "skip them",
            )
        )


def check_code(check: str) -> str:
    """The registered issue code of a schema check: "plan_not_negative" → CHECK-PLAN-NOT-NEGATIVE."""
    return f"CHECK-{check.upper().replace('_', '-')}"


def _letter(line, column) -> str | None:
    cell = cell_of(line.cells, column)
    return cell_column(cell) if cell else None
