"""Investor requests and replies in the audit store: who was asked what, who said what, when.

A request is kept when `disbursement requests` writes it (its lines, keys and figures at
request time); a reply when it is read with a received date (by `disbursement replies`, or by
`review --replies` when the run is recorded): the file itself (kept like an input), its
sha256, the request it answers, and every answered cell with the figure it replaced. The same
file is kept once: reading it again finds the date it was first received.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
from collections.abc import Iterable, Iterator
from typing import Any

from disbursement.audit import blobs
from disbursement.audit.backends import Connection
from disbursement.audit.store import Db, connect, current_user, exists, locate, utc_now
from disbursement.investors.answers import Answer, Reply
from disbursement.investors.spec import Request, RequestLine


def _line_json(line: RequestLine) -> dict[str, Any]:
    return {
        "token": line.token,
        "project_code": line.project_code,
        "capital_source": line.capital_source,
        "capital_source_label": line.capital_source_label,
        "project_name": line.project_name,
        "plan_dong": line.plan_dong,
        "disbursed_dong": line.disbursed_dong,
        "flagged": line.flagged,
        "reason": line.reason,
        "figures": line.figures,
    }


def _request_row(request: Request, by: str) -> tuple[Any, ...]:
    lines = json.dumps(
        [_line_json(x) for x in request.lines], ensure_ascii=False, sort_keys=True, separators=(",", ":")
    )
    return (
        request.request_id,
        utc_now(),
        by,
        request.year,
        request.round,
        request.rule_id,
        request.as_of.isoformat(),
        request.deadline.isoformat() if request.deadline else None,
        request.investor,
        request.unit,
        request.file_name,
        lines,
    )


def record_requests(db: Db, requests: Iterable[Request], *, by: str | None = None) -> int:
    """Keep the requests written (once each); how many were new."""
    rows = [_request_row(r, by or current_user()) for r in requests]
    with connect(db, create=True) as conn, conn.transaction():
        known = {r[0] for r in conn.execute("SELECT request_id FROM requests").fetchall()}
        new = [r for r in rows if r[0] not in known]
        conn.executemany("INSERT INTO requests VALUES (?,?,?,?,?,?,?,?,?,?,?,?)", new)
    return len(new)


def _request(row: dict[str, Any]) -> Request:
    lines = tuple(RequestLine(**{**x, "figures": dict(x["figures"])}) for x in json.loads(row["lines"]))
    return Request(
        row["request_id"],
        row["investor"],
        int(row["year"]),
        int(row["round"]),
        row["rule_id"],
        dt.date.fromisoformat(row["as_of"]),
        dt.date.fromisoformat(row["deadline"]) if row["deadline"] else None,
        row["unit"],
        row["file_name"],
        lines,
    )


class StoreView:
    """Read access for the reply reader: requests by id, received dates by sha256."""

    def __init__(self, conn: Connection) -> None:
        self.conn = conn

    def request(self, request_id: str) -> Request | None:
        rows = self.conn.rows("SELECT * FROM requests WHERE request_id = ?", [request_id])
        return _request(rows[0]) if rows else None

    def received(self, sha256: str) -> dt.date | None:
        value = self.conn.scalar("SELECT received FROM replies WHERE sha256 = ?", [sha256])
        return dt.date.fromisoformat(value) if value else None


def record_replies(
    conn: Connection, replies: Iterable[Reply], *, by: str | None = None
) -> list[dict[str, Any]]:
    """Keep each applicable, dated reply not kept before; per reply what happened."""
    out = []
    with conn.transaction():
        for reply in replies:
            if not reply.applicable or reply.request is None or reply.received is None:
                out.append({"file": reply.name, "status": "not applied"})
                continue
            seen = conn.scalar("SELECT received FROM replies WHERE sha256 = ?", [reply.sha256])
            if seen is not None:
                out.append({"file": reply.name, "status": "already recorded", "received": seen})
                continue
            if conn.scalar("SELECT 1 FROM requests WHERE request_id = ?", [reply.request.request_id]) is None:
                conn.execute(
                    "INSERT INTO requests VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                    _request_row(reply.request, by or current_user()),
                )
            with open(reply.path, "rb") as handle:
                sha, size = blobs.keep(conn, handle.read())
            seq = int(conn.scalar("SELECT coalesce(max(seq), 0) + 1 FROM replies"))
            conn.execute(
                "INSERT INTO replies VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    seq,
                    sha,
                    reply.request.request_id,
                    reply.request.investor,
                    reply.name,
                    size,
                    reply.received.isoformat(),
                    utc_now(),
                    by or current_user(),
                    reply.lines_answered,
                    len(reply.unanswered),
                ),
            )
            conn.executemany(
                "INSERT INTO reply_answers VALUES (?,?,?,?,?,?,?,?,?,?,?,?)",
                [
                    (
                        seq,
                        n,
                        a.line.token,
                        a.line.project_code,
                        a.line.capital_source,
                        a.field,
                        a.line.figures.get(a.field),
                        a.dong,
                        a.text,
                        a.sheet,
                        a.row,
                        a.column,
                    )
                    for n, a in enumerate(reply.answers, start=1)
                ],
            )
            out.append({"file": reply.name, "status": "recorded", "received": reply.received.isoformat()})
    return out


def recorded_replies(conn: Connection, year: int) -> list[Reply]:
    """The replies kept for plan `year`, rebuilt for a review (`--use-recorded-replies`)."""
    out = []
    for row in conn.rows(
        "SELECT q.*, p.seq AS reply_seq, p.sha256 AS reply_sha256, "
        "p.file_name AS reply_file, p.received AS reply_received FROM replies p "
        "JOIN requests q ON q.request_id = p.request_id WHERE q.year = ? "
        "ORDER BY p.seq",
        [year],
    ):
        request = _request(row)
        reply = Reply(
            f"{conn.location} › {row['reply_file']}",
            row["reply_sha256"],
            request,
            request.investor,
            dt.date.fromisoformat(row["reply_received"]),
            file_name=row["reply_file"],
        )
        for a in conn.rows(
            "SELECT * FROM reply_answers WHERE reply_seq = ? ORDER BY answer_no", [row["reply_seq"]]
        ):
            line = request.line(a["token"])
            if line is not None:
                reply.answers.append(
                    Answer(line, a["field"], a["now_dong"], a["text"], a["sheet"], int(a["row"]), a["col"])
                )
        out.append(reply)
    return out


def reply_history(conn: Connection, code: str) -> list[dict[str, Any]]:
    """Every answered figure of a project's lines: was, now, from whom, received when."""
    return conn.rows(
        "SELECT p.received, p.investor, p.file_name, p.request_id, q.year, q.round, "
        "a.capital_source, a.field, a.was_dong, a.now_dong, a.text, a.sheet, a.row, a.col "
        "FROM reply_answers a JOIN replies p ON p.seq = a.reply_seq JOIN requests q ON "
        "q.request_id = p.request_id WHERE a.project_code = ? ORDER BY p.received, "
        "p.file_name, a.answer_no",
        [code],
    )


class _NoStore:
    """A store not created yet: it knows no request and no reply."""

    def request(self, request_id: str) -> Request | None:
        return None

    def received(self, sha256: str) -> dt.date | None:
        return None


@contextlib.contextmanager
def view(db: Db) -> Iterator[StoreView | _NoStore]:
    """A `StoreView` over an open store (reads only; a store not yet created knows nothing)."""
    if not exists(locate(db)):
        yield _NoStore()
        return
    with connect(db) as conn:
        yield StoreView(conn)
