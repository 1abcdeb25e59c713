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
    opt_money,
    pool_keys,
    receivers,
    sort_order,
    source_unknown,
)

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
_LINE_COLUMNS = ("project_code", "project_name", "investor", "capital_source",
                 "capital_source_label", "plan_dong", "disbursed_dong", "file", "sheet", "row",
                 "cells")
_REASON = {"expected": "UNABLE_TO_DISBURSE", "undisbursed": "SLOW_DISBURSEMENT",
           "forecast": "FORECAST_SHORTFALL"}


def _pace_forecast(plan: np.ndarray, disbursed: np.ndarray, policy: RecallPolicy,
                   as_of: dt.date | None, year: int) -> np.ndarray:
    if as_of is None:
        raise ValueError("the pace_forecast recall policy needs the as-of date")
    start = dt.date(year, 1, 1)
    total = (policy.deadline.in_year(year) - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 1), total)
    num, den = total * policy.acceleration_pct, elapsed * 100
    q, r = np.divmod(np.maximum(disbursed, 0), den)  # exact: q·num + ⌊r·num/den⌋, no overflow
    forecast = q * num + (r * num) // den
    return np.minimum(np.maximum(forecast, disbursed), plan)


def recall_amounts(flags: pd.DataFrame, policy: RecallPolicy, as_of: dt.date | None = None,
                   year: int | None = None) -> pd.DataFrame:
    """Recall per flagged line, aligned with `flags.index`.

    Columns: `basis` (expected | undisbursed | forecast, with "_expected_unknown" when
    unable_portion fell back), `reason` (code), `keep_dong` (what the line keeps at least),
    `recall_raw_dong`, `amount_dong` (rounded down, 0 when dropped), `plan_after_dong` and
    `dropped` (NA, "below_min_amount" or "nothing_to_recall").
    """
    year = year or (as_of.year if as_of else None)
    plan = flags["plan_dong"].to_numpy(dtype=np.int64)
    disbursed = flags["disbursed_dong"].to_numpy(dtype=np.int64)
    n = len(flags)
    basis = np.full(n, policy.policy if policy.policy != "unable_portion" else "expected",
                    dtype=object)
    if policy.policy == "pace_forecast":
        basis[:] = "forecast"
    keep = disbursed.copy()
    if policy.policy == "unable_portion":
        expected, known = opt_money(flags, "expected_dong")
        keep = np.where(known, np.maximum(disbursed, expected), disbursed)
        if policy.fallback == "pace_forecast" and not known.all():
            forecast = _pace_forecast(plan, disbursed, policy, as_of, year)  # type: ignore[arg-type]
            keep = np.where(known, keep, forecast)
        fallback = {"undisbursed": "undisbursed", "pace_forecast": "forecast", "none": "none"}
        basis[~known] = fallback[policy.fallback] + "_expected_unknown"
        if policy.fallback == "none":
            keep = np.where(known, keep, np.maximum(plan, disbursed))
    elif policy.policy == "pace_forecast":
        keep = _pace_forecast(plan, disbursed, policy, as_of, year)  # type: ignore[arg-type]
    raw = np.maximum(plan - np.maximum(keep, disbursed), 0)
    unit = policy.rounding_unit_dong
    amount = raw // unit * unit
    dropped = np.full(n, None, dtype=object)
    dropped[(amount > 0) & (amount < policy.min_amount_dong)] = "below_min_amount"
    dropped[amount <= 0] = "nothing_to_recall"
    amount = np.where(pd.isna(dropped), amount, 0)
    reason = [_REASON.get(str(b).removesuffix("_expected_unknown")) for b in basis]
    return pd.DataFrame(
        {"basis": basis, "reason": reason, "keep_dong": keep, "recall_raw_dong": raw,
         "amount_dong": amount, "plan_after_dong": plan - amount,
         "dropped": pd.array(dropped, dtype="string")},
        index=flags.index,
    )


def _text(value, default=""):
    return default if value is None or value is pd.NA or value != value else str(value)


def _line(row: dict, kind: str, amount: int, reason: str, pool: str, tier: str | None = None):
    plan = int(row["plan_dong"])
    return ProposalLine(
        kind=kind, project_code=_text(row.get("project_code"), None) or None,
        project_name=_text(row.get("project_name")),
        investor=_text(row.get("investor"), None) or None,
        capital_source=_text(row.get("capital_source")),
        capital_source_label=_text(row.get("capital_source_label")),
        pool=pool, plan_dong=plan, disbursed_dong=int(row["disbursed_dong"]),
        amount_dong=int(amount),
        plan_after_dong=plan - int(amount) if kind == "decrease" else plan + int(amount),
        reason=reason,
        source=SourceRef(_text(row.get("file")), _text(row.get("sheet")), int(row["row"]),
                         dict(row["cells"]) if isinstance(row.get("cells"), dict) else {}),
        tier=tier,
    )


def _note(row: dict, code: str, message: str, column: str | None = None, **params) -> Issue:
    given = row.get("cells")
    cells = given if isinstance(given, dict) else {}
    letter = cells.get(column, "") if column else ""
    return issue(code, _text(row.get("file")), _text(row.get("sheet"), None),
                 int(row["row"]), cell_column(letter) or None, message, **params)


def propose(plan: pd.DataFrame, policy_recall: RecallPolicy, policy_alloc: AllocationPolicy,
            priority: PriorityList | str = "by_year", *, as_of: dt.date | None = None,
            year: int, priority_folder=None) -> tuple[Proposal, list[Issue]]:
    """Balanced proposal per pool, plus info notes (dropped recalls, ineligible receivers)."""
    if isinstance(priority, str):
        priority = resolve_priority(priority, year, priority_folder)
    plan = plan.iloc[sort_order(plan)]
    pools = pool_keys(plan, policy_alloc.pool_by)
    flagged = (plan["flagged"].to_numpy(dtype=bool, na_value=False) if "flagged" in plan
               else np.zeros(len(plan), dtype=bool))
    money = [c for c in ("plan_dong", "disbursed_dong", "expected_dong") if c in plan]
    rec = recall_amounts(plan[money][flagged], policy_recall, as_of, year)
    recv, notes = receivers(plan, policy_alloc, priority)
    records = Rows(plan, _LINE_COLUMNS)
    reasons = recv["ineligible_reason"].to_numpy(dtype=object, na_value=None)
    for pos in map(int, np.flatnonzero(pd.notna(reasons))):
        notes.append(_note(records.position(pos), "RECEIVER-INELIGIBLE",
                           f"receiver candidate that cannot receive capital ({reasons[pos]}): "
                           f"{INELIGIBLE_TEXT[reasons[pos]]}", reason=str(reasons[pos])))
    decreases: list[ProposalLine] = []
    available: dict[str, int] = {}
    unknown = source_unknown(plan)
    for pos, basis, reason, amount, dropped in zip(
        map(int, np.flatnonzero(flagged)), rec["basis"].tolist(), rec["reason"].tolist(),
        rec["amount_dong"].tolist(), rec["dropped"].tolist(), strict=True,
    ):
        if not pd.isna(dropped):
            notes.append(_note(records.position(pos), "RECALL-DROPPED",
                               f"nothing recalled ({dropped}; basis {basis})",
                               dropped=str(dropped), basis=str(basis)))
            continue
        if unknown[pos]:
            notes.append(_note(records.position(pos), "RECALL-SOURCE-UNKNOWN",
                               "flagged, but nothing recalled: the capital source is not known, "
                               "so the capital has no pool to go to", dropped="source_unknown"))
            continue
        row = records[pos]
        if str(basis).endswith("_expected_unknown"):
            notes.append(_note(row, "RECALL-EXPECTED-MISSING",
                               f"expected disbursement not reported; recall basis {basis}",
                               "expected_dong", basis=str(basis)))
        pool = pools[pos]
        decreases.append(_line(row, "decrease", int(amount), reason, pool))
        available[pool] = available.get(pool, 0) + int(amount)
    grants = apportion_tiers(available, recv, pools, policy_alloc,
                             policy_recall.rounding_unit_dong, len(priority.tiers))
    volume_need = recv["volume_need_dong"].to_numpy()
    tiers = recv["tier"].to_numpy()
    increases = []
    for pos, funding_pool, amount in sorted(grants, key=lambda g: (g[1], tiers[g[0]], g[0])):
        backed = amount <= int(volume_need[pos])
        increases.append(_line(records[pos], "increase", amount,
                               "PAY_COMPLETED_VOLUME" if backed else "ADDITIONAL_NEED",
                               funding_pool, priority.tiers[int(tiers[pos])].id))
    proposal = Proposal(
        pools=build_pools(decreases, increases),
        decreases=tuple(decreases), increases=tuple(increases),
        policy={"recall": policy_recall.to_dict(), "reallocation": policy_alloc.to_dict(),
                "priority": priority.to_dict()},
    )
    return proposal, notes


def propose_for_round(plan: pd.DataFrame, rnd, *, year: int, as_of: dt.date | None,
                      issues: list | None = None, priority_folder=None) -> Proposal:
    """`propose` with the round's `recall`/`reallocation` blocks (defaults when absent);
    the notes are appended to `issues`."""
    where = f"round {getattr(rnd, 'id', '?')}"
    recall = RecallPolicy.from_dict(rnd.recall, f"{where}.recall") if rnd.recall else (
        RecallPolicy())
    alloc = (AllocationPolicy.from_dict(rnd.reallocation, f"{where}.reallocation")
             if rnd.reallocation else AllocationPolicy())
    proposal, notes = propose(plan, recall, alloc, alloc.priority, as_of=as_of, year=year,
                              priority_folder=priority_folder)
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
    return tuple(PoolResult(pool, cs, label, rec, alloc, rec - alloc)
                 for pool, (rec, alloc, cs, label) in sorted(acc.items()))


def proposal_to_dict(proposal: Proposal) -> dict:
    """The `"proposal"` object of `review --json`."""

    def line(x: ProposalLine) -> dict:
        out = {"project_code": x.project_code, "project_name": x.project_name,
               "capital_source": x.capital_source, "pool": x.pool, "amount_dong": x.amount_dong,
               "plan_dong": x.plan_dong, "disbursed_dong": x.disbursed_dong,
               "plan_after_dong": x.plan_after_dong, "reason": x.reason,
               "source": x.source.to_dict()}
        if x.tier is not None:
            out["tier"] = x.tier
        if x.override is not None:
            out["override"] = dict(x.override)
        return out

    return {
        "pools": [{"pool": p.pool, "capital_source": p.capital_source,
                   "recalled_dong": p.recalled_dong, "allocated_dong": p.allocated_dong,
                   "unallocated_dong": p.unallocated_dong} for p in proposal.pools],
        "decreases": [line(x) for x in proposal.decreases],
        "increases": [line(x) for x in proposal.increases],
        "policy": proposal.policy,
    }


def whatif(plan_with_scope: pd.DataFrame, thresholds: list[int], recall_policy: RecallPolicy,
           *, as_of: dt.date | None = None, year: int | None = None) -> list[dict]:
    """Per threshold and capital source: lines flagged (disbursed·100 < t·plan over in-scope
    lines) and the money `recall_policy` would recall from them. Sorted by threshold, source."""
    df = plan_with_scope
    scope = df["in_scope"].to_numpy(dtype=bool, na_value=False) if "in_scope" in df else (
        np.ones(len(df), dtype=bool))
    df = df[scope]
    amounts = recall_amounts(df, recall_policy, as_of, year)["amount_dong"].to_numpy()
    plan = df["plan_dong"].to_numpy(dtype=np.int64)
    disbursed = df["disbursed_dong"].to_numpy(dtype=np.int64)
    source = df["capital_source"].astype("string").fillna("").to_numpy(dtype=object)
    label = (df["capital_source_label"].astype("string").fillna("").to_numpy(dtype=object)
             if "capital_source_label" in df else source)
    sources = sorted(set(source))
    out = []
    for t in sorted(set(int(x) for x in thresholds)):
        hit = disbursed * 100 < t * plan
        for cs in sources:
            in_cs = source == cs
            sel = hit & in_cs
            out.append({
                "threshold_pct": t, "capital_source": cs,
                "capital_source_label": str(label[np.argmax(in_cs)]),
                "lines_in_scope": int(in_cs.sum()), "lines_flagged": int(sel.sum()),
                "plan_dong": int(plan[sel].sum()), "disbursed_dong": int(disbursed[sel].sum()),
                "recallable_dong": int(amounts[sel].sum()),
            })
    return out
