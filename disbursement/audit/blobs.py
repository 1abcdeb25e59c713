"""Content-addressed copies of every file a run read, so a run can be replayed later.

SQLite keeps them in a folder beside the store, `<store>.files/<sha256[:2]>/<sha256>` (written
atomically, once); PostgreSQL in the table `blobs` (sha256, size, data), inside the record's
transaction, so a replay needs nothing from any officer's disk. The same file is kept once,
however many runs read it.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterable
from pathlib import Path

from disbursement.audit.backends import Connection
from disbursement.audit.location import AuditStoreError, blob_path
from disbursement.files import atomic_write_bytes


def read_source(source: str | os.PathLike[str]) -> bytes:
    try:
        return Path(source).read_bytes()
    except OSError as exc:
        raise AuditStoreError(
            f"cannot keep a copy of {source} in the audit store ({exc.strerror or exc}); nothing was recorded"
        ) from None


def keep(conn: Connection, data: bytes) -> tuple[str, int]:
    """Keep `data` (once); (sha256, size). On PostgreSQL call it inside the record's
    transaction, so a run never names a copy that is not there."""
    sha = hashlib.sha256(data).hexdigest()
    if conn.is_postgres:
        conn.execute(
            "INSERT INTO blobs (sha256, size, data) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
            (sha, len(data), data),
        )
        return sha, len(data)
    target = blob_path(conn.location.path, sha)
    try:
        if not target.exists() or target.stat().st_size != len(data):
            atomic_write_bytes(target, data)
    except OSError as exc:
        raise AuditStoreError(
            f"cannot keep a copy beside the audit store in {target.parent} "
            f"({exc.strerror or exc}); nothing was recorded"
        ) from None
    return sha, len(data)


def where(conn: Connection, sha: str) -> str:
    """Where the copy is, for people (`audit show`)."""
    if conn.is_postgres:
        return f"blobs/{sha} in {conn.location.where()}"
    return str(blob_path(conn.location.path, sha))


def fetch(conn: Connection, sha: str) -> bytes | None:
    """The kept bytes, or None when the copy is missing."""
    if conn.is_postgres:
        data = conn.scalar("SELECT data FROM blobs WHERE sha256 = ?", (sha,))
        return None if data is None else bytes(data)
    target = blob_path(conn.location.path, sha)
    return target.read_bytes() if target.exists() else None


def problems(conn: Connection, shas: Iterable[str]) -> list[dict[str, str]]:
    """A missing or changed copy per sha256 that is not as recorded."""
    out = []
    for sha in shas:
        data = fetch(conn, sha)
        if data is None:
            out.append({"sha256": sha, "problem": f"stored copy {where(conn, sha)} is missing"})
        elif hashlib.sha256(data).hexdigest() != sha:
            out.append({"sha256": sha, "problem": f"stored copy {where(conn, sha)} was changed"})
    return out


def checked(conn: Connection, sha: str, name: str) -> bytes:
    """The copy of `name`, refusing one that is missing or changed."""
    data = fetch(conn, sha)
    if data is None or hashlib.sha256(data).hexdigest() != sha:
        raise AuditStoreError(
            f"the stored copy of {name} ({where(conn, sha)}) is missing or "
            "changed; run `disbursement audit verify`"
        )
    return data
