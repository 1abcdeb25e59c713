"""A recorded national run's `--json` is written by a child while the run is recorded
(render/printed.py): the same bytes as when the command writes it, printed only once the run
is recorded, and left to the command when the child fails."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest
from click.testing import CliRunner

from disbursement import session
from disbursement.cli.app import cli
from disbursement.errors import DisbursementError
from disbursement.render import printed

ROOT = Path(__file__).resolve().parents[2]
SEPT = ROOT / "sample_data" / "son_la_2022_den_30-09.xlsx"
CAN_FORK = hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def _review(tmp_path: Path, name: str) -> tuple[int, str]:
    db = tmp_path / f"{name}.sqlite"
    done = CliRunner().invoke(cli, ["review", str(SEPT), "--round", "2", "--json", "--audit-db", str(db)])
    # the run id and the store differ from run to run; nothing else may
    text = re.sub(r'"run_id":"[0-9a-f]{32}"', '"run_id":"…"', done.stdout).replace(str(db), "STORE")
    return done.exit_code, text


@pytest.fixture(autouse=True)
def _can_fork(monkeypatch):
    """The printer is asked for only where a child can be forked: here, as if it could."""
    monkeypatch.setattr(session, "can_fork", lambda: True)


@pytest.fixture
def starts(monkeypatch) -> list:
    """The printers started (None where none could be)."""
    started: list = []
    start = printed.PrintedAhead.start.__func__

    def watched(cls, *args):
        started.append(start(cls, *args))
        return started[-1]

    monkeypatch.setattr(printed.PrintedAhead, "start", classmethod(watched))
    return started


@pytest.mark.parametrize("flags_apart", [False, True])
def test_json_written_while_recorded_is_the_json_written_after(tmp_path, monkeypatch, starts, flags_apart):
    """With or without the flag records encoded by their own child (`FORK_MIN_FLAGS`)."""
    monkeypatch.setattr(session, "FORK_MIN_FLAGS", 1 if flags_apart else 10**9)
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 10**9)
    code, after = _review(tmp_path, "after")
    assert code == 0 and starts == []
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 1)
    code, ahead = _review(tmp_path, "ahead")
    assert (code, ahead) == (0, after)
    assert len(starts) == 1 and starts[0] is not None
    assert (starts[0].job.pid is None) and starts[0].body.closed  # reaped, and let go
    assert '"audit": {"run_id":"…","store":"STORE"}\n}\n' in ahead


def test_a_printer_that_fails_leaves_the_printing_to_the_command(tmp_path, monkeypatch, starts):
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 10**9)
    expected = _review(tmp_path, "expected")
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 1)

    def broken(*_args):
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(printed, "_write_body", broken)
    assert _review(tmp_path, "fallback") == expected
    assert starts and starts[0] is not None and starts[0].body.closed


def test_no_temporary_file_means_no_printer(tmp_path, monkeypatch, starts):
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 10**9)
    expected = _review(tmp_path, "expected")
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 1)
    asked: list[int] = []

    def no_file():
        asked.append(1)
        raise OSError(13, "Permission denied")

    monkeypatch.setattr(printed.tempfile, "TemporaryFile", no_file)
    assert _review(tmp_path, "without") == expected
    assert asked == [1] and starts == [None]  # a printer was asked for, and none could be


@pytest.mark.skipif(not CAN_FORK, reason="the printer runs in a forked child only where fork exists")
def test_a_failed_record_prints_nothing_and_leaves_no_child(tmp_path, monkeypatch, starts):
    monkeypatch.setattr(session, "PRINT_AHEAD_MIN", 1)

    def failing(*_args, **_kwargs):
        raise DisbursementError("the audit store is locked")

    monkeypatch.setattr(session, "record_run", failing)
    done = CliRunner().invoke(
        cli, ["review", str(SEPT), "--round", "2", "--json", "--audit-db", str(tmp_path / "a.sqlite")]
    )
    assert done.exit_code == 1 and done.stdout == ""
    assert "the audit store is locked" in done.stderr
    assert len(starts) == 1 and starts[0].job.pid is None and starts[0].body.closed
    with pytest.raises(ChildProcessError):  # every child was reaped
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.skipif(not CAN_FORK, reason="the printer runs in a forked child only where fork exists")
def test_interrupted_while_waiting_leaves_no_child_and_no_file(tmp_path, monkeypatch):
    from disbursement.forked import Job

    def interrupted(self):
        raise KeyboardInterrupt

    ahead = printed.PrintedAhead.start(_result_of(), None)
    assert ahead is not None and ahead.job.pid is not None
    monkeypatch.setattr(Job, "result", interrupted)
    with pytest.raises(KeyboardInterrupt):
        ahead.taken()
    assert ahead.body.closed and ahead.job.pid is None
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def _result_of():
    from disbursement.pipeline import run_round

    return run_round([SEPT], 2)
