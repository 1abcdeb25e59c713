"""The audit store interface: open a checked, migrated store on either back end.

`connect(db)` takes what `--audit-db` / `DISBURSEMENT_AUDIT_DB` give (a path, a
`postgresql://…` URL, a `Location`, or None for ./disbursement-audit.sqlite) and yields a
`Connection` (see `backends`): the same SQL and the same behaviour on SQLite and PostgreSQL.
A store that is newer, foreign, damaged, unreachable or not ours raises `AuditStoreError`
before anything is written, and nothing named after a URL is ever created on disk. The
other modules: `schema` (named migrations), `blobs` (input copies), `chain` (hashes, verify),
`record`, `queries`, `history`, `decisions`, `replay`, `copy`.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import os
import secrets
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from disbursement.audit import schema
from disbursement.audit.backends import Connection, first_line, open_postgres, open_sqlite
from disbursement.audit.location import (
    DEFAULT_STORE,
    ENV_VAR,
    AuditStoreError,
    DecisionInvalid,
    Location,
    blob_path,
    files_dir,
    locate,
)

__all__ = [
    "DEFAULT_STORE",
    "ENV_VAR",
    "AuditStoreError",
    "Connection",
    "DecisionInvalid",
    "Location",
    "blob_path",
    "check_store",
    "connect",
    "current_user",
    "files_dir",
    "locate",
    "new_id",
    "utc_now",
]

Db = str | os.PathLike[str] | Location | None
_MAGIC = b"SQLite format 3\x00"


def new_id() -> str:
    """32 hex digits that sort by creation time (48-bit milliseconds + 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def utc_now() -> str:
    """The one clock reading of the audit package (when a record was made)."""
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def exists(location: Location) -> bool:
    """Whether there is a store to read (a server store always may be; connect tells)."""
    return location.is_postgres or location.path.exists()


def check_store(db: Db) -> Location:
    """The store's location; raises `AuditStoreError` now if it exists but cannot be used.

    Writes nothing to an SQLite file; a server store is reached (and migrated) at once, so a
    wrong address or password stops a review before any work is done.
    """
    location = locate(db)
    if exists(location):
        with connect(location, migrate=location.is_postgres):
            pass
    return location


@contextlib.contextmanager
def connect(db: Db, *, create: bool = False, migrate: bool = True) -> Iterator[Connection]:
    """An open connection to a checked (and, if older, migrated) store; always closed.

    Without `create` a missing SQLite store is an error and no file is made. A PostgreSQL
    database must exist (the department's administrator creates it); its tables are created
    by the first writer.
    """
    location = locate(db)
    conn = _open_postgres(location) if location.is_postgres else _open_sqlite(location, create)
    try:
        if migrate:
            _migrate(conn)
        else:
            schema.applied(conn)
        if not location.is_postgres:
            conn.execute("PRAGMA foreign_keys = ON")
        yield conn
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise AuditStoreError(f"audit store {location} is busy ({exc}); try again") from None
        raise _damaged(location, exc) from None
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        if isinstance(exc, sqlite3.IntegrityError):
            raise
        raise _damaged(location, exc) from None
    except Exception as exc:
        if location.is_postgres and _is_driver_error(exc):
            raise _server_error(conn, exc) from None
        raise
    finally:
        conn.close()


def _migrate(conn: Connection, attempts: int = 50) -> None:
    """`schema.migrate`, tried again while a new SQLite store is being created by another
    process: switching a fresh file to WAL while another connection reads it fails at once
    with "database is locked" (the busy timeout does not apply to it). Migrating is idempotent
    and writes nothing of a run, so trying again is safe."""
    import time

    for attempt in range(attempts):
        started = time.monotonic()
        try:
            schema.migrate(conn)
            return
        except sqlite3.OperationalError as exc:
            busy = "locked" in str(exc) or "busy" in str(exc)
            # Only the immediate failure is tried again: one that waited out the busy timeout
            # (a writer holding the store) is reported as it is.
            waited = time.monotonic() - started > 1.0
            if conn.is_postgres or not busy or waited or attempt == attempts - 1:
                raise
            time.sleep(0.05 + 0.01 * attempt)


def _open_sqlite(location: Location, create: bool) -> Connection:
    path = location.path
    if path.is_dir():
        raise AuditStoreError(f"audit store {path} is a folder; give a file path")
    if not path.exists() and not create:
        raise AuditStoreError(
            f"no audit store at {path} (run a review first, or pass --audit-db / set {ENV_VAR})"
        )
    _check_header(path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    return open_sqlite(location)


def _open_postgres(location: Location) -> Connection:
    return open_postgres(location)


def _is_driver_error(exc: BaseException) -> bool:
    return type(exc).__module__.startswith("psycopg")


def _server_error(conn: Connection, exc: BaseException) -> AuditStoreError:
    """One plain line for a server error: no permission (a read-only role) or anything else."""
    where = conn.location.where()
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if sqlstate == "42501":  # insufficient_privilege
        try:
            role = conn.role()
        except Exception:  # the connection may be unusable after the error
            role = None
        who = f"database role {role}" if role else "this database role"
        return AuditStoreError(
            f"{who} may not write to the audit store, {where} "
            f"({first_line(exc)}); record with a role that has the "
            "recording GRANTs (docs/audit.md), or read with this one"
        )
    return AuditStoreError(f"audit store {where}: {first_line(exc)}")


def _damaged(location: Location, exc: Exception) -> AuditStoreError:
    return AuditStoreError(
        f"audit store {location} is damaged or not an audit store ({exc}); "
        "it was left as it is — restore it from a backup, or use another "
        "--audit-db"
    )


def _check_header(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as handle:
        head = handle.read(len(_MAGIC))
    if head != _MAGIC:
        raise AuditStoreError(
            f"{path} is not an SQLite audit store (wrong file header); it "
            "was left as it is — use another --audit-db"
        )
