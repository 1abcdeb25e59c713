"""Audit stores on both back ends for the audit tests: an SQLite file, or a fresh schema in the
PostgreSQL database named by DISBURSEMENT_TEST_PG (see .ci/start-postgres).

Without that server the `postgres` tests skip with one line; with CI=true they fail.
"""

from __future__ import annotations

import os
import secrets
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from disbursement.audit import blocks
from disbursement.audit.store import connect

PG_ENV = "DISBURSEMENT_TEST_PG"
BACKENDS = ["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)]


def server_url() -> str:
    """The test server's URL, or a skip (a failure with CI=true) when there is none."""
    url = os.environ.get(PG_ENV, "")
    problem = "" if url else f"{PG_ENV} is not set (.ci/start-postgres sets it)"
    try:
        import psycopg
    except ImportError:
        problem = "psycopg is not installed (make venv installs it)"
        url = ""
    if url:
        try:
            psycopg.connect(url, connect_timeout=5).close()
        except psycopg.Error as exc:
            problem = f"cannot reach {url}: {str(exc).strip().splitlines()[0]}"
    if problem:
        if os.environ.get("CI") == "true":
            pytest.fail(f"PostgreSQL needed under CI=true: {problem}")
        pytest.skip(f"no PostgreSQL: {problem}")
    return url


def with_params(url: str, **params: str) -> str:
    query = "&".join(f"{k}={v}" for k, v in params.items())
    return url + ("&" if "?" in url else "?") + query


def run_sql(url: str, statement: str, args: tuple[Any, ...] = ()) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(statement, args or None)


@pytest.fixture
def pg_schema_url() -> Iterator[str]:
    """A store URL on the test server whose tables live in a new, empty schema."""
    base = server_url()
    name = f"t_{secrets.token_hex(6)}"
    run_sql(base, f"CREATE SCHEMA {name}")
    yield with_params(base, options=f"-csearch_path%3D{name}")
    run_sql(base, f"DROP SCHEMA {name} CASCADE")


@pytest.fixture(params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, tmp_path: Any, request: pytest.FixtureRequest) -> Any:
    """An empty audit store: an SQLite path (not yet created), or a PostgreSQL URL."""
    if backend == "sqlite":
        return tmp_path / "audit" / "so-kiem-toan.sqlite"
    return request.getfixturevalue("pg_schema_url")


def tamper(store: Any, statement: str, args: tuple[Any, ...] = ()) -> None:
    """Run one statement (SQLite spelling, `?` marks) on the store, as an editor would."""
    with connect(store) as conn:
        conn.execute(statement, args)


def fetch(store: Any, statement: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with connect(store) as conn:
        return [tuple(r) for r in conn.execute(statement, args).fetchall()]


def block(store: Any, seq: int, part: str) -> Any:
    """The decoded `part` block of run `seq` (hash version 4)."""
    with connect(store) as conn:
        return blocks.read(conn, seq, part)


def rewrite_block(store: Any, seq: int, part: str, change: Callable[[Any], Any]) -> None:
    """Decode a run's block, change it and write it back well formed, as an editor would."""
    value = change(block(store, seq, part))
    tamper(
        store,
        "UPDATE run_blocks SET data = ? WHERE run_seq = ? AND part = ?",
        (blocks.encode(value), seq, part),
    )
