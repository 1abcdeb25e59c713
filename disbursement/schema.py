"""The canonical plan table as a pandera model (declarative only; see validate.py)."""

from __future__ import annotations

import pandera.pandas as pa

from disbursement.model import OPTIONAL_MONEY, STATUSES

# Checks whose failure makes a line untrustworthy; every other failure is a warning.
BLOCKING_CHECKS = {"name_present", "plan_not_negative", "disbursed_not_negative"}


def plan_schema() -> pa.DataFrameSchema:
    optional_money = {
        c: pa.Column("Int64", pa.Check.ge(0, name=f"{c}_not_negative"), nullable=True,
                     required=False)
        for c in OPTIONAL_MONEY
    }
    return pa.DataFrameSchema(
        {
            "project_name": pa.Column("string", pa.Check.str_length(min_value=1, name="name_present"),
                                      nullable=False),
            "project_code": pa.Column("string", nullable=True),
            "capital_source": pa.Column("string", nullable=True),
            "status": pa.Column("string", pa.Check.isin(STATUSES, name="status_known")),
            "plan_dong": pa.Column("int64", pa.Check.ge(0, name="plan_not_negative")),
            "disbursed_dong": pa.Column("int64", pa.Check.ge(0, name="disbursed_not_negative")),
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
