"""The audit store: every review run, what it read, flagged, proposed and wrote, hash-chained.

One SQLite file (default `./disbursement-audit.sqlite`, or a path given by `--audit-db` or the
`DISBURSEMENT_AUDIT_DB` environment variable) plus a folder beside it, `<store>.files/`, that
keeps a content-addressed copy of every input workbook (`<sha256[:2]>/<sha256>`), so a run can
be replayed after the shared drive has changed. The schema is versioned with
`PRAGMA user_version` and a list of migrations; a store with a newer version, one that is not
SQLite, or a damaged one raises `AuditStoreError` and is never written to.

Runs and decisions form one hash chain: each record carries `prev_hash` and
`record_hash = sha256(prev_hash + canonical JSON of the record's full content)`. Records are
inserted under `BEGIN IMMEDIATE`, so concurrent writers wait their turn (WAL journal, busy
timeout) and the chain stays linear. `verify` recomputes it. Queries, the comparison with
history and replay live in `audit_queries`. This is the only module that reads the clock.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import getpass
import hashlib
import json
import os
import secrets
import sqlite3
import time
from collections.abc import Iterable, Iterator, Mapping
from pathlib import Path

from disbursement.errors import DisbursementError
from disbursement.files import atomic_write_bytes, sha256_file

DEFAULT_STORE = "disbursement-audit.sqlite"
ENV_VAR = "DISBURSEMENT_AUDIT_DB"
APPLICATION_ID = 0x44495342  # "DISB": marks the file as ours
GENESIS = "0" * 64
BUSY_TIMEOUT_MS = 60_000
HASH_VERSION = 1
FILE_OPTIONS = ("overrides", "settings")  # options naming a file the run read: kept like inputs
DIR_OPTIONS = ("templates_dir",)  # options naming a folder: every file in it is kept
DATE_OPTIONS = ("as_of", "date")  # recorded as ISO text
_MAGIC = b"SQLite format 3\x00"


class AuditStoreError(DisbursementError):
    """The audit store cannot be used (not SQLite, damaged, newer schema, busy, unknown run)."""


class DecisionInvalid(DisbursementError):
    """A decision cannot be recorded (no text, no proposal, or a bad approved-figures file)."""


def _table(name: str, columns: str, key: str, rowid: bool = True) -> str:
    # WITHOUT ROWID only for small rows (lines); rows with JSON records overflow its pages
    return f"CREATE TABLE {name} ({columns}, PRIMARY KEY ({key})){'' if rowid else ' WITHOUT ROWID'}"


_RUN = "run_seq INTEGER NOT NULL REFERENCES runs(seq)"
# Each migration is a list of statements; the store's user_version is the number applied.
MIGRATIONS: list[tuple[str, ...]] = [(
    "CREATE TABLE rules_texts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID",
    """CREATE TABLE runs (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE,
        recorded_at TEXT NOT NULL, reviewer TEXT NOT NULL, engine_version TEXT NOT NULL,
        year INTEGER NOT NULL, round INTEGER NOT NULL, rule_id TEXT NOT NULL,
        round_name TEXT NOT NULL, as_of TEXT NOT NULL, threshold_pct INTEGER,
        rules_path TEXT NOT NULL, rules_sha256 TEXT NOT NULL REFERENCES rules_texts(sha256),
        options TEXT NOT NULL, summary TEXT NOT NULL, policy TEXT,
        hash_version INTEGER NOT NULL, prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL)""",
    "CREATE INDEX runs_year_round ON runs(year, round)",
    _table("inputs", f"{_RUN}, position INTEGER NOT NULL, role TEXT NOT NULL, "
           "name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL", "run_seq, position"),
    _table("sheets", f"{_RUN}, sheet_no INTEGER NOT NULL, file TEXT NOT NULL, sheet TEXT NOT NULL",
           "run_seq, sheet_no"),
    # Project names kept once across runs; looked up by a 64-bit digest (a small index).
    "CREATE TABLE names (id INTEGER PRIMARY KEY, digest INTEGER NOT NULL, text TEXT NOT NULL)",
    "CREATE INDEX names_digest ON names(digest)",
    _table("lines", f"{_RUN}, line_no INTEGER NOT NULL, project_code TEXT, "
           "capital_source TEXT NOT NULL, status TEXT, name_id INTEGER REFERENCES names(id), "
           "plan_dong INTEGER NOT NULL, disbursed_dong INTEGER NOT NULL, expected_dong INTEGER, "
           "in_scope INTEGER NOT NULL, flagged INTEGER NOT NULL, sheet_no INTEGER NOT NULL, "
           "row INTEGER NOT NULL", "run_seq, line_no", rowid=False),
    "CREATE INDEX lines_code ON lines(project_code)",
    _table("flags", f"{_RUN}, flag_no INTEGER NOT NULL, project_code TEXT, "
           "capital_source TEXT NOT NULL, rule_id TEXT NOT NULL, plan_dong INTEGER NOT NULL, "
           "disbursed_dong INTEGER NOT NULL, file TEXT NOT NULL, sheet TEXT NOT NULL, "
           "row INTEGER NOT NULL, record TEXT NOT NULL", "run_seq, flag_no"),
    "CREATE INDEX flags_code ON flags(project_code)",
    _table("proposal_lines", f"{_RUN}, line_no INTEGER NOT NULL, kind TEXT NOT NULL, "
           "project_code TEXT, capital_source TEXT NOT NULL, pool TEXT NOT NULL, "
           "amount_dong INTEGER NOT NULL, plan_dong INTEGER NOT NULL, "
           "plan_after_dong INTEGER NOT NULL, reason TEXT NOT NULL, record TEXT NOT NULL",
           "run_seq, line_no"),
    "CREATE INDEX proposal_code ON proposal_lines(project_code)",
    _table("issues", f"{_RUN}, issue_no INTEGER NOT NULL, code TEXT NOT NULL, "
           "severity TEXT NOT NULL, file TEXT, sheet TEXT, row INTEGER, col TEXT, "
           "message TEXT NOT NULL", "run_seq, issue_no"),
    _table("overrides", f"{_RUN}, override_no INTEGER NOT NULL, project_code TEXT, "
           "capital_source TEXT, kind TEXT, amount_dong INTEGER, reason TEXT NOT NULL, "
           "approver TEXT NOT NULL, record TEXT NOT NULL", "run_seq, override_no"),
    _table("outputs", f"{_RUN}, name TEXT NOT NULL, path TEXT NOT NULL, size INTEGER NOT NULL, "
           "sha256 TEXT NOT NULL", "run_seq, name"),
    """CREATE TABLE decisions (seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,
        run_seq INTEGER NOT NULL REFERENCES runs(seq), recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL, decision TEXT NOT NULL, basis TEXT NOT NULL,
        file_name TEXT, file_sha256 TEXT, hash_version INTEGER NOT NULL,
        prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL)""",
    _table("decision_lines", "decision_seq INTEGER NOT NULL REFERENCES decisions(seq), "
           "line_no INTEGER NOT NULL, project_code TEXT, capital_source TEXT NOT NULL, "
           "file TEXT, sheet TEXT, row INTEGER, plan_dong INTEGER, "
           "plan_after_dong INTEGER NOT NULL", "decision_seq, line_no"),
)]
SCHEMA_VERSION = len(MIGRATIONS)

# What a record's hash covers (hash_version 1). Frozen: a later migration that adds columns
# adds a new version here instead of changing these, so old records keep verifying.
_RUN_COLUMNS = ("seq, run_id, recorded_at, reviewer, engine_version, year, round, rule_id, "
                "round_name, as_of, threshold_pct, rules_path, rules_sha256, options, summary, "
                "policy, hash_version")
_RUN_PARTS = {
    "rules_text": "SELECT t.text FROM runs r LEFT JOIN rules_texts t ON t.sha256 = r.rules_sha256 "
                  "WHERE r.seq = ?",
    "inputs": "SELECT position, role, name, size, sha256 FROM inputs WHERE run_seq = ? "
              "ORDER BY position",
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
_DECISION_COLUMNS = ("seq, decision_id, run_seq, recorded_at, recorded_by, decision, basis, "
                     "file_name, file_sha256, hash_version")
_DECISION_PARTS = {
    "run_id": "SELECT r.run_id FROM decisions d LEFT JOIN runs r ON r.seq = d.run_seq "
              "WHERE d.seq = ?",
    "lines": "SELECT line_no, project_code, capital_source, file, sheet, row, plan_dong, "
             "plan_after_dong FROM decision_lines WHERE decision_seq = ? ORDER BY line_no",
}
CHILD_TABLES = ("inputs", "sheets", "lines", "flags", "proposal_lines", "issues", "overrides",
                "outputs")


def store_path(path: str | os.PathLike | None = None) -> Path:
    """The store to use: `path`, else $DISBURSEMENT_AUDIT_DB, else ./disbursement-audit.sqlite."""
    return Path(path or os.environ.get(ENV_VAR) or DEFAULT_STORE)


def files_dir(db_path: str | os.PathLike) -> Path:
    """The folder of content-addressed input copies beside the store."""
    return Path(f"{db_path}.files")


def blob_path(db_path: str | os.PathLike, sha256: str) -> Path:
    return files_dir(db_path) / sha256[:2] / sha256


def canonical_json(value) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"),
                      default=_jsonable)


def _jsonable(value):
    if isinstance(value, dt.date):
        return value.isoformat()
    if isinstance(value, set | frozenset):
        return sorted(value)
    if hasattr(value, "item"):  # numpy scalar
        return value.item()
    raise TypeError(f"cannot record {type(value).__name__} in the audit store")


def new_id() -> str:
    """32 hex digits that sort by creation time (48-bit milliseconds + 80 random bits)."""
    return f"{time.time_ns() // 1_000_000:012x}{secrets.token_hex(10)}"


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def current_user() -> str:
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def check_store(db_path: str | os.PathLike) -> None:
    """Raise `AuditStoreError` now if the store exists but cannot be used; never writes."""
    path = Path(db_path)
    if path.exists():
        with connect(path, migrate=False):
            pass


@contextlib.contextmanager
def connect(db_path: str | os.PathLike, *, create: bool = False,
            migrate: bool = True) -> Iterator[sqlite3.Connection]:
    """An open connection to a checked (and, if older, migrated) store; always closed.

    Without `create` a missing store is an error and no file is made. Newer schema versions,
    foreign SQLite files and damaged files are refused before anything is written.
    """
    path = Path(db_path)
    if path.is_dir():
        raise AuditStoreError(f"audit store {path} is a folder; give a file path")
    if not path.exists() and not create:
        raise AuditStoreError(f"no audit store at {path} (run a review first, or pass "
                              f"--audit-db / set {ENV_VAR})")
    _check_header(path)
    if create:
        path.parent.mkdir(parents=True, exist_ok=True)
    try:
        conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_MS / 1000, isolation_level=None)
    except sqlite3.Error as exc:
        raise AuditStoreError(f"cannot open audit store {path} ({exc})") from None
    try:
        conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        _check_version(conn, path)
        if migrate:
            _migrate(conn, path)
        conn.execute("PRAGMA foreign_keys = ON")
        yield conn
    except sqlite3.OperationalError as exc:
        if "locked" in str(exc) or "busy" in str(exc):
            raise AuditStoreError(f"audit store {path} is busy ({exc}); try again") from None
        raise _damaged(path, exc) from None
    except (sqlite3.DatabaseError, UnicodeDecodeError) as exc:
        if isinstance(exc, sqlite3.IntegrityError):
            raise
        raise _damaged(path, exc) from None
    finally:
        conn.close()


def _damaged(path: Path, exc: Exception) -> AuditStoreError:
    return AuditStoreError(f"audit store {path} is damaged or not an audit store ({exc}); it was "
                           "left as it is — restore it from a backup, or use another --audit-db")


def _check_header(path: Path) -> None:
    if not path.exists() or path.stat().st_size == 0:
        return
    with open(path, "rb") as handle:
        head = handle.read(len(_MAGIC))
    if head != _MAGIC:
        raise AuditStoreError(f"{path} is not an SQLite audit store (wrong file header); it "
                              "was left as it is — use another --audit-db")


def _check_version(conn: sqlite3.Connection, path: Path) -> None:
    version = conn.execute("PRAGMA user_version").fetchone()[0]
    app = conn.execute("PRAGMA application_id").fetchone()[0]
    if version > SCHEMA_VERSION:
        raise AuditStoreError(f"audit store {path} has schema version {version}, newer than this "
                              f"engine knows ({SCHEMA_VERSION}); upgrade disbursement — the store "
                              "was left as it is")
    if app not in (0, APPLICATION_ID) or (
            version == 0 and conn.execute("SELECT count(*) FROM sqlite_master").fetchone()[0]):
        raise AuditStoreError(f"{path} is an SQLite database but not a disbursement audit store; "
                              "it was left as it is — use another --audit-db")


def _migrate(conn: sqlite3.Connection, path: Path) -> None:
    if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
        return
    conn.execute("PRAGMA journal_mode = WAL")
    with transaction(conn):
        version = conn.execute("PRAGMA user_version").fetchone()[0]  # another writer may have won
        _check_version(conn, path)
        for statements in MIGRATIONS[version:]:
            for statement in statements:
                conn.execute(statement)
        conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
        conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")


@contextlib.contextmanager
def transaction(conn: sqlite3.Connection) -> Iterator[None]:
    """BEGIN IMMEDIATE … COMMIT: takes the write lock first, so writers queue, never interleave."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield
    except BaseException:
        conn.execute("ROLLBACK")
        raise
    conn.execute("COMMIT")


# ---- the hash chain -------------------------------------------------------------------------

def chain_head(conn: sqlite3.Connection) -> tuple[int, str]:
    """(seq, record_hash) of the last record, or (0, GENESIS) in an empty store."""
    row = conn.execute("SELECT seq, record_hash FROM (SELECT seq, record_hash FROM runs UNION ALL "
                       "SELECT seq, record_hash FROM decisions) ORDER BY seq DESC LIMIT 1").fetchone()
    return (row[0], row[1]) if row else (0, GENESIS)


def record_content(conn: sqlite3.Connection, kind: str, seq: int) -> dict:
    """Everything a record's hash covers, read back from the tables."""
    columns, parts, table = ((_RUN_COLUMNS, _RUN_PARTS, "runs") if kind == "run"
                             else (_DECISION_COLUMNS, _DECISION_PARTS, "decisions"))
    cursor = conn.execute(f"SELECT {columns} FROM {table} WHERE seq = ?", (seq,))
    names = [d[0] for d in cursor.description]
    content: dict = {kind: dict(zip(names, cursor.fetchone(), strict=True))}
    for part, sql in parts.items():
        rows = [list(r) for r in conn.execute(sql, (seq,))]
        content[part] = rows[0][0] if part in ("rules_text", "run_id") else rows
    return content


def record_hash(prev_hash: str, content: dict) -> str:
    return hashlib.sha256((prev_hash + canonical_json(content)).encode("utf-8")).hexdigest()


def seal(conn: sqlite3.Connection, kind: str, seq: int, prev_hash: str) -> str:
    """Compute and store the hash of a record just inserted (inside its transaction)."""
    digest = record_hash(prev_hash, record_content(conn, kind, seq))
    table = "runs" if kind == "run" else "decisions"
    conn.execute(f"UPDATE {table} SET record_hash = ? WHERE seq = ?", (digest, seq))
    return digest


def verify(db_path: str | os.PathLike) -> dict:
    """Recompute the chain and check the stored input copies.

    Returns {"ok", "records", "head", "first_broken", "files", "integrity"}; `first_broken`
    names the first record whose content or link does not match, or None.
    """
    with connect(db_path) as conn:
        integrity = conn.execute("PRAGMA integrity_check").fetchone()[0]
        entries = conn.execute(
            "SELECT seq, 'run', run_id, prev_hash, record_hash FROM runs UNION ALL "
            "SELECT seq, 'decision', decision_id, prev_hash, record_hash FROM decisions "
            "ORDER BY 1").fetchall()
        broken, prev, count = None, GENESIS, 0
        for seq, kind, ident, stored_prev, stored_hash in entries:
            count += 1
            if stored_prev != prev:
                broken = (seq, kind, ident, "its prev_hash does not match the record before it "
                          "(a record was removed, inserted or reordered)")
            elif record_hash(prev, record_content(conn, kind, seq)) != stored_hash:
                broken = (seq, kind, ident, "its content no longer matches its record_hash "
                          "(the record or one of its rows was changed)")
            if broken:
                break
            prev = stored_hash
        orphans = [t for t in CHILD_TABLES if conn.execute(
            f"SELECT 1 FROM {t} WHERE run_seq NOT IN (SELECT seq FROM runs) LIMIT 1").fetchone()]
        blobs = conn.execute("SELECT sha256 FROM inputs UNION SELECT file_sha256 FROM decisions "
                             "WHERE file_sha256 IS NOT NULL ORDER BY 1").fetchall()
    files = []
    for (sha,) in blobs:
        copy = blob_path(db_path, sha)
        if not copy.exists():
            files.append({"sha256": sha, "problem": f"stored copy {copy} is missing"})
        elif sha256_file(copy) != sha:
            files.append({"sha256": sha, "problem": f"stored copy {copy} was changed"})
    first = None if broken is None else dict(zip(("seq", "kind", "id", "reason"), broken,
                                                 strict=True))
    if first is None and orphans:
        first = {"seq": None, "kind": "rows", "id": ", ".join(orphans),
                 "reason": "rows belong to a run that is no longer in the store"}
    return {"ok": first is None and not files and integrity == "ok", "records": count,
            "head": prev if broken is None else None, "first_broken": first, "files": files,
            "integrity": integrity}


# ---- recording a run ------------------------------------------------------------------------

def keep_copy(db_path: str | os.PathLike, source: str | os.PathLike) -> tuple[str, int]:
    """Copy a file into the content-addressed folder (atomically, once); (sha256, size)."""
    try:
        data = Path(source).read_bytes()
        sha = hashlib.sha256(data).hexdigest()
        target = blob_path(db_path, sha)
        if not target.exists() or target.stat().st_size != len(data):
            atomic_write_bytes(target, data)
    except OSError as exc:
        raise AuditStoreError(f"cannot keep a copy of {source} beside the audit store "
                              f"({exc.strerror or exc}); nothing was recorded") from None
    return sha, len(data)


def record_run(db_path: str | os.PathLike | None, result, *, reviewer: str | None = None,
               rules_text: str | None = None, input_paths: Iterable | None = None,
               output_paths: Mapping[str, os.PathLike] | None = None,
               engine_version: str | None = None, overrides: Iterable | None = None,
               options: Mapping | None = None) -> str:
    """Record one review run (a `RunResult`) and return its run id.

    `input_paths` default to `result.inputs`, `rules_text` to the content of
    `result.rules_path`. `options` are the options as the user gave them, named like the
    keyword arguments of `pipeline.run_round` and `outputs.write_outputs` (plus `round`), so
    that replay can pass each one back; the files and folders they name (`FILE_OPTIONS`,
    `DIR_OPTIONS`) are copied into the store like the inputs. `overrides` are dicts (or
    dataclasses) with reason and approver; by default the overrides marked on the proposal.
    """
    from disbursement import __version__

    db = store_path(db_path)
    rows = _run_rows(result, overrides)
    rules_text = rules_text if rules_text is not None else Path(result.rules_path).read_text(
        encoding="utf-8")
    rules_sha = hashlib.sha256(rules_text.encode("utf-8")).hexdigest()
    info = result.round
    opts = {k: str(v) if isinstance(v, os.PathLike) else v.isoformat()
            if isinstance(v, dt.date) else v for k, v in (options or {
                "round": info.number, "year": info.year, "as_of": info.as_of}).items()}
    files = [("input", str(p), p) for p in (input_paths if input_paths is not None
                                           else result.inputs)]
    files += [(key, str(opts[key]), opts[key]) for key in FILE_OPTIONS if opts.get(key)]
    for key in DIR_OPTIONS:
        if opts.get(key):
            folder = Path(opts[key])
            files += [(key, f.relative_to(folder).as_posix(), f) for f in sorted(folder.rglob("*"))
                      if f.is_file()]
    inputs = [(i, role, name, *reversed(keep_copy(db, path)))
              for i, (role, name, path) in enumerate(files)]
    outputs = [(name, str(p), Path(p).stat().st_size, sha256_file(p))
               for name, p in sorted((output_paths or {}).items())]
    with connect(db, create=True) as conn, transaction(conn):
        seq, prev = chain_head(conn)
        seq += 1
        run_id = new_id()  # inside the lock: ids sort in chain order
        conn.execute("INSERT OR IGNORE INTO rules_texts VALUES (?, ?)", (rules_sha, rules_text))
        conn.execute(
            f"INSERT INTO runs ({_RUN_COLUMNS}, prev_hash, record_hash) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (seq, run_id, utc_now(), reviewer or current_user(), engine_version or __version__,
             info.year, info.number, info.rule_id, info.name, info.as_of.isoformat(),
             info.threshold_pct, str(opts.get("rules_path") or result.rules_path), rules_sha,
             canonical_json(opts), canonical_json(result.summary),
             canonical_json(rows["policy"]) if rows["policy"] is not None else None,
             HASH_VERSION, prev, ""))
        conn.executemany("INSERT INTO inputs VALUES (?,?,?,?,?,?)", [(seq, *i) for i in inputs])
        name_ids = _name_ids(conn, rows["names"])
        conn.executemany("INSERT INTO sheets VALUES (?,?,?,?)", [(seq, *r) for r in rows["sheets"]])
        conn.executemany("INSERT INTO lines VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                         [(seq, r[0], r[1], r[2], r[3], name_ids.get(r[4]), *r[5:])
                          for r in rows["lines"]])
        for table, values in (("flags", rows["flags"]), ("proposal_lines", rows["proposal"]),
                              ("issues", rows["issues"]), ("overrides", rows["overrides"]),
                              ("outputs", outputs)):
            if values:
                marks = ",".join("?" * (len(values[0]) + 1))
                conn.executemany(f"INSERT INTO {table} VALUES ({marks})",
                                 [(seq, *v) for v in values])
        seal(conn, "run", seq, prev)
    return run_id


def _run_rows(result, overrides: Iterable | None) -> dict:
    """The rows of one run for each table, from the result (no store access)."""
    import dataclasses

    import pandas as pd

    from disbursement.render.records import flag_records, proposal_json

    def opt(value):
        return None if value is None or value is pd.NA or (
            isinstance(value, float) and value != value) else value

    plan = result.plan
    n = len(plan)

    def column(name, default=None):
        return plan[name].tolist() if name in plan else [default] * n

    sheet_no: dict[tuple[str, str], int] = {}
    lines, names = [], []
    for i, (code, source, status, name, p, d, e, scope, flag, file, sheet, row) in enumerate(
            zip(column("project_code"), column("capital_source"), column("status"),
                column("project_name"), column("plan_dong", 0), column("disbursed_dong", 0),
                column("expected_dong"), column("in_scope", False), column("flagged", False),
                column("file", ""), column("sheet", ""), column("row", 0), strict=True)):
        number = sheet_no.setdefault((str(file), str(sheet)), len(sheet_no))
        name = opt(name)
        names.append(name)
        expected = opt(e)
        lines.append((i, opt(code), opt(source) or "UNKNOWN", opt(status), name, int(p), int(d),
                      None if expected is None else int(expected), int(bool(scope)),
                      int(bool(flag)), number, int(row)))
    records = flag_records(result)
    if "lifecycle" in result.flags:
        for record, state in zip(records, result.flags["lifecycle"].tolist(), strict=True):
            record["lifecycle"] = state
    flags = [(i, r["project_code"], r["capital_source"], r["rule_id"], r["plan_dong"],
              r["disbursed_dong"], r["source"]["file"], r["source"]["sheet"], r["source"]["row"],
              canonical_json(r)) for i, r in enumerate(records)]
    proposal, marked = [], []
    if result.proposal is not None:
        data = proposal_json(result.proposal)
        kinds = [("decrease", x) for x in data["decreases"]] + [
            ("increase", x) for x in data["increases"]]
        for i, (kind, x) in enumerate(kinds):
            proposal.append((i, kind, x["project_code"], x["capital_source"], x["pool"],
                             x["amount_dong"], x["plan_dong"], x["plan_after_dong"], x["reason"],
                             canonical_json(x)))
            if x.get("override"):
                marked.append({"project_code": x["project_code"],
                               "capital_source": x["capital_source"], "kind": kind,
                               "amount_dong": x["amount_dong"], **x["override"]})
    given = marked if overrides is None else [
        dataclasses.asdict(o) if dataclasses.is_dataclass(o) else dict(o) for o in overrides]
    override_rows = [(i, o.get("project_code"), o.get("capital_source"), o.get("kind"),
                      o.get("amount_dong"), str(o.get("reason") or ""), str(o.get("approver") or ""),
                      canonical_json(o)) for i, o in enumerate(given)]
    issues = [(i, x.code, x.severity, x.file, x.sheet, x.row, x.column, x.message)
              for i, x in enumerate(result.issues)]
    return {"sheets": [(no, f, s) for (f, s), no in sheet_no.items()], "lines": lines,
            "names": names, "flags": flags, "proposal": proposal, "issues": issues,
            "overrides": override_rows,
            "policy": None if result.proposal is None else result.proposal.policy}


def _name_ids(conn: sqlite3.Connection, names: Iterable[str]) -> dict[str, int]:
    """Ids of the names in `names`, adding the ones the store does not have yet."""
    rows = [(int.from_bytes(hashlib.sha256(n.encode("utf-8")).digest()[:8], "big", signed=True), n)
            for n in dict.fromkeys(names) if n is not None]
    conn.execute("CREATE TEMP TABLE IF NOT EXISTS new_names (digest INTEGER, text TEXT)")
    conn.execute("DELETE FROM new_names")
    conn.executemany("INSERT INTO new_names VALUES (?, ?)", rows)
    conn.execute("INSERT INTO names (digest, text) SELECT digest, text FROM new_names n WHERE NOT "
                 "EXISTS (SELECT 1 FROM names m WHERE m.digest = n.digest AND m.text = n.text)")
    return dict(conn.execute("SELECT m.text, m.id FROM new_names n JOIN names m "
                             "ON m.digest = n.digest AND m.text = n.text"))


def find_run(conn: sqlite3.Connection, ref: str) -> tuple[int, str]:
    """(seq, run_id) of a run given its id, a unique prefix of it, or `latest`."""
    ref = ref.strip().lower()
    if ref == "latest":
        row = conn.execute("SELECT seq, run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            raise AuditStoreError("the audit store has no runs yet")
        return row
    if not ref or any(c not in "0123456789abcdef" for c in ref):
        raise AuditStoreError(f"{ref!r} is not a run id (hex digits, or 'latest')")
    found = conn.execute("SELECT seq, run_id FROM runs WHERE run_id >= ? AND run_id < ? "
                         "ORDER BY seq LIMIT 3", (ref, ref + "g")).fetchall()
    if not found:
        raise AuditStoreError(f"no run {ref} in the audit store (see `disbursement audit runs`)")
    if len(found) > 1:
        raise AuditStoreError(f"run id prefix {ref} is ambiguous ({', '.join(r[1] for r in found)}"
                              "…); give more digits")
    return found[0]


# ---- decisions ------------------------------------------------------------------------------

def decide(db_path: str | os.PathLike | None, run_ref: str, decision: str, *,
           approved: str | os.PathLike | None = None, recorded_by: str | None = None) -> dict:
    """Record the decision that approved a run's proposal, as is or with figures from a file.

    `approved` is an .xlsx/.csv with project code, capital source and plan after adjustment
    (triệu đồng unless its header names another unit); every row must match a line the run
    read, else `DecisionInvalid` lists each bad row and nothing is recorded. Returns
    {"decision_id", "run_id", "basis", "lines"}.
    """
    if not decision or not decision.strip():
        raise DecisionInvalid("give the decision's number and date, e.g. --decision "
                              "\"Quyết định số 123/QĐ-UBND ngày 15/7/2022\"")
    db = store_path(db_path)
    with connect(db) as conn:
        run_seq, run_id = find_run(conn, run_ref)
        file_sha = None
        if approved is None:
            lines = _proposal_plan_after(conn, run_seq)
            if not lines:
                raise DecisionInvalid(f"run {run_id} has no proposal lines to approve; pass "
                                      "--approved FILE with the approved plan after adjustment")
        else:
            from disbursement.audit.queries import approved_lines

            lines = approved_lines(conn, run_seq, approved)
            file_sha = keep_copy(db, approved)[0]
        with transaction(conn):
            seq, prev = chain_head(conn)
            seq += 1
            decision_id = new_id()
            conn.execute(
                f"INSERT INTO decisions ({_DECISION_COLUMNS}, prev_hash, record_hash) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                (seq, decision_id, run_seq, utc_now(), recorded_by or current_user(),
                 decision.strip(), "proposal" if approved is None else "file",
                 None if approved is None else str(approved), file_sha, HASH_VERSION, prev, ""))
            conn.executemany("INSERT INTO decision_lines VALUES (?,?,?,?,?,?,?,?,?)",
                             [(seq, i, *line) for i, line in enumerate(lines)])
            seal(conn, "decision", seq, prev)
    return {"decision_id": decision_id, "run_id": run_id,
            "basis": "proposal" if approved is None else "file", "lines": len(lines)}


def _proposal_plan_after(conn: sqlite3.Connection, run_seq: int) -> list[tuple]:
    """(code, source, file, sheet, row, plan, plan after) per line the proposal changes."""
    after: dict[tuple, list] = {}
    for kind, code, source, amount, plan, record in conn.execute(
            "SELECT kind, project_code, capital_source, amount_dong, plan_dong, record "
            "FROM proposal_lines WHERE run_seq = ? ORDER BY line_no", (run_seq,)):
        where = json.loads(record)["source"]
        key = (code, source, where["file"], where["sheet"], where["row"])
        entry = after.setdefault(key, [plan, plan])
        entry[1] += amount if kind == "increase" else -amount
    return [(*key, plan, plan_after) for key, (plan, plan_after) in after.items()]
