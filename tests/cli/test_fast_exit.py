"""The console command ends with `os._exit` once its output is flushed (cli.app.main): the
whole output arrives, the exit status is the command's, and nothing is left half written."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from disbursement.cli.app import _exit_code

ROOT = Path(__file__).resolve().parents[2]
JUNE = ROOT / "sample_data" / "son_la_2022_den_30-06.xlsx"


def _run(*args: str, cwd: Path) -> subprocess.CompletedProcess[bytes]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "disbursement", *args], cwd=cwd, env=env, capture_output=True, timeout=120
    )


def test_the_whole_json_arrives_and_the_store_is_committed(tmp_path):
    store = tmp_path / "so.sqlite"
    done = _run("review", str(JUNE), "--round", "1", "--json", "--audit-db", str(store), cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    payload = json.loads(done.stdout)  # complete: the last byte was flushed before the exit
    assert len(payload["flags"]) == 37 and payload["audit"]["run_id"]
    verified = _run("audit", "verify", "--audit-db", str(store), cwd=tmp_path)
    assert verified.returncode == 0 and verified.stdout.startswith(b"Audit store OK: 1 records;")
    assert not list(tmp_path.glob("*.tmp*")) and sorted(p.name for p in tmp_path.iterdir()) == [
        "so.sqlite",
        "so.sqlite.files",
    ]


def test_the_exit_status_is_the_commands(tmp_path):
    missing = _run("review", "khong-co.xlsx", "--round", "1", "--no-audit", cwd=tmp_path)
    assert missing.returncode == 1
    assert missing.stderr.decode().splitlines() == ["Error: khong-co.xlsx: no such file"]
    usage = _run("review", cwd=tmp_path)
    assert usage.returncode == 2 and b"Missing argument 'FILES...'" in usage.stderr
    version = _run("--version", cwd=tmp_path)
    assert version.returncode == 0 and version.stdout.startswith(b"disbursement, version ")


@pytest.mark.parametrize("code, status", [(None, 0), (0, 0), (1, 1), (2, 2), (256 + 3, 3), ("bye", 1)])
def test_exit_codes_are_those_of_sys_exit(code, status, capsys):
    assert _exit_code(code) == status
    assert capsys.readouterr().err == ("bye\n" if code == "bye" else "")


def test_closed_descriptors_end_as_before(tmp_path):
    """A process started with stdout or stderr closed (`>&-`): Python gives it None streams."""
    for closed in (1, 2):
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        done = subprocess.run(
            [
                sys.executable,
                "-c",
                f"import os; os.close({closed}); os.execvp({sys.executable!r}, "
                f"[{sys.executable!r}, '-m', 'disbursement', '--version'])",
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            timeout=60,
        )
        assert done.returncode == 0, done.stderr
        assert b"Traceback" not in done.stderr + done.stdout


def test_importing_the_main_module_runs_nothing():
    done = subprocess.run(
        [sys.executable, "-c", "import disbursement.__main__; print('still here')"],
        env={**os.environ, "PYTHONPATH": str(ROOT)},
        capture_output=True,
        timeout=60,
    )
    assert done.returncode == 0 and done.stdout == b"still here\n"
