"""forked.Job: a child never outlives its parent (a killed writer must not leave a child that
holds the audit store's lock)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time

import pytest

from disbursement.forked import Job

PARENT = textwrap.dedent(
    """
    import os, sys, time
    from disbursement.forked import Job

    def sleeper(marker):
        with open(marker, "w") as f:
            f.write(str(os.getpid()))
        time.sleep(60)

    job = Job(sleeper, sys.argv[1], what="a test")
    job.result()
    """
)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat", encoding="ascii") as stat:  # a zombie is not alive
        return stat.read().rsplit(")", 1)[1].split()[0] != "Z"


LINUX_TWO_CORES = sys.platform.startswith("linux") and (os.cpu_count() or 1) > 1


@pytest.mark.skipif(not LINUX_TWO_CORES, reason="needs Linux and two cores")
def test_the_child_dies_with_its_parent(tmp_path):
    marker = tmp_path / "child.pid"
    parent = subprocess.Popen([sys.executable, "-c", PARENT, str(marker)])
    deadline = time.monotonic() + 60
    while not marker.exists() or not marker.read_text():
        assert parent.poll() is None and time.monotonic() < deadline
        time.sleep(0.05)
    child = int(marker.read_text())
    assert child != parent.pid and _alive(child)
    parent.send_signal(signal.SIGKILL)
    parent.wait(timeout=30)
    while _alive(child):
        assert time.monotonic() < deadline, "the child outlived its killed parent"
        time.sleep(0.05)


def test_a_job_without_fork_runs_here():
    job = Job(os.getpid, what="a test", fork=False)
    assert job.result() == os.getpid()
