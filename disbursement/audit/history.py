"""The next review against history: the previous round's flags and the approved plans.

`compare_with_history` reads the store and returns a `History` value; it does not touch the
result it is given. `History.applied_to(result)` returns a new result with the lifecycle
column, the lifecycle summary block and the warnings added, and the issue counts made again
from the final issue list.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

from disbursement.audit.chain import chain_head
from disbursement.audit.queries import (
    Key,
    Record,
    decision_records,
    figures,
    flag_map,
    key_text,
    line_key,
)
from disbursement.audit.store import Db, connect, exists, locate
from disbursement.config.issues import issue
from disbursement.errors import Issue, cell_column
from disbursement.model import RunResult
from disbursement.money import format_trieu


@dataclass(frozen=True)
class History:
    """What the store says about a fresh result (see `compare_with_history`)."""

    lifecycle: list[str]  # per flag of the result: "new" or "persisting"
    block: dict[str, Any]  # summary["lifecycle"]
    issues: list[Issue] = field(default_factory=list)

    def applied_to(self, result: RunResult) -> RunResult:
        """A new result with the history added; `result` stays as it was."""
        flags: Any = result.flags
        issues = [*result.issues, *self.issues]
        # Issue counts are made by session.review, last, from the final records.
        summary = {**result.summary, "lifecycle": self.block}
        return dataclasses.replace(
            result, flags=flags.assign(lifecycle=self.lifecycle), summary=summary, issues=issues
        )


def _column(frame: Any, name: str) -> list[Any]:
    return frame[name].tolist() if name in frame else [None] * len(frame)


def _keys(frame: Any) -> list[Key]:
    if not len(frame):
        return []
    return [
        line_key(*x)
        for x in zip(
            frame["project_code"].tolist(),
            frame["capital_source"].tolist(),
            frame["file"].tolist(),
            frame["sheet"].tolist(),
            frame["row"].tolist(),
            frame["project_name"].tolist(),
            _column(frame, "investor"),
            strict=True,
        )
    ]


def compare_with_history(db: Db, result: RunResult, *, upto: int | None = None) -> History:
    """Compare a fresh result with the store before it is recorded.

    Lifecycle per flag: "new" or "persisting" against the latest recorded run of an earlier
    round of the same year; the block for `summary["lifecycle"]` (previous run, counts, the
    cleared flags, the decisions compared and the store position `store_seq` used, so a replay
    sees the same history); and a warning `PLAN-DIFFERS-FROM-APPROVED` for every line whose plan
    differs from the plan after adjustment approved by a recorded decision of the same year
    (`APPROVED-LINE-MISSING` when an approved line is not in the export). Reads only; a
    missing store is an empty history.
    """
    info, location = result.round, locate(db)
    previous: Any = None
    prev_flags: dict[Key, Record] = {}
    approved: dict[Key, tuple[int, str, str]] = {}
    cited: dict[str, str] = {}  # decision id → its text, in the order they were recorded
    seen = 0
    if exists(location):
        with connect(location) as conn:
            seen = chain_head(conn)[0] if upto is None else upto
            previous = conn.execute(
                "SELECT seq, run_id, round FROM runs WHERE year = ? AND "
                "round < ? AND seq <= ? ORDER BY seq DESC LIMIT 1",
                [info.year, info.number, seen],
            ).fetchone()
            if previous:
                prev_flags = flag_map(conn, previous[0])
            for d in decision_records(conn, "r.year = ? AND d.seq <= ?", [info.year, seen]):
                cited.setdefault(d["decision_id"], d["decision"])
                for x in d["lines"]:
                    key = line_key(x["project_code"], x["capital_source"], x["file"], x["sheet"], x["row"])
                    approved[key] = (x["plan_after_dong"], d["decision"], d["decision_id"])
    # The keys of the flags and lines only when there is something to match them with (the
    # first round of a year has neither: 0.1 s of keys at 100k lines).
    keys = _keys(result.flags) if prev_flags else []
    states = ["persisting" if k in prev_flags else "new" for k in keys] or ["new"] * len(result.flags)
    current = set(keys)
    plan: Any = result.plan
    lines = {k: pos for pos, k in enumerate(_keys(plan))} if prev_flags or approved else {}
    cleared = []
    for k, rec in prev_flags.items():
        if k not in current:
            now = plan.iloc[lines[k]] if k in lines else None
            cleared.append(
                {
                    "key": key_text(k),
                    "project_code": rec["project_code"],
                    "project_name": rec["project_name"],
                    "capital_source": rec["capital_source"],
                    "previous": figures(rec),
                    "now": None
                    if now is None
                    else {
                        "plan_dong": int(now["plan_dong"]),
                        "disbursed_dong": int(now["disbursed_dong"]),
                        "flagged": False,
                    },
                }
            )
    issues = []
    for k, (plan_after, decision, _) in approved.items():
        if k not in lines:
            issues.append(
                issue(
                    "APPROVED-LINE-MISSING",
                    "",
                    None,
                    None,
                    None,
                    f"{key_text(k)}: approved by {decision} with plan after "
                    f"adjustment {format_trieu(plan_after)} triệu đồng, but the line "
                    "is not in this export",
                    line=key_text(k),
                    approved=format_trieu(plan_after),
                    decision=decision,
                )
            )
            continue
        line = plan.iloc[lines[k]]
        if int(line["plan_dong"]) != plan_after:
            cell = (line["cells"] or {}).get("plan_dong", "") if "cells" in plan else ""
            issues.append(
                issue(
                    "PLAN-DIFFERS-FROM-APPROVED",
                    line["file"],
                    line["sheet"],
                    int(line["row"]),
                    cell_column(cell) or None,
                    f"{key_text(k)}: plan {format_trieu(int(line['plan_dong']))} triệu đồng in this "
                    f"export differs from {format_trieu(plan_after)} triệu đồng approved after "
                    f"adjustment by {decision}; update the plan column or check the decision",
                    line=key_text(k),
                    plan=format_trieu(int(line["plan_dong"])),
                    approved=format_trieu(plan_after),
                    decision=decision,
                )
            )
    block = {
        "previous_run": previous[1] if previous else None,
        "previous_round": previous[2] if previous else None,
        "new": states.count("new"),
        "persisting": states.count("persisting"),
        "cleared": cleared,
        "decisions": sorted({d for _, _, d in approved.values()}),
        # The decisions' own words, for the next memo's Căn cứ lines (recorded order).
        "decision_texts": list(cited.values()),
        "store_seq": seen,
    }
    return History(states, block, issues)
