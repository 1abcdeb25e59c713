"""Receivers, pools and the integer apportionment behind `reallocate.propose` (pure).

Kept apart from `reallocate.py` so each stays readable; `reallocate` re-exports `receivers`.
Everything here is vectorised over the plan except the per-pool, per-tier loops.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.config.policies import AllocationPolicy
from disbursement.config.priority import PriorityList
from disbursement.errors import Issue
from disbursement.review.rounds import MISSING

BIG = np.iinfo(np.int64).max  # "no limit known"
INELIGIBLE_TEXT = {  # reason code → English explanation for the info note
    "CAPITAL_SOURCE_UNKNOWN": "its capital source is not known, so no pool can fund it",
    "NO_INVESTMENT_DECISION": "no investment decision (quyết định đầu tư) on the line",
    "NOT_IN_MEDIUM_TERM_PLAN": "not in the medium-term plan (no medium-term amount)",
    "NO_UNPAID_COMPLETED_VOLUME": (
        "the rules require unpaid completed volume beyond plan − disbursed, and there is none"
    ),
    "MEDIUM_TERM_ROOM_EXHAUSTED": "medium-term room used up: medium-term − cumulative − plan ≤ 0",
    "TMDT_ROOM_EXHAUSTED": "total investment (TMĐT) already used: TMĐT − cumulative − plan ≤ 0",
    "NO_PRIORITY_TIER": "matches no tier of the priority list",
}
INELIGIBLE_REASONS = tuple(INELIGIBLE_TEXT)


def opt_money(df: pd.DataFrame, column: str) -> tuple[np.ndarray, np.ndarray]:
    """(values with NA as 0, known mask) for an optional money column, absent or all-NA."""
    if column not in df:
        return np.zeros(len(df), dtype=np.int64), np.zeros(len(df), dtype=bool)
    s = df[column]
    known = s.notna().to_numpy(dtype=bool)
    return s.to_numpy(dtype=np.int64, na_value=0), known


def _text_present(df: pd.DataFrame, column: str) -> np.ndarray:
    if column not in df:
        return np.zeros(len(df), dtype=bool)
    values = df[column].to_numpy(dtype=object, na_value=None)
    return np.fromiter((isinstance(v, str) and bool(v.strip()) for v in values), bool, len(values))


class Rows:
    """The selected columns as Python lists (one conversion per column): a line's dict, or
    only where it was read, built for the positions asked for."""

    def __init__(self, df: pd.DataFrame, columns: tuple[str, ...]):
        self.lists = {c: df[c].to_numpy(dtype=object).tolist() for c in columns if c in df}
        self.absent: list = [None] * len(df)
        self._where = tuple(self.lists.get(c, self.absent) for c in ("file", "sheet", "row", "cells"))

    def __getitem__(self, pos: int) -> dict:
        return {c: a[pos] for c, a in self.lists.items()}

    def where(self, pos: int) -> tuple:
        """Only what an issue needs: (file, sheet, row, cells); None for an absent column."""
        file, sheet, row, cells = self._where
        return file[pos], sheet[pos], row[pos], cells[pos]


def _codes(df: pd.DataFrame, column: str, sort: bool = False) -> np.ndarray:
    """Integer codes of a text column (missing column or value → -1)."""
    if column not in df:
        return np.full(len(df), -1, dtype=np.int64)
    return pd.factorize(df[column], sort=sort)[0].astype(np.int64)


def _groups(df: pd.DataFrame) -> np.ndarray:
    """(file, sheet) group number per line, positionally."""
    f, s = _codes(df, "file"), _codes(df, "sheet")
    return pd.factorize(f * (int(s.max(initial=0)) + 2) + s + 1)[0]


def sort_order(plan: pd.DataFrame) -> np.ndarray:
    """Positions in a canonical order (project code, Excel row, file, sheet; no code last)."""
    code = _codes(plan, "project_code", sort=True)
    code = np.where(code < 0, np.iinfo(np.int64).max, code)
    row = plan["row"].to_numpy(dtype=np.int64) if "row" in plan else np.zeros(len(plan), int)
    keys = (_codes(plan, "sheet", True), _codes(plan, "file", True), row, code)
    return np.lexsort(keys)  # the last key sorts first


def pool_keys(plan: pd.DataFrame, pool_by: tuple[str, ...]) -> np.ndarray:
    """Pool id per line: the `pool_by` values joined by "|" ("-" for a missing value).

    A finer column the plan does not have (absent or all blank) is left out of the id, so
    `pool_by: [capital_source, budget_level]` over sheets without a budget level gives
    plain capital-source pools ("NSDP_CAN_DOI", not "NSDP_CAN_DOI|-")."""
    used = [c for i, c in enumerate(pool_by) if i == 0 or (c in plan and plan[c].notna().any())]
    parts = [
        (
            plan[c].astype("string").fillna("-")
            if c in plan
            else pd.Series(["-"] * len(plan), index=plan.index, dtype="string")
        )
        for c in used
    ]
    key = parts[0]
    for part in parts[1:]:
        key = key.str.cat(part, sep="|")
    return key.to_numpy(dtype=object)


def source_unknown(plan: pd.DataFrame) -> np.ndarray:
    """Lines whose capital source the vocabulary did not recognise: kept out of every pool."""
    if "capital_source" not in plan:
        return np.zeros(len(plan), dtype=bool)
    source = plan["capital_source"].astype("string")
    return (source.isna() | (source == "UNKNOWN")).to_numpy(dtype=bool, na_value=True)


def receivers(
    plan: pd.DataFrame, policy: AllocationPolicy, priority: PriorityList
) -> tuple[pd.DataFrame, list[Issue]]:
    """Receiver candidates and their caps, aligned positionally with `plan` (same index).

    Columns: `candidate` (not flagged, with a stated need — or, without the has_stated_need
    filter, with a known room), `eligible`, `ineligible_reason` (one of INELIGIBLE_REASONS,
    NA when eligible or not a candidate), `tier` (index in `priority.tiers`, -1 none),
    `need_dong`, `volume_need_dong` (unpaid completed volume not covered by plan −
    disbursed), `cap_dong` (0 unless eligible) and `cap_basis` (need | medium_term_room |
    tmdt_room | completed_volume: the binding limit). The notes are warnings for sheets
    where an eligibility column is missing, so that filter could not be applied there.
    """
    n = len(plan)
    p = plan["plan_dong"].to_numpy(dtype=np.int64)
    d = plan["disbursed_dong"].to_numpy(dtype=np.int64)
    flagged = (
        plan["flagged"].to_numpy(dtype=bool, na_value=False) if "flagged" in plan else np.zeros(n, dtype=bool)
    )
    extra, extra_k = opt_money(plan, "extra_need_dong")
    vol, vol_k = opt_money(plan, "completed_volume_dong")
    volume_need = np.where(vol_k, np.maximum(vol - np.maximum(p - d, 0), 0), 0)
    need_k = extra_k | (vol_k if policy.completed_volume_is_need else False)
    need = np.where(extra_k, extra, volume_need)
    stated = need_k & (need > 0)
    mt, mt_k = opt_money(plan, "medium_term_dong")
    cum, _ = opt_money(plan, "cumulative_alloc_dong")  # unknown → 0: a looser, still valid bound
    tm, tm_k = opt_money(plan, "tmdt_dong")
    mt_room, tm_room = mt - cum - p, tm - cum - p

    cap = np.full(n, BIG, dtype=np.int64)
    basis = np.full(n, "", dtype=object)
    limits = [("need", need, need_k), ("medium_term_room", mt_room, mt_k), ("tmdt_room", tm_room, tm_k)]
    if policy.require_completed_volume:
        limits.append(("completed_volume", volume_need, np.ones(n, dtype=bool)))
    for name, value, known in limits:
        tighter = known & (value < cap)
        cap = np.where(tighter, value, cap)
        basis[tighter] = name

    if "has_stated_need" in policy.eligibility:
        candidate = ~flagged & stated
    else:
        candidate = ~flagged & (stated | (~need_k & (mt_k | tm_k)))
    groups = _groups(plan)
    notes: list[Issue] = []

    def checkable(present: np.ndarray, column: str, filter_name: str) -> np.ndarray:
        ok = (np.bincount(groups, weights=present, minlength=groups.max(initial=0) + 1) > 0)[groups]
        missing = np.flatnonzero(candidate & ~ok)
        _, first = np.unique(groups[missing], return_index=True)
        for pos in missing[np.sort(first)]:
            notes.append(
                issue(
                    "ELIGIBILITY-NOT-CHECKED",
                    _file(plan, pos),
                    _sheet(plan, pos),
                    None,
                    None,
                    f"no {column} values in this sheet: eligibility filter '{filter_name}' "
                    "was not applied to its lines",
                )
            )
        return ok

    reason = np.full(n, None, dtype=object)
    checks = [("CAPITAL_SOURCE_UNKNOWN", source_unknown(plan))]
    if "investment_decision" in policy.eligibility:
        has = _text_present(plan, "investment_decision")
        checks.append(
            ("NO_INVESTMENT_DECISION", checkable(has, "investment_decision", "investment_decision") & ~has)
        )
    if "in_medium_term_plan" in policy.eligibility:
        checks.append(
            (
                "NOT_IN_MEDIUM_TERM_PLAN",
                checkable(mt_k, "medium_term_dong", "in_medium_term_plan") & ~(mt_k & (mt > 0)),
            )
        )
    if policy.require_completed_volume:
        checks.append(("NO_UNPAID_COMPLETED_VOLUME", volume_need <= 0))
    tier = priority.tier_index(plan)
    checks += [
        ("MEDIUM_TERM_ROOM_EXHAUSTED", mt_k & (mt_room <= 0)),
        ("TMDT_ROOM_EXHAUSTED", tm_k & (tm_room <= 0)),
        ("NO_PRIORITY_TIER", tier < 0),
    ]
    for code, failing in checks:
        reason[candidate & failing & pd.isna(reason)] = code
    eligible = candidate & pd.isna(reason) & (cap > 0) & (cap < BIG)
    out = pd.DataFrame(
        {
            "candidate": candidate,
            "eligible": eligible,
            "ineligible_reason": pd.array(np.where(candidate, reason, MISSING), dtype="string"),
            "tier": tier,
            "need_dong": np.where(need_k, need, 0),
            "volume_need_dong": volume_need,
            "cap_dong": np.where(eligible, cap, 0),
            "cap_basis": pd.array(np.where(eligible, basis, MISSING), dtype="string"),
        },
        index=plan.index,
    )
    return out, notes


def _file(plan: pd.DataFrame, pos: int) -> str:
    return str(plan["file"].iat[pos]) if "file" in plan else ""


def _sheet(plan: pd.DataFrame, pos: int) -> str | None:
    return str(plan["sheet"].iat[pos]) if "sheet" in plan else None


def _largest_remainder(total: int, weights: list[int], limits: list[int]) -> list[int]:
    """Split `total` in proportion to `weights`, each share ≤ its limit where possible;
    remainders go to the largest fractional parts, ties to the earlier position."""
    s = sum(weights)
    if s == 0 or total == 0:
        return [0] * len(weights)
    shares = [min(total * w // s, lim) for w, lim in zip(weights, limits, strict=True)]
    remainders = [total * w % s for w in weights]
    left = total - sum(shares)
    for i in sorted(range(len(weights)), key=lambda i: (-remainders[i], i)):
        if left <= 0:
            break
        if shares[i] < limits[i]:
            shares[i] += 1
            left -= 1
    return shares


def split(money: int, caps: list[int], unit: int, method: str) -> list[int]:
    """Share `money` among receivers of one tier, none above its cap (integer đồng)."""
    if money >= sum(caps):
        return list(caps)
    out = [0] * len(caps)
    if method == "greedy":
        for i in sorted(range(len(caps)), key=lambda i: (-caps[i], i)):
            out[i] = min(caps[i], money)
            money -= out[i]
            if not money:
                break
        return out
    units = _largest_remainder(money // unit, caps, [c // unit for c in caps])
    out = [u * unit for u in units]
    rest = money - sum(out)
    if rest:  # what whole units could not place, in đồng, so the tier absorbs all
        residual = [c - o for c, o in zip(caps, out, strict=True)]
        out = [o + e for o, e in zip(out, _largest_remainder(rest, residual, residual), strict=True)]
    return out


def apportion_tiers(
    available: dict[str, int],
    recv: pd.DataFrame,
    pools: np.ndarray,
    policy: AllocationPolicy,
    unit: int,
    n_tiers: int,
) -> list[tuple[int, str, int]]:
    """Grants (position, funding pool, amount): own pool first, then `allow_cross_pool` pairs
    in order with what is left. A tier left with unmet capped need stops the pool there."""
    eligible = recv["eligible"].to_numpy(dtype=bool)
    tier = recv["tier"].to_numpy()
    remaining = dict(
        zip(np.flatnonzero(eligible).tolist(), recv["cap_dong"].to_numpy()[eligible].tolist(), strict=True)
    )
    members: dict[str, list[list[int]]] = {}
    for pos in remaining:  # positions ascend: canonical order inside each tier
        members.setdefault(pools[pos], [[] for _ in range(n_tiers)])[tier[pos]].append(pos)
    left = dict(available)
    grants: list[tuple[int, str, int]] = []

    def serve(funding: str, target: str) -> None:
        money = left.get(funding, 0)
        for group in members.get(target, []):
            if money <= 0:
                break
            group = [pos for pos in group if remaining[pos] > 0]
            if not group:
                continue
            caps = [remaining[pos] for pos in group]
            shares = split(money, caps, unit, policy.method)
            for pos, share in zip(group, shares, strict=True):
                if share > 0:
                    grants.append((pos, funding, share))
                    remaining[pos] -= share
                    money -= share
            if sum(shares) < sum(caps):
                break  # lower tiers get nothing while this one has unmet need
        left[funding] = money

    for pool in sorted(left):
        serve(pool, pool)
    for src, dst in policy.allow_cross_pool:
        if left.get(src, 0) > 0:
            serve(src, dst)
    return grants
