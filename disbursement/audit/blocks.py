"""Hash version 4: a run's many rows kept as one compressed block per part, not a row each.

A national run has 10^5 lines, 10^4–10^5 flags, issues and proposal lines; as table rows they
cost two thirds of recording it (a B-tree insert or three per row, the JSON rest of every
record, 40 MB a run). From hash version 4 (migration `0006-run-blocks`) each of these parts
is one row of `run_blocks` (run_seq, part, rows, data): `data` is the canonical JSON of the
part — the lines as columns, the flag and proposal records exactly as `--json` prints them,
the issues as columns — compressed with zlib (level 1: 11 MB a national run). The record hash
covers each block's sha256 and row count, so `verify` checks a block without opening it; a
reader opens one only to answer a question about that run. Runs recorded before keep their
rows in the tables (`audit/rows.py` reads both).
"""

from __future__ import annotations

import hashlib
import json
import zlib
from collections.abc import Mapping
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from disbursement.audit.backends import Connection
from disbursement.audit.chain import canonical_bytes
from disbursement.audit.location import AuditStoreError

BLOCK_HASH_VERSION = 4
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
_LEVEL = 1  # zlib: a fifth of level 6's time for 15 % more bytes


def _text(value: Any) -> bytes:
    """The canonical JSON of one part, by orjson. A float (which records do not hold) is
    written as `review --json` writes it: exactly, NaN as null; what orjson refuses (integers
    past 64 bits) goes through the stdlib."""
    return canonical_bytes(value, floats=False)


def encode(value: Any) -> bytes:
    """The block of one part: its compressed canonical JSON."""
    return zlib.compress(_text(value), _LEVEL)


def encode_parts(parts: Mapping[str, tuple[int, Any]]) -> dict[str, tuple[int, bytes]]:
    """{part: (rows, block)} for {part: (rows, value)}; a value given as bytes is its JSON
    already. zlib runs without the GIL, so each part is compressed on a thread while the next
    one's JSON is written (0.3 s of a national run's 0.7 s of encoding)."""
    with ThreadPoolExecutor(max_workers=2, thread_name_prefix="block") as pool:
        pending = {
            part: (rows, pool.submit(zlib.compress, value if type(value) is bytes else _text(value), _LEVEL))
            for part, (rows, value) in parts.items()
        }
        return {part: (rows, block.result()) for part, (rows, block) in pending.items()}


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
    row = conn.execute(
        "SELECT rows, data FROM run_blocks WHERE run_seq = ? AND part = ?", (seq, part)
    ).fetchone()
    if row is None:
        raise AuditStoreError(
            f"run {seq} of the audit store has no {part} block; run `disbursement audit verify`"
        )
    try:
        text = zlib.decompress(bytes(row[1]))
        try:
            return orjson.loads(text)
        except orjson.JSONDecodeError:  # NaN / Infinity, written by the stdlib
            return json.loads(text)
    except (zlib.error, ValueError) as exc:
        raise AuditStoreError(
            f"the {part} block of run {seq} in the audit store cannot be read ({exc}); "
            "run `disbursement audit verify`"
        ) from None


def columns(values: Mapping[str, list[Any]], names: tuple[str, ...]) -> list[dict[str, Any]]:
    """Rows (dicts keyed by `names`) of a part kept as columns."""
    missing = [n for n in names if n not in values]
    if missing:
        raise AuditStoreError(f"a block of the audit store lacks the columns {', '.join(missing)}")
    return [dict(zip(names, row, strict=True)) for row in zip(*(values[n] for n in names), strict=True)]
