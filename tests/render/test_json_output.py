"""`review --json` is written by orjson, one element per line: the same JSON value the stdlib
encoder gives for the same payload, on the sample workbooks and on awkward values."""

from __future__ import annotations

import io
import json
import zlib
from pathlib import Path

import pytest

from disbursement.pipeline import run_round
from disbursement.render.records import encode_list, result_json, write_json

ROOT = Path(__file__).resolve().parents[2]


def _written(payload: dict) -> bytes:
    stream = io.BytesIO()
    write_json(payload, stream)
    return stream.getvalue()


@pytest.mark.parametrize(
    "workbook, number", [("son_la_2022_den_30-06.xlsx", 1), ("son_la_2022_den_30-09.xlsx", 2)]
)
def test_the_json_value_is_the_stdlib_encoders(workbook, number):
    result = run_round([str(ROOT / "sample_data" / workbook)], number)
    payload = result_json(result)
    assert payload["flags"] and payload["issues"] + payload["notes"]
    text = _written(payload)
    assert json.loads(text) == json.loads(json.dumps(payload, ensure_ascii=False))
    lines = text.decode("utf-8").splitlines()
    assert lines[0] == "{" and lines[1] == '"flags": [' and lines[-1] == "}"
    assert len(lines) > len(payload["flags"])  # one element per line, not one long line
    assert "Tỷ lệ giải ngân" in text.decode("utf-8")  # UTF-8 as it is, not \\u escapes


def test_flags_encoded_once_are_written_byte_for_byte_as_the_records():
    """The audited CLI encodes the flag records once (for the store and for `--json`)."""
    result = run_round([str(ROOT / "sample_data" / "son_la_2022_den_30-06.xlsx")], 1)
    payload = result_json(result)
    encoded = {**payload, "flags": encode_list(payload["flags"])}
    assert encoded["flags"].plain and _written(encoded) == _written(payload)
    awkward = [{"n": 2**70}, {"text": "\udcff"}, {"ok": 1}]
    odd = encode_list(awkward)
    assert not odd.plain and json.loads(_written({"flags": odd})) == {"flags": awkward}
    empty = {**payload, "flags": []}
    assert _written({**empty, "flags": encode_list([])}) == _written(empty)
    many = [{"i": i} for i in range(2500)]  # more than one chunk
    assert json.loads(b"".join(encode_list(many).chunks)) == many
    assert _written({"flags": encode_list(many)}) == _written({"flags": many})


def test_an_encoded_list_is_kept_packed_and_unpacked_piece_by_piece(monkeypatch):
    """The audit store keeps `packed` as the flags block: one zlib stream of the list's text."""
    from disbursement.render import records

    many = [{"i": i, "name": f"Dự án {i}"} for i in range(5000)]
    encoded = encode_list(iter(many))  # a generator's elements are not kept
    text = _written({"flags": many})
    assert zlib.decompress(encoded.packed) == b"".join(encoded.chunks)
    assert len(encoded.packed) < len(b"".join(encoded.chunks)) // 5
    monkeypatch.setattr(records, "_PIECE", 7)  # many pieces, each unpacked as it is written
    assert len(list(encoded.chunks)) > 100 and _written({"flags": encoded}) == text


def test_lazy_issues_and_notes_are_written_as_the_lists():
    """The CLI's payload makes each issue and note record as it is written."""
    result = run_round([str(ROOT / "sample_data" / "son_la_2022_den_30-09.xlsx")], 2)
    listed, lazy = result_json(result), result_json(result, lazy=True)
    assert listed["notes"]
    assert not isinstance(lazy["notes"], list) and not isinstance(lazy["issues"], list)
    assert _written(lazy) == _written(listed)
    assert _written({"none": iter(())}) == _written({"none": []})


def test_awkward_values_keep_their_value():
    payload = {
        "flags": [],
        "issues": [
            {"a": None, "b": True, "n": -(2**63), "big": 2**70, "text": '\x00\u2028🚧"\\', "broken": "\udcff"}
        ],
        "summary": {"by_round": {1: 2, 3: [1.5, 1e16, 0.1]}, "empty": {}},
    }
    assert json.loads(_written(payload)) == json.loads(json.dumps(payload))
