"""A line's source cells are its sheet's letter map plus its row (source_cells.py): equal to the
dict they stand for, one shared map per sheet, and plain dicts in every record printed."""

from __future__ import annotations

import copy
import dataclasses
import json
import pickle

import orjson
from hypothesis import given
from hypothesis import strategies as st

from disbursement.ingest.load import load_plan
from disbursement.pipeline import load_rules
from disbursement.render.records import _encode, encode_list, flag_records, proposal_json
from disbursement.session import ReviewOptions, review
from disbursement.source_cells import SheetLetters, SourceCells, cell_of, line_cells, plain_cells
from tests.conftest import line

letters = st.dictionaries(
    st.sampled_from(["plan_dong", "disbursed_dong", "project_code", "project_name", "stt", "note"]),
    st.from_regex(r"[A-Z]{1,3}", fullmatch=True),
)


@given(letters, st.integers(min_value=1, max_value=1_048_576))
def test_source_cells_are_the_dict_of_their_letters_on_their_row(columns, row):
    cells = line_cells(columns, [row])[0]
    expected = {column: f"{letter}{row}" for column, letter in columns.items()}
    assert cells == expected and expected == cells
    assert list(cells) == list(expected) and len(cells) == len(expected)
    assert plain_cells(cells) == expected and type(plain_cells(cells)) is dict
    assert pickle.loads(pickle.dumps(cells)) == expected and type(copy.deepcopy(cells)) is dict
    assert json.dumps(plain_cells(cells)) == json.dumps(expected)  # the same text, key order kept
    for column in columns:
        assert cell_of(cells, column) == expected[column]
    assert cell_of(cells, "investor") == "" and cell_of(None, "plan_dong") == ""
    # written without the dict: orjson's text of it, and the stdlib's where orjson refuses
    record = {"cells": cells, "n": 1}
    assert _encode(record) == orjson.dumps({"cells": expected, "n": 1})
    odd = {"cells": cells, "n": 2**70}
    assert json.loads(_encode(odd)) == {"cells": expected, "n": 2**70}


def test_plain_cells_keeps_a_changed_dict_and_gives_nothing_for_no_cells():
    changed = {"disbursed_dong": "kbnn.xlsx:KBNN!F8"}
    assert plain_cells(changed) is changed
    assert plain_cells(None) == {} and plain_cells(float("nan")) == {}


def test_a_plan_holds_one_letter_map_per_sheet_and_every_record_a_plain_dict(make_workbook):
    slow = [line(f"70{i:05d}", f"Dự án {i}", plan="1.000", disbursed="100") for i in range(30)]
    able = [
        line(f"71{i:05d}", f"Dự án cần thêm {i}", plan="1.000", disbursed="900", extra_need_dong="200")
        for i in range(10)
    ]
    lines = slow + able
    path = make_workbook(lines)
    loaded = load_plan([path], year=2022, rules=load_rules(None))
    cells = loaded.plan["cells"]
    assert cells.to_numpy().shape == (len(lines),)  # one object per line, never spread into columns
    assert all(type(c) is SourceCells for c in cells)
    assert len({id(c.sheet) for c in cells}) == 1  # the sheet's letters, shared
    for c, row in zip(cells, loaded.plan["row"], strict=True):
        assert c["plan_dong"].endswith(str(row)) and c["plan_dong"].rstrip("0123456789")

    outcome = review([path], ReviewOptions(round=1, year=2022), record=False)
    records = flag_records(outcome.result)
    assert records and all(type(r["source"]["cells"]) is dict for r in records)
    assert json.loads(json.dumps(records)) == records  # any encoder writes them
    assert outcome.result.proposal is not None
    data = proposal_json(outcome.result.proposal)
    sources = [x["source"] for x in data["decreases"] + data["increases"]]
    assert sources and all(type(s["cells"]) is dict for s in sources)
    assert json.loads(json.dumps(sources)) == sources


def test_flag_records_expand_each_lines_cells_only_as_the_record_is_made(make_workbook, monkeypatch):
    """`encode_list(iter_flag_records(...))` never holds a national run's records (and their
    56,000 cells dicts) together: a record's cells are expanded when that record is made."""
    from disbursement.render import records as module

    path = make_workbook([line(f"70{i:05d}", f"Dự án {i}", disbursed="10") for i in range(30)])
    result = review([path], ReviewOptions(round=1, year=2022), record=False).result
    expanded = []
    monkeypatch.setattr(module, "plain_cells", lambda cells: expanded.append(cells) or dict(cells))
    made = module.iter_flag_records(result)
    first = next(made)
    assert len(expanded) == 1 and first["source"]["cells"] == dict(expanded[0])
    assert len(list(made)) == len(result.flags) - 1 == 29 and len(expanded) == 30
    # encoded for `--json` and the audit store, no record's cells are made into a dict
    plain = encode_list(flag_records(result)).packed
    monkeypatch.undo()
    dicts = []
    real = SheetLetters.cells_at
    monkeypatch.setattr(SheetLetters, "cells_at", lambda self, row: dicts.append(row) or real(self, row))
    lean = encode_list(module.iter_flag_records(result, plain=False))
    assert not dicts and lean.plain and lean.packed == plain
    assert encode_list(flag_records(result)).packed == plain and len(dicts) == 30  # the check bites
    # a line without source cells (none, or lost in a join) is written as no cells, as before
    bare = dataclasses.replace(result, flags=result.flags.assign(cells=None))
    assert encode_list(module.iter_flag_records(bare, plain=False)).packed == (
        encode_list(flag_records(bare)).packed
    )
    assert flag_records(bare)[0]["source"]["cells"] == {}
