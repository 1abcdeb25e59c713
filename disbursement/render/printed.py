"""A recorded national run's `review --json`, written on a second core while it is recorded.

Recording a run (audit/record.py) and writing its `--json` (~100 MB at 100k lines) are each
a few tenths of a second of single-threaded Python that need nothing of each other but the
run id, which the JSON names last ("audit" follows every member of the result). So a forked
child writes the result's members to an anonymous temporary file while this process records
the run; the command then copies them out and adds the members only the record knows. What
reaches stdout is the same bytes as `write_json` of the whole payload, and only once the run
is recorded (a failed record prints nothing). A child that fails, or a temporary file that
cannot be made, leaves the printing to the command as before (`taken` gives None).
"""

from __future__ import annotations

import tempfile
from typing import IO

from disbursement.forked import Job
from disbursement.model import RunResult
from disbursement.render.records import EncodedList, result_json, write_members


class PrintedAhead:
    """The members of `result_json(result, …)` being written to a temporary file by a child."""

    def __init__(self, body: IO[bytes], job: Job) -> None:
        self.body, self.job = body, job

    @classmethod
    def start(cls, result: RunResult, flags: EncodedList | None) -> PrintedAhead | None:
        """Started now in a forked child; None when no temporary file can be made."""
        try:
            body = tempfile.TemporaryFile()  # noqa: SIM115 (closed by `taken`'s caller or `cancel`)
        except OSError:
            return None
        try:
            return cls(body, Job(_write_body, body, result, flags, what="the JSON result"))
        except BaseException:
            body.close()
            raise

    def taken(self) -> IO[bytes] | None:
        """The file of written members, from its start; None when the child did not write
        them all (the caller then writes the JSON itself, as without this)."""
        try:
            self.job.result()
        except Exception:
            self.body.close()
            return None
        except BaseException:  # interrupted while waiting: nothing left behind
            self.cancel()
            raise
        self.body.seek(0)
        return self.body

    def cancel(self) -> None:
        """The run failed first: the child is stopped and the file let go; idempotent."""
        self.job.cancel()
        self.body.close()


def _write_body(body: IO[bytes], result: RunResult, flags: EncodedList | None) -> None:
    """The members, the proposal's JSON made here (the record writes its own part's text)."""
    write_members(result_json(result, flags=flags, lazy=True), body)
    body.flush()
