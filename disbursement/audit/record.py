"""Recording one review run: its rows in every table and its link in the chain, in one
transaction (so a writer killed half way leaves nothing), on either back end.

The rows are made once, in memory, with the column types they are stored with (int / str /
None), and the record hash is computed from them: nothing is read back. A run's many rows —
lines, flags, proposal lines, issues — are written as one compressed block each (hash
version 4, audit/blocks.py); the few (inputs, sheets, overrides, outputs) as table rows."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import operator
import os
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disbursement.audit import blobs, blocks
from disbursement.audit import rows as lean_rows
from disbursement.audit.chain import (
    RUN_HASH_VERSION,
    canonical_bytes,
    chain_head,
    seal,
)
from disbursement.audit.proposal_text import REFUSED, proposal_text
from disbursement.audit.store import Db, connect, current_user, new_id, utc_now
from disbursement.files import sha256_file
from disbursement.model import RunResult
from disbursement.render.records import flag_records, proposal_json
from disbursement.version import __version__

FILE_OPTIONS = ("overrides", "settings")  # options naming a file the run read: kept like inputs
DIR_OPTIONS = ("templates_dir", "replies")  # options naming a folder: every file in it is kept
DATE_OPTIONS = ("as_of", "date", "received")  # recorded as ISO text
# Test-only: a file path; the writer creates it once the run's rows are written (before
# COMMIT) and waits, so a test can kill it mid-record. Never set in use.
PAUSE_ENV = "DISBURSEMENT_AUDIT_TEST_PAUSE"
_RUN_INSERT = (
    "seq, run_id, recorded_at, reviewer, engine_version, year, round, rule_id, "
    "round_name, as_of, threshold_pct, rules_path, rules_sha256, options, summary, "
    "policy, hash_version, db_role, prev_hash, record_hash"
)


def record_run(
    db: Db,
    result: RunResult,
    *,
    reviewer: str | None = None,
    rules_text: str | None = None,
    input_paths: Iterable[Any] | None = None,
    output_paths: Mapping[str, str | os.PathLike[str]] | None = None,
    engine_version: str | None = None,
    overrides: Iterable[Any] | None = None,
    options: Mapping[str, Any] | None = None,
    flag_list: list[dict[str, Any]] | None = None,
    flag_block: bytes | None = None,
    lines: LinesPart | None = None,
) -> str:
    """Record one review run (a `RunResult`) and return its run id.

    `input_paths` default to `result.inputs`, `rules_text` to the content of
    `result.rules_path`. `options` are the options as the user gave them, named like the
    keyword arguments of `pipeline.run_round` and `outputs.write_outputs` (plus `round`), so
    that replay can pass each one back; the files and folders they name (`FILE_OPTIONS`,
    `DIR_OPTIONS`) are kept in the store like the inputs. `overrides` are dicts (or
    dataclasses) with reason and approver; by default the overrides marked on the proposal.
    `flag_list` is `flag_records(result)` when the caller has made it already (it is not made
    twice; the proposal's part is written from the proposal lines, audit/proposal_text.py);
    `flag_block` the flag records as `--json` writes them, compressed, all by orjson
    (`encode_list(...).packed` when `.plain`): kept as the flags block as it is; `lines`
    the lines block as `lines_part(result.plan)` makes it.
    """
    rows = _run_rows(
        result,
        overrides,
        flag_list=flag_list,
        flag_block=flag_block,
        lines=lines,
    )
    rules_text = rules_text if rules_text is not None else Path(result.rules_path).read_text(encoding="utf-8")
    rules_sha = hashlib.sha256(rules_text.encode("utf-8")).hexdigest()
    info = result.round
    opts = {
        k: str(v) if isinstance(v, os.PathLike) else v.isoformat() if isinstance(v, dt.date) else v
        for k, v in (options or {"round": info.number, "year": info.year, "as_of": info.as_of}).items()
    }
    files: list[tuple[str, str, Any]] = [
        ("input", str(p), p) for p in (input_paths if input_paths is not None else result.inputs)
    ]
    files += [(key, str(opts[key]), opts[key]) for key in FILE_OPTIONS if opts.get(key)]
    for key in DIR_OPTIONS:
        if opts.get(key):
            folder = Path(opts[key])
            files += [
                (key, f.relative_to(folder).as_posix(), f) for f in sorted(folder.rglob("*")) if f.is_file()
            ]
    contents = [blobs.read_source(path) for _, _, path in files]
    outputs = [
        (str(name), str(p), int(Path(p).stat().st_size), sha256_file(p))
        for name, p in sorted((output_paths or {}).items())
    ]
    with connect(db, create=True) as conn:
        role = conn.role()
        with conn.transaction():
            inputs = [
                (i, str(role_), str(name), *reversed(blobs.keep(conn, data)))
                for i, ((role_, name, _), data) in enumerate(zip(files, contents, strict=True))
            ]
            seq, prev = chain_head(conn)
            seq += 1
            run_id = new_id()  # inside the lock: ids sort in chain order
            run = dict(
                zip(
                    _RUN_INSERT.split(", "),
                    (
                        seq,
                        run_id,
                        utc_now(),
                        str(reviewer or current_user()),
                        str(engine_version or __version__),
                        int(info.year),
                        int(info.number),
                        str(info.rule_id),
                        str(info.name),
                        info.as_of.isoformat(),
                        None if info.threshold_pct is None else int(info.threshold_pct),
                        str(opts.get("rules_path") or result.rules_path),
                        rules_sha,
                        _text(opts),
                        _text(result.summary),
                        _text(rows["policy"]) if rows["policy"] is not None else None,
                        RUN_HASH_VERSION,
                        role,
                        prev,
                        "",
                    ),
                    strict=True,
                )
            )
            conn.execute(
                "INSERT INTO rules_texts VALUES (?, ?) ON CONFLICT DO NOTHING", (rules_sha, rules_text)
            )
            conn.execute(
                f"INSERT INTO runs ({_RUN_INSERT}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                tuple(run.values()),
            )
            conn.executemany("INSERT INTO inputs VALUES (?,?,?,?,?,?)", [(seq, *i) for i in inputs])
            conn.executemany("INSERT INTO sheets VALUES (?,?,?,?,?)", [(seq, *r) for r in rows["sheets"]])
            for table, values in (("overrides", rows["overrides"]), ("outputs", outputs)):
                if values:
                    marks = ",".join("?" * (len(values[0]) + 1))
                    conn.executemany(f"INSERT INTO {table} VALUES ({marks})", [(seq, *v) for v in values])
            # The hash covers exactly what `chain.record_content` reads back (no read-back here).
            del run["prev_hash"], run["record_hash"]
            content = {
                "run": run,
                "rules_text": rules_text,
                "inputs": inputs,
                "sheets": rows["sheets"],
                "overrides": rows["overrides"],
                "outputs": outputs,
                "blocks": blocks.write(conn, seq, rows["blocks"]),
            }
            seal(conn, "run", seq, prev, content)
            _pause_point()
    return run_id


def _text(value: Any) -> str:
    """A JSON text column (options, summary, policy, the override rows' rest): the canonical
    form."""
    return canonical_bytes(value).decode("utf-8")


def _column(found: list[Any], name: str, convert: Callable[[Any], Any]) -> list[Any]:
    """The attribute `name` of every issue, each `convert`ed; one C-level pass where the
    values are already of their column's type (almost always), one call each where not."""
    values = list(map(operator.attrgetter(name), found))
    kinds = set(map(type, values))
    wanted = {type(None), int if convert is _int else str}
    return values if kinds <= wanted else list(map(convert, values))


def _str(value: Any) -> str | None:
    return None if value is None else value if type(value) is str else str(value)


def _int(value: Any) -> int | None:
    return None if value is None else value if type(value) is int else int(value)


def _pause_point() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(600)


def _opt(value: Any) -> Any:
    return None if value is None or value is pd.NA or (isinstance(value, float) and value != value) else value


_TEXT_OR_NONE = {str, type(None)}


def _ints(values: list[Any]) -> list[int]:
    if set(map(type, values)) <= {int}:  # one C-level pass: the usual case
        return values
    return [v if type(v) is int else int(v) for v in values]


def _texts(values: list[Any]) -> list[str | None]:
    if set(map(type, values)) <= _TEXT_OR_NONE:
        return values
    return [
        None if v is None or v is pd.NA or (type(v) is float and v != v) else v if type(v) is str else str(v)
        for v in values
    ]


@dataclasses.dataclass(frozen=True)
class LinesPart:
    """A run's lines block and the sheets its lines are numbered by, made from the plan alone
    (final once the flags are: the proposal does not change it), so the session can make it
    in the child that encodes the flag records."""

    sheets: list[tuple[str, str]]  # (file, sheet), in the order of their numbers
    rows: int
    block: bytes


def lines_part(plan: Any) -> LinesPart:
    n = len(plan)

    def column(name: str, default: Any = None) -> list[Any]:
        return plan[name].tolist() if name in plan else [default] * n

    sheet_no: dict[tuple[str, str], int] = {}
    numbers = [
        sheet_no.setdefault((f or "", s or ""), len(sheet_no))
        for f, s in zip(_texts(column("file", "")), _texts(column("sheet", "")), strict=True)
    ]
    # The lines as columns, each value of its type (int / str / None), written one at a time.
    makers: tuple[Callable[[], list[Any]], ...] = (
        lambda: _texts(column("project_code")),
        lambda: _texts(column("capital_source")),  # None where no source is known
        lambda: _texts(column("status")),
        lambda: _texts(column("project_name")),
        lambda: _ints(column("plan_dong", 0)),
        lambda: _ints(column("disbursed_dong", 0)),
        lambda: [None if e is None else int(e) for e in map(_opt, column("expected_dong"))],
        lambda: [int(bool(x)) for x in column("in_scope", False)],
        lambda: [int(bool(x)) for x in column("flagged", False)],
        lambda: numbers,
        lambda: _ints(column("row", 0)),
    )
    chunks = blocks.columns_text(dict(zip(blocks.LINE_COLUMNS, makers, strict=True)))
    return LinesPart(list(sheet_no), n, blocks.compress(chunks))


def _proposal_part(made: Any) -> tuple[int, blocks.Text | list[dict[str, Any]], list[dict[str, Any]]]:
    """(rows, value, overrides marked on it) of the proposal part: its text made a column at a
    time, or, where orjson refuses a value, the records as `--json` prints them."""
    if made is None:
        return 0, [], []
    rows = len(made.decreases) + len(made.increases)
    value: blocks.Text | list[dict[str, Any]]
    try:
        value = blocks.Text([proposal_text(made)])
    except REFUSED:
        data = proposal_json(made)
        value = [{"kind": k, **x} for k in ("decrease", "increase") for x in data[k + "s"]]
    marked = [
        {
            "project_code": x.project_code,
            "capital_source": x.capital_source,
            "kind": kind,
            "amount_dong": int(x.amount_dong),
            **dict(x.override),
        }
        for kind, changed in (("decrease", made.decreases), ("increase", made.increases))
        for x in changed
        if x.override
    ]
    return rows, value, marked


def _run_rows(
    result: RunResult,
    overrides: Iterable[Any] | None,
    *,
    flag_list: list[dict[str, Any]] | None = None,
    flag_block: bytes | None = None,
    lines: LinesPart | None = None,
) -> dict[str, Any]:
    """The rows of one run, from the result (no store access), each value of its column's
    type: the few as table rows, the many as encoded blocks {part: (rows, data)}."""
    lines = lines if lines is not None else lines_part(result.plan)
    flags: list[Any] | bytes
    if flag_block is None:
        flags = flag_list if flag_list is not None else flag_records(result)
    else:  # the block as `--json` prints it: the count is the flag table's
        flags = flag_block
    proposal_rows, proposal, marked = _proposal_part(result.proposal)
    given = (
        marked
        if overrides is None
        else [
            dataclasses.asdict(o) if dataclasses.is_dataclass(o) and not isinstance(o, type) else dict(o)
            for o in overrides
        ]
    )
    override_rows = []
    for i, o in enumerate(given):
        values = (
            _str(o.get("project_code")),
            _str(o.get("capital_source")),
            _str(o.get("kind")),
            _int(o.get("amount_dong")),
            str(o.get("reason") or ""),
            str(o.get("approver") or ""),
        )
        rest = lean_rows.lean(o, dict(zip(lean_rows.OVERRIDE_KEYS, values, strict=True)))
        override_rows.append((i, *values, _text(rest)))
    found = result.issues
    issues = {name: _column(found, name, _int if name == "row" else _str) for name in blocks.ISSUE_COLUMNS}
    return {
        "sheets": [(no, f, s, None) for no, (f, s) in enumerate(lines.sheets)],
        "blocks": blocks.encode_parts(
            {
                "flags": (len(result.flags) if flag_block is not None else len(flags), flags),
                "proposal_lines": (proposal_rows, proposal),
                "lines": (lines.rows, lines.block),
                "issues": (len(found), issues),
            }
        ),
        "overrides": override_rows,
        "policy": None if result.proposal is None else result.proposal.policy,
    }
