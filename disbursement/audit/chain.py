"""The hash chain over runs and decisions, and `verify`.

Each record carries `prev_hash` and `record_hash = sha256(prev_hash + canonical JSON of the
record's full content)`, its content read back from the tables in a fixed order (byte order
on both back ends), so the hash is the same function of the same content on SQLite and
PostgreSQL and a copied store verifies with the hashes it was written with. What a hash covers
is frozen per `hash_version`: 1 (no database role), 2 (1 + `db_role`, written where the
back end has roles), 3 (runs only: the lean rows of migration 0004 — `db_role` always, each
sheet's cell-letter map, per-row records without what the row's columns hold — hashed from the
rows in memory as they are written, canonical JSON by orjson), 4 (runs only: lines, flags,
proposal lines and issues kept as one compressed block each, migration 0006 — the hash covers
each block's part, row count and sha256; audit/blocks.py). `verify` checks every version
written so far, each with the canonical form it was written with.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from typing import Any

import orjson

from disbursement.audit import blobs
from disbursement.audit.backends import Connection
from disbursement.audit.store import Db, connect

GENESIS = "0" * 64
HASH_VERSION = 1  # without a database role
HASH_VERSION_WITH_ROLE = 2
LEAN_HASH_VERSION = 3  # lean rows (schema 0005-lean-run-rows), with or without a role
BLOCK_HASH_VERSION = 4  # from this version a run keeps its many rows as blocks (0006-run-blocks)
RUN_HASH_VERSION = 4  # what a run is written with

_RUN_V1 = (
    "seq, run_id, recorded_at, reviewer, engine_version, year, round, rule_id, "
    "round_name, as_of, threshold_pct, rules_path, rules_sha256, options, summary, "
    "policy, hash_version"
)
_DECISION_V1 = (
    "seq, decision_id, run_seq, recorded_at, recorded_by, decision, basis, "
    "file_name, file_sha256, hash_version"
)
COLUMNS: dict[str, dict[int, str]] = {
    "run": {1: _RUN_V1, 2: _RUN_V1 + ", db_role", 3: _RUN_V1 + ", db_role", 4: _RUN_V1 + ", db_role"},
    "decision": {1: _DECISION_V1, 2: _DECISION_V1 + ", db_role"},
}
_RUN_PARTS = {
    "rules_text": "SELECT t.text FROM runs r LEFT JOIN rules_texts t ON t.sha256 = r.rules_sha256 "
    "WHERE r.seq = ?",
    "inputs": "SELECT position, role, name, size, sha256 FROM inputs WHERE run_seq = ? ORDER BY position",
    "sheets": "SELECT sheet_no, file, sheet FROM sheets WHERE run_seq = ? ORDER BY sheet_no",
    "lines": "SELECT l.line_no, l.project_code, l.capital_source, l.status, n.text, l.plan_dong, "
    "l.disbursed_dong, l.expected_dong, l.in_scope, l.flagged, l.sheet_no, l.row "
    "FROM lines l LEFT JOIN names n ON n.id = l.name_id WHERE l.run_seq = ? "
    "ORDER BY l.line_no",
    "flags": "SELECT flag_no, project_code, capital_source, rule_id, plan_dong, disbursed_dong, "
    "file, sheet, row, record FROM flags WHERE run_seq = ? ORDER BY flag_no",
    "proposal_lines": "SELECT line_no, kind, project_code, capital_source, pool, amount_dong, "
    "plan_dong, plan_after_dong, reason, record FROM proposal_lines "
    "WHERE run_seq = ? ORDER BY line_no",
    "issues": "SELECT issue_no, code, severity, file, sheet, row, col, message FROM issues "
    "WHERE run_seq = ? ORDER BY issue_no",
    "overrides": "SELECT override_no, project_code, capital_source, kind, amount_dong, reason, "
    "approver, record FROM overrides WHERE run_seq = ? ORDER BY override_no",
    "outputs": "SELECT name, path, size, sha256 FROM outputs WHERE run_seq = ? ORDER BY name",
}
# Version 3: a sheet row carries its cell-letter map (the record columns hold lean records).
_RUN_PARTS_V3 = {
    **_RUN_PARTS,
    "sheets": "SELECT sheet_no, file, sheet, cells FROM sheets WHERE run_seq = ? ORDER BY sheet_no",
}
BLOCK_TABLES = ("lines", "flags", "proposal_lines", "issues")  # rows of runs before version 4
# Version 4: the many rows are blocks (hashed by part, row count and sha256 of the data).
_RUN_PARTS_V4 = {part: sql for part, sql in _RUN_PARTS_V3.items() if part not in BLOCK_TABLES}
_BLOCKS = "SELECT part, rows, data FROM run_blocks WHERE run_seq = ? ORDER BY part"
_DECISION_PARTS = {
    "run_id": "SELECT r.run_id FROM decisions d LEFT JOIN runs r ON r.seq = d.run_seq WHERE d.seq = ?",
    "lines": "SELECT line_no, project_code, capital_source, file, sheet, row, plan_dong, "
    "plan_after_dong FROM decision_lines WHERE decision_seq = ? ORDER BY line_no",
}
CHILD_TABLES = ("inputs", "sheets", *BLOCK_TABLES, "overrides", "outputs", "run_blocks")  # → runs


def canonical_json(value: Any) -> str:
    """The canonical form of hash versions 1 and 2 (and of the JSON text columns)."""
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=_jsonable)


_ORJSON = orjson.OPT_SORT_KEYS | orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS


def canonical_bytes(value: Any, *, floats: bool = True) -> bytes:
    """`canonical_json(value)` as UTF-8, written by orjson (~10× faster on a run's rows).

    Byte for byte the same text for text, integers, None, booleans, dates, lists and dicts
    with text keys (tests/audit/test_canonical.py). orjson writes floats its own way (1e+16,
    NaN), so a value holding one goes through the stdlib — unless the caller says it holds
    none (`floats=False`: rows whose columns were made int / str / None); so does anything
    else orjson refuses (non-text keys, integers past 64 bits).
    """
    if floats and _has_float(value):
        return canonical_json(value).encode("utf-8")
    try:
        return orjson.dumps(value, default=_jsonable, option=_ORJSON)
    except (orjson.JSONEncodeError, TypeError):
        return canonical_json(value).encode("utf-8")


def _has_float(value: Any) -> bool:
    kind = type(value)
    if kind is float:
        return True
    if kind is dict:
        return any(type(v) is float or (type(v) in _NESTED and _has_float(v)) for v in value.values())
    if kind is list or kind is tuple:
        return any(type(v) is float or (type(v) in _NESTED and _has_float(v)) for v in value)
    return kind not in _SCALARS and isinstance(value, float | dict | list | tuple)


_NESTED = {dict, list, tuple}
_SCALARS = {str, int, bool, type(None)}


def _jsonable(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    raise TypeError(f"cannot record {type(value).__name__} in the audit store")


def hash_version(role: str | None) -> int:
    """The hash version a new decision is written with (runs: `RUN_HASH_VERSION`)."""
    return HASH_VERSION if role is None else HASH_VERSION_WITH_ROLE


def chain_head(conn: Connection) -> tuple[int, str]:
    """(seq, record_hash) of the last record, or (0, GENESIS) in an empty store."""
    row = conn.execute(
        "SELECT seq, record_hash FROM (SELECT seq, record_hash FROM runs UNION ALL "
        "SELECT seq, record_hash FROM decisions) AS chain ORDER BY seq DESC LIMIT 1"
    ).fetchone()
    return (int(row[0]), str(row[1])) if row else (0, GENESIS)


def record_content(conn: Connection, kind: str, seq: int) -> dict[str, Any]:
    """Everything a record's hash covers, read back from the tables."""
    table, parts = ("runs", _RUN_PARTS) if kind == "run" else ("decisions", _DECISION_PARTS)
    version = int(conn.scalar(f"SELECT hash_version FROM {table} WHERE seq = ?", (seq,)))
    if version not in COLUMNS[kind]:
        raise ValueError(f"hash version {version} is unknown to this engine")
    if kind == "run" and version >= LEAN_HASH_VERSION:
        parts = _RUN_PARTS_V4 if version >= BLOCK_HASH_VERSION else _RUN_PARTS_V3
    cursor = conn.execute(f"SELECT {COLUMNS[kind][version]} FROM {table} WHERE seq = ?", (seq,))
    names = [d[0] for d in cursor.description]
    content: dict[str, Any] = {kind: dict(zip(names, cursor.fetchone(), strict=True))}
    for part, sql in parts.items():
        rows = [list(r) for r in conn.execute(sql, (seq,)).fetchall()]
        content[part] = rows[0][0] if part in ("rules_text", "run_id") else rows
    if kind == "run" and version >= BLOCK_HASH_VERSION:
        content["blocks"] = [_block_entry(*row) for row in conn.execute(_BLOCKS, (seq,)).fetchall()]
    return content


def _block_entry(part: Any, rows: Any, data: Any) -> list[Any]:
    """[part, rows, sha256 of data] as read (a row count stored as 3.5 or "3" is not 3)."""
    if not isinstance(data, bytes | memoryview):
        raise ValueError(f"a {part} block holds {type(data).__name__}, not bytes (it was changed)")
    return [part, rows, hashlib.sha256(bytes(data)).hexdigest()]


def record_hash(prev_hash: str, content: dict[str, Any], version: int | None = None) -> str:
    """sha256(prev_hash + canonical JSON of `content`), in the form of hash `version`
    (default: the one its record says)."""
    if version is None:
        version = int(content["run"]["hash_version"]) if "run" in content else 0
    digest = hashlib.sha256(prev_hash.encode("utf-8"))
    if version >= LEAN_HASH_VERSION:  # rows of int / str / None (record.py makes them so)
        # The canonical bytes of `content`, part by part: compact JSON of a dict with sorted
        # keys is "{", each '"key":value' joined by ",", "}" — the same bytes, never held whole
        # (a national run's are ~80 MB).
        digest.update(b"{")
        for n, key in enumerate(sorted(content)):
            digest.update(b"," if n else b"")
            digest.update(canonical_bytes(str(key), floats=False) + b":")
            digest.update(canonical_bytes(content[key], floats=False))
        digest.update(b"}")
    else:
        digest.update(canonical_json(content).encode("utf-8"))
    return digest.hexdigest()


def seal(conn: Connection, kind: str, seq: int, prev_hash: str, content: dict[str, Any] | None = None) -> str:
    """Compute and store the hash of a record just inserted (inside its transaction): from
    `content` when the writer has it in memory (exactly what `record_content` reads back),
    otherwise read back from the tables."""
    digest = record_hash(prev_hash, content if content is not None else record_content(conn, kind, seq))
    table = "runs" if kind == "run" else "decisions"
    conn.execute(f"UPDATE {table} SET record_hash = ? WHERE seq = ?", (digest, seq))
    return digest


def check(conn: Connection) -> dict[str, Any]:
    """Recompute the chain and check the stored input copies.

    Returns {"ok", "records", "head", "first_broken", "files", "integrity"}; `first_broken`
    names the first record whose content or link does not match, or None.
    """
    integrity = conn.integrity()
    entries = conn.execute(
        "SELECT seq, 'run', run_id, prev_hash, record_hash FROM runs UNION ALL "
        "SELECT seq, 'decision', decision_id, prev_hash, record_hash FROM decisions "
        "ORDER BY 1"
    ).fetchall()
    broken, prev, count = None, GENESIS, 0
    for seq, kind, ident, stored_prev, stored_hash in entries:
        count += 1
        if stored_prev != prev:
            broken = (
                seq,
                kind,
                ident,
                "its prev_hash does not match the record before it "
                "(a record was removed, inserted or reordered)",
            )
        else:
            try:
                digest = record_hash(prev, record_content(conn, kind, seq))
            except ValueError as exc:
                broken = (seq, kind, ident, str(exc))
            else:
                if digest != stored_hash:
                    broken = (
                        seq,
                        kind,
                        ident,
                        "its content no longer matches its record_hash "
                        "(the record or one of its rows was changed)",
                    )
        if broken:
            break
        prev = stored_hash
    orphans = [
        t
        for t in CHILD_TABLES
        if conn.execute(f"SELECT 1 FROM {t} WHERE run_seq NOT IN (SELECT seq FROM runs) LIMIT 1").fetchone()
    ]
    # Rows no hash covers: table rows of a run kept in blocks, blocks of a run kept in rows.
    uncovered = [
        t
        for t, kept_in in (*((t, ">=") for t in BLOCK_TABLES), ("run_blocks", "<"))
        if conn.execute(
            f"SELECT 1 FROM {t} WHERE run_seq IN (SELECT seq FROM runs WHERE hash_version "
            f"{kept_in} ?) LIMIT 1",
            (BLOCK_HASH_VERSION,),
        ).fetchone()
    ]
    shas = [
        r[0]
        for r in conn.execute(
            "SELECT sha256 FROM inputs UNION SELECT file_sha256 FROM decisions "
            "WHERE file_sha256 IS NOT NULL ORDER BY 1"
        ).fetchall()
    ]
    files = blobs.problems(conn, shas)
    first = None if broken is None else dict(zip(("seq", "kind", "id", "reason"), broken, strict=True))
    if first is None and orphans:
        first = {
            "seq": None,
            "kind": "rows",
            "id": ", ".join(orphans),
            "reason": "rows belong to a run that is no longer in the store",
        }
    if first is None and uncovered:
        first = {
            "seq": None,
            "kind": "rows",
            "id": ", ".join(uncovered),
            "reason": "rows were added that no record hash covers (a run keeps its lines, "
            "flags, proposal lines and issues either as rows or as blocks, not both)",
        }
    return {
        "ok": first is None and not files and integrity == "ok",
        "records": count,
        "head": prev if broken is None else None,
        "first_broken": first,
        "files": files,
        "integrity": integrity,
    }


def verify(db: Db) -> dict[str, Any]:
    """`check` on the store `db` (see `store.connect`)."""
    with connect(db) as conn:
        return check(conn)
