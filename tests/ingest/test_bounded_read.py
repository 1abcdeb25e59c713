"""A parse a hostile file can drive without bound runs in a child with a memory cap and timeout."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from disbursement.errors import InputUnreadable
from disbursement.ingest.bounded import run_bounded
from tests.conftest import line
from tests.fixtures_builder import SOFFICE_REASON, Converter, soffice
from tests.needs import need


def _grow() -> None:
    blocks = []
    while True:
        blocks.append(bytearray(64 * 1024 * 1024))


def _sleep() -> None:
    time.sleep(60)


def _abort() -> None:
    os.abort()


def _refuse() -> None:
    raise InputUnreadable("plan.xls: no such sheet")


def test_a_result_comes_back_from_the_child():
    assert run_bounded("plan.xls", sorted, [3, 1, 2]) == [1, 2, 3]


def test_a_parse_that_grows_without_bound_is_stopped_by_the_memory_cap():
    with pytest.raises(InputUnreadable, match=r"plan\.xls: .*more memory"):
        run_bounded("plan.xls", _grow, headroom=256 * 1024 * 1024)


def test_a_parse_that_never_ends_is_stopped_by_the_timeout():
    start = time.monotonic()
    with pytest.raises(InputUnreadable, match=r"plan\.xls: .*longer than 1 s"):
        run_bounded("plan.xls", _sleep, timeout=1)
    assert time.monotonic() - start < 10


def test_an_abort_in_the_reader_is_a_located_error_not_a_dead_process():
    with pytest.raises(InputUnreadable, match=r"plan\.xls: .*exit code"):
        run_bounded("plan.xls", _abort)


def test_a_refusal_inside_the_child_keeps_its_message():
    with pytest.raises(InputUnreadable, match="no such sheet"):
        run_bounded("plan.xls", _refuse)


def _need_soffice() -> None:
    need(None if soffice() else SOFFICE_REASON)


def test_a_legacy_xls_with_a_zeroed_tail_ends_in_one_error_line(make_workbook, tmp_path):
    _need_soffice()
    xlsx = make_workbook(
        [line(f"70000{i:02d}", f"Đường liên xã số {i}", plan="1.000", disbursed="100") for i in range(40)]
    )
    (tmp_path / "cache").mkdir()
    xls = Converter(tmp_path / "cache").convert(xlsx, "xls", tmp_path / "ke_hoach.xls")
    data = bytearray(xls.read_bytes())
    half = len(data) // 2
    data[half:] = bytes(len(data) - half)
    xls.write_bytes(bytes(data))
    before = xls.read_bytes()
    start = time.monotonic()
    run = subprocess.run(
        [sys.executable, "-m", "disbursement", "review", str(xls), "--round", "1", "--no-audit"],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=tmp_path,
    )
    assert time.monotonic() - start < 20 + 10  # the read's own limit, plus start-up
    assert run.returncode == 1, run.stdout + run.stderr
    lines = run.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("Error:") and "ke_hoach.xls" in lines[0]
    assert xls.read_bytes() == before


def _killed() -> None:
    os.kill(os.getpid(), 9)


def test_a_reader_killed_from_outside_is_not_called_slow():
    with pytest.raises(InputUnreadable, match=r"exit code -9") as caught:
        run_bounded("plan.xls", _killed, timeout=30)
    assert "longer than" not in str(caught.value)
