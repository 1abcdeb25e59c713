"""The flag records' JSON made a column at a time (render/flag_json.py) is, byte for byte, the
records made one by one and encoded (`encode_list(iter_flag_records(...))`), on any mix of
texts, figures, missing values and source cells — and falls back to them where orjson
refuses a value."""

from __future__ import annotations

import datetime as dt
import zlib

import pandas as pd
from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.model import RoundInfo, RunResult
from disbursement.render.flag_json import encode_flags
from disbursement.render.records import encode_list, iter_flag_records
from disbursement.source_cells import line_cells

LETTERS = line_cells({"plan_dong": "L", "disbursed_dong": "M", "project_code": "C"}, list(range(1, 200)))
text = st.one_of(
    st.none(), st.text(max_size=12), st.sampled_from(['a "quoted" \\ name', "Dự án đường", "\n\t"])
)
FIELDS = {
    "project_code": text,
    "project_name": text,
    "capital_source": st.sampled_from([None, "NSDP_CAN_DOI", "XSKT"]),
    "capital_source_label": text,
    "rule_id": st.sampled_from(["SL79-R1", "SL79-R2"]),
    "reason": st.sampled_from(["RATE_BELOW_THRESHOLD", "UNABLE_TO_DISBURSE"]),
    "plan_dong": st.integers(-(2**62), 2**62),
    "disbursed_dong": st.integers(0, 10**15),
    "expected_dong": st.one_of(st.none(), st.integers(0, 10**15)),
    "rate_pct": st.sampled_from(["0,00", "49,99", "", "100,00"]),
    "status": st.sampled_from([None, "chuyen_tiep", "khoi_cong_moi"]),
    "investor": text,
    "forecast": st.booleans(),
    "file": st.sampled_from(["a.xlsx", "b/c.xlsx"]),
    "sheet": st.sampled_from(["Biểu 1", "KH 2022"]),
    "row": st.integers(1, 199),
    "cells": st.one_of(
        st.none(),
        st.integers(0, 198).map(LETTERS.__getitem__),  # SourceCells
        st.just({"disbursed_dong": "K7 (KBNN)"}),  # a dict: a Treasury export's cell
    ),
    "lifecycle": st.sampled_from([None, "new", "continuing"]),
    "evidence": st.one_of(st.none(), st.just({"file": "reply.xlsx", "cell": "E9"})),
}
line = st.fixed_dictionaries(FIELDS)


def _result(lines: list[dict], optional: tuple[str, ...]) -> RunResult:
    columns = {key: [x[key] for x in lines] for key in FIELDS}
    frame = pd.DataFrame(
        {
            **{k: pd.array(v, dtype="string") for k, v in columns.items() if k in _TEXT},
            "plan_dong": pd.Series(columns["plan_dong"], dtype="int64"),
            "disbursed_dong": pd.Series(columns["disbursed_dong"], dtype="int64"),
            "expected_dong": pd.array(columns["expected_dong"], dtype="Int64"),
            "rate_pct": pd.Series(columns["rate_pct"], dtype=object),
            "forecast": pd.Series(columns["forecast"], dtype=bool),
            "file": pd.Series(columns["file"], dtype=object),
            "sheet": pd.Series(columns["sheet"], dtype=object),
            "row": pd.Series(columns["row"], dtype="int64"),
            "cells": pd.Series(columns["cells"], dtype=object),
            **{k: pd.Series(columns[k], dtype=object) for k in optional},
        }
    )
    info = RoundInfo("SL79-R2", 2, "Đợt 2", 2022, dt.date(2022, 9, 30), "", "", threshold_pct=60)
    return RunResult(info, frame, frame, [], {})


_TEXT = ("project_code", "project_name", "capital_source", "capital_source_label", "rule_id", "reason")
_TEXT += ("status", "investor")


def _same(result: RunResult) -> None:
    made, expected = encode_flags(result), encode_list(iter_flag_records(result, plain=False))
    assert zlib.decompress(made.packed) == zlib.decompress(expected.packed)
    assert made.packed == expected.packed and made.plain == expected.plain


@settings(max_examples=150, deadline=None)
@given(
    st.lists(line, max_size=30),
    st.sampled_from([(), ("lifecycle",), ("evidence",), ("lifecycle", "evidence")]),
)
def test_flags_made_by_column_are_the_records_encoded(lines, optional):
    _same(_result(lines, optional))


def _line(i: int) -> dict:
    return {
        **{key: None for key in FIELDS},
        "project_code": f"DA{i:05d}",
        "project_name": f"Đường liên xã số {i}",
        "capital_source": "XSKT",
        "rule_id": "SL79-R2",
        "reason": "RATE_BELOW_THRESHOLD",
        "plan_dong": 10**9 + i,
        "disbursed_dong": i,
        "rate_pct": "0,00",
        "forecast": i % 2 == 0,
        "file": "a.xlsx",
        "sheet": "Biểu 1",
        "row": 1 + i % 199,
        "cells": LETTERS[i % 199],
        "lifecycle": "new",
    }


def test_more_flags_than_one_chunk_and_a_value_only_the_stdlib_writes():
    many = [_line(i) for i in range(2_700)]  # three chunks of records
    _same(_result(many, ("lifecycle",)))
    many[1500]["project_name"] = "lone \ud800 surrogate"
    result = _result(many, ())
    assert not encode_flags(result).plain  # made the usual way: the stdlib wrote that one
    _same(result)
