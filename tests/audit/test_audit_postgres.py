"""The shared store on a real PostgreSQL server: concurrency, faults, roles, bad addresses.

Needs DISBURSEMENT_TEST_PG (set by .ci/start-postgres); skips without it, fails under CI=true.
"""

from __future__ import annotations

import json
import os
import re
import secrets
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from click.testing import CliRunner

from disbursement.audit import chain, queries
from disbursement.audit.record import PAUSE_ENV
from disbursement.cli import cli
from disbursement.files import sha256_file
from tests.audit_backends import (  # noqa: F401 (fixtures)
    fetch,
    pg_schema_url,
    rewrite_block,
    run_sql,
    server_url,
    tamper,
    with_params,
)
from tests.conftest import line

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "PYTHONWARNINGS": "error"}


def lines():
    return [
        line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="400", expected_dong="500"),
        line("7912346", "Trường THCS xã Mường Bú", disbursed="450", expected_dong="600"),
        line("7912347", "Cầu bản Púng", disbursed="900"),
    ]


def review_process(path, store, reviewer, cwd, env=ENV):
    return subprocess.Popen(
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
            store,
            "--reviewer",
            reviewer,
        ],
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def invoke(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


@pytest.fixture
def new_database():
    """The done-when address: postgresql:///DBNAME?host=… (peer authentication), a new database."""
    base = server_url()
    name = f"disbursement_new_{secrets.token_hex(4)}"
    _retried(base, f"CREATE DATABASE {name}")
    yield re.sub(r"^(postgres(?:ql)?://[^/]*)/[^?]*", rf"\1/{name}", base)
    _retried(base, f"DROP DATABASE {name} WITH (FORCE)")


def _retried(base, statement):
    """CREATE / DROP DATABASE fail while another session uses the template or the database."""
    import psycopg

    for attempt in range(5):
        try:
            return run_sql(base, statement)
        except psycopg.errors.ObjectInUse:
            if attempt == 4:
                raise
            time.sleep(1)


@pytest.mark.postgres
def test_two_concurrent_reviews_into_a_new_database_both_land(make_workbook, new_database, tmp_path):
    path = make_workbook(lines())
    procs = [review_process(path, new_database, f"cán bộ {i}", tmp_path) for i in range(2)]
    outputs = [p.communicate(timeout=180) for p in procs]
    for proc, (_, stderr) in zip(procs, outputs, strict=True):
        assert proc.returncode == 0, stderr
    ids = {json.loads(out)["audit"]["run_id"] for out, _ in outputs}
    listed = json.loads(invoke("audit", "runs", "--json", "--audit-db", new_database).output)
    assert {r["run_id"] for r in listed} == ids and len(ids) == 2
    assert {r["db_role"] for r in listed} == {fetch(new_database, "SELECT current_user")[0][0]}
    verified = invoke("audit", "verify", "--audit-db", new_database)
    assert verified.exit_code == 0 and verified.output.startswith("Audit store OK: 2 records;")
    assert not any(p.name.startswith("postgres") or p.suffix == ".sqlite" for p in tmp_path.rglob("*"))
    # an UPDATE of one recorded amount is named by verify
    rewrite_block(
        new_database,
        2,
        "lines",
        lambda c: {**c, "disbursed_dong": [c["disbursed_dong"][0] + 1, *c["disbursed_dong"][1:]]},
    )
    broken = invoke("audit", "verify", "--audit-db", new_database)
    second = fetch(new_database, "SELECT run_id FROM runs WHERE seq = 2")[0][0]
    assert broken.exit_code == 1
    assert broken.output.startswith(f"Chain broken at run {second} (record 2): its content")


@pytest.mark.postgres
def test_four_processes_three_reviews_each_make_one_chain(make_workbook, pg_schema_url, tmp_path, capsys):
    path = make_workbook(lines())
    script = (
        "import sys\n"
        "from click.testing import CliRunner\n"
        "from disbursement.cli import cli\n"
        "for _ in range(3):\n"
        "    res = CliRunner().invoke(cli, ['review', sys.argv[1], '--round', '1', '--json',"
        " '--audit-db', sys.argv[2], '--reviewer', sys.argv[3]])\n"
        "    assert res.exit_code == 0, res.output\n"
    )
    start = time.monotonic()
    workers = [
        subprocess.Popen(
            [sys.executable, "-c", script, str(path), pg_schema_url, f"cán bộ {w}"],
            cwd=tmp_path,
            env=ENV,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for w in range(4)
    ]
    for worker in workers:
        _, err = worker.communicate(timeout=600)
        assert worker.returncode == 0, err
    seconds = time.monotonic() - start
    report = chain.verify(pg_schema_url)
    runs = queries.list_runs(pg_schema_url)
    assert report["ok"] and report["records"] == 12 and len(runs) == 12
    assert [r["seq"] for r in runs] == list(range(1, 13))
    assert sorted(r["run_id"] for r in runs) == [r["run_id"] for r in runs]  # ids in chain order
    assert {r["reviewer"] for r in runs} == {f"cán bộ {w}" for w in range(4)}
    with capsys.disabled():
        print(
            f"\n  concurrency: 4 processes x 3 reviews -> {len(runs)} runs, chain length "
            f"{report['records']}, verify OK, {seconds:.1f} s"
        )


@pytest.mark.postgres
def test_a_writer_killed_mid_record_leaves_no_partial_run(make_workbook, pg_schema_url, tmp_path, capsys):
    path = make_workbook(lines())
    first = invoke("review", path, "--round", "1", "--audit-db", pg_schema_url)
    assert first.exit_code == 0, first.output
    marker = tmp_path / "paused"
    start = time.monotonic()
    proc = review_process(path, pg_schema_url, "bị dừng", tmp_path, env={**ENV, PAUSE_ENV: str(marker)})
    while not marker.exists():
        assert proc.poll() is None, proc.communicate()
        assert time.monotonic() - start < 120
        time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.communicate(timeout=30)
    seconds = time.monotonic() - start
    report = chain.verify(pg_schema_url)
    assert report["ok"] and report["records"] == 1, report
    assert fetch(pg_schema_url, "SELECT part, rows FROM run_blocks WHERE part = 'lines'") == [("lines", 3)]
    assert [r["reviewer"] for r in queries.list_runs(pg_schema_url)] != ["bị dừng"]
    # the next writer is not blocked by the dead one's lock
    after = invoke("review", path, "--round", "1", "--audit-db", pg_schema_url)
    assert after.exit_code == 0, after.output
    assert chain.verify(pg_schema_url)["records"] == 2
    with capsys.disabled():
        print(
            f"\n  fault: writer SIGKILLed before COMMIT after {seconds:.1f} s -> chain length "
            "1, verify OK, partial run absent; next writer recorded (chain length 2)"
        )


@pytest.mark.postgres
def test_replay_from_the_server_needs_nothing_from_disk(make_workbook, pg_schema_url, tmp_path):
    path = make_workbook(lines())
    out = tmp_path / "out"
    done = invoke("review", path, "--round", "1", "--audit-db", pg_schema_url, "--out", out)
    assert done.exit_code == 0, done.output
    recorded = {p.name: sha256_file(p) for p in out.iterdir()}
    path.unlink()  # the officer's copy is gone; the database holds the input
    report = json.loads(invoke("audit", "replay", "latest", "--json", "--audit-db", pg_schema_url).output)
    assert report["ok"], report
    assert {f["name"]: f["replayed"] for f in report["files"]} == {
        name: sha for name, sha in recorded.items() if name in {f["name"] for f in report["files"]}
    }
    assert len(report["files"]) == len(recorded)


@pytest.mark.postgres
def test_copy_sqlite_to_postgresql_and_back_keeps_every_hash(make_workbook, pg_schema_url, tmp_path):
    path = make_workbook(lines())
    sqlite = tmp_path / "may-ca-nhan.sqlite"
    for _ in range(2):
        assert invoke("review", path, "--round", "1", "--audit-db", sqlite).exit_code == 0
    assert (
        invoke("decide", "latest", "--decision", "Quyết định số 1/QĐ-UBND", "--audit-db", sqlite).exit_code
        == 0
    )
    there = invoke("audit", "copy", "--from", sqlite, "--to", pg_schema_url)
    assert there.exit_code == 0, there.output
    head = chain.verify(sqlite)["head"]
    assert there.output.startswith("Copied 3 records and 1 stored files from ")
    assert chain.verify(pg_schema_url)["head"] == head
    back = tmp_path / "ve-lai.sqlite"
    assert invoke("audit", "copy", "--from", pg_schema_url, "--to", back).exit_code == 0
    assert chain.verify(back) == {**chain.verify(sqlite)}
    again = invoke("audit", "copy", "--from", sqlite, "--to", pg_schema_url)
    assert again.exit_code == 1 and "already holds 3 records" in again.output
    # the copy on the server keeps recording after the copied ids, with the role (hash v4) …
    assert invoke("review", path, "--round", "1", "--audit-db", pg_schema_url).exit_code == 0
    assert chain.verify(pg_schema_url)["records"] == 4
    assert fetch(pg_schema_url, "SELECT hash_version FROM runs ORDER BY seq") == [(4,), (4,), (4,)]
    assert fetch(pg_schema_url, "SELECT db_role IS NULL FROM runs ORDER BY seq") == [
        (True,),
        (True,),
        (False,),
    ]
    # … and a server store with runs of both back ends verifies again as an SQLite file
    mixed = tmp_path / "tu-may-chu.sqlite"
    assert invoke("audit", "copy", "--from", pg_schema_url, "--to", mixed).exit_code == 0
    assert chain.verify(mixed)["ok"] and chain.verify(mixed)["head"] == chain.verify(pg_schema_url)["head"]


@pytest.mark.parametrize(
    "address, says",
    [
        ("mysql://localhost/audit", "unknown scheme 'mysql:'"),
        ("postgresql://127.0.0.1:1/audit", "database audit on host 127.0.0.1:1"),
        (
            "postgresql:///khong_co_csdl?host=/var/run/postgresql",
            "database khong_co_csdl on host /var/run/postgresql",
        ),
    ],
)
def test_a_bad_address_is_one_error_line_and_creates_nothing(
    make_workbook, tmp_path, monkeypatch, address, says
):
    if "khong_co" in address:
        server_url()
    elif address.startswith("postgresql"):
        pytest.importorskip("psycopg", reason="psycopg is not installed (make venv installs it)")
    path = make_workbook(lines())
    work = tmp_path / "work"
    work.mkdir()
    monkeypatch.chdir(work)
    for args in (
        ["review", path, "--round", "1", "--audit-db", address],
        ["audit", "runs", "--audit-db", address],
    ):
        result = invoke(*args)
        assert result.exit_code == 1
        assert result.output.startswith("Error: ") and result.output.count("\n") == 1, result.output
        assert says in result.output and "Traceback" not in result.output
    assert list(work.iterdir()) == []


def _role(base: str, name: str, grants: str, password: str) -> str:
    """A password role given `grants` (the docs' SQL for the database `disbursement_audit` and
    schema `public`, here the test's); its URL over TCP with `password`."""
    run_sql(base, f"CREATE ROLE {name} LOGIN PASSWORD '{password}'")
    database = fetch(base, "SELECT current_database()")[0][0]
    schema = re.search(r"search_path%3D(\w+)", base).group(1)
    grants = re.sub(r"\bpublic\b", schema, grants.replace("disbursement_audit", database))
    for statement in grants.replace("{role}", name).split(";"):
        if statement.strip():
            run_sql(base, statement)
    port = re.search(r"[?&]port=(\d+)", base)
    server = "localhost" + (f":{port.group(1)}" if port else "")
    return with_params(
        f"postgresql://{name}:{{password}}@{server}/{database}", options=f"-csearch_path%3D{schema}"
    )


def done_engine() -> str:
    from disbursement import __version__

    return __version__


def _docs_grants(title: str) -> str:
    doc = (ROOT / "docs" / "audit.md").read_text(encoding="utf-8")
    block = doc.split(f"-- {title}\n", 1)[1].split("```", 1)[0]
    return block


@pytest.mark.postgres
def test_roles_a_recording_role_records_a_reader_reads_and_is_refused(make_workbook, pg_schema_url):
    base = pg_schema_url
    suffix = secrets.token_hex(3)
    path = make_workbook(lines())
    owner = invoke("review", path, "--round", "1", "--audit-db", base)  # the owner makes tables
    assert owner.exit_code == 0, owner.output
    secret = secrets.token_hex(8)
    recorder = _role(base, f"disb_rec_{suffix}", _docs_grants("recording role"), secret)
    reader_url = _role(base, f"disb_read_{suffix}", _docs_grants("read-only auditing role"), secret)
    recorder, reader = recorder.format(password=secret), reader_url.format(password=secret)
    try:
        done = invoke("review", path, "--round", "1", "--audit-db", recorder, "--reviewer", "Hoa")
        assert done.exit_code == 0, done.output
        runs = json.loads(invoke("audit", "runs", "--json", "--audit-db", reader).output)
        assert [(r["reviewer"], r["db_role"]) for r in runs][1] == ("Hoa", f"disb_rec_{suffix}")
        assert invoke("audit", "verify", "--audit-db", reader).exit_code == 0
        table = invoke("audit", "runs", "--audit-db", reader).output
        assert f" Hoa (disb_rec_{suffix}) " in table
        shown = invoke("audit", "show", "latest", "--audit-db", reader).output
        assert f"(engine {done_engine()}, database role disb_rec_{suffix})" in shown
        refused = invoke("review", path, "--round", "1", "--audit-db", reader)
        assert refused.exit_code == 1 and refused.output.count("\n") == 1, refused.output
        assert refused.output.startswith(
            f"Error: database role disb_read_{suffix} may not write to the audit store"
        )
        wrong = invoke("audit", "runs", "--audit-db", reader_url.format(password="sai"))
        assert wrong.exit_code == 1 and "on host localhost" in wrong.output
        assert "password" in wrong.output and wrong.output.count("\n") == 1
        assert chain.verify(base)["records"] == 2
    finally:
        schema = re.search(r"search_path%3D(\w+)", base).group(1)
        database = fetch(base, "SELECT current_database()")[0][0]
        for name in (f"disb_rec_{suffix}", f"disb_read_{suffix}"):
            run_sql(base, f"REVOKE ALL ON ALL TABLES IN SCHEMA {schema} FROM {name}")
            run_sql(base, f"REVOKE ALL ON ALL SEQUENCES IN SCHEMA {schema} FROM {name}")
            run_sql(base, f"REVOKE ALL ON SCHEMA {schema} FROM {name}")
            run_sql(base, f"REVOKE ALL ON DATABASE {database} FROM {name}")
            run_sql(base, f"DROP ROLE {name}")
