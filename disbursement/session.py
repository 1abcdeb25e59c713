"""`review(...)`: the one composition of a review — run, compare with history, write, record.

The CLI's `review`, `audit replay` and a notebook all call this function, so a new option is
added in one place (`ReviewOptions`) and reaches all three. Every count and summary of issues
is made here, last, from the final records: after history and the output writer have added
theirs, before anything is written or recorded.

    >>> from disbursement.session import ReviewOptions, review
    >>> outcome = review(["plan.xlsx"], ReviewOptions(round=1), out_dir="out", audit_db=None)
    >>> outcome.result.summary["flagged"], outcome.run_id
"""

from __future__ import annotations

import contextlib
import datetime as dt
import gc
import os
import threading
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from pathlib import Path
from typing import IO, Any

from disbursement.audit.history import History, compare_with_history
from disbursement.audit.location import ENV_VAR, Location, locate
from disbursement.audit.record import LinesPart, lines_part, record_run
from disbursement.audit.store import check_store
from disbursement.config.issues import issue
from disbursement.errors import DisbursementError, issue_counts
from disbursement.forked import Job, can_fork
from disbursement.investors.review import ReplySource
from disbursement.model import RunResult
from disbursement.pipeline import run_round
from disbursement.render.flag_json import encode_flags
from disbursement.render.outputs import note_skipped_annotations, write_outputs
from disbursement.render.printed import PrintedAhead
from disbursement.render.records import EncodedList, proposal_json


@dataclass(frozen=True)
class ReviewOptions:
    """Everything that changes a review's result or outputs, as the user gave it.

    The field names are the keys recorded in the audit store (`recorded()`), which is how a
    replay gives each option back; keep them stable.
    """

    round: int
    year: int | None = None
    unit: str | None = None
    as_of: dt.date | None = None
    rules_path: str | Path | None = None
    overrides: str | Path | None = None
    lang: str = "vi"
    settings: str | Path | None = None
    templates_dir: str | Path | None = None
    date: dt.date | None = None  # the memo's date (default: the as-of date)
    replies: str | Path | None = None  # a folder of investors' returned request workbooks
    received: dt.date | None = None  # the date those replies were received
    use_recorded_replies: bool = False  # also the replies kept in the audit store for the year

    def recorded(self) -> dict[str, Any]:
        """The options as the audit store keeps them: every field, in declaration order."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_recorded(cls, recorded: Mapping[str, Any]) -> tuple[ReviewOptions, list[str]]:
        """Options from a recorded run, and the recorded keys this engine no longer knows."""
        known = {f.name for f in fields(cls)}
        ignored = sorted(k for k in recorded if k not in known)
        return cls(**{k: v for k, v in recorded.items() if k in known}), ignored


@dataclass
class ReviewOutcome:
    """What one review produced: the final result, the files written, where it was recorded."""

    result: RunResult
    written: dict[str, Path] = field(default_factory=dict)
    run_id: str | None = None
    store: Location | None = None
    # What was made of the final result for the record or for `--json` (`printed`), printed
    # instead of made again: the flag records' text (the records themselves are encoded as
    # they are made, never held together: `render.records.flag_records` gives them)
    flag_json: EncodedList | None = None  # flag_records as `--json` writes them
    # `--json` of a recorded national run: the result's members, written while it was
    # recorded (render/printed.py); the caller adds "audit" and "outputs", then closes it
    json_body: IO[bytes] | None = None

    @property
    def proposal(self) -> dict[str, Any] | None:
        """The proposal as `--json` prints it (made when asked for: the record writes its
        part from the proposal lines)."""
        return None if self.result.proposal is None else proposal_json(self.result.proposal)


@dataclass(frozen=True)
class AuditTarget:
    """Where a review is recorded: a store, nowhere (--no-audit), or nowhere because the
    implicit default cannot be created here (the review still runs and says so)."""

    store: Location | None
    unwritable_default: bool = False


def audit_target(audit_db: str | Path | None, *, enabled: bool = True) -> AuditTarget:
    """The store a review records into; refuses an unusable one before any work is done.

    Only the implicit default (./disbursement-audit.sqlite) in a folder one cannot write to is
    not an error: the review runs and an AUDIT-NOT-RECORDED warning says it was not recorded.
    """
    if not enabled:
        return AuditTarget(None)
    location = locate(audit_db)
    implicit = not audit_db and not os.environ.get(ENV_VAR)
    if (
        implicit
        and not location.is_postgres
        and not location.path.exists()
        and not _can_create_in(location.path.parent.resolve())
    ):
        return AuditTarget(None, unwritable_default=True)
    return AuditTarget(check_store(location))


def _can_create_in(folder: Path) -> bool:
    return os.access(folder, os.W_OK)


@contextlib.contextmanager
def gc_paused(*, resume: bool = True) -> Iterator[None]:
    """The block without the cyclic garbage collector, which it gives back as it found it.

    A review builds a heap of long-lived objects (the plan, its records) and frees almost
    nothing until it ends; the collector's full passes over that heap cost a third of a
    national run (13 passes over 1.2 GB at 100k lines) and free next to nothing. Reference
    counting still frees everything that is not in a cycle. `resume=False` leaves it off: the
    process ends next (`cli.app.main`), and the first collection after a run — every object
    of the run is still in the youngest generation — would walk the heap the OS is about to
    drop (0.1 s at 100k lines).
    """
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was and resume:
            gc.enable()


def review(
    paths: Sequence[str | Path],
    options: ReviewOptions,
    *,
    out_dir: str | Path | None = None,
    audit: AuditTarget | None = None,
    reviewer: str | None = None,
    history_upto: int | None = None,
    record: bool = True,
    printed: bool = False,
) -> ReviewOutcome:
    """Run one review round and do everything a review does with it, in this order.

    1. `pipeline.run_round` (read → … → propose; a run with nothing to review raises);
    2. compare with the store's history (flag life cycle, approved figures) — `history_upto`
       limits it to what the store held when a recorded run was made (replay). It is done
       once the flags are final, before the proposal, and for a national run the flag
       records are encoded meanwhile in a child (`_WhileProposing`); its issues come after
       the proposal's, as if it ran after;
    3. issue counts, made from the final issue records;
    4. outputs into `out_dir`, all files or none;
    5. the record in the audit store (unless `record` is false, as in a replay).

    `printed`: the caller prints the result as `--json`, so the flag records are encoded in
    step 2 even when the run is not recorded (`ReviewOutcome.flag_json`); a recorded national
    run's JSON members are then written by a child during step 5 (`ReviewOutcome.json_body`,
    a temporary file the caller reads and closes).

    The whole composition runs without the cyclic garbage collector (`gc_paused`).
    """
    with gc_paused():
        return _review(
            paths,
            options,
            out_dir=out_dir,
            audit=audit,
            reviewer=reviewer,
            history_upto=history_upto,
            record=record,
            printed=printed,
        )


def _review(
    paths: Sequence[str | Path],
    options: ReviewOptions,
    *,
    out_dir: str | Path | None,
    audit: AuditTarget | None,
    reviewer: str | None,
    history_upto: int | None,
    record: bool,
    printed: bool,
) -> ReviewOutcome:
    audit = audit if audit is not None else AuditTarget(None)
    if options.use_recorded_replies and audit.store is None:
        raise DisbursementError(
            "--use-recorded-replies reads the replies kept in the audit "
            "store: it cannot be used with --no-audit"
        )
    replies = ReplySource(
        (str(options.replies),) if options.replies else (),
        options.received,
        audit.store,
        options.use_recorded_replies,
    )
    ahead = _WhileProposing(audit.store, history_upto, record and audit.store is not None, printed)
    try:
        return _reviewed(paths, options, ahead, out_dir, audit, reviewer, replies)
    finally:
        ahead.cancel()


class _WhileProposing:
    """What is started before the proposal is made (`run_round`'s `before_proposal`), once
    the flags are final: the history compared (it reads the flags and the plan, not the
    proposal) and, for a run to be recorded or printed, its flag records encoded (and the
    record's lines block made). For a national run that is a forked child, working on the
    second core while the single-threaded proposal runs; for a small one (or without fork)
    the encoding runs here when it is asked for, before any output is written."""

    def __init__(self, store: Location | None, upto: int | None, record: bool, printed: bool) -> None:
        self.store, self.upto, self.record, self.printed = store, upto, record, printed
        self.history: History | None = None
        self.flags: Job | None = None

    def __call__(self, reviewed: RunResult) -> None:
        final = reviewed
        if self.store is not None:
            self.history = compare_with_history(self.store, reviewed, upto=self.upto)
            final = self.history.applied_to(reviewed)
        if self.record or self.printed:
            fork = len(final.flags) >= FORK_MIN_FLAGS and _alone()
            self.flags = Job(_encoded_flags, final, self.record, what="the flag records", fork=fork)

    def cancel(self) -> None:
        if self.flags is not None:
            self.flags.cancel()


# Flags from which encoding them in a child pays for the fork (~0.1 s of encoding a side).
FORK_MIN_FLAGS = 10_000
# Flags and issues from which writing `--json` in a child while the run is recorded pays.
PRINT_AHEAD_MIN = 10_000


def _encoded_flags(result: RunResult, record: bool) -> tuple[EncodedList, LinesPart | None]:
    """The flag records as `--json` prints them (made one by one, never kept) and the lines
    block of the record: what the proposal does not change."""
    flags = encode_flags(result)
    return flags, lines_part(result.plan) if record else None


def _reviewed(
    paths: Sequence[str | Path],
    options: ReviewOptions,
    ahead: _WhileProposing,
    out_dir: str | Path | None,
    audit: AuditTarget,
    reviewer: str | None,
    replies: ReplySource,
) -> ReviewOutcome:
    result = run_round(
        list(paths),
        options.round,
        year=options.year,
        rules_path=options.rules_path,
        as_of=options.as_of,
        unit=options.unit,
        overrides=options.overrides,
        replies=replies,
        before_proposal=ahead,
    )
    if audit.unwritable_default:
        result.issues.append(
            issue(
                "AUDIT-NOT-RECORDED",
                str(Path.cwd()),
                None,
                None,
                None,
                "the default audit store cannot be created in this folder (read-only?); the run was "
                f"not recorded — pass --audit-db PATH or set {ENV_VAR}",
            )
        )
    if audit.store is not None:
        assert ahead.history is not None  # run_round gives every result to `before_proposal`
        result = ahead.history.applied_to(result)
    # Before any file is written: a child that failed leaves nothing written, as it says.
    flag_json, lines = ahead.flags.result() if ahead.flags is not None else (None, None)
    if out_dir is not None:
        note_skipped_annotations(result)
    result.summary["issues"] = issue_counts(result.issues)
    written: dict[str, Path] = {}
    if out_dir is not None:
        written = write_outputs(
            result,
            out_dir,
            lang=options.lang,
            settings=options.settings,
            templates_dir=options.templates_dir,
            date=options.date,
        )
    run_id = None
    if ahead.record and result.reply_files:
        assert audit.store is not None
        from disbursement.audit.replies import record_replies
        from disbursement.audit.store import connect

        with connect(audit.store, create=True) as conn:
            record_replies(conn, result.reply_files, by=reviewer)
    body = None
    if ahead.record:
        assert audit.store is not None and flag_json is not None
        # a national run's --json is written by a child while the run is recorded (the
        # proposal's JSON is made there; the record writes its part from the lines)
        big = len(result.flags) + len(result.issues) >= PRINT_AHEAD_MIN
        ahead_too = ahead.printed and big and can_fork() and _alone()
        printer = PrintedAhead.start(result, flag_json) if ahead_too else None
        try:
            run_id = record_run(
                audit.store,
                result,
                reviewer=reviewer,
                input_paths=list(paths),
                output_paths=written,
                options=options.recorded(),
                flag_list=None,  # made by the record only if orjson could not write one
                flag_block=flag_json.packed if flag_json.plain else None,
                lines=lines,
            )
        except BaseException:
            if printer is not None:
                printer.cancel()
            raise
        body = printer.taken() if printer is not None else None
    return ReviewOutcome(result, written, run_id, audit.store, flag_json, body)


def _alone() -> bool:
    """No other thread runs (a notebook's, say): only then is a child forked, as its locks
    would stay taken in the child."""
    return threading.active_count() == 1
