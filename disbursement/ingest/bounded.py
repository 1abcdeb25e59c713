"""Run a parser that a hostile file could drive without bound in a child with limits.

A damaged legacy .xls (BIFF) can make the Rust reader behind python-calamine grow without
bound or abort the whole process. Such a parse runs in a forked child whose address space is
capped with RLIMIT_AS (only ever lowered, never raised) and whose run time is capped by a
timeout; whatever happens there, this process gets a result or an `InputUnreadable` naming the
file — never an abort, never a hang.
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import pickle
import resource
from collections.abc import Callable
from typing import Any, TypeVar, cast

from disbursement.errors import DisbursementError, InputUnreadable

T = TypeVar("T")

# Headroom above what this process already maps, and the longest a parse may take (seconds).
MEMORY_HEADROOM_BYTES = int(os.environ.get("DISBURSEMENT_READ_MEMORY_MB", "2048")) * 1024 * 1024
TIMEOUT_SECONDS = float(os.environ.get("DISBURSEMENT_READ_TIMEOUT", "20"))


def _mapped_bytes() -> int:
    try:
        with open("/proc/self/statm") as handle:
            return int(handle.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _lower_memory_limit(headroom: int) -> None:
    """Cap the address space at what is mapped now plus `headroom`; never raise a limit."""
    soft, hard = resource.getrlimit(resource.RLIMIT_AS)
    wanted = _mapped_bytes() + headroom
    for limit in (soft, hard):
        if limit != resource.RLIM_INFINITY:
            wanted = min(wanted, limit)
    resource.setrlimit(resource.RLIMIT_AS, (wanted, hard))


def _child(conn: Any, call: Callable[..., Any], args: tuple[Any, ...], headroom: int) -> None:
    try:
        _lower_memory_limit(headroom)
        outcome: tuple[str, Any] = ("ok", call(*args))
    except MemoryError:
        outcome = ("memory", None)
    except DisbursementError as exc:
        outcome = ("refused", exc)
    except BaseException as exc:  # reported in the parent, located
        outcome = ("failed", f"{type(exc).__name__}: {str(exc)[:200]}")
    try:
        conn.send_bytes(pickle.dumps(outcome, protocol=pickle.HIGHEST_PROTOCOL))
    except MemoryError:
        conn.send_bytes(pickle.dumps(("memory", None)))
    finally:
        conn.close()


def run_bounded(
    name: str, call: Callable[..., T], *args: Any, timeout: float | None = None, headroom: int | None = None
) -> T:
    """`call(*args)` in a forked child with a memory cap and a timeout; its result here.

    Without fork (not on Linux/macOS) the call runs in this process, unbounded.
    """
    if "fork" not in multiprocessing.get_all_start_methods():
        return call(*args)
    timeout = TIMEOUT_SECONDS if timeout is None else timeout
    headroom = MEMORY_HEADROOM_BYTES if headroom is None else headroom
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(sender, call, args, headroom), daemon=True)
    child.start()
    sender.close()
    data = None
    timed_out = False
    try:
        if receiver.poll(timeout):
            with contextlib.suppress(EOFError, OSError):
                data = receiver.recv_bytes()
        else:
            timed_out = True
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join(5)
    if data is None:
        if timed_out:
            why = f"reading it took longer than {timeout:g} s"
        else:
            why = f"the reader stopped (exit code {child.exitcode})"
        raise InputUnreadable(
            f"{name}: cannot read the workbook ({why}; the file looks damaged); "
            "open it in Excel and save it again as .xlsx"
        )
    status, value = pickle.loads(data)
    if status == "ok":
        return cast(T, value)
    if status == "refused":
        raise value
    why = (
        "it needs more memory than the reader may use"
        if status == "memory"
        else f"the reader failed: {value}"
    )
    raise InputUnreadable(
        f"{name}: cannot read the workbook ({why}; the file looks damaged); "
        "open it in Excel and save it again as .xlsx"
    )
