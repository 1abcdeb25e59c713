"""The bundled sample workbooks give a balanced, explained proposal for every round."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest

from disbursement.pipeline import run_round
from disbursement.render import reason_text

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
CASES = [
    (1, "son_la_2022_den_30-06.xlsx", None),
    (2, "son_la_2022_den_30-09.xlsx", None),
    (3, "son_la_2022_den_30-09.xlsx", dt.date(2022, 9, 30)),
]


@pytest.mark.parametrize(("number", "name", "as_of"), CASES)
def test_sample_round_is_balanced_and_explained(number, name, as_of):
    result = run_round([SAMPLES / name], number, as_of=as_of)
    assert result.summary["lines"] == 150
    assert not [i for i in result.issues if i.severity == "error"]
    assert not [i for i in result.issues if i.code == "ASOF-MISMATCH"]
    proposal = result.proposal
    assert proposal.decreases, "every seed round recalls something from the sample"
    flagged = {(f.project_code, f.capital_source) for f in result.flags.itertuples()}
    for pool in proposal.pools:
        decreases = [x for x in proposal.decreases if x.pool == pool.pool]
        increases = [x for x in proposal.increases if x.pool == pool.pool]
        assert pool.recalled_dong == sum(x.amount_dong for x in decreases)
        assert pool.allocated_dong == sum(x.amount_dong for x in increases)
        assert pool.recalled_dong == pool.allocated_dong + pool.unallocated_dong
        assert pool.unallocated_dong >= 0
    for x in proposal.decreases:
        assert (x.project_code, x.capital_source) in flagged
        assert x.disbursed_dong <= x.plan_after_dong == x.plan_dong - x.amount_dong
        assert x.amount_dong % 1_000_000 == 0  # whole triệu, rounded down
        assert reason_text(x.reason)
    for x in proposal.increases:
        assert (x.project_code, x.capital_source) not in flagged
        assert x.plan_after_dong == x.plan_dong + x.amount_dong and reason_text(x.reason)
