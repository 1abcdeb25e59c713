"""The audit store as a library, against RunResult objects built by hand (no pipeline)."""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import sqlite3

import pandas as pd
import pytest

from disbursement.audit import chain, decisions, history, queries
from disbursement.audit import record as audit_record
from disbursement.audit import rows as stored_rows
from disbursement.audit import store as audit_store
from disbursement.model import RoundInfo, RunResult
from tests.audit_backends import backend, pg_schema_url, store, tamper  # noqa: F401 (fixtures)

RULES = "id: test\nrounds: []\n"


def result_of(lines: list[dict], *, number: int = 1, year: int = 2022) -> RunResult:
    """A RunResult with the columns the store reads; `lines` give code, plan, disbursed, flagged."""
    rows = []
    for i, x in enumerate(lines):
        rows.append(
            {
                "project_code": x.get("code"),
                "project_name": x.get("name", f"Dự án {i}"),
                "capital_source": x.get("source", "NSDP_CAN_DOI"),
                "capital_source_label": "Vốn cân đối ngân sách địa phương",
                "status": "continuing",
                "investor": None,
                "plan_dong": x["plan"],
                "disbursed_dong": x["disbursed"],
                "expected_dong": pd.NA,
                "in_scope": True,
                "flagged": x.get("flagged", False),
                "forecast": False,
                "rule_id": f"T-R{number}" if x.get("flagged") else None,
                "rate_pct": "1,00",
                "reason": "RATE_BELOW_THRESHOLD",
                "file": x.get("file", "/du-lieu/ke_hoach.xlsx"),
                "sheet": "Biểu 01",
                "row": 10 + i,
                "cells": {"plan_dong": f"L{10 + i}"},
            }
        )
    plan = pd.DataFrame(rows)
    plan["expected_dong"] = plan["expected_dong"].astype("Int64")
    info = RoundInfo(f"T-R{number}", number, f"Đợt {number}", year, dt.date(year, 6, 30), "", "", 50)
    return RunResult(
        info, plan, plan[plan["flagged"]].copy(), [], {"lines": len(plan)}, inputs=(), rules_path="rules.yaml"
    )


def record(store, result, **kwargs):
    return audit_record.record_run(store, result, rules_text=RULES, input_paths=[], reviewer="test", **kwargs)


def test_the_record_hash_is_sha256_of_prev_hash_and_canonical_content(store):
    first = record(store, result_of([{"code": "1", "plan": 100, "disbursed": 1, "flagged": True}]))
    second = record(store, result_of([{"code": "1", "plan": 100, "disbursed": 90}], number=2))
    with audit_store.connect(store) as conn:
        rows = conn.execute("SELECT seq, run_id, prev_hash, record_hash FROM runs ORDER BY seq").fetchall()
        contents = [chain.record_content(conn, "run", seq) for seq, *_ in rows]
    assert [r[1] for r in rows] == [first, second]
    assert rows[0][2] == chain.GENESIS and rows[1][2] == rows[0][3]
    for (_, _, prev, digest), content in zip(rows, contents, strict=True):
        text = prev + chain.canonical_json(content)
        assert hashlib.sha256(text.encode("utf-8")).hexdigest() == digest
    with audit_store.connect(store) as conn:
        line = stored_rows.lines(conn, 1)[0]
        assert (line["project_code"], line["capital_source"]) == ("1", "NSDP_CAN_DOI")
    assert [part for part, _, _ in contents[0]["blocks"]] == ["flags", "issues", "lines", "proposal_lines"]
    assert contents[0]["rules_text"] == RULES


def test_swapping_two_records_breaks_the_chain(store):
    ids = [record(store, result_of([{"code": "1", "plan": 100, "disbursed": d}])) for d in (1, 2)]
    tamper(store, "UPDATE runs SET reviewer = 'người khác' WHERE seq = 2")
    broken = chain.verify(store)["first_broken"]
    assert (broken["id"], broken["seq"], broken["kind"]) == (ids[1], 2, "run")


def test_lines_without_a_code_are_matched_by_name_source_and_investor(store):
    """Identity of a code-less line: its folded name, capital source and investor (rows move
    between exports, so the location only locates it)."""
    flagged = {"plan": 100, "disbursed": 1, "flagged": True}
    a = record(
        store,
        result_of([{**flagged, "file": "/cu/ke_hoach.xlsx", "name": "Đường Á"}, {"code": "2", **flagged}]),
    )
    b = record(
        store,
        result_of(
            [
                {"code": "2", "plan": 100, "disbursed": 90},
                {**flagged, "file": "/moi/ke_hoach.xlsx", "name": "ĐƯỜNG  Á"},
            ],
            number=2,
        ),
    )
    diff = queries.diff_runs(store, a, b)
    assert [x["key"] for x in diff["persisting"]] == ["duong a / NSDP_CAN_DOI"]
    assert [x["key"] for x in diff["cleared"]] == ["2 / NSDP_CAN_DOI"]
    assert diff["cleared"][0]["now"] == {"plan_dong": 100, "disbursed_dong": 90, "flagged": False}


def test_a_line_without_a_capital_source_is_recorded_without_one(store):
    """No "UNKNOWN" stands in for a missing source: the line keeps None, so its flag (whose
    record has no source either) finds it again in the next run."""
    a = record(
        store, result_of([{"code": "7", "source": None, "plan": 100, "disbursed": 1, "flagged": True}])
    )
    b = record(store, result_of([{"code": "7", "source": None, "plan": 100, "disbursed": 90}], number=2))
    (line, later) = queries.project_history(store, "7")
    assert line["capital_source"] is None and later["state"] == "not flagged"
    diff = queries.diff_runs(store, a, b)
    assert [x["key"] for x in diff["cleared"]] == ["7 / "]
    assert diff["cleared"][0]["now"] == {"plan_dong": 100, "disbursed_dong": 90, "flagged": False}


def test_history_gives_new_persisting_and_cleared_against_the_earlier_round(store):
    record(
        store,
        result_of(
            [
                {"code": "1", "plan": 100, "disbursed": 1, "flagged": True},
                {"code": "2", "plan": 100, "disbursed": 1, "flagged": True},
            ]
        ),
    )
    record(
        store, result_of([{"code": "9", "plan": 100, "disbursed": 1, "flagged": True}], year=2023, number=1)
    )  # another year: ignored
    now = result_of(
        [
            {"code": "1", "plan": 100, "disbursed": 10, "flagged": True},
            {"code": "2", "plan": 100, "disbursed": 80},
            {"code": "3", "plan": 100, "disbursed": 10, "flagged": True},
        ],
        number=2,
    )
    found = history.compare_with_history(store, now)
    assert found.issues == [] and "lifecycle" not in now.flags and "lifecycle" not in now.summary
    now = found.applied_to(now)
    assert now.flags["lifecycle"].tolist() == ["persisting", "new"]
    block = now.summary["lifecycle"]
    assert (block["new"], block["persisting"], block["previous_round"]) == (1, 1, 1)
    assert [c["project_code"] for c in block["cleared"]] == ["2"]
    assert block["store_seq"] == 2
    assert now.issues == []  # counts are session.review's job, made last


def test_a_missing_store_is_an_empty_history_and_is_not_created(tmp_path):
    now = result_of([{"code": "1", "plan": 100, "disbursed": 1, "flagged": True}])
    found = history.compare_with_history(tmp_path / "none.sqlite", now)
    assert found.issues == [] and found.applied_to(now).flags["lifecycle"].tolist() == ["new"]
    assert not (tmp_path / "none.sqlite").exists()


def test_decide_needs_text_and_a_proposal(store):
    run_id = record(store, result_of([{"code": "1", "plan": 100, "disbursed": 1}]))
    with pytest.raises(audit_store.DecisionInvalid, match="give the decision's number and date"):
        decisions.decide(store, run_id, "  ")
    with pytest.raises(audit_store.DecisionInvalid, match="has no proposal lines to approve"):
        decisions.decide(store, run_id, "Quyết định số 1/QĐ-UBND")
    assert chain.verify(store)["records"] == 1


def test_another_sqlite_database_is_not_taken_for_a_store(tmp_path):
    other = tmp_path / "khac.sqlite"
    with contextlib.closing(sqlite3.connect(other)) as conn:
        conn.execute("CREATE TABLE du_an (ma TEXT)")
    before = other.read_bytes()
    with pytest.raises(audit_store.AuditStoreError, match="not a disbursement audit store"):
        record(other, result_of([{"code": "1", "plan": 100, "disbursed": 1}]))
    assert other.read_bytes() == before
    assert not audit_store.files_dir(other).exists() or not any(audit_store.files_dir(other).rglob("*.tmp"))


def test_find_run_takes_latest_a_prefix_and_explains_ambiguity(store):
    ids = [record(store, result_of([{"code": "1", "plan": 100, "disbursed": 1}])) for _ in range(2)]
    with audit_store.connect(store) as conn:
        assert queries.find_run(conn, "latest") == (2, ids[1])
        assert queries.find_run(conn, ids[0][:20].upper()) == (1, ids[0])
        common = next(i for i in range(32) if ids[0][i] != ids[1][i])
        with pytest.raises(audit_store.AuditStoreError, match="is ambiguous"):
            queries.find_run(conn, ids[0][:common])
        with pytest.raises(audit_store.AuditStoreError, match="is not a run id"):
            queries.find_run(conn, "đợt-1")
