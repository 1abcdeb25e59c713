"""`run_round`: compose the stages — read, understand, normalise, validate, review, propose.

Pure: nothing is written. `session.review` adds history, outputs and the audit record; the
sheets are loaded by `ingest.load`. This file only wires the stages and cross-checks the
as-of date.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Sequence
from dataclasses import asdict, replace
from pathlib import Path

from disbursement.config.issues import issue
from disbursement.config.policies import AllocationPolicy, RecallPolicy
from disbursement.config.rules import Round, Rules, load_rules
from disbursement.errors import InputUnreadable, Issue, NothingToReview, issue_counts
from disbursement.ingest.load import LoadResult, SheetReport, load_plan
from disbursement.ingest.required import Requirement, requirement_for
from disbursement.ingest.validate import validate
from disbursement.investors.review import ReplySource, answered_plan
from disbursement.model import RoundInfo, RunResult
from disbursement.reallocate import proposal as reallocate
from disbursement.reallocate.overrides import apply_overrides, read_overrides
from disbursement.reallocate.recall import whatif as whatif_table
from disbursement.review.rounds import evaluate, round_info, summarise


def inspect_files(
    paths: Sequence[str | Path],
    *,
    year: int | None = None,
    rules_path: str | Path | None = None,
    unit: str | None = None,
    first_rows: int = 5,
    round_number: int | None = None,
    as_of: dt.date | None = None,
) -> dict:
    """How each sheet was understood: header rows, columns, unit, as-of, row classes, samples.

    With `round_number` (and `as_of`), the sheets are read as that round reads them: dated
    candidates ranked against its date, and refused where it lacks the figure it compares."""
    rules = load_rules(rules_path)
    requirement = requirement_for(rules.round(round_number), as_of) if round_number is not None else None
    loaded, year = _load_for_year(paths, year, rules, unit, requirement)  # the headers' year
    plan = loaded.plan
    sheets = []
    for report in loaded.sheets:
        entry = asdict(report)
        entry["header_rows"] = list(report.header_rows) if report.header_rows else None
        part = plan[(plan["file"] == report.file) & (plan["sheet"] == report.sheet)]
        entry["first_lines"] = [
            {
                "row": int(x.row),
                "project_code": x.project_code if isinstance(x.project_code, str) else None,
                "project_name": str(x.project_name),
                "capital_source": x.capital_source if isinstance(x.capital_source, str) else None,
                "status": str(x.status),
                "plan_dong": int(x.plan_dong),
                "disbursed_dong": int(x.disbursed_dong),
            }
            for x in part.head(first_rows).itertuples()
        ]
        sheets.append(entry)
    out = {"year": year, "sheets": sheets, "issues": [i.to_dict() for i in loaded.issues]}
    if requirement is not None:
        out["round"] = round_number
        out["as_of"] = (requirement.as_of_in(year) or dt.date(year, 12, 31)).isoformat()
    return out


def run_round(
    paths: Sequence[str | Path],
    round_number: int,
    *,
    year: int | None = None,
    rules_path: str | Path | None = None,
    as_of: dt.date | None = None,
    unit: str | None = None,
    propose: bool = True,
    overrides: str | Path | None = None,
    replies: ReplySource | None = None,
    before_proposal: Callable[[RunResult], None] | None = None,
) -> RunResult:
    """Run one review round over the input workbooks; bad data ends up in `issues`.

    With `replies`, the investors' answered figures replace the workbook's before the round's
    criterion is decided (`investors.review.answered_plan`). `before_proposal` is given the
    result once its flags are final, before the proposal adds its own lines and issues (the
    session encodes the flag records on a second core meanwhile)."""
    rules = load_rules(rules_path)
    rnd = rules.round(round_number)
    if not paths:
        raise InputUnreadable("no input file given")
    requirement = requirement_for(rnd, as_of, answered=bool(replies))
    loaded, year = _load_for_year(paths, year, rules, unit, requirement)
    _refuse_if_nothing_to_review(loaded, paths)
    issues = loaded.issues
    info = round_info(rules, rnd, year, as_of)
    _cross_check_as_of(loaded.sheets, info.as_of, as_of is not None, issues)
    info = _data_date(loaded.sheets, info, as_of is not None)
    trusted = validate(loaded.plan, issues)
    applied = None
    if replies:
        trusted, applied, reply_files = answered_plan(trusted, info, replies)
        issues.extend(applied.issues)
    evaluated = evaluate(trusted, rnd, info, issues)
    flags = evaluated[evaluated["flagged"]].copy()
    summary = summarise(evaluated, info)
    if info.round_as_of is not None:  # the round's date was not met by the data
        summary["round_as_of"] = info.round_as_of.isoformat()
    official = {s.id: s.label for s in rules.capital_sources}
    for entry in summary["by_capital_source"]:  # the rules' official label for known sources
        entry["label_as_written"] = entry["label"]
        entry["label"] = official.get(entry["capital_source"], entry["label"])
    result = RunResult(
        info, evaluated, flags, issues, summary, inputs=tuple(str(p) for p in paths), rules_path=rules.path
    )
    if applied is not None:
        result.replies, result.reply_files = applied.changes, reply_files
        result.summary["replies"] = applied.summary()
    result.summary["sheets"] = [
        {"file": s.file, "sheet": s.sheet, "status": s.status, "lines": s.lines} for s in loaded.sheets
    ]
    if before_proposal is not None:
        before_proposal(result)
    if propose or overrides:
        _propose(result, rnd, year, overrides)
    result.summary["issues"] = issue_counts(issues)
    return result


def _refuse_if_nothing_to_review(loaded: LoadResult, paths: Sequence[str | Path]) -> None:
    """No plan sheet reviewed, or no project line under any: the run is refused (exit 1) with
    each sheet's reason on one line, before anything is written or recorded."""
    plan_sheets = [s for s in loaded.sheets if s.status == "read" and "plan_dong" in s.columns]
    if plan_sheets and len(loaded.plan):
        return
    reasons = []
    for s in loaded.sheets:
        if s.status == "read" and "plan_dong" not in s.columns:
            why = (
                loaded.no_plan.get((s.file, s.sheet), "no plan column recognised")
                + " — if this is a Treasury (KBNN) disbursement export, add the plan "
                "workbook beside it"
            )
        elif s.status == "read":
            why = (
                f"no project line found under the header (row {s.header_rows[1]})"
                if s.header_rows
                else "no project line found"
            )
        else:
            why = s.reason
        reasons.append(f"{s.file} › {s.sheet}: {why}")
    for path in paths:
        if not any(s.file == str(path) for s in loaded.sheets):
            reasons.append(f"{path}: no sheet could be read")
    errors = [
        i for i in loaded.issues if i.severity == "error" and i.code not in ("SHEET-REFUSED", "PLAN-MISSING")
    ]
    reasons += [f"{i.location()}: {i.message}" for i in errors[:5]]
    if not reasons:
        reasons = [f"{p}: no table found" for p in paths]
    if len(paths) == 1:  # the message names the one input first, like every input error
        one = str(paths[0])
        reasons = [r.removeprefix(f"{one} › ").removeprefix(f"{one}: ") for r in reasons]
        raise NothingToReview(f"{one}: nothing to review, no output written — " + " | ".join(reasons))
    raise NothingToReview(
        f"nothing to review in {len(paths)} inputs, no output written — " + " | ".join(reasons)
    )


def _load_for_year(
    paths: Sequence[str | Path],
    year: int | None,
    rules: Rules,
    unit: str | None,
    requirement: Requirement | None = None,
) -> tuple[LoadResult, int]:
    """Load for `year`; without --year, for the rules' plan year, or else for the one plan
    year every skipped sheet's header names (said in an info issue), so a 2023 workbook
    reviewed without --year is read as 2023 rather than skipped."""
    loaded = load_plan(paths, year=year or rules.plan_year, rules=rules, unit=unit, requirement=requirement)
    if year is not None or len(loaded.plan):
        return loaded, year or rules.plan_year
    named = {
        int(m.group(1))
        for x in loaded.issues
        if x.code == "SHEET-SKIPPED"
        for m in [re.search(r"run with --year (\d{4})", x.message)]
        if m
    }
    if len(named) != 1:
        return loaded, rules.plan_year
    (found,) = named
    reloaded = load_plan(paths, year=found, rules=rules, unit=unit, requirement=requirement)
    reloaded.issues.insert(
        0,
        issue(
            "YEAR-FROM-HEADER",
            str(paths[0]),
            None,
            None,
            None,
            f"no --year given and the headers name plan year {found} (the rules' default is "
            f"{rules.plan_year}); the workbook was read and reviewed as plan year {found}",
        ),
    )
    return reloaded, found


def _propose(result: RunResult, rnd: Round, year: int, overrides: str | Path | None) -> None:
    result.proposal = reallocate.propose_for_round(
        result.plan, rnd, year=year, as_of=result.round.as_of, issues=result.issues
    )
    if overrides:
        rows, problems = read_overrides(overrides)
        result.issues.extend(problems)
        policy = AllocationPolicy.from_dict(rnd.reallocation, f"{rnd.id}.reallocation")
        result.proposal, rejected = apply_overrides(
            result.proposal, result.plan, rows, policy, policy.priority, year=year
        )
        result.issues.extend(rejected)


def whatif(
    paths: Sequence[str | Path],
    round_number: int,
    thresholds: Sequence[int],
    *,
    year: int | None = None,
    rules_path: str | Path | None = None,
    as_of: dt.date | None = None,
    unit: str | None = None,
) -> dict:
    """Per threshold and capital source: lines that would be flagged and money recallable."""
    result = run_round(
        paths, round_number, year=year, rules_path=rules_path, as_of=as_of, unit=unit, propose=False
    )
    rnd = load_rules(rules_path).round(round_number)
    recall = RecallPolicy.from_dict(rnd.recall, f"{rnd.id}.recall") if rnd.recall else RecallPolicy()
    rows = whatif_table(
        result.plan, list(thresholds), recall, as_of=result.round.as_of, year=result.round.year
    )
    labels_en = dict(result.round.source_labels_en)
    for row in rows:  # for `whatif --lang en`; the rules file's label_en where it has one
        row["capital_source_label_en"] = labels_en.get(row["capital_source"])
    return {
        "round": round_number,
        "rule_id": rnd.id,
        "as_of": result.round.as_of.isoformat(),
        "recall_policy": recall.policy,
        "rows": rows,
        "issues": [i.to_dict() for i in result.issues],
    }


def _cross_check_as_of(
    sheets: list[SheetReport], as_of: dt.date, overridden: bool, issues: list[Issue]
) -> None:
    for report in sheets:
        if report.status != "read" or not report.as_of or report.as_of == as_of.isoformat():
            continue
        then = (
            "--as-of stands as you gave it"
            if overridden
            else "the outputs state the workbook's date; pass --as-of to review as of another"
        )
        source = "--as-of" if overridden else "the round"
        issues.append(
            issue(
                "ASOF-MISMATCH",
                report.file,
                report.sheet,
                None,
                None,
                f"the sheet's figures are as of {_vn(report.as_of)} but {source} is "
                f"as of {as_of.strftime('%d/%m/%Y')}: {then}; check you exported "
                "the right date",
            )
        )


def _data_date(sheets: list[SheetReport], info: RoundInfo, overridden: bool) -> RoundInfo:
    """The round as the data allows: when every dated sheet says one date other than the
    round's (and --as-of did not state the user's intent), the review is as of that date and
    the round's date is kept as `round_as_of`, which the summary and the memo state."""
    dates = {s.as_of for s in sheets if s.status == "read" and s.as_of}
    if overridden or len(dates) != 1:
        return info
    (date,) = dates
    found = dt.date.fromisoformat(date)
    if found == info.as_of:
        return info
    return replace(info, as_of=found, round_as_of=info.as_of)


def _vn(iso: str) -> str:
    return dt.date.fromisoformat(iso).strftime("%d/%m/%Y")
