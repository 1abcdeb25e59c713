"""The audit trail through the command line: record, query, verify, replay, decide, refuse."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import shutil
import sqlite3
import subprocess
import sys
import zlib
from pathlib import Path

import pytest
from click.testing import CliRunner

from devtools.samples import write_official_workbook
from disbursement.audit import blocks, chain, queries, schema
from disbursement.audit import replay as audit_replay
from disbursement.audit import store as audit_store
from disbursement.audit.copy import copy_store
from disbursement.cli import cli
from disbursement.files import sha256_file
from tests.audit_backends import (  # noqa: F401
    backend,
    block,
    fetch,
    pg_schema_url,
    rewrite_block,
    store,
    tamper,
)
from tests.conftest import line

ROOT = Path(__file__).resolve().parents[2]
DECISION = "Quyết định số 1234/QĐ-UBND ngày 15/7/2022"


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def ok(*args):
    result = run(*args)
    assert result.exit_code == 0, result.output
    return result.output


def round_1_lines():
    # Investors' expected figures make both slow lines recall (unable_portion).
    return [
        line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="400", expected_dong="500"),
        line("7912346", "Trường THCS xã Mường Bú", disbursed="450", expected_dong="600"),
        line("7912347", "Cầu bản Púng", disbursed="900"),
    ]


def round_2_lines(plans: dict[str, str] | None = None):
    plans = plans or {}
    return [
        line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="700", plan=plans.get("7912345", "1.000")),
        line("7912346", "Trường THCS xã Mường Bú", disbursed="500", plan=plans.get("7912346", "1.000")),
        line("7912347", "Cầu bản Púng", disbursed="550", plan=plans.get("7912347", "1.000")),
    ]


@pytest.fixture
def sqlite_store(tmp_path):
    return tmp_path / "audit" / "so-kiem-toan.sqlite"


@pytest.fixture(scope="module")
def recorded(tmp_path_factory):
    """Round 1 (30/6) and round 2 (30/9) of 2022 recorded once, with --out, in one store."""
    base = tmp_path_factory.mktemp("recorded")
    store, ids = base / "audit" / "so-kiem-toan.sqlite", []
    for lines, number, as_of in (
        (round_1_lines(), 1, dt.date(2022, 6, 30)),
        (round_2_lines(), 2, dt.date(2022, 9, 30)),
    ):
        path = base / f"den_{as_of:%d-%m}.xlsx"
        write_official_workbook(path, lines, year=2022, as_of=as_of)
        out = json.loads(
            ok(
                "review",
                path,
                "--round",
                number,
                "--json",
                "--audit-db",
                store,
                "--reviewer",
                "Lò Thị Hoa",
                "--out",
                base / f"out{number}",
            )
        )
        ids.append(out["audit"]["run_id"])
    return store, ids


@pytest.fixture
def two_rounds(recorded, store, backend):
    """A private copy of the recorded store (tests may damage it); returns both run ids.
    On PostgreSQL the copy is made by `audit copy`, so every query test also checks it."""
    source, ids = recorded
    if backend == "sqlite":
        shutil.copytree(source.parent, store.parent)
    else:
        copy_store(source, store)
    return ids


def test_two_rounds_recorded_and_queried_per_project(two_rounds, store):
    first, second = two_rounds
    runs = json.loads(ok("audit", "runs", "--audit-db", store, "--json"))
    assert [(r["run_id"], r["round"], r["flagged"], r["reviewer"]) for r in runs] == [
        (first, 1, 2, "Lò Thị Hoa"),
        (second, 2, 2, "Lò Thị Hoa"),
    ]

    history = json.loads(ok("audit", "project", "7912345", "--audit-db", store, "--json"))
    assert [(h["round"], h["state"], h["plan_dong"], h["disbursed_dong"]) for h in history] == [
        (1, "flagged", 1_000_000_000, 400_000_000),
        (2, "not flagged", 1_000_000_000, 700_000_000),
    ]
    assert history[0]["proposal"][0]["kind"] == "decrease"
    text = ok("audit", "project", "7912345", "--audit-db", store)
    assert text.splitlines()[0] == "Project 7912345: 2 readings"
    assert " flagged " in text and " not flagged " in text and "400,000" in text

    flagged = json.loads(ok("audit", "flagged", "--year", 2022, "--round", 1, "--audit-db", store, "--json"))
    assert {f["project_code"] for f in flagged} == {"7912345", "7912346"}
    assert flagged[0]["source"]["cells"]["plan_dong"].startswith("L")

    diff = json.loads(ok("audit", "diff", first[:16], second, "--audit-db", store, "--json"))
    assert [d["project_code"] for d in diff["new"]] == ["7912347"]
    assert [d["project_code"] for d in diff["persisting"]] == ["7912346"]
    (cleared,) = diff["cleared"]
    assert cleared["project_code"] == "7912345"
    assert cleared["now"] == {"plan_dong": 1_000_000_000, "disbursed_dong": 700_000_000, "flagged": False}


def test_the_next_round_reports_each_flag_as_new_or_persisting(two_rounds, store):
    shown = queries.show_run(store, two_rounds[1])
    assert {f["project_code"]: f["lifecycle"] for f in shown["flags"]} == {
        "7912346": "persisting",
        "7912347": "new",
    }
    lifecycle = shown["summary"]["lifecycle"]
    assert lifecycle["previous_run"] == two_rounds[0] and lifecycle["previous_round"] == 1
    assert [c["project_code"] for c in lifecycle["cleared"]] == ["7912345"]


def test_query_tables_go_to_xlsx(two_rounds, store, tmp_path):
    import openpyxl

    target = tmp_path / "lich_su.xlsx"
    out = ok("audit", "flagged", "--year", 2022, "--audit-db", store, "--xlsx", target)
    assert out.endswith(f"wrote {target}\n")
    sheet = openpyxl.load_workbook(target).active
    assert [c.value for c in sheet[4]][:3] == ["Round", "Run", "Code"]
    assert sheet.max_row == 4 + 4


def test_verify_passes_then_names_the_first_changed_run(two_rounds, store):
    assert ok("audit", "verify", "--audit-db", store).startswith("Audit store OK: 2 records;")
    first = block(store, 1, "flags")[0]
    assert first["disbursed_dong"] == 400000000 and first["rate_pct"] == "40,00"

    def flag_0(**changed):
        return lambda flags: [{**flags[0], **changed}, *flags[1:]]

    # one figure of a record, one character of its text, one line's figure, a row count
    for change in (
        lambda: rewrite_block(store, 1, "flags", flag_0(disbursed_dong=500000000)),
        lambda: rewrite_block(store, 1, "flags", flag_0(rate_pct="41,00")),
        lambda: rewrite_block(
            store,
            1,
            "lines",
            lambda c: {**c, "disbursed_dong": [c["disbursed_dong"][0] + 1, *c["disbursed_dong"][1:]]},
        ),
        lambda: tamper(store, "UPDATE run_blocks SET rows = rows + 1 WHERE run_seq = 1 AND part = 'issues'"),
    ):
        saved = fetch(store, "SELECT part, rows, data FROM run_blocks WHERE run_seq = 1")
        change()
        result = run("audit", "verify", "--audit-db", store)
        assert result.exit_code == 1
        assert result.output == (
            f"Chain broken at run {two_rounds[0]} (record 1): its content "
            "no longer matches its record_hash (the record or one of its "
            "rows was changed)\n"
        )
        for part, rows, data in saved:
            tamper(
                store,
                "UPDATE run_blocks SET rows = ?, data = ? WHERE run_seq = 1 AND part = ?",
                (rows, bytes(data), part),
            )
        assert run("audit", "verify", "--audit-db", store).exit_code == 0


def test_a_damaged_block_is_named_not_an_internal_error(two_rounds, store):
    tamper(store, "UPDATE run_blocks SET data = ? WHERE run_seq = 2 AND part = 'flags'", (b"not zlib",))
    result = run("audit", "show", two_rounds[1], "--audit-db", store)
    assert result.exit_code == 1
    assert result.output.startswith("Error: the flags block of run 2 in the audit store cannot be read")
    assert "audit verify" in result.output and "Traceback" not in result.output
    assert run("audit", "verify", "--audit-db", store).exit_code == 1


def test_rows_no_hash_covers_are_named_by_verify_and_never_shown(two_rounds, store):
    """A run of hash version 4 keeps its lines in a block: a line row added for it in the old
    table is neither counted nor shown, and verify names it."""
    before = json.loads(ok("audit", "runs", "--audit-db", store, "--json"))
    history = json.loads(ok("audit", "project", "7912345", "--audit-db", store, "--json"))
    tamper(
        store,
        "INSERT INTO lines VALUES (1, 0, '7912345', 'NSDP_CAN_DOI', 'continuing', NULL, "
        "1, 0, NULL, 1, 1, 0, 15)",
    )
    tamper(store, "INSERT INTO issues VALUES (1, 0, 'X', 'error', NULL, NULL, NULL, NULL, 'thêm')")
    assert json.loads(ok("audit", "runs", "--audit-db", store, "--json")) == before
    assert json.loads(ok("audit", "project", "7912345", "--audit-db", store, "--json")) == history
    report = chain.verify(store)
    assert not report["ok"] and report["first_broken"]["id"] == "lines, issues"
    assert "no record hash covers" in report["first_broken"]["reason"]


@pytest.mark.parametrize(
    "data, rows",
    [
        ("x", 3),  # text where the bytes were
        (None, 3.5),  # a row count that is not an integer (SQLite keeps 3.5)
    ],
)
def test_a_block_changed_in_kind_breaks_the_chain_without_an_internal_error(recorded, tmp_path, data, rows):
    """SQLite keeps any value in any column: text for the data, 3.5 for the count."""
    source, _ = recorded
    shutil.copytree(source.parent, tmp_path / "audit")
    store = tmp_path / "audit" / source.name
    (count,) = fetch(store, "SELECT rows FROM run_blocks WHERE run_seq = 1 AND part = 'lines'")[0]
    if data is not None:
        tamper(store, "UPDATE run_blocks SET data = ? WHERE run_seq = 1 AND part = 'lines'", (data,))
    else:
        tamper(store, "UPDATE run_blocks SET rows = ? WHERE run_seq = 1 AND part = 'lines'", (rows,))
    result = run("audit", "verify", "--audit-db", store)
    assert result.exit_code == 1 and "internal error" not in result.output
    assert result.output.startswith("Chain broken at run ")
    shown = run("audit", "project", "7912345", "--audit-db", store)
    assert shown.exit_code == 1 and shown.output.startswith("Error: the lines block of run 1 ")
    assert count == 3


@pytest.mark.parametrize(
    "part, change, why",
    [
        ("lines", lambda c: [c], "not a table of columns"),
        ("lines", lambda c: {k: v for k, v in c.items() if k != "status"}, "columns status missing"),
        ("lines", lambda c: {**c, "row": c["row"][:-1]}, "columns row missing or not 3 long"),
        ("flags", lambda f: [{k: v for k, v in f[0].items() if k != "source"}, *f[1:]], "records with"),
        ("flags", lambda f: {"not": "a list"}, "not a list of 2 records"),
        ("issues", lambda c: {**c, "message": "one"}, "columns message missing"),
    ],
)
def test_a_block_of_the_wrong_shape_is_named_not_an_internal_error(two_rounds, store, part, change, why):
    rewrite_block(store, 2, part, change)
    # `diff` reads the flags of both runs and the lines of the second; `show` flags and issues
    command = ("audit", "diff", *two_rounds) if part == "lines" else ("audit", "show", two_rounds[1])
    result = run(*command, "--audit-db", store)
    assert result.exit_code == 1, result.output
    assert result.output.startswith(f"Error: the {part} block of run 2 in the audit store cannot be read")
    assert why in result.output and "Traceback" not in result.output


def test_a_block_nested_too_deep_is_named_not_an_internal_error(two_rounds, store):
    deep = zlib.compress(blocks.STDLIB + b"[" * 200_000 + b"]" * 200_000)
    tamper(store, "UPDATE run_blocks SET data = ? WHERE run_seq = 2 AND part = 'issues'", (deep,))
    result = run("audit", "show", two_rounds[1], "--audit-db", store)
    assert result.exit_code == 1 and "internal error" not in result.output
    assert result.output.startswith("Error: the issues block of run 2 in the audit store cannot be read")


def test_blocks_give_back_every_value_exactly():
    """orjson reads integers past 64 bits as floats: such a part is written by the stdlib
    (after one space) and read back by it."""
    values = {"big": [2**70, -(2**64)], "text": ["\udcff", "Đường"], "plain": [1, None, True]}
    text = zlib.decompress(blocks.encode(values))
    assert text[:1] == blocks.STDLIB and json.loads(text) == values
    assert zlib.decompress(blocks.encode({"plain": [1]})) == b'{"plain":[1]}'


def test_proposal_lines_read_back_with_their_kind_first(two_rounds, store):
    shown = json.loads(ok("audit", "show", two_rounds[0], "--audit-db", store, "--json"))
    assert shown["proposal"] and all(next(iter(x)) == "kind" for x in shown["proposal"])


def test_verify_notices_a_removed_run_and_a_changed_input_copy(two_rounds, store, backend):
    ((sha,),) = fetch(store, "SELECT sha256 FROM inputs WHERE run_seq = 2")
    if backend == "sqlite":
        audit_store.blob_path(store, sha).write_bytes(b"not the workbook")
    else:
        tamper(store, "UPDATE blobs SET data = ? WHERE sha256 = ?", (b"not the workbook", sha))
    report = chain.verify(store)
    assert not report["ok"] and report["first_broken"] is None
    assert report["files"][0]["problem"].endswith("was changed")
    tamper(store, "DELETE FROM decisions")
    for table in ("inputs", "sheets", "run_blocks", "overrides", "outputs"):
        tamper(store, f"DELETE FROM {table} WHERE run_seq = 1")
    tamper(store, "DELETE FROM runs WHERE seq = 1")
    broken = chain.verify(store)["first_broken"]
    assert broken["id"] == two_rounds[1] and "removed" in broken["reason"]


def test_replay_reproduces_every_output(two_rounds, store):
    out = ok("audit", "replay", two_rounds[0], "--audit-db", store)
    lines = out.splitlines()
    assert lines[0].startswith(f"Replay of run {two_rounds[0]}")
    outputs = queries.show_run(store, two_rounds[0])["outputs"]
    recorded = sorted(Path(x["path"]).name for x in outputs)
    assert recorded == sorted(p.name for p in Path(outputs[0]["path"]).parent.iterdir())
    assert sorted(x.split()[-1] for x in lines[1:-1]) == recorded
    assert all(x.split()[0] == "OK" for x in lines[1:])
    assert "flags.xlsx" in recorded and "to_trinh.docx" in recorded


def test_replay_reports_a_different_output_and_exits_1(two_rounds, store):
    tamper(store, "UPDATE outputs SET sha256 = ? WHERE run_seq = 2 AND name = 'flags.csv'", ("0" * 64,))
    result = run("audit", "replay", two_rounds[1], "--audit-db", store)
    assert result.exit_code == 1
    assert "  DIFFERENT flags.csv\n" in result.output
    assert "  OK        flags.xlsx\n" in result.output
    rewrite_block(store, 2, "flags", lambda f: [f[0], {**f[1], "rate_pct": "1" + f[1]["rate_pct"]}, *f[2:]])
    report = audit_replay.replay(store, two_rounds[1])
    assert report["records"]["different"] == {"flags": "#2 differs in rate_pct"}


def test_two_reviews_at_once_both_land_and_the_chain_verifies(make_workbook, store, tmp_path):
    path = make_workbook(round_1_lines())
    env = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"}
    procs = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "disbursement",
                "review",
                str(path),
                "--round",
                "1",
                "--json",
                "--audit-db",
                str(store),
                "--reviewer",
                f"cán bộ {i}",
            ],
            cwd=tmp_path,
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    outputs = [p.communicate(timeout=120) for p in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    ids = {json.loads(stdout)["audit"]["run_id"] for stdout, _ in outputs}
    runs = queries.list_runs(store)
    assert {r["run_id"] for r in runs} == ids and len(ids) == 2
    assert {r["reviewer"] for r in runs} == {"cán bộ 0", "cán bộ 1"}
    assert all(r["flagged"] == 2 and r["lines"] == 3 for r in runs)
    assert chain.verify(store)["ok"]
    assert not (tmp_path / audit_store.DEFAULT_STORE).exists()


def test_decide_then_the_next_round_warns_where_the_plan_differs(make_workbook, store, tmp_path):
    first = make_workbook(round_1_lines(), name="den_30-06.xlsx")
    ok("review", first, "--round", 1, "--audit-db", store)
    out = ok("decide", "latest", "--decision", DECISION, "--audit-db", store, "--by", "Giám đốc")
    assert out.startswith("Recorded decision ") and "approved lines (proposal)" in out
    approved = {
        x["project_code"]: x["plan_after_dong"]
        for x in queries.show_run(store, "latest")["decision_records"][0]["lines"]
    }
    assert approved["7912345"] < 1_000_000_000 and approved["7912346"] < 1_000_000_000
    # The new export carries the approved plan for 7912345 only.
    trieu = f"{approved['7912345'] // 1_000_000:,}".replace(",", ".")
    second = make_workbook(
        round_2_lines({"7912345": trieu}), name="den_30-09.xlsx", as_of=dt.date(2022, 9, 30)
    )
    data = json.loads(ok("review", second, "--round", 2, "--json", "--audit-db", store))
    warned = [i for i in data["issues"] if i["code"] == "PLAN-DIFFERS-FROM-APPROVED"]
    assert {w["message"].split(" / ")[0] for w in warned} == set(approved) - {"7912345"}
    first_warning = next(w for w in warned if w["message"].startswith("7912346"))
    assert first_warning["severity"] == "warning" and first_warning["column"] == "L"
    assert first_warning["file"] == str(second) and first_warning["row"] > 10
    assert f"approved after adjustment by {DECISION}" in first_warning["message"]
    assert data["summary"]["lifecycle"]["decisions"]
    assert data["summary"]["issues"]["by_code"]["PLAN-DIFFERS-FROM-APPROVED"]["count"] == len(warned)
    history = queries.project_history(store, "7912346")
    assert history[0]["decisions"][0]["decision"] == DECISION
    assert chain.verify(store)["ok"]


def test_decide_with_an_approved_figures_file(make_workbook, store, tmp_path):
    first = make_workbook(round_1_lines())
    ok("review", first, "--round", 1, "--audit-db", store)
    approved = tmp_path / "phe_duyet.csv"
    approved.write_text(
        "Mã dự án,Nguồn vốn,Kế hoạch năm 2022 sau điều chỉnh (triệu đồng)\n"
        '7912345,Vốn cân đối ngân sách địa phương,"700,5"\n',
        encoding="utf-8",
    )
    out = ok("decide", "latest", "--decision", DECISION, "--approved", approved, "--audit-db", store)
    assert "1 approved lines (file)" in out
    second = make_workbook(round_2_lines(), name="den_30-09.xlsx", as_of=dt.date(2022, 9, 30))
    data = json.loads(ok("review", second, "--round", 2, "--json", "--audit-db", store))
    (warning,) = [i for i in data["issues"] if i["code"] == "PLAN-DIFFERS-FROM-APPROVED"]
    assert warning["message"].startswith(
        "7912345 / NSDP_CAN_DOI: plan 1.000,000 triệu đồng in this export differs from 700,500 triệu đồng"
    )
    assert chain.verify(store)["ok"]  # the approved file's copy is kept and checked too


def test_a_bad_approved_file_records_nothing(make_workbook, store, tmp_path):
    ok("review", make_workbook(round_1_lines()), "--round", 1, "--audit-db", store)
    approved = tmp_path / "phe_duyet.csv"
    approved.write_text(
        "Mã dự án,Nguồn vốn,Kế hoạch sau điều chỉnh\n7999999,NSDP_CAN_DOI,700\n7912345,NSDP_CAN_DOI,#REF!\n",
        encoding="utf-8",
    )
    result = run("decide", "latest", "--decision", DECISION, "--approved", approved, "--audit-db", store)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {approved}: nothing recorded; row 2: no line with project code '7999999'"
    )
    assert "C3: plan after adjustment '#REF!' is not a usable amount" in result.output
    assert chain.verify(store)["records"] == 1


def test_a_newer_schema_is_refused_and_left_untouched(make_workbook, sqlite_store):
    store = sqlite_store
    store.parent.mkdir(parents=True)
    with contextlib.closing(sqlite3.connect(store)) as conn:
        conn.execute("PRAGMA user_version = 99")
    before = sha256_file(store)
    path = make_workbook(round_1_lines())
    result = run("review", path, "--round", 1, "--audit-db", store)
    assert result.exit_code == 1
    assert result.output == (
        f"Error: audit store {store} has schema version 99, newer than this "
        f"engine knows ({schema.SCHEMA_VERSION}); upgrade disbursement — the "
        "store was left as it is\n"
    )
    assert run("audit", "runs", "--audit-db", store).exit_code == 1
    assert sha256_file(store) == before
    assert sorted(p.name for p in store.parent.iterdir()) == [store.name]


@pytest.mark.parametrize("content", [b"Ten du an;Ke hoach\n", b"SQLite format 3\x00" + b"\xff" * 200])
def test_a_foreign_or_damaged_store_is_refused(make_workbook, sqlite_store, content):
    store = sqlite_store
    store.parent.mkdir(parents=True)
    store.write_bytes(content)
    result = run("review", make_workbook(round_1_lines()), "--round", 1, "--audit-db", store)
    assert result.exit_code == 1
    assert result.output.startswith(
        f"Error: {store} is not an SQLite audit store"
    ) or result.output.startswith(f"Error: audit store {store} is damaged")
    assert "left as it is" in result.output and "Traceback" not in result.output
    assert store.read_bytes() == content


def test_no_audit_touches_no_store_and_the_env_var_picks_one(make_workbook, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = make_workbook(round_1_lines())
    ok("review", path, "--round", 1, "--no-audit")
    assert not (tmp_path / audit_store.DEFAULT_STORE).exists()
    monkeypatch.setenv(audit_store.ENV_VAR, str(tmp_path / "env.sqlite"))
    out = ok("review", path, "--round", 1)
    assert out.rstrip().endswith(f"vào {tmp_path / 'env.sqlite'}")
    assert len(queries.list_runs(None)) == 1
    missing = run("audit", "runs", "--audit-db", tmp_path / "khong_co.sqlite")
    assert missing.exit_code == 1 and "no audit store at" in missing.output
    assert not (tmp_path / "khong_co.sqlite").exists()


def test_show_accepts_a_prefix_and_refuses_an_unknown_run(two_rounds, store):
    out = ok("audit", "show", two_rounds[1][:10], "--audit-db", store)
    assert out.startswith(f"Run {two_rounds[1]} recorded ")
    assert "  input  " in out and "persisting" in out
    unknown = run("audit", "show", "ffff", "--audit-db", store)
    assert unknown.exit_code == 1
    assert unknown.output == ("Error: no run ffff in the audit store (see `disbursement audit runs`)\n")


def test_every_audit_command_is_documented():
    doc = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    for name in cli.commands["audit"].commands:
        assert f"disbursement audit {name}" in doc, name
    assert "disbursement decide" in doc and "--audit-db" in doc and "--no-audit" in doc


def test_replay_of_a_run_with_overrides_is_identical(make_workbook, store, tmp_path):
    overrides = tmp_path / "dieu_chinh.csv"
    overrides.write_text(
        "Mã dự án,Nguồn vốn,Loại,Số tiền,Lý do,Người phê duyệt\n"
        "7912345,NSDP_CAN_DOI,giảm,550,Chủ đầu tư xin giảm,Phó Giám đốc\n",
        encoding="utf-8",
    )
    ok(
        "review",
        make_workbook(round_1_lines()),
        "--round",
        1,
        "--audit-db",
        store,
        "--overrides",
        overrides,
        "--out",
        tmp_path / "out",
    )
    report = audit_replay.replay(store, "latest")
    assert report["records"]["status"] == "OK", report["records"]
    assert report["ok"] and all(f["status"] == "OK" for f in report["files"])
