"""Reallocation (pure): recall capital from flagged lines, allocate it by legal priority.

Stage after the review. `propose(plan, recall, allocation, priority, as_of=…, year=…)` takes
the reviewed plan table (with `flagged`) and returns a `Proposal` plus info notes:

1. **Recall** (điều chỉnh giảm) from every flagged line by the round's `RecallPolicy`
   (`recall_amounts`), rounded down to the rounding unit; never below disbursed-to-date.
2. **Receivers** (điều chỉnh tăng): lines not flagged in this round with a stated need, capped
   by every limit the sheet lets us check (`receivers`): stated need; medium-term room
   (medium-term − cumulative allocation − plan); TMĐT room (TMĐT − cumulative allocation −
   plan); unpaid completed volume not covered by the remaining plan when the rules require it.
   An unknown cumulative allocation counts as 0 (a looser but still valid bound).
3. **Pools**: money moves only inside its pool (`pool_by`, always including the capital
   source) unless `allow_cross_pool` names the pair. Within a pool, tiers in priority order;
   a tier is served in full before the next gets anything; an under-funded tier shares the
   money in proportion to capped need (largest remainder, in whole rounding units first, then
   đồng) or greedily, largest need first. Ties go by project code, then Excel row.
   Per pool: Σ decreases = Σ increases + unallocated (returned to the reserve).

Reason codes: decreases UNABLE_TO_DISBURSE (plan − max(disbursed, expected)),
SLOW_DISBURSEMENT (plan − disbursed), FORECAST_SHORTFALL (plan − pace forecast); increases
PAY_COMPLETED_VOLUME (the increase is backed by unpaid completed volume), ADDITIONAL_NEED.
The code follows the basis actually used: a line recalled under `unable_portion` whose
expected figure is unknown gets the fallback's code.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.config.policies import AllocationPolicy, RecallPolicy
from disbursement.config.priority import PriorityList, resolve_priority
from disbursement.errors import Issue, cell_column
from disbursement.model import PoolResult, Proposal, ProposalLine, SourceRef
from disbursement.reallocate.allocation import (
    INELIGIBLE_TEXT,
    Rows,
    apportion_tiers,
    pool_keys,
    receivers,
    sort_order,
    source_unknown,
)
from disbursement.reallocate.recall import recall_amounts, whatif
from disbursement.source_cells import cell_of

__all__ = [
    "REASON_TEXT_EN",
    "REASON_TEXT_VI",
    "AllocationPolicy",
    "RecallPolicy",
    "proposal_to_dict",
    "propose",
    "propose_for_round",
    "recall_amounts",
    "receivers",
    "whatif",
]

REASON_TEXT_VI = {  # terminal fallback only; the memo wording lives in templates/
    "UNABLE_TO_DISBURSE": "không có khả năng giải ngân",
    "SLOW_DISBURSEMENT": "giải ngân chậm",
    "FORECAST_SHORTFALL": "dự kiến không giải ngân hết kế hoạch vốn",
    "PAY_COMPLETED_VOLUME": "bổ sung thanh toán khối lượng hoàn thành",
    "ADDITIONAL_NEED": "bổ sung theo nhu cầu",
    "MANUAL_ADJUSTMENT": "điều chỉnh theo ý kiến phê duyệt",
}
REASON_TEXT_EN = {
    "UNABLE_TO_DISBURSE": "unable to disburse",
    "SLOW_DISBURSEMENT": "slow disbursement",
    "FORECAST_SHORTFALL": "forecast not to disburse the full plan",
    "PAY_COMPLETED_VOLUME": "to pay for completed work volume",
    "ADDITIONAL_NEED": "additional need",
    "MANUAL_ADJUSTMENT": "adjusted as approved",
}
_LINE_COLUMNS = (
    "project_code",
    "project_name",
    "investor",
    "capital_source",
    "capital_source_label",
    "plan_dong",
    "disbursed_dong",
    "file",
    "sheet",
    "row",
    "cells",
)


def _text(value, default=""):
    return default if value is None or value is pd.NA or value != value else str(value)


def _line(records: Rows, pos: int, kind: str, amount: int, reason: str, pool: str, tier: str | None = None):
    """The proposal line of the plan line at `pos` (read from `records`' column lists: no
    row dict is made)."""
    at = records.lists
    absent = records.absent
    plan = int(at["plan_dong"][pos])
    amount = int(amount)
    cells = at.get("cells", absent)[pos]
    return ProposalLine(
        kind=kind,
        project_code=_text(at.get("project_code", absent)[pos], None) or None,
        project_name=_text(at.get("project_name", absent)[pos]),
        investor=_text(at.get("investor", absent)[pos], None) or None,
        capital_source=_text(at.get("capital_source", absent)[pos]),
        capital_source_label=_text(at.get("capital_source_label", absent)[pos]),
        pool=pool,
        plan_dong=plan,
        disbursed_dong=int(at["disbursed_dong"][pos]),
        amount_dong=amount,
        plan_after_dong=plan - amount if kind == "decrease" else plan + amount,
        reason=reason,
        source=SourceRef(
            _text(at.get("file", absent)[pos]),
            _text(at.get("sheet", absent)[pos]),
            int(at["row"][pos]),
            cells if isinstance(cells, Mapping) else {},
        ),
        tier=tier,
    )


def _note(where: tuple, code: str, message: str, column: str | None = None, **params) -> Issue:
    """A note located at the line `Rows.where` gives: its file, sheet, row and, for `column`,
    the column letter of its cell."""
    file, sheet, row, cells = where
    letter = cell_of(cells, column)
    return issue(
        code,
        _text(file),
        _text(sheet, None),
        int(row),
        cell_column(letter) or None,
        message,
        **params,
    )


def propose(
    plan: pd.DataFrame,
    policy_recall: RecallPolicy,
    policy_alloc: AllocationPolicy,
    priority: PriorityList | str = "by_year",
    *,
    as_of: dt.date | None = None,
    year: int,
    priority_folder=None,
) -> tuple[Proposal, list[Issue]]:
    """Balanced proposal per pool, plus info notes (dropped recalls, ineligible receivers)."""
    if isinstance(priority, str):
        priority = resolve_priority(priority, year, priority_folder)
    plan = plan.iloc[sort_order(plan)]
    pools = pool_keys(plan, policy_alloc.pool_by)
    flagged = (
        plan["flagged"].to_numpy(dtype=bool, na_value=False)
        if "flagged" in plan
        else np.zeros(len(plan), dtype=bool)
    )
    money = [c for c in ("plan_dong", "disbursed_dong", "expected_dong") if c in plan]
    rec = recall_amounts(plan[money][flagged], policy_recall, as_of, year)
    recv, notes = receivers(plan, policy_alloc, priority)
    records = Rows(plan, _LINE_COLUMNS)
    reasons = recv["ineligible_reason"].to_numpy(dtype=object, na_value=None)
    for pos in map(int, np.flatnonzero(pd.notna(reasons))):
        notes.append(
            _note(
                records.where(pos),
                "RECEIVER-INELIGIBLE",
                f"receiver candidate that cannot receive capital ({reasons[pos]}): "
                f"{INELIGIBLE_TEXT[reasons[pos]]}",
                reason=str(reasons[pos]),
            )
        )
    decreases: list[ProposalLine] = []
    available: dict[str, int] = {}
    unknown = source_unknown(plan)
    for pos, basis, reason, amount, dropped in zip(
        map(int, np.flatnonzero(flagged)),
        rec["basis"].tolist(),
        rec["reason"].tolist(),
        rec["amount_dong"].tolist(),
        rec["dropped"].tolist(),
        strict=True,
    ):
        if not pd.isna(dropped):
            notes.append(
                _note(
                    records.where(pos),
                    "RECALL-DROPPED",
                    f"nothing recalled ({dropped}; basis {basis})",
                    dropped=str(dropped),
                    basis=str(basis),
                )
            )
            continue
        if unknown[pos]:
            notes.append(
                _note(
                    records.where(pos),
                    "RECALL-SOURCE-UNKNOWN",
                    "flagged, but nothing recalled: the capital source is not known, "
                    "so the capital has no pool to go to",
                    dropped="source_unknown",
                )
            )
            continue
        if str(basis).endswith("_expected_unknown"):
            notes.append(
                _note(
                    records.where(pos),
                    "RECALL-EXPECTED-MISSING",
                    f"expected disbursement not reported; recall basis {basis}",
                    "expected_dong",
                    basis=str(basis),
                )
            )
        pool = pools[pos]
        decreases.append(_line(records, pos, "decrease", int(amount), reason, pool))
        available[pool] = available.get(pool, 0) + int(amount)
    grants = apportion_tiers(
        available, recv, pools, policy_alloc, policy_recall.rounding_unit_dong, len(priority.tiers)
    )
    volume_need = recv["volume_need_dong"].to_numpy()
    tiers = recv["tier"].to_numpy()
    increases = []
    for pos, funding_pool, amount in sorted(grants, key=lambda g: (g[1], tiers[g[0]], g[0])):
        backed = amount <= int(volume_need[pos])
        increases.append(
            _line(
                records,
                pos,
                "increase",
                amount,
                "PAY_COMPLETED_VOLUME" if backed else "ADDITIONAL_NEED",
                funding_pool,
                priority.tiers[int(tiers[pos])].id,
            )
        )
    proposal = Proposal(
        pools=build_pools(decreases, increases),
        decreases=tuple(decreases),
        increases=tuple(increases),
        policy={
            "recall": policy_recall.to_dict(),
            "reallocation": policy_alloc.to_dict(),
            "priority": priority.to_dict(),
        },
    )
    return proposal, notes


def propose_for_round(
    plan: pd.DataFrame,
    rnd,
    *,
    year: int,
    as_of: dt.date | None,
    issues: list | None = None,
    priority_folder=None,
) -> Proposal:
    """`propose` with the round's `recall`/`reallocation` blocks (defaults when absent);
    the notes are appended to `issues`."""
    where = f"round {getattr(rnd, 'id', '?')}"
    recall = RecallPolicy.from_dict(rnd.recall, f"{where}.recall") if rnd.recall else (RecallPolicy())
    alloc = (
        AllocationPolicy.from_dict(rnd.reallocation, f"{where}.reallocation")
        if rnd.reallocation
        else AllocationPolicy()
    )
    proposal, notes = propose(
        plan, recall, alloc, alloc.priority, as_of=as_of, year=year, priority_folder=priority_folder
    )
    if issues is not None:
        issues.extend(notes)
    return proposal


def build_pools(decreases, increases) -> tuple:
    """Per-pool totals from the lines (sorted by pool key); used again after overrides."""

    acc: dict[str, list] = {}
    for line in decreases:
        entry = acc.setdefault(line.pool, [0, 0, "", ""])
        entry[0] += line.amount_dong
        if line.capital_source and not entry[2]:
            entry[2], entry[3] = line.capital_source, line.capital_source_label
    for line in increases:
        acc.setdefault(line.pool, [0, 0, line.capital_source, line.capital_source_label])
        acc[line.pool][1] += line.amount_dong
    return tuple(
        PoolResult(pool, cs, label, rec, alloc, rec - alloc)
        for pool, (rec, alloc, cs, label) in sorted(acc.items())
    )


def proposal_to_dict(proposal: Proposal) -> dict:
    """The `"proposal"` object of `review --json`."""

    def line(x: ProposalLine) -> dict:
        out = {
            "project_code": x.project_code,
            "project_name": x.project_name,
            "capital_source": x.capital_source,
            "pool": x.pool,
            "amount_dong": x.amount_dong,
            "plan_dong": x.plan_dong,
            "disbursed_dong": x.disbursed_dong,
            "plan_after_dong": x.plan_after_dong,
            "reason": x.reason,
            "source": x.source.to_dict(),
        }
        if x.tier is not None:
            out["tier"] = x.tier
        if x.override is not None:
            out["override"] = dict(x.override)
        return out

    return {
        "pools": [
            {
                "pool": p.pool,
                "capital_source": p.capital_source,
                "recalled_dong": p.recalled_dong,
                "allocated_dong": p.allocated_dong,
                "unallocated_dong": p.unallocated_dong,
            }
            for p in proposal.pools
        ],
        "decreases": [line(x) for x in proposal.decreases],
        "increases": [line(x) for x in proposal.increases],
        "policy": proposal.policy,
    }
