"""The numpy fast path of validation (`validate.plainly_valid`) says "valid" only when the
pandera schema would pass too: on the sample's table as read, and on that table with one
value broken for each check (then pandera runs and reports, as before)."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pandera.errors
import pytest

from disbursement.config.rules import load_rules
from disbursement.ingest.load import load_plan
from disbursement.ingest.schema import plan_schema
from disbursement.ingest.validate import plainly_valid, validate

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "son_la_2022_den_30-06.xlsx"


@pytest.fixture(scope="module")
def table() -> pd.DataFrame:
    return load_plan([SAMPLE], year=2022, rules=load_rules()).plan.reset_index(drop=True)


def _pandera_passes(frame: pd.DataFrame) -> bool:
    try:
        plan_schema().validate(frame, lazy=True)
    except pandera.errors.SchemaErrors:
        return False
    return True


def test_the_sample_as_read_is_plainly_valid_and_pandera_agrees(table):
    assert plainly_valid(table) and _pandera_passes(table)


BREAKS = {
    "blank name": lambda f: f.assign(project_name=f["project_name"].mask(f.index == 3, "  ")),
    "unknown status": lambda f: f.assign(status=f["status"].mask(f.index == 3, "paused")),
    "negative plan": lambda f: f.assign(plan_dong=f["plan_dong"].mask(f.index == 3, -1)),
    "negative disbursed": lambda f: f.assign(disbursed_dong=f["disbursed_dong"].mask(f.index == 3, -5)),
    "disbursed above plan": lambda f: f.assign(
        disbursed_dong=f["disbursed_dong"].mask(f.index == 3, f["plan_dong"] + 1)
    ),
    "negative expected": lambda f: f.assign(
        expected_dong=pd.array([-1 if i == 3 else None for i in range(len(f))], dtype="Int64")
    ),
    "row 0": lambda f: f.assign(row=f["row"].mask(f.index == 3, 0)),
    "plan as float": lambda f: f.assign(plan_dong=f["plan_dong"].astype("float64")),
    "file missing": lambda f: f.drop(columns="file"),
}


@pytest.mark.parametrize("name", BREAKS)
def test_a_broken_table_is_left_to_pandera(table, name):
    broken = BREAKS[name](table)
    assert not plainly_valid(broken), name
    assert not _pandera_passes(broken), name


def test_validate_reports_the_same_with_and_without_the_fast_path(table, monkeypatch):
    broken = BREAKS["disbursed above plan"](table)
    fast: list = []
    validate(broken, fast)
    import disbursement.ingest.validate as module

    monkeypatch.setattr(module, "plainly_valid", lambda frame: False)  # pandera every time
    slow: list = []
    validate(broken, slow)
    assert [x.to_dict() for x in fast] == [x.to_dict() for x in slow]
    assert any(x.code == "CHECK-DISBURSED-WITHIN-PLAN" for x in fast)
    clean_fast: list = []
    kept = validate(table, clean_fast)
    clean_slow: list = []
    assert kept.equals(module.validate(table, clean_slow))
    assert [x.to_dict() for x in clean_fast] == [x.to_dict() for x in clean_slow]
