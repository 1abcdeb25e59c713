"""The canonical plan table as a pandera model (declarative only; see validate.py)."""

from __future__ import annotations

import pandera.pandas as pa

from disbursement.model import OPTIONAL_MONEY, STATUSES

# Checks whose failure makes a line untrustworthy; every other failure is a warning.
BLOCKING_CHECKS = {"name_present", "plan_not_negative", "disbursed_not_negative"}


def _not_negative(name: str) -> pa.Check:
    return pa.Check(lambda s: s >= 0, name=name)


def plan_schema() -> pa.DataFrameSchema:
    # Custom checks, not pa.Check.ge: pandera reports built-in checks by their own name
    # ("greater_than_or_equal_to(0)"), and validate.py keys severity on these names.
    optional_money = {
        c: pa.Column("Int64", _not_negative(f"{c}_not_negative"), nullable=True, required=False)
        for c in OPTIONAL_MONEY
    }
    return pa.DataFrameSchema(
        {
            "project_name": pa.Column(
                "string", pa.Check(lambda s: s.str.strip().str.len() > 0, name="name_present"),
                nullable=False),
            "project_code": pa.Column("string", nullable=True),
            "capital_source": pa.Column("string", nullable=True),
            "status": pa.Column("string", pa.Check(lambda s: s.isin(STATUSES), name="status_known")),
            "plan_dong": pa.Column("int64", _not_negative("plan_not_negative")),
            "disbursed_dong": pa.Column("int64", _not_negative("disbursed_not_negative")),
            **optional_money,
            "file": pa.Column(str),
            "sheet": pa.Column(str),
            "row": pa.Column("int64", pa.Check.ge(1)),
        },
        checks=[
            pa.Check(
                lambda df: df["disbursed_dong"]
                <= df["plan_dong"] + df.get("carried_over_dong", 0).fillna(0)
                if "carried_over_dong" in df else df["disbursed_dong"] <= df["plan_dong"],
                name="disbursed_within_plan",
            ),
        ],
        strict=False,
        coerce=False,
    )
