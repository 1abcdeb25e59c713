"""Hash version 3: orjson's canonical JSON is the stdlib's byte for byte, the hash is made from
the rows in memory (exactly what verify reads back), lean rows give back every record, and a
store written before (hash version 1, checked in) still verifies and replays."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import shutil
import sqlite3
from pathlib import Path

import numpy as np
import pytest

from disbursement.audit import blocks, chain, queries, replay, schema
from disbursement.audit import rows as audit_rows
from disbursement.audit import rows as lean_rows
from disbursement.audit import store as audit_store
from disbursement.render.records import encode_list, flag_records, proposal_json
from disbursement.session import AuditTarget, ReviewOptions, review

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).parent / "fixtures" / "store-v1.sqlite"
# Written by the engine of hash version 3 (lean rows in the tables), June round 1, a decision,
# September round 2, each with every output; checked in as it was written.
FIXTURE_V3 = Path(__file__).parent / "fixtures" / "store-v3.sqlite"
JUNE = "sample_data/son_la_2022_den_30-06.xlsx"
SEPTEMBER = "sample_data/son_la_2022_den_30-09.xlsx"


@pytest.mark.parametrize(
    "value",
    [
        {"b": 1, "a": [None, True, False, -(2**63), 2**63 - 1, 0], "é": "Đường ĐT.105 – “cầu”"},
        {"control": '\x00\x01\x1f\x7f\t\n\r"\\/', "lines": "\u2028\u2029", "emoji": "🚧 \U0001f600"},
        {"nested": {"z": {"y": [[], {}, [1, [2, [3]]]]}, "A": "", "a": "x"}, "tuple": (1, "2")},
        {
            "date": dt.date(2022, 6, 30),
            "when": dt.datetime(2022, 6, 30, 7, 5, 1, 2000),
            "np": np.int64(7),
            "set": {"b", "a"},
            "npf": [np.int32(-3)],
        },
        {"keys sort by code point": {"Z": 1, "a": 2, "Đ": 3, "D": 4, "é": 5, "e": 6, "😀": 7, "\uffff": 8}},
        # what orjson writes otherwise: these go through the stdlib
        {"float": 0.1, "big": 1e16, "small": 1e-7, "nan": float("nan"), "inf": float("inf")},
        {"int past 64 bits": 2**64, "neg": -(2**70)},
        {1: "non-text key", 2: "another"},
    ],
)
def test_canonical_bytes_are_the_stdlib_canonical_text(value):
    assert chain.canonical_bytes(value) == chain.canonical_json(value).encode("utf-8")


def test_the_record_hash_fed_part_by_part_is_the_hash_of_the_whole_text():
    """Hash version 3 feeds the canonical text of a record to sha256 part by part (never the
    whole ~80 MB of a national run at once): the digest is that of the whole text."""
    content = {
        "run": {"hash_version": chain.RUN_HASH_VERSION, "round": 1, "name": "Đợt 1"},
        "lines": [[0, "7912345", "NSDP", None, 9_231_901_000], [1, None, "XSKT", "Đường", -(2**63)]],
        "flags": [],
        "rules_text": "plan_year: 2022\n",
        "big": [2**64],  # orjson refuses it: this part alone goes through the stdlib
        "keys": {"Z": 1, "a": 2, "Đ": 3, "😀": 4},
    }
    whole = b"f" * 64 + chain.canonical_json(content).encode("utf-8")
    assert chain.record_hash("f" * 64, content) == hashlib.sha256(whole).hexdigest()


def _recorded(tmp_path: Path, monkeypatch, name: str = "v3.sqlite") -> tuple[Path, list, list]:
    """The fixture's two runs and decision recorded again by this engine."""
    monkeypatch.chdir(ROOT)
    db = tmp_path / name
    target = AuditTarget(audit_store.check_store(db))
    first = review(
        [JUNE], ReviewOptions(round=1, year=2022), out_dir=tmp_path / "o1", audit=target, reviewer="fixture"
    )
    from disbursement.audit.decisions import decide

    decide(db, first.run_id, "Quyết định số 123/QĐ-UBND ngày 15/7/2022", recorded_by="fixture")
    second = review([SEPTEMBER], ReviewOptions(round=2, year=2022), audit=target, reviewer="fixture")
    return db, [first.run_id, second.run_id], [first, second]


def test_the_hash_made_in_memory_is_the_hash_of_what_is_read_back(tmp_path, monkeypatch):
    db, ids, outcomes = _recorded(tmp_path, monkeypatch)
    assert chain.verify(db)["ok"] and chain.verify(db)["records"] == 3
    with audit_store.connect(db) as conn:
        rows = conn.execute(
            "SELECT seq, prev_hash, record_hash, hash_version FROM runs ORDER BY seq"
        ).fetchall()
        for seq, prev, digest, version in rows:
            assert version == chain.RUN_HASH_VERSION
            content = chain.record_content(conn, "run", seq)
            # orjson's text of the content read back is the stdlib's, and hashes to the record
            text = chain.canonical_bytes(content, floats=False)
            assert text == chain.canonical_json(content).encode("utf-8")
            assert hashlib.sha256(prev.encode() + text).hexdigest() == digest
            # the many rows are four blocks, hashed by part, row count and sha256
            kept = conn.execute(
                "SELECT part, rows, data FROM run_blocks WHERE run_seq = ? ORDER BY part", (seq,)
            ).fetchall()
            assert content["blocks"] == [[p, n, hashlib.sha256(d).hexdigest()] for p, n, d in kept]
            assert [p for p, _, _ in kept] == list(blocks.PARTS)
        for table in ("lines", "flags", "proposal_lines", "issues"):
            assert conn.scalar(f"SELECT count(*) FROM {table}") == 0
        counts = {p: n for p, n, _ in kept}
        last = outcomes[-1].result
        assert counts["lines"] == len(last.plan) and counts["issues"] == len(last.issues)
        assert counts["flags"] == len(flag_records(outcomes[-1].result))
        assert len(audit_rows.lines(conn, 3)) == len(last.plan)
    # the stored records are the records the run made (and `--json` printed)
    for run_id, outcome in zip(ids, outcomes, strict=True):
        shown = queries.show_run(db, run_id)
        assert shown["flags"] == _plain(flag_records(outcome.result))
        made = encode_list(flag_records(outcome.result))  # what `--json` printed
        assert b"".join(outcome.flag_json.chunks) == b"".join(made.chunks)
        data = proposal_json(outcome.result.proposal)
        assert shown["proposal"] == _plain(
            [{"kind": k, **x} for k in ("decrease", "increase") for x in data[k + "s"]]
        )


def _plain(records: list) -> list:
    return json.loads(json.dumps(records))


def test_a_store_written_before_hash_version_3_verifies_shows_and_replays(tmp_path, monkeypatch):
    old = tmp_path / "store-v1.sqlite"
    shutil.copy(FIXTURE, old)
    shutil.copytree(FIXTURE.with_name(FIXTURE.name + ".files"), old.with_name(old.name + ".files"))
    with audit_store.connect(old, migrate=False) as conn:
        assert schema.applied(conn) == schema.KNOWN[:3]
        assert {r[0] for r in conn.execute("SELECT hash_version FROM runs")} == {1}
    head = "a1a8555add848ab4abee7e53dbe87cfef44206442c8c7c05248b9d437f47d982"
    report = chain.verify(old)  # migrates to 0004 first
    assert report["ok"] and report["records"] == 3 and report["head"] == head
    with audit_store.connect(old) as conn:
        assert schema.applied(conn) == sorted(schema.KNOWN)
    # its records read back exactly as they were recorded (hash v1: the whole record as JSON)
    raw = sqlite3.connect(old)
    runs = [(r["seq"], r["run_id"]) for r in queries.list_runs(old)]
    old_ids = [run_id for _, run_id in runs]
    for seq, run_id in runs:
        shown = queries.show_run(old, run_id)
        assert shown["flags"] == [
            json.loads(r)
            for (r,) in raw.execute("SELECT record FROM flags WHERE run_seq = ? ORDER BY flag_no", (seq,))
        ]
        assert shown["proposal"] == [
            {"kind": k, **json.loads(r)}
            for k, r in raw.execute(
                "SELECT kind, record FROM proposal_lines WHERE run_seq = ? ORDER BY line_no", (seq,)
            )
        ]
        assert len(shown["flags"]) in (37, 62)
    raw.close()
    # a new run appends to the old chain with hash version 3; the old records still verify
    monkeypatch.chdir(ROOT)
    outcome = review(
        [JUNE],
        ReviewOptions(round=1, year=2022),
        out_dir=tmp_path / "o",
        audit=AuditTarget(audit_store.check_store(old)),
    )
    report = chain.verify(old)
    assert report["ok"] and report["records"] == 4
    # replay by the engine that wrote the run: every output byte-identical, every record the same
    done = replay.replay(old, outcome.run_id)
    assert done["ok"] and len(done["files"]) == 12, done  # report.html is the twelfth
    # an older engine's run is replayed and compared file by file (rates changed since: shown)
    done = replay.replay(old, old_ids[0])
    assert {f["status"] for f in done["files"]} <= {"OK", "DIFFERENT"} and len(done["files"]) == 11


def _copy(fixture: Path, folder: Path) -> Path:
    store = folder / fixture.name
    shutil.copy(fixture, store)
    shutil.copytree(fixture.with_name(fixture.name + ".files"), store.with_name(store.name + ".files"))
    return store


def test_a_store_of_hash_version_3_verifies_reads_and_replays_beside_new_block_runs(tmp_path, monkeypatch):
    old = _copy(FIXTURE_V3, tmp_path)
    raw = sqlite3.connect(old)
    assert {r[0] for r in raw.execute("SELECT hash_version FROM runs")} == {3}
    table_flags = raw.execute("SELECT count(*) FROM flags").fetchone()[0]
    raw.close()
    head = "906ee55a12e9af5427a4205c17ceedf420fb3fd88609f857db9dbc0abc020ca1"
    report = chain.verify(old)  # migrates to 0006 first: the old rows stay where they are
    assert report["ok"] and report["records"] == 3 and report["head"] == head
    runs = queries.list_runs(old)
    assert [(r["lines"], r["flagged"], r["issues"]) for r in runs] == [(150, 37, 24), (150, 62, 60)]
    assert table_flags == 37 + 62
    monkeypatch.chdir(ROOT)
    first, second = (r["run_id"] for r in runs)
    code = queries.show_run(old, first)["flags"][0]["project_code"]
    before = queries.project_history(old, code)
    # a new run (hash version 4, blocks) of round 2 beside them: the chain, the counts, the
    # history of a project across both kinds of run, the diff between them
    outcome = review(
        [SEPTEMBER],
        ReviewOptions(round=2, year=2022),
        out_dir=tmp_path / "o",
        audit=AuditTarget(audit_store.check_store(old)),
    )
    assert chain.verify(old)["ok"] and chain.verify(old)["records"] == 4
    newest = queries.list_runs(old)[-1]
    assert (newest["lines"], newest["flagged"], newest["issues"]) == (150, 62, len(outcome.result.issues))
    after = queries.project_history(old, code)
    assert after[: len(before)] == before and len(after) == len(before) + 1
    strip = ("seq", "run_id", "recorded_at", "proposal", "decisions", "replies", "state")
    assert {k: v for k, v in after[-1].items() if k not in strip} == {
        k: v for k, v in before[-1].items() if k not in strip
    }
    diff = queries.diff_runs(old, second, outcome.run_id)
    assert not diff["new"] and not diff["cleared"] and len(diff["persisting"]) == 62
    assert queries.show_run(old, outcome.run_id)["flags"] == queries.show_run(old, second)["flags"]
    # the runs of hash version 3 replay byte for byte with this engine
    for run_id in (first, second):
        done = replay.replay(old, run_id)
        assert done["ok"] and len(done["files"]) == 12, done


def test_lean_rows_of_hash_version_3_give_back_the_record_exactly():
    """The rests as the version-3 writer stored them (a source's cells left out when they are
    the sheet's letters on the line's row, `"cells": null` when the record had none)."""
    record = {
        "project_code": "7",
        "capital_source": "NSDP",
        "rule_id": "R1",
        "plan_dong": 10,
        "disbursed_dong": 1,
        "reason_text": "…",
        "forecast": False,
        "source": {"file": "a.xlsx", "sheet": "B", "row": 15, "cells": {"plan_dong": "L15", "name": "B15"}},
    }
    columns = dict(zip(lean_rows.FLAG_KEYS, ("7", "NSDP", "R1", 10, 1), strict=True))
    where = {"file": "a.xlsx", "sheet": "B", "row": 15}
    letters = {"plan_dong": "L", "name": "B"}
    rest = {"reason_text": "…", "forecast": False}
    assert lean_rows.full(dict(rest), columns, where, letters) == _sorted(record)
    # a cell off the line's row, a key missing, a value of another type, no cells at all
    odd = {**record, "plan_dong": True, "source": {**record["source"], "cells": {"plan_dong": "L16"}}}
    del odd["rule_id"]
    rest = {**rest, "plan_dong": True, "_absent": ["rule_id"], "source": {"cells": {"plan_dong": "L16"}}}
    assert lean_rows.full(rest, columns, where, letters) == _sorted(odd)
    bare = {**record, "source": {"file": "a.xlsx", "sheet": "B", "row": 15}}
    rest = {"reason_text": "…", "forecast": False, "source": {"cells": None}}
    assert lean_rows.full(rest, columns, where, letters) == _sorted(bare)


def test_an_override_row_keeps_what_its_columns_do_not():
    given = {"project_code": "7", "capital_source": "NSDP", "kind": "decrease", "amount_dong": 5,
             "reason": "đã có khối lượng", "approver": "Giám đốc", "note": "x"}  # fmt: skip
    columns = dict(
        zip(lean_rows.OVERRIDE_KEYS, ("7", "NSDP", "decrease", 5, "đã có khối lượng", ""), strict=True)
    )
    rest = lean_rows.lean(given, columns)
    assert rest == {"approver": "Giám đốc", "note": "x"}  # the column holds "" for the approver
    assert lean_rows.full(json.loads(json.dumps(rest)), columns) == _sorted(given)
    rest = lean_rows.lean({"reason": "r"}, columns)
    assert rest["_absent"] == ["project_code", "capital_source", "kind", "amount_dong", "approver"]


def _sorted(record: dict) -> dict:
    return json.loads(json.dumps(record, sort_keys=True))


@pytest.mark.parametrize(
    "columns",
    [
        {"row": [3, 4], "project_code": ["A", None], "plan_dong": [10**12, 0]},
        {"plan_dong": [2**70], "project_name": ["Đường"]},  # past 64 bits: the stdlib's form
        {"project_name": ["\udcff"], "row": [1]},  # a lone surrogate: the stdlib's form
        {"row": []},
        {},
    ],
)
def test_lines_written_column_by_column_are_the_parts_text(columns):
    """The lines block is written one column at a time: the same bytes as the whole part."""
    made: list[str] = []

    def maker(name):
        return lambda: made.append(name) or columns[name]

    chunks = blocks.columns_text({name: maker(name) for name in columns})
    assert b"".join(chunks) == blocks._text(columns)
    assert json.loads(b"".join(chunks)) == columns
    assert sorted(set(made)) == sorted(columns)


def test_flag_records_encoded_in_a_child_are_the_records_encoded_here(tmp_path, monkeypatch):
    """A national run's flag records and lines block are made by a forked child while the
    proposal is made: what it sends back is what this process would have made, the same
    record."""
    from disbursement import session
    from disbursement.forked import Job

    forked: list[int | None] = []

    class Watched(Job):
        def __init__(self, *args, **kwargs):
            super().__init__(*args, **kwargs)
            forked.append(self.pid)

    monkeypatch.setattr(session, "Job", Watched)
    runs = {}
    for at_least in (1, 10**9):  # every run forks / none does
        monkeypatch.setattr(session, "FORK_MIN_FLAGS", at_least)
        db = tmp_path / f"fork-{at_least}.sqlite"
        outcome = review([str(ROOT / JUNE)], ReviewOptions(round=1), audit=AuditTarget(db))
        assert outcome.flag_json is not None and outcome.flag_json.plain
        with sqlite3.connect(db) as conn:  # the flags and lines blocks came from the child
            kept = conn.execute("SELECT part, rows, data FROM run_blocks ORDER BY part").fetchall()
            numbered = conn.execute("SELECT * FROM sheets ORDER BY 1, 2").fetchall()
        shown = queries.show_run(db, outcome.run_id)
        runs[at_least] = (outcome.flag_json.packed, shown["flags"], kept, numbered)
    # printed (`--json`) but not recorded: encoded the same, in a child too
    monkeypatch.setattr(session, "FORK_MIN_FLAGS", 1)
    printed = review([str(ROOT / JUNE)], ReviewOptions(round=1), record=False, printed=True)
    assert printed.run_id is None and printed.flag_json is not None
    assert printed.flag_json.packed == encode_list(flag_records(printed.result)).packed
    assert review([str(ROOT / JUNE)], ReviewOptions(round=1), record=False).flag_json is None
    child, here, unrecorded = forked
    can_fork = hasattr(os, "fork") and (os.cpu_count() or 1) > 1
    assert (child is not None) == (unrecorded is not None) == can_fork and here is None
    assert runs[1] == runs[10**9]
    assert runs[1][1] == _plain(flag_records(outcome.result))
    assert [p for p, _, _ in runs[1][2]] == list(blocks.PARTS) and runs[1][3]
