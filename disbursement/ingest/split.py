"""A large workbook's sheets read on two processes: this one and a forked second one.

Reading a sheet (python-calamine's cells) and understanding it (`ingest.understand`) are
Python work that holds the GIL, so threads cannot spread it over two cores. For a workbook
of SPLIT_MIN_BYTES or more, a child forked once the whole-file checks have passed (the zip
guards ran, no parser has) reads and understands every second visible worksheet and sends
back what each gave (`SheetOutcome`: a report, issues and lines, pickled); this process
reads the others. The sheets are given back in the workbook's order, so the load, its
issues and its reports are the same as from one process (tests/ingest/test_split.py).

The child is forked while the heap is still small (before the first sheet), never with a
read-ahead thread running, and dies with this process (`forked.die_with_parent`).
"""

from __future__ import annotations

import contextlib
import os
import pickle
import queue
import signal
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbursement.errors import DisbursementError, Issue
from disbursement.forked import die_with_parent
from disbursement.ingest.fingerprint import cheap_key
from disbursement.ingest.read import RawSheet, ReadLimits, SheetItem, check_file, iter_checked

# A workbook this large (~20k lines) is read on two processes; a smaller one gains less than
# the fork costs.
SPLIT_MIN_BYTES = 3_000_000
_LENGTH = struct.Struct("<Q")


@dataclass
class Understood:
    """A sheet the second process read and understood: its outcome and its cheap key (the
    duplicate check's; `SeenTables.first_with_key`)."""

    file: str
    sheet: str
    key: str
    outcome: Any


def understood_sheets(
    path: str | Path,
    read_issues: list[Issue],
    understand: Callable[[RawSheet], Any],
    understand_apart: Callable[[RawSheet], Any] | None = None,
    limits: ReadLimits | None = None,
) -> Iterator[RawSheet | Understood]:
    """The visible sheets of `path` in order: read here (RawSheet, for the caller to
    understand) or read and understood by the second process (Understood), which calls
    `understand_apart` (default `understand`): a variant that leaves out what is cheaper to
    make here than to send. The read's own issues are appended to `read_issues` in sheet
    order, as `read.iter_file` appends them."""
    path = Path(path)
    limits = limits or ReadLimits()
    kind = check_file(path, limits)  # InputUnreadable before any parser, as iter_file
    apart = understand_apart or understand
    child = _Child.start(path, limits, apart) if _worth_splitting(path, kind) else None
    try:
        for item in iter_checked(path, kind, limits, None if child is None else _even):
            if not item.theirs:
                read_issues.extend(item.issues)
                if item.sheet is not None:
                    yield item.sheet
                continue
            assert child is not None
            name, key, outcome, found = child.next(item)
            read_issues.extend(found)
            if outcome is not None:
                yield Understood(str(path), name, key, outcome)
        if child is not None:
            child.finish()
    finally:
        if child is not None:
            child.stop()


def _even(position: int) -> bool:
    return position % 2 == 0


def _odd(position: int) -> bool:
    return not _even(position)


def _worth_splitting(path: Path, kind: str) -> bool:
    return (
        kind == "zip"
        and path.stat().st_size >= SPLIT_MIN_BYTES
        and (os.cpu_count() or 1) > 1
        and hasattr(os, "fork")
        and threading.active_count() == 1  # never fork with another thread running
    )


class _Child:
    """The forked second reader and the thread that drains its pipe (so it never waits on a
    full pipe while this process reads its own sheets)."""

    def __init__(self, pid: int, pipe) -> None:
        self.pid: int | None = pid
        self.messages: queue.Queue[bytes | None] = queue.Queue()
        self.pipe = pipe
        self.drain = threading.Thread(target=self._drain, name="disbursement-second-reader", daemon=True)
        self.drain.start()

    @classmethod
    def start(cls, path: Path, limits: ReadLimits, understand: Callable[[RawSheet], Any]) -> _Child | None:
        parent = os.getpid()
        try:
            reader, writer = os.pipe()
        except OSError:  # no descriptors left: one process reads all (splitting is optional)
            return None
        _widen(writer)
        try:
            pid = os.fork()
        except OSError:  # no memory or processes left for a child: one process reads all
            os.close(reader)
            os.close(writer)
            return None
        if pid == 0:
            os.close(reader)
            _child_main(path, limits, understand, writer, parent)
        os.close(writer)
        pipe = os.fdopen(reader, "rb")
        try:
            return cls(pid, pipe)
        except BaseException:  # no drain thread (or interrupted): no child left behind
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
            os.waitpid(pid, 0)
            pipe.close()
            raise

    def _drain(self) -> None:
        """Whole messages into the queue; None at the end of the pipe or at a cut-off message
        (a child killed half way through writing one)."""
        try:
            while len(head := self.pipe.read(_LENGTH.size)) == _LENGTH.size:
                (size,) = _LENGTH.unpack(head)
                payload = self.pipe.read(size)
                if len(payload) != size:
                    break
                self.messages.put(payload)
        except (OSError, ValueError):  # the pipe closed under it: the read is over anyway
            pass
        finally:
            self.messages.put(None)

    def _message(self, when: str) -> tuple[str, Any] | None:
        payload = self.messages.get()
        if payload is None:
            return None
        try:
            return pickle.loads(payload)
        except Exception:  # a message that cannot be read back: as if the child died
            raise self._died(when) from None

    def next(self, item: SheetItem) -> tuple[str, str, Any, list[Issue]]:
        """(sheet, cheap key, outcome or None, read issues) of the child's next sheet."""
        when = f"before sheet '{item.name}'"
        message = self._message(when)
        if message is None:
            raise self._died(when)
        kind, value = message
        if kind == "error":
            raise value
        if value[0] != item.name:  # both walk the same workbook: never happens
            raise DisbursementError(f"the second reader gave sheet '{value[0]}' for '{item.name}'")
        return value

    def finish(self) -> None:
        """Every sheet was given: the child has nothing more to say. An error it raised after
        its last sheet (it had none, say) does not touch what was read; it is reaped."""
        message = self._message("after the last sheet")
        if message is None:
            self._reap(check=True)
            return
        if message[0] != "error":
            raise DisbursementError("the second reader sent more sheets than it was given")
        self._reap(check=False)

    def stop(self) -> None:
        """Kill the child if it still runs (this process failed first); idempotent."""
        if self.pid is not None:
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)
            self._reap(check=False)
        self.drain.join()  # the child is gone: its end of the pipe is closed, the drain ends
        self.pipe.close()

    def _reap(self, *, check: bool) -> None:
        assert self.pid is not None
        _, status = os.waitpid(self.pid, 0)
        self.pid = None
        if check and status != 0:
            raise self._died(f"with status {status}")

    def _died(self, when: str) -> DisbursementError:
        return DisbursementError(
            f"the process reading every second sheet ended {when} without finishing; "
            "nothing was reviewed — run again"
        )


def _widen(pipe: int) -> None:
    """A pipe that holds a whole sheet's message (~0.4 MB for 1,600 lines) where Linux allows
    it: the child's write then does not wait for this process's drain thread to get the GIL
    (0.27 s of a national workbook's 31 sheets were spent so). Best effort: a pipe of the
    default 64 KB works the same, only slower."""
    import fcntl  # POSIX: only a machine that forks gets here (`_worth_splitting`)

    if hasattr(fcntl, "F_SETPIPE_SZ"):  # Linux
        with contextlib.suppress(OSError):
            fcntl.fcntl(pipe, fcntl.F_SETPIPE_SZ, _PIPE_BYTES)


_PIPE_BYTES = 1 << 20  # Linux's default pipe-max-size for an unprivileged process


def _child_main(
    path: Path, limits: ReadLimits, understand: Callable[[RawSheet], Any], writer: int, parent: int
) -> None:
    code = 0
    try:
        die_with_parent(parent)
        with os.fdopen(writer, "wb") as pipe:
            try:
                for item in iter_checked(path, "zip", limits, _odd):
                    if item.theirs or item.position is None:
                        continue  # the first process's sheet, or a hidden one it reports
                    sheet = item.sheet
                    if sheet is None:
                        message: tuple[str, Any] = ("sheet", (item.name, "", None, item.issues))
                    else:
                        message = (
                            "sheet",
                            (item.name, cheap_key(sheet.cells), understand(sheet), item.issues),
                        )
                    _send(pipe, message)
            except BaseException as exc:  # sent to the first process, which raises it there
                code = 1
                try:
                    _send(pipe, ("error", exc))
                except Exception:
                    _send(pipe, ("error", DisbursementError(f"{type(exc).__name__}: {exc}")))
    finally:
        os._exit(code)


def _send(pipe, message: tuple[str, Any]) -> None:
    payload = pickle.dumps(message, protocol=pickle.HIGHEST_PROTOCOL)
    pipe.write(_LENGTH.pack(len(payload)) + payload)
    pipe.flush()
