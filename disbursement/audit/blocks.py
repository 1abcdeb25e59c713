"""Hash version 4: a run's many rows kept as one compressed block per part, not a row each.

A national run has 10^5 lines, 10^4–10^5 flags, issues and proposal lines; as table rows they
cost two thirds of recording it (a B-tree insert or three per row, the JSON rest of every
record, 40 MB a run). From hash version 4 (migration `0006-run-blocks`) each of these parts
is one row of `run_blocks` (run_seq, part, rows, data): `data` is the JSON of the part — the
lines as columns; the flag records as `--json` prints them (the same bytes, encoded once); the
proposal records with their `kind`, keys sorted; the issues as columns — compressed with zlib
(level 1: 11 MB a national run). The record hash
covers each block's sha256 and row count, so `verify` checks a block without opening it; a
reader opens one only to answer a question about that run. Runs recorded before keep their
rows in the tables (`audit/rows.py` reads both).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Callable, Mapping
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import orjson

from disbursement.audit.backends import Connection
from disbursement.audit.chain import _ORJSON as _SORTED
from disbursement.audit.chain import BLOCK_HASH_VERSION as BLOCK_HASH_VERSION
from disbursement.audit.chain import _jsonable
from disbursement.audit.location import AuditStoreError

PARTS = ("flags", "issues", "lines", "proposal_lines")  # in the order hashed (sorted)
LINE_COLUMNS = (
    "project_code",
    "capital_source",
    "status",
    "project_name",
    "plan_dong",
    "disbursed_dong",
    "expected_dong",
    "in_scope",
    "flagged",
    "sheet_no",
    "row",
)
ISSUE_COLUMNS = ("code", "severity", "file", "sheet", "row", "column", "message")
LEVEL = 1  # zlib: a fifth of level 6's time for 15 % more bytes (`EncodedList` packs at it too)
STDLIB = b" "  # leads a block's JSON written by the stdlib (JSON allows leading space)


def _text(value: Any) -> bytes:
    """The JSON of one part, by orjson (sorted keys). A float (which records do not hold) is
    written as `review --json` writes it: exactly, NaN as null. What orjson refuses (integers
    past 64 bits, lone surrogates) is written by the stdlib after one space — `STDLIB` — so
    the reader reads it with the stdlib too and gets every integer back exactly."""
    try:
        return orjson.dumps(value, default=_jsonable, option=_SORTED)
    except (orjson.JSONEncodeError, TypeError):
        text = json.dumps(value, sort_keys=True, separators=(",", ":"), default=_jsonable)
        return STDLIB + text.encode("ascii")  # \u escapes keep lone surrogates


def columns_text(columns: Mapping[str, Callable[[], list[Any]]]) -> list[bytes]:
    """`_text` of {name: column}, in chunks, each column made by its function, written and let
    go in turn (a national run's lines as eleven lists at once were ~40 MB at the record's
    peak). A column orjson refuses sends the whole part to `_text`'s stdlib form."""
    chunks = []
    for k, name in enumerate(sorted(columns)):
        try:
            text = orjson.dumps(columns[name](), default=_jsonable, option=_SORTED)
        except (orjson.JSONEncodeError, TypeError):
            return [_text({key: make() for key, make in columns.items()})]
        chunks.append((b"," if k else b"{") + orjson.dumps(name) + b":" + text)
    return [*chunks, b"}"] if chunks else [b"{}"]


def encode(value: Any) -> bytes:
    """The block of one part: its compressed JSON."""
    return zlib.compress(_text(value), LEVEL)


def compress(chunks: list[bytes]) -> bytes:
    """The block of a part whose JSON is `chunks`."""
    packer = zlib.compressobj(LEVEL)
    return b"".join([*map(packer.compress, chunks), packer.flush()])


@dataclass(frozen=True)
class Text:
    """A part's JSON already written (`_text`'s bytes, made another way: the proposal's,
    audit/proposal_text.py), to be compressed as the part's block."""

    chunks: list[bytes]


def encode_parts(parts: Mapping[str, tuple[int, Any]]) -> dict[str, tuple[int, bytes]]:
    """{part: (rows, block)} for {part: (rows, value)}; a value given as bytes is its block
    already (the flag records `--json` prints, packed as they were encoded, and the lines
    block: `session._WhileProposing` makes them), one given as `Text` its JSON. zlib runs
    without the GIL, so each part is compressed on a thread while the next one's JSON is
    written; no more than that one part waits, so at most two parts' JSON are held at once."""
    blocks: dict[str, tuple[int, bytes]] = {}
    with ThreadPoolExecutor(max_workers=1, thread_name_prefix="block") as pool:
        waiting: tuple[str, int, Future[bytes]] | None = None
        for part, (rows, value) in parts.items():
            if type(value) is bytes:
                blocks[part] = (rows, value)
                continue
            chunks = value.chunks if type(value) is Text else [_text(value)]
            compressing = pool.submit(compress, chunks)
            if waiting is not None:
                blocks[waiting[0]] = (waiting[1], waiting[2].result())
            waiting = (part, rows, compressing)
        if waiting is not None:
            blocks[waiting[0]] = (waiting[1], waiting[2].result())
    return {part: blocks[part] for part in parts}


def digest(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write(conn: Connection, seq: int, parts: Mapping[str, tuple[int, bytes]]) -> list[list[Any]]:
    """Insert the run's blocks ({part: (rows, data)}); returns what the record hash covers:
    [part, rows, sha256] per part, in `PARTS` order (what `chain.record_content` reads back)."""
    conn.executemany(
        "INSERT INTO run_blocks VALUES (?, ?, ?, ?)",
        [(seq, part, rows, data) for part, (rows, data) in sorted(parts.items())],
    )
    return [[part, rows, digest(data)] for part, (rows, data) in sorted(parts.items())]


def read(conn: Connection, seq: int, part: str) -> Any:
    """The decoded part of run `seq`; refuses a block that is missing or cannot be read."""
    return _load(conn, seq, part)[1]


def _load(conn: Connection, seq: int, part: str) -> tuple[Any, Any]:
    """(row count, decoded value) of a block."""
    row = conn.execute(
        "SELECT rows, data FROM run_blocks WHERE run_seq = ? AND part = ?", (seq, part)
    ).fetchone()
    if row is None:
        raise AuditStoreError(
            f"run {seq} of the audit store has no {part} block; run `disbursement audit verify`"
        )
    rows, data = row
    try:
        if not isinstance(data, bytes | memoryview):
            raise ValueError(f"its data is {type(data).__name__}, not bytes")
        text = zlib.decompress(bytes(data))
        value = json.loads(text) if text[:1] == STDLIB else orjson.loads(text)
    except (zlib.error, ValueError, RecursionError) as exc:  # RecursionError: nested too deep
        raise _damaged(seq, part, str(exc) or type(exc).__name__) from None
    return rows, value


def _damaged(seq: int, part: str, why: str) -> AuditStoreError:
    return AuditStoreError(
        f"the {part} block of run {seq} in the audit store cannot be read ({why}); "
        "run `disbursement audit verify`"
    )


def records(conn: Connection, seq: int, part: str, keys: tuple[str, ...]) -> list[dict[str, Any]]:
    """A part kept as records (flags, proposal lines): a list of the block's row count of
    dicts, each with `keys` (and a `source` dict, when `keys` name it)."""
    rows, value = _load(conn, seq, part)
    sourced = "source" in keys
    if (
        type(value) is not list
        or len(value) != rows
        or not all(
            type(x) is dict and all(k in x for k in keys) and (not sourced or type(x["source"]) is dict)
            for x in value
        )
    ):
        raise _damaged(seq, part, f"not a list of {rows} records with {', '.join(keys)}")
    return value


def columns(conn: Connection, seq: int, part: str, names: tuple[str, ...]) -> dict[str, list[Any]]:
    """A part kept as columns (lines, issues): every one of `names`, each a list of the
    block's row count."""
    rows, value = _load(conn, seq, part)
    if type(value) is not dict:
        raise _damaged(seq, part, "not a table of columns")
    wrong = [n for n in names if type(value.get(n)) is not list or len(value[n]) != rows]
    if wrong:
        raise _damaged(seq, part, f"columns {', '.join(wrong)} missing or not {rows} long")
    return value


def rows_of(values: Mapping[str, list[Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows (dicts keyed by `names`) of checked columns."""
    return [dict(zip(names, row, strict=True)) for row in zip(*(values[n] for n in names), strict=True)]
