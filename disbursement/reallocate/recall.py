"""How much each flagged line gives back (điều chỉnh giảm), by the round's recall policy, and
the what-if table of other thresholds built on it (`disbursement whatif`)."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from disbursement.config.policies import RecallPolicy
from disbursement.reallocate.allocation import opt_money

_REASON = {
    "expected": "UNABLE_TO_DISBURSE",
    "undisbursed": "SLOW_DISBURSEMENT",
    "forecast": "FORECAST_SHORTFALL",
}


def _pace_forecast(
    plan: np.ndarray, disbursed: np.ndarray, policy: RecallPolicy, as_of: dt.date | None, year: int
) -> np.ndarray:
    if as_of is None:
        raise ValueError("the pace_forecast recall policy needs the as-of date")
    start = dt.date(year, 1, 1)
    total = (policy.deadline.in_year(year) - start).days + 1
    elapsed = min(max((as_of - start).days + 1, 1), total)
    num, den = total * policy.acceleration_pct, elapsed * 100
    q, r = np.divmod(np.maximum(disbursed, 0), den)  # exact: q·num + ⌊r·num/den⌋, no overflow
    forecast = q * num + (r * num) // den
    return np.minimum(np.maximum(forecast, disbursed), plan)


def recall_amounts(
    flags: pd.DataFrame, policy: RecallPolicy, as_of: dt.date | None = None, year: int | None = None
) -> pd.DataFrame:
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
    basis = np.full(n, policy.policy if policy.policy != "unable_portion" else "expected", dtype=object)
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
        {
            "basis": basis,
            "reason": reason,
            "keep_dong": keep,
            "recall_raw_dong": raw,
            "amount_dong": amount,
            "plan_after_dong": plan - amount,
            "dropped": pd.array(dropped, dtype="string"),
        },
        index=flags.index,
    )


def whatif(
    plan_with_scope: pd.DataFrame,
    thresholds: list[int],
    recall_policy: RecallPolicy,
    *,
    as_of: dt.date | None = None,
    year: int | None = None,
) -> list[dict]:
    """Per threshold and capital source: lines flagged (disbursed·100 < t·plan over in-scope
    lines) and the money `recall_policy` would recall from them. Sorted by threshold, source."""
    df = plan_with_scope
    scope = (
        df["in_scope"].to_numpy(dtype=bool, na_value=False)
        if "in_scope" in df
        else (np.ones(len(df), dtype=bool))
    )
    df = df[scope]
    amounts = recall_amounts(df, recall_policy, as_of, year)["amount_dong"].to_numpy()
    plan = df["plan_dong"].to_numpy(dtype=np.int64)
    disbursed = df["disbursed_dong"].to_numpy(dtype=np.int64)
    source = df["capital_source"].astype("string").fillna("").to_numpy(dtype=object)
    label = (
        df["capital_source_label"].astype("string").fillna("").to_numpy(dtype=object)
        if "capital_source_label" in df
        else source
    )
    sources = sorted(set(source))
    out = []
    for t in sorted(set(int(x) for x in thresholds)):
        hit = disbursed * 100 < t * plan
        for cs in sources:
            in_cs = source == cs
            sel = hit & in_cs
            out.append(
                {
                    "threshold_pct": t,
                    "capital_source": cs,
                    "capital_source_label": str(label[np.argmax(in_cs)]),
                    "lines_in_scope": int(in_cs.sum()),
                    "lines_flagged": int(sel.sum()),
                    "plan_dong": int(plan[sel].sum()),
                    "disbursed_dong": int(disbursed[sel].sum()),
                    "recallable_dong": int(amounts[sel].sum()),
                }
            )
    return out
