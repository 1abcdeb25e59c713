"""`audit copy`: a whole store from one back end to another (SQLite ↔ PostgreSQL), unchanged.

Rows keep their sequence numbers and hashes, so the copy verifies with the hashes it was
written with (the record hash is the same function of the same content on both back ends).
The source must verify first; the destination must hold no records; the copy is written in
one transaction and verified before it commits, so a failed copy leaves the destination as it
was. The input copies go along (folder ↔ table).
"""

from __future__ import annotations

from typing import Any

from disbursement.audit import blobs
from disbursement.audit.chain import CHILD_TABLES, check
from disbursement.audit.store import AuditStoreError, Db, connect, locate

# Parents before children (foreign keys); every table of the schema but the bookkeeping ones.
TABLES = (
    "rules_texts",
    "names",
    "runs",
    *CHILD_TABLES,
    "decisions",
    "decision_lines",
    "requests",
    "replies",
    "reply_answers",
)


def copy_store(source: Db, target: Db) -> dict[str, Any]:
    """Copy every record of `source` into the empty store `target`; returns
    {"records", "head", "files", "from", "to"}."""
    src, dst = locate(source), locate(target)
    if src == dst:
        raise AuditStoreError(f"audit copy: source and destination are the same store ({src})")
    with connect(src) as reader:
        report = check(reader)
        if not report["ok"]:
            raise AuditStoreError(
                f"audit copy: the source {src} does not verify (run `disbursement "
                "audit verify`); nothing was copied"
            )
        tables = {}
        for table in TABLES:
            cursor = reader.execute(f"SELECT * FROM {table} ORDER BY 1")
            tables[table] = ([d[0] for d in cursor.description], cursor.fetchall())
        shas = [
            r[0]
            for r in reader.execute(
                "SELECT sha256 FROM inputs UNION SELECT file_sha256 FROM decisions "
                "WHERE file_sha256 IS NOT NULL UNION SELECT sha256 FROM replies ORDER BY 1"
            ).fetchall()
        ]
        files = [blobs.checked(reader, sha, sha) for sha in shas]
    with connect(dst, create=True) as writer, writer.transaction():
        held = writer.scalar("SELECT (SELECT count(*) FROM runs) + (SELECT count(*) FROM decisions)")
        if held:
            raise AuditStoreError(
                f"audit copy: the destination {dst} already holds {held} records; copy into an empty store"
            )
        for data in files:
            blobs.keep(writer, data)
        for table, (columns, rows) in tables.items():
            marks = ",".join("?" * len(columns))
            writer.executemany(
                f"INSERT INTO {table} ({', '.join(columns)}) VALUES ({marks})", [tuple(r) for r in rows]
            )
        if writer.is_postgres:  # names.id is generated: continue after the copied ids
            writer.execute(
                "SELECT setval(pg_get_serial_sequence('names', 'id'), "
                "(SELECT coalesce(max(id), 0) + 1 FROM names), false)"
            )
        copied = check(writer)
        if not copied["ok"] or copied["head"] != report["head"]:
            raise AuditStoreError(
                f"audit copy: the copy in {dst} does not verify "
                f"({copied['first_broken'] or copied['files']}); nothing was "
                "copied"
            )
    return {
        "records": copied["records"],
        "head": copied["head"],
        "files": len(files),
        "from": str(src),
        "to": str(dst),
    }
