"""The canonical plan table as a pandera model (declarative only; see validate.py)."""

from __future__ import annotations

import pandera.pandas as pa

from disbursement.model import OPTIONAL_MONEY, PLAN_TABLE, STATUSES

# Checks whose failure makes a line untrustworthy; every other failure is a warning.
BLOCKING_CHECKS = {"name_present", "plan_not_negative", "disbursed_not_negative"}


def _not_negative(name: str) -> pa.Check:
    return pa.Check(lambda s: s >= 0, name=name)


def plan_schema() -> pa.DataFrameSchema:
    """The schema of the validated columns of `model.PLAN_TABLE`, with their checks.

    Custom checks, not pa.Check.ge: pandera reports built-in checks by their own name
    ("greater_than_or_equal_to(0)"), and validate.py keys severity on these names.
    """
    checks: dict[str, list[pa.Check]] = {
        "project_name": [pa.Check(lambda s: s.str.strip().str.len() > 0, name="name_present")],
        "status": [pa.Check(lambda s: s.isin(STATUSES), name="status_known")],
        "plan_dong": [_not_negative("plan_not_negative")],
        "disbursed_dong": [_not_negative("disbursed_not_negative")],
        "row": [pa.Check.ge(1)],
        **{c: [_not_negative(f"{c}_not_negative")] for c in OPTIONAL_MONEY},
    }
    columns = {
        spec.name: pa.Column(
            str if spec.dtype == "str" else spec.dtype,
            checks.get(spec.name, []),
            nullable=spec.nullable,
            required=spec.dtype != "Int64",
        )
        for spec in PLAN_TABLE
        if spec.validated
    }
    return pa.DataFrameSchema(
        columns,
        checks=[
            pa.Check(
                lambda df: (
                    df["disbursed_dong"] <= df["plan_dong"] + df.get("carried_over_dong", 0).fillna(0)
                    if "carried_over_dong" in df
                    else df["disbursed_dong"] <= df["plan_dong"]
                ),
                name="disbursed_within_plan",
            ),
        ],
        strict=False,
        coerce=False,
    )
