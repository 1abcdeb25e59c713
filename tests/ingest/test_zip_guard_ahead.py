"""The zip guards started ahead (`zip_guard.check_ahead`, while the command imports) give the
verdict `check_zip` would give, only for the file as it was checked, and leave no child."""

from __future__ import annotations

import os
import time

import pytest

from disbursement.errors import InputUnreadable
from disbursement.ingest import zip_guard
from disbursement.ingest.sheet import ReadLimits
from tests import hostile

CAN_FORK = hasattr(os, "fork") and (os.cpu_count() or 1) > 1
LIMITS = ReadLimits()


@pytest.fixture(autouse=True)
def _settled():
    yield
    zip_guard.settle()


def _refusal(path) -> str:
    with pytest.raises(InputUnreadable) as refused:
        zip_guard.check_zip(path, LIMITS)
    return str(refused.value)


def test_a_refusal_found_ahead_is_the_refusal_found_here(tmp_path):
    path = hostile.lying_bomb(tmp_path)
    here = _refusal(path)
    zip_guard.check_ahead([str(path)])
    assert _refusal(path) == here and "unpacks to more than" in here
    with pytest.raises(ChildProcessError):  # the child was reaped
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.skipif(not CAN_FORK, reason="checked ahead in a forked child only where fork exists")
def test_a_verdict_is_taken_only_for_the_file_as_it_was_checked(tmp_path, monkeypatch):
    path = hostile.base_workbook(tmp_path / "plan.xlsx")
    checked: list[str] = []
    check = zip_guard._check_zip

    def counted(p, limits):
        checked.append(str(p))
        check(p, limits)

    zip_guard.check_ahead([str(path)])
    monkeypatch.setattr(zip_guard, "_check_zip", counted)  # here, not in the child
    zip_guard.check_zip(path, LIMITS)
    assert checked == []  # the child's verdict was taken
    zip_guard.check_zip(path, LIMITS)
    assert checked == [str(path)]  # taken once: a second read checks again
    zip_guard.check_ahead([str(path)])
    time.sleep(0.01)
    os.utime(path, ns=(time.time_ns(), time.time_ns() + 10**9))  # changed since it was checked
    zip_guard.check_zip(path, LIMITS)
    assert checked == [str(path)] * 2
    zip_guard.check_ahead([str(path)])
    zip_guard.check_zip(path, ReadLimits(max_members=5_000))  # other limits: checked again
    assert checked == [str(path)] * 3


def test_only_zip_workbooks_that_exist_are_checked_ahead(tmp_path):
    zip_guard.check_ahead([str(tmp_path / "missing.xlsx"), str(tmp_path / "plan.csv")])
    assert zip_guard._AHEAD == []


def test_a_check_never_taken_is_stopped(tmp_path):
    path = hostile.base_workbook(tmp_path / "plan.xlsx")
    zip_guard.check_ahead([str(path)])
    assert len(zip_guard._AHEAD) == 1
    zip_guard.settle()
    assert zip_guard._AHEAD == [] and zip_guard._KNOWN == {}
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_a_review_that_fails_before_reading_stops_its_check(tmp_path):
    from click.testing import CliRunner

    from disbursement.cli.app import cli

    path = hostile.base_workbook(tmp_path / "plan.xlsx")
    done = CliRunner().invoke(
        cli, ["review", str(path), "--round", "1", "--rules", str(tmp_path / "missing.yaml"), "--no-audit"]
    )
    assert done.exit_code != 0 and "missing.yaml" in done.output
    assert zip_guard._AHEAD == []  # stopped when the command ended
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
