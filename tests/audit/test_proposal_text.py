"""The record's proposal part made a column at a time (audit/proposal_text.py) is, byte for
byte, the canonical JSON of the records `review --json` prints — and where orjson refuses a
value, the record makes it from those records as before."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.audit import blocks, record
from disbursement.audit.proposal_text import REFUSED, proposal_text
from disbursement.model import Proposal, ProposalLine, SourceRef
from disbursement.pipeline import run_round
from disbursement.render.records import proposal_json
from disbursement.source_cells import line_cells

CELLS = line_cells({"plan_dong": "L", "amount": "Z", "disbursed_dong": "M", "code": "C"}, list(range(1, 60)))
text = st.one_of(st.text(max_size=10), st.sampled_from(['say "no" \\', "Dự án đường", "\n"]))
source = st.builds(
    SourceRef,
    st.sampled_from(["a.xlsx", "b/c.xlsx"]),
    st.sampled_from(["Biểu 1", "KH"]),
    st.integers(1, 59),
    st.one_of(st.just({}), st.integers(0, 58).map(CELLS.__getitem__), st.just({"z": "B2", "a": "K9"})),
)
proposal_line = st.builds(
    ProposalLine,
    kind=st.sampled_from(["decrease", "increase"]),
    project_code=st.one_of(st.none(), text),
    project_name=text,
    investor=st.none(),
    capital_source=st.sampled_from(["XSKT", "NSDP_CAN_DOI", ""]),
    capital_source_label=st.just(""),
    pool=st.sampled_from(["XSKT", "NSDP_CAN_DOI|tinh", 0.0, -0.0]),
    plan_dong=st.integers(0, 10**15),
    disbursed_dong=st.integers(0, 10**15),
    amount_dong=st.integers(0, 10**15),
    plan_after_dong=st.integers(-(10**15), 10**15),
    reason=st.sampled_from(["SLOW_DISBURSEMENT", "ADDITIONAL_NEED", "MANUAL_ADJUSTMENT"]),
    source=source,
    tier=st.one_of(st.none(), st.sampled_from(["t1_completed", "t2", 1, True])),
    override=st.one_of(st.none(), st.just({"reason": "duyệt", "approver": "GĐ", "file": "o.csv", "row": 3})),
)


def _records(proposal: Proposal) -> list[dict]:
    data = proposal_json(proposal)
    return [{"kind": k, **x} for k in ("decrease", "increase") for x in data[k + "s"]]


@settings(max_examples=200, deadline=None)
@given(st.lists(proposal_line, max_size=12), st.lists(proposal_line, max_size=12))
def test_the_part_made_by_column_is_the_records_canonical_json(decreases, increases):
    proposal = Proposal((), tuple(decreases), tuple(increases))
    assert proposal_text(proposal) == blocks._text(_records(proposal))


def test_a_value_orjson_refuses_is_refused_here_too():
    lone = ProposalLine(
        "decrease",
        "DA1",
        "lone \ud800",
        None,
        "XSKT",
        "",
        "XSKT",
        5,
        0,
        5,
        0,
        "SLOW_DISBURSEMENT",
        SourceRef("a.xlsx", "KH", 2, {}),
    )
    proposal = Proposal((), (lone,), ())
    with pytest.raises(REFUSED):
        proposal_text(proposal)
    assert blocks._text(_records(proposal)).startswith(blocks.STDLIB)  # what the record keeps


def test_the_record_keeps_the_same_part_either_way(tmp_path):
    """A recorded proposal's block: made by column, and from the records where it must be."""
    sample = Path(__file__).resolve().parents[2] / "sample_data" / "son_la_2022_den_30-09.xlsx"
    result = run_round([sample], 2)
    assert result.proposal is not None and result.proposal.decreases
    rows, block = record._run_rows(result, None)["blocks"]["proposal_lines"]
    assert (rows, block) == (len(_records(result.proposal)), blocks.encode(_records(result.proposal)))
    first = dataclasses.replace(result.proposal.decreases[0], project_name="lone \ud800")
    result.proposal = dataclasses.replace(result.proposal, decreases=(first, *result.proposal.decreases[1:]))
    rows, block = record._run_rows(result, None)["blocks"]["proposal_lines"]
    assert block == blocks.encode(_records(result.proposal))  # the stdlib's form, from the records
