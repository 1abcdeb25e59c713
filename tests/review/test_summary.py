"""`summarise` sums each capital source in one pass over group numbers: the same summary as
filtering the frame once per source, on any mix of sources, labels and figures."""

from __future__ import annotations

import json

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.config.rules import load_rules
from disbursement.money import format_pct
from disbursement.review.rounds import round_info, summarise

RULES = load_rules()
INFO = round_info(RULES, RULES.round(2), 2022)


def _per_source(evaluated: pd.DataFrame) -> dict:
    """The summary as it was made before: the frame filtered once per source."""

    def totals(frame: pd.DataFrame) -> dict:
        flagged = frame[frame["flagged"]]
        return {
            "lines": len(frame),
            "plan_dong": int(frame["plan_dong"].sum()),
            "disbursed_dong": int(frame["disbursed_dong"].sum()),
            "rate_pct": format_pct(int(frame["disbursed_dong"].sum()), int(frame["plan_dong"].sum())),
            "in_scope": int(frame["in_scope"].sum()),
            "not_applicable": int((frame["plan_dong"] <= 0).sum()),
            "flagged": len(flagged),
            "flagged_plan_dong": int(flagged["plan_dong"].sum()),
            "flagged_disbursed_dong": int(flagged["disbursed_dong"].sum()),
        }

    by_source = []
    keys = evaluated["capital_source"].fillna("UNKNOWN")
    for source in dict.fromkeys(keys):
        part = evaluated[keys == source]
        labels = part["capital_source_label"].dropna()
        entry = {"capital_source": source, "label": str(labels.iloc[0]) if len(labels) else source}
        entry.update(totals(part))
        by_source.append(entry)
    return {
        **totals(evaluated),
        "unknown_source_lines": int((keys == "UNKNOWN").sum()),
        "unknown_source_plan_dong": int(evaluated.loc[(keys == "UNKNOWN").to_numpy(), "plan_dong"].sum()),
        "by_capital_source": by_source,
    }


line = st.tuples(
    st.sampled_from([None, "NSDP_CAN_DOI", "XSKT", "UNKNOWN", "NSTW"]),
    st.sampled_from([None, "Vốn cân đối NSĐP", "Xổ số kiến thiết", "Khác"]),
    st.integers(-(10**15), 10**15),
    st.integers(-(10**15), 10**15),
    st.booleans(),
    st.booleans(),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(line, max_size=40))
def test_summary_in_one_pass_is_the_summary_per_source(lines):
    evaluated = pd.DataFrame(
        {
            "capital_source": pd.array([x[0] for x in lines], dtype="string"),
            "capital_source_label": pd.array([x[1] for x in lines], dtype="string"),
            "plan_dong": pd.Series([x[2] for x in lines], dtype="int64"),
            "disbursed_dong": pd.Series([x[3] for x in lines], dtype="int64"),
            "flagged": pd.Series([x[4] for x in lines], dtype=bool),
            "in_scope": pd.Series([x[5] for x in lines], dtype=bool),
        }
    )
    summary = summarise(evaluated, INFO)
    expected = _per_source(evaluated)
    # the same keys in the same order, and values of the same types (JSON text: 1 is not True)
    assert json.dumps({k: summary[k] for k in expected}) == json.dumps(expected)
    assert list(summary)[:5] == ["round", "rule_id", "year", "as_of", "threshold_pct"]
