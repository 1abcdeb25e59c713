"""Recording the decision that approved a run's proposal: a link in the same chain as runs."""

from __future__ import annotations

import json
import os
from typing import Any

from disbursement.audit import blobs
from disbursement.audit import rows as stored
from disbursement.audit.backends import Connection
from disbursement.audit.chain import chain_head, hash_version, seal
from disbursement.audit.queries import find_run
from disbursement.audit.store import (
    Db,
    DecisionInvalid,
    connect,
    current_user,
    new_id,
    utc_now,
)
from disbursement.errors import InputUnreadable
from disbursement.ingest.tables import read_approved_figures
from disbursement.text import fold

_DECISION_INSERT = (
    "seq, decision_id, run_seq, recorded_at, recorded_by, decision, basis, "
    "file_name, file_sha256, hash_version, db_role, prev_hash, record_hash"
)
Line = tuple[Any, ...]


def decide(
    db: Db,
    run_ref: str,
    decision: str,
    *,
    approved: str | os.PathLike[str] | None = None,
    recorded_by: str | None = None,
) -> dict[str, Any]:
    """Record the decision that approved a run's proposal, as is or with figures from a file.

    `approved` is an .xlsx/.csv with project code, capital source and plan after adjustment
    (triệu đồng unless its header names another unit); every row must match a line the run
    read, else `DecisionInvalid` lists each bad row and nothing is recorded. Returns
    {"decision_id", "run_id", "basis", "lines"}.
    """
    if not decision or not decision.strip():
        raise DecisionInvalid(
            'give the decision\'s number and date, e.g. --decision "Quyết định số 123/QĐ-UBND ngày 15/7/2022"'
        )
    with connect(db) as conn:
        run_seq, run_id = find_run(conn, run_ref)
        data = None
        if approved is None:
            lines = _proposal_plan_after(conn, run_seq)
            if not lines:
                raise DecisionInvalid(
                    f"run {run_id} has no proposal lines to approve; pass "
                    "--approved FILE with the approved plan after adjustment"
                )
        else:
            lines = approved_lines(conn, run_seq, approved)
            data = blobs.read_source(approved)
        role = conn.role()
        with conn.transaction():
            file_sha = None if data is None else blobs.keep(conn, data)[0]
            seq, prev = chain_head(conn)
            seq += 1
            decision_id = new_id()
            conn.execute(
                f"INSERT INTO decisions ({_DECISION_INSERT}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (
                    seq,
                    decision_id,
                    run_seq,
                    utc_now(),
                    recorded_by or current_user(),
                    decision.strip(),
                    "proposal" if approved is None else "file",
                    None if approved is None else str(approved),
                    file_sha,
                    hash_version(role),
                    role,
                    prev,
                    "",
                ),
            )
            conn.executemany(
                "INSERT INTO decision_lines VALUES (?,?,?,?,?,?,?,?,?)",
                [(seq, i, *line) for i, line in enumerate(lines)],
            )
            seal(conn, "decision", seq, prev)
    return {
        "decision_id": decision_id,
        "run_id": run_id,
        "basis": "proposal" if approved is None else "file",
        "lines": len(lines),
    }


def _proposal_plan_after(conn: Connection, run_seq: int) -> list[Line]:
    """(code, source, file, sheet, row, plan, plan after) per line the proposal changes."""
    after: dict[Line, list[int]] = {}
    for x in stored.proposal(conn, run_seq):  # the records as recorded, in any hash version
        where, amount, plan = x["source"], x["amount_dong"], x["plan_dong"]
        key = (x["project_code"], x["capital_source"], where["file"], where["sheet"], where["row"])
        entry = after.setdefault(key, [plan, plan])
        entry[1] += amount if x["kind"] == "increase" else -amount
    return [(*key, plan, plan_after) for key, (plan, plan_after) in after.items()]


def approved_lines(conn: Connection, run_seq: int, path: str | os.PathLike[str]) -> list[Line]:
    """(code, source, file, sheet, row, plan, plan after) per row of an approved-figures file,
    matched to the lines the run read; raises `DecisionInvalid` listing every bad row."""
    try:
        table = read_approved_figures(path)
    except InputUnreadable as exc:
        raise DecisionInvalid(str(exc)) from None
    summary = json.loads(conn.scalar("SELECT summary FROM runs WHERE seq = ?", [run_seq]))
    labels = {fold(s["label"]): s["capital_source"] for s in summary.get("by_capital_source", [])}
    known: dict[tuple[str, str], list[dict[str, Any]]] = {}
    for x in stored.lines(conn, run_seq):
        if x["project_code"] is not None:
            known.setdefault((x["project_code"], x["capital_source"]), []).append(x)
    out: list[Line] = []
    problems: list[str] = []
    done: set[tuple[str, str]] = set()
    for item in table.rows:
        r, code, source, amount = item.row, item.code, item.source, item.amount
        source_id = labels.get(fold(source), source)
        hits = known.get((code.removesuffix(".0"), source_id), [])
        if len(hits) != 1:
            problems.append(
                f"row {r}: {'no line' if not hits else f'{len(hits)} lines'} with "
                f"project code {code!r} and capital source {source!r} in the run"
            )
        elif amount.dong is None or amount.problem or amount.ambiguous or amount.dong < 0:
            problems.append(
                f"{table.letter}{r}: plan after adjustment {item.value!r} is not "
                f"a usable amount ({amount.problem or 'ambiguous or negative'})"
            )
        elif (code, source_id) in done:
            problems.append(f"row {r}: project {code} / {source_id} is listed twice")
        else:
            done.add((code, source_id))
            x = hits[0]
            out.append(
                (
                    x["project_code"],
                    x["capital_source"],
                    x["file"],
                    x["sheet"],
                    x["row"],
                    x["plan_dong"],
                    amount.dong,
                )
            )
    if problems or not out:
        raise DecisionInvalid(
            f"{table.where}: nothing recorded; "
            + ("; ".join(problems) if problems else "no approved lines found")
        )
    return out
