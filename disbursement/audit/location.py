"""Where the audit store is: an SQLite file path or a PostgreSQL URL, never confused.

`--audit-db` and `DISBURSEMENT_AUDIT_DB` take either. Anything that starts like a URL
(`scheme://…`, or a known scheme followed by `:`) is an address: `postgresql://` and
`postgres://` select the server store, `sqlite:///path` names a file, and any other scheme is
refused — never taken for a relative path (which would create a folder named `postgresql:`).
A Windows drive (`C:\\…`) has a one-letter "scheme" and stays a path.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from dataclasses import dataclass
from pathlib import Path

from disbursement.errors import DisbursementError

DEFAULT_STORE = "disbursement-audit.sqlite"
ENV_VAR = "DISBURSEMENT_AUDIT_DB"
POSTGRES_SCHEMES = ("postgresql", "postgres")
_URL = re.compile(r"^([A-Za-z][A-Za-z0-9+.-]+):(//)?")


class AuditStoreError(DisbursementError):
    """The audit store cannot be used (not a store, damaged, newer schema, busy, unreachable,
    no permission, unknown run)."""


class DecisionInvalid(DisbursementError):
    """A decision cannot be recorded (no text, no proposal, or a bad approved-figures file)."""


@dataclass(frozen=True)
class Location:
    """One audit store: `backend` "sqlite" with a `path`, or "postgresql" with a `url`."""

    backend: str
    path: Path = Path()
    url: str = ""

    @property
    def is_postgres(self) -> bool:
        return self.backend == "postgresql"

    @property
    def host(self) -> str:
        """The server as people read it (the socket folder for a local socket)."""
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
        parts = urllib.parse.urlsplit(self.url)
        host = parts.hostname or (query.get("host") or [""])[0] or "localhost (default socket)"
        return f"{host}:{parts.port}" if parts.port else host

    @property
    def database(self) -> str:
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(self.url).query)
        name = urllib.parse.unquote(urllib.parse.urlsplit(self.url).path.lstrip("/"))
        return name or (query.get("dbname") or [""])[0] or "(the user's default database)"

    def __str__(self) -> str:
        if not self.is_postgres:
            return str(self.path)
        return _without_password(self.url)

    def where(self) -> str:
        """Host and database, for error messages."""
        return f"database {self.database} on host {self.host}"


def _without_password(url: str) -> str:
    parts = urllib.parse.urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urllib.parse.urlunsplit(parts._replace(netloc=netloc))


def locate(ref: str | os.PathLike[str] | Location | None = None) -> Location:
    """The store to use: `ref`, else $DISBURSEMENT_AUDIT_DB, else ./disbursement-audit.sqlite."""
    if isinstance(ref, Location):
        return ref
    text = os.fspath(ref) if ref else os.environ.get(ENV_VAR) or DEFAULT_STORE
    match = _URL.match(text)
    scheme = match.group(1).lower() if match else ""
    if match and (match.group(2) or scheme in (*POSTGRES_SCHEMES, "sqlite")):
        if scheme in POSTGRES_SCHEMES:
            return Location("postgresql", url=text)
        if scheme == "sqlite":
            path = urllib.parse.unquote(urllib.parse.urlsplit(text).path)
            if not path:
                raise AuditStoreError(
                    f"audit store address {text} names no file; use "
                    "sqlite:///path/to/store.sqlite or a plain path"
                )
            return Location("sqlite", Path(path))
        raise AuditStoreError(
            f"audit store address {_without_password(text)} has an unknown scheme "
            f"'{scheme}:'; give a file path (SQLite) or postgresql://host/database — nothing "
            "was created"
        )
    return Location("sqlite", Path(text))


def files_dir(db_path: str | os.PathLike[str]) -> Path:
    """The folder of content-addressed input copies beside an SQLite store."""
    return Path(f"{os.fspath(db_path)}.files")


def blob_path(db_path: str | os.PathLike[str], sha256: str) -> Path:
    return files_dir(db_path) / sha256[:2] / sha256
