"""One review round over trusted plan lines → flags, each carrying its reason.

Pure and vectorised: the criterion is decided in integers (`disbursed*100 < pct*plan`),
never by float rounding. A line with plan 0 is never flagged (not applicable).
"""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.config.rules import Round, Rules
from disbursement.errors import Issue, cell_column
from disbursement.model import RoundInfo
from disbursement.money import format_pct, format_rates

REASON_BY_CRITERION = {"rate_below": "RATE_BELOW_THRESHOLD", "expected_below_plan": "UNABLE_TO_DISBURSE"}

# "No value" for np.where over text columns (an object None, which type checkers accept).
MISSING = np.array(None, dtype=object)


def round_info(rules: Rules, rnd: Round, year: int, as_of: dt.date | None = None) -> RoundInfo:
    return RoundInfo(
        rule_id=rnd.id,
        number=rnd.number,
        name=rnd.name,
        year=year,
        as_of=as_of or rnd.as_of.in_year(year),
        description=rnd.description,
        legal_basis=rules.legal_basis,
        threshold_pct=rnd.criterion.threshold_pct,
        scope=rnd.scope_text(),
        name_en=rnd.name_en,
        description_en=rnd.description_en,
        legal_basis_en=rules.legal_basis_en,
        source_labels_en=tuple((x.id, x.label_en) for x in rules.capital_sources if x.label_en),
        source_labels=tuple((x.id, x.label) for x in rules.capital_sources),
    )


def pace_forecast(disbursed: np.ndarray, plan: np.ndarray, as_of: dt.date, year: int) -> np.ndarray:
    """Expected disbursement by 31/01 of next year if the pace so far continues (integer đồng).

    forecast = disbursed × days(01/01 → 31/01 next year) ÷ days(01/01 → as-of), capped at plan.
    """
    start = dt.date(year, 1, 1)
    elapsed = max((as_of - start).days + 1, 1)
    horizon = (dt.date(year + 1, 1, 31) - start).days + 1
    forecast = (disbursed.astype(object) * horizon // elapsed).astype(np.int64)
    return np.minimum(forecast, plan)


def evaluate(plan: pd.DataFrame, rnd: Round, info: RoundInfo, issues: list[Issue]) -> pd.DataFrame:
    """Add `in_scope`, `applicable`, `flagged`, `rule_id`, `forecast`, `rate_pct` columns."""
    out = plan.copy()
    scope = np.ones(len(out), dtype=bool)
    if rnd.scope_statuses:
        scope &= out["status"].isin(rnd.scope_statuses).to_numpy(dtype=bool)
    if rnd.scope_sources:
        scope &= out["capital_source"].isin(rnd.scope_sources).to_numpy(dtype=bool)
    plan_dong = out["plan_dong"].to_numpy(dtype=np.int64)
    disbursed = out["disbursed_dong"].to_numpy(dtype=np.int64)
    applicable = plan_dong > 0
    in_scope = scope & applicable
    crit = rnd.criterion
    forecast = np.zeros(len(out), dtype=bool)
    if crit.type == "rate_below":
        denominator = plan_dong.copy()
        if crit.denominator == "plan_with_carried_over" and "carried_over_dong" in out:
            denominator += out["carried_over_dong"].fillna(0).to_numpy(dtype=np.int64)
        # Exact integers: amounts ≤ 10^15 đồng keep ×100 far inside int64.
        flagged = in_scope & (disbursed * 100 < crit.threshold_pct * denominator)
    else:
        expected = out.get("expected_dong")
        has_expected = expected is not None and bool(expected.notna().any())
        # The investor's proposed decrease ("Số vốn đề nghị điều chỉnh giảm") is evidence of
        # inability on its own: a line giving capital back is flagged even without an expected
        # figure (docs/rules.md, SL79-R3).
        decrease = out.get("decrease_dong")
        gives_back = (
            np.zeros(len(out), dtype=bool)
            if decrease is None
            else (decrease.fillna(0).to_numpy(dtype=np.int64) > 0)
        )
        if has_expected:
            known = expected.notna().to_numpy(dtype=bool)
            values = expected.fillna(0).to_numpy(dtype=np.int64)
            flagged = in_scope & ((known & (values < plan_dong)) | gives_back)
            for i in np.flatnonzero(in_scope & ~known & ~gives_back):
                cell = (out["cells"].iloc[i] or {}).get("expected_dong", "") if "cells" in out else ""
                issues.append(
                    issue(
                        "EXPECTED-MISSING",
                        str(out["file"].iloc[i]),
                        str(out["sheet"].iloc[i]),
                        int(out["row"].iloc[i]),
                        cell_column(cell) or None,
                        f"no expected disbursement figure (blank cell) and no proposed decrease: the "
                        f"line was not evaluated by {rnd.id}",
                    )
                )
        elif decrease is not None and gives_back.any():
            flagged = in_scope & gives_back
        elif crit.forecast:
            values = pace_forecast(disbursed, plan_dong, info.as_of, info.year)
            out["expected_dong"] = pd.array(values, dtype="Int64")
            flagged = in_scope & (values < plan_dong)
            forecast = flagged.copy()
        else:
            flagged = np.zeros(len(out), dtype=bool)
            issues.append(
                issue(
                    "EXPECTED-COLUMN-MISSING",
                    "",
                    None,
                    None,
                    None,
                    f"{rnd.id} needs the investors' expected disbursement for the year (a column such "
                    "as 'Dự kiến giải ngân đến 31/01' or 'Khả năng giải ngân cả năm'); none was found, "
                    "so nothing was flagged. Add the column, or enable `forecast: true` in the rules.",
                )
            )
    out["in_scope"] = in_scope
    out["applicable"] = applicable
    out["flagged"] = flagged
    out["forecast"] = forecast
    out["rule_id"] = pd.array(np.where(flagged, rnd.id, MISSING), dtype="string")
    reason = np.where(forecast, "FORECAST_SHORTFALL", REASON_BY_CRITERION[crit.type])
    out["reason"] = pd.array(np.where(flagged, reason, MISSING), dtype="string")
    out["rate_pct"] = format_rates(disbursed, plan_dong)  # truncated (money.rate_scaled)
    return out


def summarise(evaluated: pd.DataFrame, info: RoundInfo) -> dict:
    """JSON-ready summary: totals, then one entry per capital source in order of appearance.

    One pass: each source's sums are integer sums over the lines' group numbers (`np.add.at`
    in int64, as the frame's own sums), never a copy of the frame per source."""
    keys = evaluated["capital_source"].fillna("UNKNOWN")
    group, sources = pd.factorize(keys)  # numbered in order of appearance
    count = len(sources)
    plan = evaluated["plan_dong"].to_numpy(dtype=np.int64)
    disbursed = evaluated["disbursed_dong"].to_numpy(dtype=np.int64)
    flagged = evaluated["flagged"].to_numpy(dtype=bool)
    in_scope = evaluated["in_scope"].to_numpy(dtype=bool)
    figures = {
        "plan": plan,
        "disbursed": disbursed,
        "flagged_plan": np.where(flagged, plan, 0),
        "flagged_disbursed": np.where(flagged, disbursed, 0),
    }
    sums = {}
    for name, values in figures.items():
        sums[name] = np.zeros(count, dtype=np.int64)
        np.add.at(sums[name], group, values)
    tallies = {
        "lines": np.bincount(group, minlength=count),
        "in_scope": np.bincount(group[in_scope], minlength=count),
        "not_applicable": np.bincount(group[plan <= 0], minlength=count),
        "flagged": np.bincount(group[flagged], minlength=count),
    }
    labels = evaluated["capital_source_label"].notna().to_numpy(dtype=bool)
    labelled = np.flatnonzero(labels)
    seen, first = np.unique(group[labelled], return_index=True)
    label_at = dict(zip(seen.tolist(), labelled[first].tolist(), strict=True))
    label_column = evaluated["capital_source_label"]

    def totals(at) -> dict:
        planned, paid = int(sums["plan"][at].sum()), int(sums["disbursed"][at].sum())
        return {
            "lines": int(tallies["lines"][at].sum()),
            "plan_dong": planned,
            "disbursed_dong": paid,
            "rate_pct": format_pct(paid, planned),
            "in_scope": int(tallies["in_scope"][at].sum()),
            "not_applicable": int(tallies["not_applicable"][at].sum()),
            "flagged": int(tallies["flagged"][at].sum()),
            "flagged_plan_dong": int(sums["flagged_plan"][at].sum()),
            "flagged_disbursed_dong": int(sums["flagged_disbursed"][at].sum()),
        }

    names = sources.tolist()
    by_source = []
    for k, source in enumerate(names):
        where = label_at.get(k)  # the source's first line with a label
        label = source if where is None else str(label_column.iat[where])
        by_source.append({"capital_source": source, "label": label, **totals([k])})
    unknown = names.index("UNKNOWN") if "UNKNOWN" in names else None
    return {
        "round": info.number,
        "rule_id": info.rule_id,
        "year": info.year,
        "as_of": info.as_of.isoformat(),
        "threshold_pct": info.threshold_pct,
        **totals(slice(None)),
        # Lines no source of the rules names: reviewed, kept out of reallocation.
        "unknown_source_lines": int(tallies["lines"][unknown]) if unknown is not None else 0,
        "unknown_source_plan_dong": int(sums["plan"][unknown]) if unknown is not None else 0,
        "by_capital_source": by_source,
    }
