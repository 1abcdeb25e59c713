"""The store's schema: named migrations, applied once each and recorded by name.

A store remembers which migrations it has in the table `migrations` (name, applied_at) — the
idea of sqlite-utils' migrations — so a later engine adds its own by name, and an engine that
finds a name it does not know refuses the store as newer. SQLite stores also keep
`PRAGMA user_version` = the number applied (what engines before named migrations read) and
`application_id` "DISB"; a store written before names were recorded is read as having the first
`user_version` migrations. Migrations run in one write transaction (SQLite BEGIN IMMEDIATE,
PostgreSQL's advisory lock), so the first two writers of an empty database do not race.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from disbursement.audit.backends import Connection
from disbursement.audit.location import AuditStoreError

APPLICATION_ID = 0x44495342  # "DISB": marks an SQLite file as ours
BOTH = ("sqlite", "postgresql")


@dataclass(frozen=True)
class Migration:
    name: str
    statements: tuple[str, ...]
    backends: tuple[str, ...] = BOTH  # a back end not listed records the name and runs nothing


def _table(name: str, columns: str, key: str, rowid: bool = True) -> str:
    # WITHOUT ROWID only for small rows (lines); rows with JSON records overflow its pages
    return f"CREATE TABLE {name} ({columns}, PRIMARY KEY ({key})){'' if rowid else ' WITHOUT ROWID'}"


_REPLIES = (
    """CREATE TABLE requests (request_id TEXT PRIMARY KEY, recorded_at TEXT NOT NULL,
    recorded_by TEXT NOT NULL, year INTEGER NOT NULL, round INTEGER NOT NULL,
    rule_id TEXT NOT NULL, as_of TEXT NOT NULL, deadline TEXT, investor TEXT NOT NULL,
    unit TEXT NOT NULL, file_name TEXT NOT NULL, lines TEXT NOT NULL)""",
    "CREATE INDEX requests_year_round ON requests(year, round)",
    """CREATE TABLE replies (seq INTEGER PRIMARY KEY, sha256 TEXT NOT NULL UNIQUE,
    request_id TEXT NOT NULL REFERENCES requests(request_id), investor TEXT NOT NULL,
    file_name TEXT NOT NULL, size INTEGER NOT NULL, received TEXT NOT NULL,
    recorded_at TEXT NOT NULL, recorded_by TEXT NOT NULL, lines_answered INTEGER NOT NULL,
    lines_unanswered INTEGER NOT NULL)""",
    """CREATE TABLE reply_answers (reply_seq INTEGER NOT NULL REFERENCES replies(seq),
    answer_no INTEGER NOT NULL, token TEXT NOT NULL, project_code TEXT,
    capital_source TEXT NOT NULL, field TEXT NOT NULL, was_dong INTEGER, now_dong INTEGER,
    text TEXT, sheet TEXT NOT NULL, row INTEGER NOT NULL, col TEXT NOT NULL,
    PRIMARY KEY (reply_seq, answer_no))""",
    "CREATE INDEX reply_answers_code ON reply_answers(project_code)",
)


_RUN = "run_seq INTEGER NOT NULL REFERENCES runs(seq)"
MIGRATIONS: tuple[Migration, ...] = (
    Migration(
        "0001-runs-decisions-and-their-rows",
        (
            "CREATE TABLE rules_texts (sha256 TEXT PRIMARY KEY, text TEXT NOT NULL) WITHOUT ROWID",
            """CREATE TABLE runs (seq INTEGER PRIMARY KEY, run_id TEXT NOT NULL UNIQUE,
        recorded_at TEXT NOT NULL, reviewer TEXT NOT NULL, engine_version TEXT NOT NULL,
        year INTEGER NOT NULL, round INTEGER NOT NULL, rule_id TEXT NOT NULL,
        round_name TEXT NOT NULL, as_of TEXT NOT NULL, threshold_pct INTEGER,
        rules_path TEXT NOT NULL, rules_sha256 TEXT NOT NULL REFERENCES rules_texts(sha256),
        options TEXT NOT NULL, summary TEXT NOT NULL, policy TEXT,
        hash_version INTEGER NOT NULL, prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL)""",
            "CREATE INDEX runs_year_round ON runs(year, round)",
            _table(
                "inputs",
                f"{_RUN}, position INTEGER NOT NULL, role TEXT NOT NULL, "
                "name TEXT NOT NULL, size INTEGER NOT NULL, sha256 TEXT NOT NULL",
                "run_seq, position",
            ),
            _table(
                "sheets",
                f"{_RUN}, sheet_no INTEGER NOT NULL, file TEXT NOT NULL, sheet TEXT NOT NULL",
                "run_seq, sheet_no",
            ),
            # Project names kept once across runs; looked up by a 64-bit digest (a small index).
            "CREATE TABLE names (id INTEGER PRIMARY KEY, digest INTEGER NOT NULL, text TEXT NOT NULL)",
            "CREATE INDEX names_digest ON names(digest)",
            _table(
                "lines",
                f"{_RUN}, line_no INTEGER NOT NULL, project_code TEXT, "
                "capital_source TEXT NOT NULL, status TEXT, name_id INTEGER REFERENCES names(id), "
                "plan_dong INTEGER NOT NULL, disbursed_dong INTEGER NOT NULL, "
                "expected_dong INTEGER, in_scope INTEGER NOT NULL, flagged INTEGER NOT NULL, "
                "sheet_no INTEGER NOT NULL, row INTEGER NOT NULL",
                "run_seq, line_no",
                rowid=False,
            ),
            "CREATE INDEX lines_code ON lines(project_code)",
            _table(
                "flags",
                f"{_RUN}, flag_no INTEGER NOT NULL, project_code TEXT, "
                "capital_source TEXT NOT NULL, rule_id TEXT NOT NULL, plan_dong INTEGER NOT NULL, "
                "disbursed_dong INTEGER NOT NULL, file TEXT NOT NULL, sheet TEXT NOT NULL, "
                "row INTEGER NOT NULL, record TEXT NOT NULL",
                "run_seq, flag_no",
            ),
            "CREATE INDEX flags_code ON flags(project_code)",
            _table(
                "proposal_lines",
                f"{_RUN}, line_no INTEGER NOT NULL, kind TEXT NOT NULL, "
                "project_code TEXT, capital_source TEXT NOT NULL, pool TEXT NOT NULL, "
                "amount_dong INTEGER NOT NULL, plan_dong INTEGER NOT NULL, "
                "plan_after_dong INTEGER NOT NULL, reason TEXT NOT NULL, record TEXT NOT NULL",
                "run_seq, line_no",
            ),
            "CREATE INDEX proposal_code ON proposal_lines(project_code)",
            _table(
                "issues",
                f"{_RUN}, issue_no INTEGER NOT NULL, code TEXT NOT NULL, "
                "severity TEXT NOT NULL, file TEXT, sheet TEXT, row INTEGER, col TEXT, "
                "message TEXT NOT NULL",
                "run_seq, issue_no",
            ),
            _table(
                "overrides",
                f"{_RUN}, override_no INTEGER NOT NULL, project_code TEXT, "
                "capital_source TEXT, kind TEXT, amount_dong INTEGER, reason TEXT NOT NULL, "
                "approver TEXT NOT NULL, record TEXT NOT NULL",
                "run_seq, override_no",
            ),
            _table(
                "outputs",
                f"{_RUN}, name TEXT NOT NULL, path TEXT NOT NULL, "
                "size INTEGER NOT NULL, sha256 TEXT NOT NULL",
                "run_seq, name",
            ),
            """CREATE TABLE decisions (seq INTEGER PRIMARY KEY, decision_id TEXT NOT NULL UNIQUE,
        run_seq INTEGER NOT NULL REFERENCES runs(seq), recorded_at TEXT NOT NULL,
        recorded_by TEXT NOT NULL, decision TEXT NOT NULL, basis TEXT NOT NULL,
        file_name TEXT, file_sha256 TEXT, hash_version INTEGER NOT NULL,
        prev_hash TEXT NOT NULL, record_hash TEXT NOT NULL)""",
            _table(
                "decision_lines",
                "decision_seq INTEGER NOT NULL REFERENCES decisions(seq), "
                "line_no INTEGER NOT NULL, project_code TEXT, capital_source TEXT NOT NULL, "
                "file TEXT, sheet TEXT, row INTEGER, plan_dong INTEGER, "
                "plan_after_dong INTEGER NOT NULL",
                "decision_seq, line_no",
            ),
        ),
    ),
    # Who recorded: the database role beside --reviewer / --by (NULL where there are no roles).
    Migration(
        "0002-recording-database-role",
        (
            "ALTER TABLE runs ADD COLUMN db_role TEXT",
            "ALTER TABLE decisions ADD COLUMN db_role TEXT",
        ),
    ),
    # A server store keeps the input copies itself: a replay needs nothing from anyone's disk.
    Migration(
        "0003-input-copies-in-the-database",
        ("CREATE TABLE blobs (sha256 TEXT PRIMARY KEY, size INTEGER NOT NULL, data BLOB NOT NULL)",),
        backends=("postgresql",),
    ),
    # Investor requests and their replies (audit/replies.py): dated evidence per answered cell.
    Migration("0004-investor-requests-and-replies", _REPLIES),
    # Lean run rows (hash version 3): a sheet keeps its cell-letter map once, and the flag,
    # proposal and override rows keep in `record` only what their columns do not (audit/rows.py).
    Migration("0005-lean-run-rows", ("ALTER TABLE sheets ADD COLUMN cells TEXT",)),
    # Run blocks (hash version 4): a run's lines, flags, proposal lines and issues as one
    # compressed block each instead of a row each (audit/blocks.py).
    Migration(
        "0006-run-blocks",
        (
            _table(
                "run_blocks",
                f"{_RUN}, part TEXT NOT NULL, rows INTEGER NOT NULL, data BLOB NOT NULL",
                "run_seq, part",
            ),
        ),
    ),
)
SCHEMA_VERSION = len(MIGRATIONS)
KNOWN = [m.name for m in MIGRATIONS]
_BOOKKEEPING = "CREATE TABLE IF NOT EXISTS migrations (name TEXT PRIMARY KEY, applied_at TEXT NOT NULL)"


def applied(conn: Connection) -> list[str] | None:
    """Names of the migrations the store has (in order), or None for an empty database.

    Refuses (AuditStoreError) a database that holds other tables, and one newer than this
    engine; reads only.
    """
    where = conn.location
    if conn.is_postgres:
        tables = {
            r[0]
            for r in conn.execute(
                "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema()"
            ).fetchall()
        }
        if not tables:
            return None
        if "migrations" not in tables:
            raise AuditStoreError(
                f"{where.where()} holds other tables but is not a "
                "disbursement audit store; it was left as it is — use "
                "another --audit-db"
            )
        names = [r[0] for r in conn.execute("SELECT name FROM migrations ORDER BY name")]
        version = len(names)
    else:
        version = int(conn.scalar("PRAGMA user_version"))
        app = int(conn.scalar("PRAGMA application_id"))
        _refuse_newer(where, version)
        tables = {r[0] for r in conn.execute("SELECT name FROM sqlite_master")}
        if app not in (0, APPLICATION_ID) or (version == 0 and tables):
            raise AuditStoreError(
                f"{where} is an SQLite database but not a disbursement audit "
                "store; it was left as it is — use another --audit-db"
            )
        if version == 0:
            return None
        names = (
            sorted(r[0] for r in conn.execute("SELECT name FROM migrations"))
            if "migrations" in tables
            else KNOWN[:version]
        )
    unknown = sorted(set(names) - set(KNOWN))
    if unknown:
        _refuse_newer(where, SCHEMA_VERSION + len(unknown), unknown)
    return names


def _refuse_newer(where: object, version: int, unknown: list[str] | None = None) -> None:
    if version > SCHEMA_VERSION:
        names = f" (migrations {', '.join(unknown)})" if unknown else ""
        raise AuditStoreError(
            f"audit store {where} has schema version {version}{names}, newer "
            f"than this engine knows ({SCHEMA_VERSION}); upgrade disbursement "
            "— the store was left as it is"
        )


def migrate(conn: Connection) -> None:
    """Bring the store to this engine's schema; a no-op (one read) when it is current."""
    have = applied(conn)
    if have is not None and len(have) == SCHEMA_VERSION:
        return
    if not conn.is_postgres:
        conn.execute("PRAGMA journal_mode = WAL")
    with conn.transaction():
        have = applied(conn) or []  # another writer may have migrated while we waited
        if len(have) == SCHEMA_VERSION:
            return
        conn.execute(conn.ddl(_BOOKKEEPING))
        now = dt.datetime.now(dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        recorded = {r[0] for r in conn.execute("SELECT name FROM migrations")}
        for migration in MIGRATIONS:
            if migration.name not in have and conn.location.backend in migration.backends:
                for statement in migration.statements:
                    conn.execute(conn.ddl(statement))
            if migration.name not in recorded:
                conn.execute("INSERT INTO migrations VALUES (?, ?)", (migration.name, now))
        if not conn.is_postgres:
            conn.execute(f"PRAGMA application_id = {APPLICATION_ID}")
            conn.execute(f"PRAGMA user_version = {SCHEMA_VERSION}")
