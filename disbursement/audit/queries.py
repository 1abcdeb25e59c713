"""Questions asked of the audit store: runs, one run, a project's history, flags, diffs.

Every function returns plain dicts and lists (what `--json` prints). Lines are matched across
runs by `line_key`: the project code and capital source, or — for a line without a code — its
normalised name, capital source and investor (the file, sheet and row only locate it; rows move
between exports). A missing code may arrive as None, "" or pandas' NA: all mean "no code".
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from disbursement.audit import blobs
from disbursement.audit import rows as stored
from disbursement.audit.backends import Connection
from disbursement.audit.blocks import BLOCK_HASH_VERSION
from disbursement.audit.replies import reply_history
from disbursement.audit.store import AuditStoreError, Db, connect
from disbursement.money import format_pct
from disbursement.text import fold

Key = tuple[Any, ...]
Record = dict[str, Any]


def _present(value: Any) -> str:
    """The text of a cell value, or "" for None / NA / NaN / blank (never `bool(pd.NA)`)."""
    if value is None or not isinstance(value, str | int | float) or value != value:
        return ""
    return str(value).strip()


def line_key(
    code: Any, source: Any, file: Any, sheet: Any, row: Any, name: Any = None, investor: Any = None
) -> Key:
    """Identity across runs: (code, source); without a code (folded name, source, investor);
    a line with neither code nor name falls back to its location."""
    code, source = _present(code), _present(source)
    if code:
        return (code, source)
    if _present(name):
        return ("", source, fold(_present(name)), fold(_present(investor)))
    return ("", source, Path(str(file)).name, str(sheet), int(row))


def key_text(key: Key) -> str:
    if key[0]:
        return f"{key[0]} / {key[1]}"
    if len(key) == 4:
        return f"{key[2]}" + (f" ({key[3]})" if key[3] else "") + f" / {key[1]}"
    return f"{key[2]}!{key[3]}:{key[4]} / {key[1]}"


def find_run(conn: Connection, ref: str) -> tuple[int, str]:
    """(seq, run_id) of a run given its id, a unique prefix of it, or `latest`."""
    ref = ref.strip().lower()
    if ref == "latest":
        row = conn.execute("SELECT seq, run_id FROM runs ORDER BY seq DESC LIMIT 1").fetchone()
        if row is None:
            raise AuditStoreError("the audit store has no runs yet")
        return int(row[0]), str(row[1])
    if not ref or any(c not in "0123456789abcdef" for c in ref):
        raise AuditStoreError(f"{ref!r} is not a run id (hex digits, or 'latest')")
    found = conn.execute(
        "SELECT seq, run_id FROM runs WHERE substr(run_id, 1, ?) = ? ORDER BY seq LIMIT 3", (len(ref), ref)
    ).fetchall()
    if not found:
        raise AuditStoreError(f"no run {ref} in the audit store (see `disbursement audit runs`)")
    if len(found) > 1:
        raise AuditStoreError(
            f"run id prefix {ref} is ambiguous ({', '.join(r[1] for r in found)}…); give more digits"
        )
    return int(found[0][0]), str(found[0][1])


def _count(table: str, part: str) -> str:
    """A run's row count: of its blocks from hash version 4, of the table's rows before."""
    return (
        f"CASE WHEN r.hash_version >= {BLOCK_HASH_VERSION} THEN coalesce((SELECT b.rows FROM "
        f"run_blocks b WHERE b.run_seq = r.seq AND b.part = '{part}'), 0) ELSE (SELECT "
        f"count(*) FROM {table} WHERE run_seq = r.seq) END"
    )


_RUNS = """SELECT r.seq, r.run_id, r.recorded_at, r.reviewer, r.year, r.round, r.rule_id, r.as_of,
    r.engine_version, r.db_role, {count_lines} AS lines, {count_flags} AS flagged,
    {count_issues} AS issues,
    (SELECT group_concat(name, ' | ') FROM (SELECT name FROM inputs WHERE run_seq = r.seq
        AND role = 'input' ORDER BY position) AS i) AS inputs,
    (SELECT group_concat(decision, ' | ') FROM (SELECT decision FROM decisions
        WHERE run_seq = r.seq ORDER BY seq) AS d) AS decisions
    FROM runs r""".format(
    count_lines=_count("lines", "lines"),
    count_flags=_count("flags", "flags"),
    count_issues=_count("issues", "issues"),
)


def list_runs(db: Db = None, *, year: int | None = None) -> list[Record]:
    """Every recorded run, oldest first, with counts of lines, flags and issues."""
    with connect(db) as conn:
        where = " WHERE r.year = ?" if year else ""
        return conn.rows(f"{_RUNS}{where} ORDER BY r.seq", [year] if year else [])


def show_run(db: Db, ref: str) -> Record:
    """One run in full: options, inputs, outputs, summary, flags, proposal, issues, decisions."""
    with connect(db) as conn:
        seq, _ = find_run(conn, ref)
        (run,) = conn.rows(f"{_RUNS} WHERE r.seq = ?", [seq])
        extra = conn.rows(
            "SELECT rules_path, rules_sha256, options, summary, policy, "
            "prev_hash, record_hash FROM runs WHERE seq = ?",
            [seq],
        )[0]
        for name in ("options", "summary", "policy"):
            extra[name] = json.loads(extra[name]) if extra[name] else None
        run.update(extra)
        run["inputs"] = conn.rows(
            "SELECT role, name, size, sha256 FROM inputs WHERE run_seq = ? ORDER BY position", [seq]
        )
        for item in run["inputs"]:
            item["stored_copy"] = blobs.where(conn, item["sha256"])
        run["outputs"] = conn.rows(
            "SELECT name, path, size, sha256 FROM outputs WHERE run_seq = ? ORDER BY name", [seq]
        )
        run["flags"] = stored.flags(conn, seq)
        run["proposal"] = stored.proposal(conn, seq)
        run["issue_records"] = stored.issues(conn, seq)
        run["overrides"] = stored.overrides(conn, seq)
        run["decision_records"] = decision_records(conn, "d.run_seq = ?", [seq])
    return run


def decision_records(conn: Connection, where: str, args: list) -> list[Record]:
    out = conn.rows(
        "SELECT d.seq, d.decision_id, r.run_id, r.year, d.recorded_at, "
        "d.recorded_by, d.decision, d.basis, d.file_name, d.file_sha256 FROM decisions d "
        f"JOIN runs r ON r.seq = d.run_seq WHERE {where} ORDER BY d.seq",
        args,
    )
    for d in out:
        d["lines"] = conn.rows(
            "SELECT project_code, capital_source, file, sheet, row, "
            "plan_dong, plan_after_dong FROM decision_lines WHERE decision_seq = ? "
            "ORDER BY line_no",
            [d["seq"]],
        )
    return out


_RUN_FIELDS = ("seq", "run_id", "recorded_at", "year", "round", "rule_id", "as_of")
_LINE_FIELDS = (
    "project_code",
    "capital_source",
    "project_name",
    "status",
    "plan_dong",
    "disbursed_dong",
    "expected_dong",
    "in_scope",
    "flagged",
    "file",
    "sheet",
    "row",
)


def _project_lines(conn: Connection, code: str) -> list[Record]:
    """Every recorded line of project `code`, by year, run and line (`rows.lines` reads a run
    of any hash version)."""
    return [
        {**run, **{k: x[k] for k in _LINE_FIELDS}}
        for run in conn.rows(f"SELECT {', '.join(_RUN_FIELDS)} FROM runs ORDER BY year, seq")
        for x in stored.lines(conn, run["seq"], code)
    ]


def _proposal_of(
    conn: Connection, seq: int, code: str, source: str, blocks: dict[int, list[Record]]
) -> list[Record]:
    """The proposal lines of one line of run `seq` (`blocks`: the block runs' proposals read
    so far, each read once)."""
    if stored.in_blocks(conn, seq):
        if seq not in blocks:
            blocks[seq] = stored.proposal(conn, seq)
        return [
            {k: x.get(k) for k in ("kind", "amount_dong", "plan_after_dong", "reason")}
            for x in blocks[seq]
            if x.get("project_code") == code and x.get("capital_source") == source
        ]
    return conn.rows(
        "SELECT kind, amount_dong, plan_after_dong, reason FROM proposal_lines WHERE run_seq = ? "
        "AND project_code = ? AND capital_source = ? ORDER BY line_no",
        [seq, code, source],
    )


def project_history(db: Db, code: str) -> list[Record]:
    """Every recorded reading of a project's lines, by year and run: flagged or not, figures,
    proposal lines and decisions. Runs of the same year that did not read it say so."""
    code = str(code).strip()
    with connect(db) as conn:
        lines = _project_lines(conn, code)
        proposals: dict[int, list[Record]] = {}
        for line in lines:
            line["state"] = (
                "flagged" if line["flagged"] else "not flagged" if line["in_scope"] else "out of scope"
            )
            line["rate_pct"] = format_pct(line["disbursed_dong"], line["plan_dong"])
            line["proposal"] = _proposal_of(conn, line["seq"], code, line["capital_source"], proposals)
            line["decisions"] = conn.rows(
                "SELECT d.decision_id, d.decision, dl.plan_after_dong FROM decision_lines "
                "dl JOIN decisions d ON d.seq = dl.decision_seq WHERE d.run_seq = ? AND "
                "dl.project_code = ? AND dl.capital_source = ? ORDER BY d.seq",
                [line["seq"], code, line["capital_source"]],
            )
        answers = reply_history(conn, code)
        for line in lines:  # what the investors answered for this line, in received order
            line["replies"] = [
                a
                for a in answers
                if a["capital_source"] == line["capital_source"] and a["year"] == line["year"]
            ]
        years = sorted({line["year"] for line in lines})
        seen = {line["seq"] for line in lines}
        missing = (
            conn.rows(
                "SELECT seq, run_id, recorded_at, year, round, rule_id, as_of "
                f"FROM runs WHERE year IN ({','.join('?' * len(years))}) ORDER BY seq",
                years,
            )
            if years
            else []
        )
    for run in missing:
        if run["seq"] not in seen:
            lines.append({**run, "project_code": code, "state": "not in this run's inputs"})
    lines.sort(key=lambda x: (x["year"], x["seq"]))
    return lines


def flagged(db: Db, year: int, round_number: int | None = None, *, all_runs: bool = False) -> list[Record]:
    """Flags of a year (or one round); by default only the latest run of each round."""
    with connect(db) as conn:
        runs = conn.rows(
            "SELECT seq, run_id, round FROM runs WHERE year = ? "
            + ("AND round = ? " if round_number is not None else "")
            + "ORDER BY seq",
            [year] + ([round_number] if round_number is not None else []),
        )
        if not all_runs:
            runs = list({r["round"]: r for r in runs}.values())
        out = []
        for run in sorted(runs, key=lambda r: (r["round"], r["seq"])):
            for record in stored.flags(conn, run["seq"]):
                out.append({"run_id": run["run_id"], "round": run["round"], **record})
    return out


def flag_map(conn: Connection, seq: int) -> dict[Key, Record]:
    out = {}
    for r in stored.flags(conn, seq):
        src = r["source"]
        out[
            line_key(
                r["project_code"],
                r["capital_source"],
                src["file"],
                src["sheet"],
                src["row"],
                r.get("project_name"),
                r.get("investor"),
            )
        ] = r
    return out


def line_map(conn: Connection, seq: int) -> dict[Key, Record]:
    return {
        line_key(
            x["project_code"],
            x["capital_source"],
            x["file"],
            x["sheet"],
            x["row"],
            x["project_name"],
            x.get("investor"),
        ): x
        for x in stored.lines(conn, seq)
    }


def figures(x: Record | None) -> Record | None:
    if x is None:
        return None
    return {k: x[k] for k in ("plan_dong", "disbursed_dong", "flagged") if k in x}


def diff_runs(db: Db, ref_a: str, ref_b: str) -> Record:
    """Flags new in B, persisting from A to B, and cleared (flagged in A, not in B)."""
    with connect(db) as conn:
        (seq_a, id_a), (seq_b, id_b) = find_run(conn, ref_a), find_run(conn, ref_b)
        a, b, lines_b = flag_map(conn, seq_a), flag_map(conn, seq_b), line_map(conn, seq_b)

    def entry(key: Key, rec: Record, now: Record | None = None, state: str = "") -> Record:
        out = {
            "key": key_text(key),
            "project_code": rec["project_code"],
            "project_name": rec["project_name"],
            "capital_source": rec["capital_source"],
            "state": state,
            "plan_dong": rec["plan_dong"],
            "disbursed_dong": rec["disbursed_dong"],
            "rule_id": rec["rule_id"],
        }
        if state == "cleared":
            out["now"] = figures(now) or "not in run B's inputs"
        return out

    return {
        "run_a": id_a,
        "run_b": id_b,
        "new": [entry(k, r, state="new") for k, r in b.items() if k not in a],
        "persisting": [entry(k, r, state="persisting") for k, r in b.items() if k in a],
        "cleared": [entry(k, r, lines_b.get(k), "cleared") for k, r in a.items() if k not in b],
    }
