"""A call run in a forked child while this process does the rest of the work.

The output writers (xlsxwriter, openpyxl, Jinja) and the audit record are pure Python: a
second core only helps from a second process. A forked child inherits the finished result as
it is in memory — nothing is pickled on the way in (a national result is hundreds of MB of
frames) — and sends back only what the call returns (file paths, a run id) or the exception it
raised. Without fork, or with one core, the call simply runs here when its result is asked
for. A child never outlives this process: on Linux it is killed when its parent dies (a writer
killed mid-record must not leave its child holding the store's lock).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import signal
import sys
from collections.abc import Callable
from typing import Any

from disbursement.errors import OutputError


def can_fork() -> bool:
    """Whether a `Job` runs in a child here (a second core, and fork)."""
    return (os.cpu_count() or 1) > 1 and hasattr(os, "fork")


class Job:
    """`call(*args)`, started now in a child when this machine can, its value by `result()`."""

    def __init__(self, call: Callable[..., Any], *args: Any, what: str, fork: bool = True) -> None:
        self.call, self.args, self.what = call, args, what  # `what` names it in an error
        self.pid: int | None = None
        self.reader: int | None = None
        if fork and can_fork():
            reader, writer = os.pipe()
            parent = os.getpid()
            try:
                pid = os.fork()
            except OSError:  # no memory or processes left for a child: run it here instead
                os.close(reader)
                os.close(writer)
                return
            if pid == 0:  # the child: run, report, leave without this process's exit handlers
                os.close(reader)
                _run_child(writer, call, args, parent)
            os.close(writer)
            self.pid, self.reader = pid, reader

    def result(self) -> Any:
        if self.pid is None:
            return self.call(*self.args)
        assert self.reader is not None
        with os.fdopen(self.reader, "rb") as pipe:
            self.reader = None
            payload = pipe.read()
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        ended = OutputError(
            f"the process writing {self.what} ended without finishing "
            f"(exit status {status}); nothing was written — run again"
        )
        if not payload:
            raise ended
        try:
            kind, value = pickle.loads(payload)
        except Exception:  # cut off by a child that died while writing it
            raise ended from None
        if kind == "error":
            raise value
        return value

    def cancel(self) -> None:
        """Stop the child if it still runs (the parent failed first); idempotent."""
        if self.reader is not None:
            os.close(self.reader)
            self.reader = None
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
            self.pid = None


def die_with_parent(parent: int) -> None:
    """In a forked child: ask Linux to SIGKILL it when its parent dies (prctl
    PR_SET_PDEATHSIG); leave at once if `parent` died before the signal was asked for."""
    if sys.platform.startswith("linux"):
        import ctypes

        with contextlib.suppress(OSError, AttributeError):
            ctypes.CDLL(None, use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() != parent:
        os._exit(1)


_PR_SET_PDEATHSIG = 1


def _run_child(writer: int, call: Callable[..., Any], args: tuple[Any, ...], parent: int) -> None:
    code = 0
    try:
        die_with_parent(parent)
        try:
            payload = pickle.dumps(("ok", call(*args)))
        except BaseException as exc:  # sent to the parent, which raises it
            code = 1
            try:
                payload = pickle.dumps(("error", exc))
            except Exception:
                payload = pickle.dumps(("error", OutputError(f"{type(exc).__name__}: {exc}")))
        with os.fdopen(writer, "wb") as pipe:
            pipe.write(payload)
    finally:
        os._exit(code)
