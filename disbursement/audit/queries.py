"""Questions asked of the audit store, the comparison of a new run with history, and replay.

Every function returns plain dicts and lists (what `--json` prints); `table` turns them into
headers and rows for the terminal and `--xlsx`. Lines are matched across runs by
`line_key`: the project code and capital source, or — for a line without a code — its
normalised name, capital source and investor (the file, sheet and row only locate it; rows move
between exports). A missing code may arrive as None, "" or pandas' NA: all mean "no code".
"""

from __future__ import annotations

import datetime as dt
import json
import os
import sqlite3
from collections.abc import Iterable
from pathlib import Path

from disbursement.audit.store import (
    AuditStoreError,
    DecisionInvalid,
    blob_path,
    chain_head,
    connect,
    find_run,
    store_path,
)
from disbursement.errors import Issue
from disbursement.text import fold

Db = str | os.PathLike | None


def _present(value) -> str:
    """The text of a cell value, or "" for None / NA / NaN / blank (never `bool(pd.NA)`)."""
    if value is None or not isinstance(value, str | int | float) or value != value:
        return ""
    return str(value).strip()


def line_key(code, source, file, sheet, row, name=None, investor=None) -> tuple:
    """Identity across runs: (code, source); without a code (folded name, source, investor);
    a line with neither code nor name falls back to its location."""
    code, source = _present(code), _present(source)
    if code:
        return (code, source)
    if _present(name):
        return ("", source, fold(_present(name)), fold(_present(investor)))
    return ("", source, Path(str(file)).name, str(sheet), int(row))


def key_text(key: tuple) -> str:
    if key[0]:
        return f"{key[0]} / {key[1]}"
    if len(key) == 4:
        return f"{key[2]}" + (f" ({key[3]})" if key[3] else "") + f" / {key[1]}"
    return f"{key[2]}!{key[3]}:{key[4]} / {key[1]}"


def _rows(conn: sqlite3.Connection, sql: str, args: Iterable = ()) -> list[dict]:
    cursor = conn.execute(sql, tuple(args))
    names = [d[0] for d in cursor.description]
    return [dict(zip(names, row, strict=True)) for row in cursor]


_RUNS = """SELECT r.seq, r.run_id, r.recorded_at, r.reviewer, r.year, r.round, r.rule_id, r.as_of,
    r.engine_version, (SELECT count(*) FROM lines WHERE run_seq = r.seq) AS lines,
    (SELECT count(*) FROM flags WHERE run_seq = r.seq) AS flagged,
    (SELECT count(*) FROM issues WHERE run_seq = r.seq) AS issues,
    (SELECT group_concat(name, ' | ') FROM inputs WHERE run_seq = r.seq AND role = 'input')
        AS inputs,
    (SELECT group_concat(decision, ' | ') FROM decisions WHERE run_seq = r.seq) AS decisions
    FROM runs r"""


def list_runs(db: Db = None, *, year: int | None = None) -> list[dict]:
    """Every recorded run, oldest first, with counts of lines, flags and issues."""
    with connect(store_path(db)) as conn:
        where = " WHERE r.year = ?" if year else ""
        return _rows(conn, f"{_RUNS}{where} ORDER BY r.seq", [year] if year else [])


def show_run(db: Db, ref: str) -> dict:
    """One run in full: options, inputs, outputs, summary, flags, proposal, issues, decisions."""
    with connect(store_path(db)) as conn:
        seq, _ = find_run(conn, ref)
        (run,) = _rows(conn, f"{_RUNS} WHERE r.seq = ?", [seq])
        extra = _rows(conn, "SELECT rules_path, rules_sha256, options, summary, policy, "
                      "prev_hash, record_hash FROM runs WHERE seq = ?", [seq])[0]
        for name in ("options", "summary", "policy"):
            extra[name] = json.loads(extra[name]) if extra[name] else None
        run.update(extra)
        run["inputs"] = _rows(conn, "SELECT role, name, size, sha256 FROM inputs "
                              "WHERE run_seq = ? ORDER BY position", [seq])
        for item in run["inputs"]:
            item["stored_copy"] = str(blob_path(store_path(db), item["sha256"]))
        run["outputs"] = _rows(conn, "SELECT name, path, size, sha256 FROM outputs "
                               "WHERE run_seq = ? ORDER BY name", [seq])
        run["flags"] = [json.loads(r) for (r,) in conn.execute(
            "SELECT record FROM flags WHERE run_seq = ? ORDER BY flag_no", [seq])]
        run["proposal"] = [{"kind": k, **json.loads(r)} for k, r in conn.execute(
            "SELECT kind, record FROM proposal_lines WHERE run_seq = ? ORDER BY line_no", [seq])]
        run["issue_records"] = _rows(conn, "SELECT code, severity, file, sheet, row, col AS "
                                     "column, message FROM issues WHERE run_seq = ? "
                                     "ORDER BY issue_no", [seq])
        run["overrides"] = [json.loads(r) for (r,) in conn.execute(
            "SELECT record FROM overrides WHERE run_seq = ? ORDER BY override_no", [seq])]
        run["decision_records"] = _decisions(conn, "d.run_seq = ?", [seq])
    return run


def _decisions(conn: sqlite3.Connection, where: str, args: list) -> list[dict]:
    out = _rows(conn, "SELECT d.seq, d.decision_id, r.run_id, r.year, d.recorded_at, "
                "d.recorded_by, d.decision, d.basis, d.file_name, d.file_sha256 FROM decisions d "
                f"JOIN runs r ON r.seq = d.run_seq WHERE {where} ORDER BY d.seq", args)
    for d in out:
        d["lines"] = _rows(conn, "SELECT project_code, capital_source, file, sheet, row, "
                           "plan_dong, plan_after_dong FROM decision_lines WHERE decision_seq = ? "
                           "ORDER BY line_no", [d["seq"]])
    return out


_LINES = """SELECT r.seq, r.run_id, r.recorded_at, r.year, r.round, r.rule_id, r.as_of,
    l.project_code, l.capital_source, n.text AS project_name, l.status, l.plan_dong,
    l.disbursed_dong, l.expected_dong, l.in_scope, l.flagged, s.file, s.sheet, l.row
    FROM lines l JOIN runs r ON r.seq = l.run_seq LEFT JOIN names n ON n.id = l.name_id
    JOIN sheets s ON s.run_seq = l.run_seq AND s.sheet_no = l.sheet_no"""


def project_history(db: Db, code: str) -> list[dict]:
    """Every recorded reading of a project's lines, by year and run: flagged or not, figures,
    proposal lines and decisions. Runs of the same year that did not read it say so."""
    from disbursement.money import format_pct

    code = str(code).strip()
    with connect(store_path(db)) as conn:
        lines = _rows(conn, f"{_LINES} WHERE l.project_code = ? ORDER BY r.year, r.seq, "
                      "l.line_no", [code])
        for line in lines:
            line["state"] = ("flagged" if line["flagged"] else
                             "not flagged" if line["in_scope"] else "out of scope")
            line["rate_pct"] = format_pct(line["disbursed_dong"], line["plan_dong"])
            line["proposal"] = _rows(conn, "SELECT kind, amount_dong, plan_after_dong, reason "
                                     "FROM proposal_lines WHERE run_seq = ? AND project_code = ? "
                                     "AND capital_source = ? ORDER BY line_no",
                                     [line["seq"], code, line["capital_source"]])
            line["decisions"] = _rows(
                conn, "SELECT d.decision_id, d.decision, dl.plan_after_dong FROM decision_lines "
                "dl JOIN decisions d ON d.seq = dl.decision_seq WHERE d.run_seq = ? AND "
                "dl.project_code = ? AND dl.capital_source = ? ORDER BY d.seq",
                [line["seq"], code, line["capital_source"]])
        years = sorted({line["year"] for line in lines})
        seen = {line["seq"] for line in lines}
        missing = _rows(conn, "SELECT seq, run_id, recorded_at, year, round, rule_id, as_of "
                        f"FROM runs WHERE year IN ({','.join('?' * len(years))}) ORDER BY seq",
                        years) if years else []
    for run in missing:
        if run["seq"] not in seen:
            lines.append({**run, "project_code": code, "state": "not in this run's inputs"})
    lines.sort(key=lambda x: (x["year"], x["seq"]))
    return lines


def flagged(db: Db, year: int, round_number: int | None = None, *,
            all_runs: bool = False) -> list[dict]:
    """Flags of a year (or one round); by default only the latest run of each round."""
    with connect(store_path(db)) as conn:
        runs = _rows(conn, "SELECT seq, run_id, round FROM runs WHERE year = ? "
                     + ("AND round = ? " if round_number is not None else "") + "ORDER BY seq",
                     [year] + ([round_number] if round_number is not None else []))
        if not all_runs:
            runs = list({r["round"]: r for r in runs}.values())
        out = []
        for run in sorted(runs, key=lambda r: (r["round"], r["seq"])):
            for (record,) in conn.execute("SELECT record FROM flags WHERE run_seq = ? "
                                          "ORDER BY flag_no", [run["seq"]]):
                out.append({"run_id": run["run_id"], "round": run["round"], **json.loads(record)})
    return out


def _flag_map(conn: sqlite3.Connection, seq: int) -> dict[tuple, dict]:
    out = {}
    for (record,) in conn.execute("SELECT record FROM flags WHERE run_seq = ? ORDER BY flag_no",
                                  [seq]):
        r = json.loads(record)
        src = r["source"]
        out[line_key(r["project_code"], r["capital_source"], src["file"], src["sheet"],
                     src["row"], r.get("project_name"), r.get("investor"))] = r
    return out


def _line_map(conn: sqlite3.Connection, seq: int) -> dict[tuple, dict]:
    return {line_key(x["project_code"], x["capital_source"], x["file"], x["sheet"], x["row"],
                     x["project_name"], x.get("investor")): x
            for x in _rows(conn, f"{_LINES} WHERE l.run_seq = ?", [seq])}


def _figures(x: dict | None) -> dict | None:
    if x is None:
        return None
    return {k: x[k] for k in ("plan_dong", "disbursed_dong", "flagged") if k in x}


def diff_runs(db: Db, ref_a: str, ref_b: str) -> dict:
    """Flags new in B, persisting from A to B, and cleared (flagged in A, not in B)."""
    with connect(store_path(db)) as conn:
        (seq_a, id_a), (seq_b, id_b) = find_run(conn, ref_a), find_run(conn, ref_b)
        a, b, lines_b = _flag_map(conn, seq_a), _flag_map(conn, seq_b), _line_map(conn, seq_b)

    def entry(key, rec, now=None, state=""):
        out = {"key": key_text(key), "project_code": rec["project_code"],
               "project_name": rec["project_name"], "capital_source": rec["capital_source"],
               "state": state, "plan_dong": rec["plan_dong"],
               "disbursed_dong": rec["disbursed_dong"], "rule_id": rec["rule_id"]}
        if state == "cleared":
            out["now"] = _figures(now) or "not in run B's inputs"
        return out

    return {"run_a": id_a, "run_b": id_b,
            "new": [entry(k, r, state="new") for k, r in b.items() if k not in a],
            "persisting": [entry(k, r, state="persisting") for k, r in b.items() if k in a],
            "cleared": [entry(k, r, lines_b.get(k), "cleared") for k, r in a.items()
                        if k not in b]}


# ---- the next review: compare with the previous round and the approved plans ----------------

def compare_with_history(db: Db, result, *, upto: int | None = None) -> list[Issue]:
    """Compare a fresh result with the store before it is recorded; returns the new issues.

    Adds to `result`: a `lifecycle` column on `result.flags` ("new" or "persisting" against
    the latest recorded run of an earlier round of the same year), a `lifecycle` block in
    `result.summary` (previous run, counts, the cleared flags, the decisions compared and the
    store position `store_seq` used, so a replay sees the same history), and a warning
    `PLAN-DIFFERS-FROM-APPROVED` in `result.issues` for every line whose plan differs from the
    plan after adjustment approved by a recorded decision of the same year
    (`APPROVED-LINE-MISSING` when an approved line is not in the export). Reads only; a
    missing store is an empty history.
    """
    from disbursement.money import format_trieu

    info, db = result.round, store_path(db)
    flags = result.flags
    keys = [line_key(*x) for x in zip(
        flags["project_code"].tolist(), flags["capital_source"].tolist(), flags["file"].tolist(),
        flags["sheet"].tolist(), flags["row"].tolist(), flags["project_name"].tolist(),
        _column(flags, "investor"), strict=True)] if len(flags) else []
    previous, prev_flags, approved, seen = None, {}, {}, 0
    if db.exists():
        with connect(db) as conn:
            seen = chain_head(conn)[0] if upto is None else upto
            row = conn.execute("SELECT seq, run_id, round FROM runs WHERE year = ? AND round < ? "
                               "AND seq <= ? ORDER BY seq DESC LIMIT 1",
                               [info.year, info.number, seen]).fetchone()
            if row:
                previous, prev_flags = row, _flag_map(conn, row[0])
            for d in _decisions(conn, "r.year = ? AND d.seq <= ?", [info.year, seen]):
                for x in d["lines"]:
                    key = line_key(x["project_code"], x["capital_source"], x["file"], x["sheet"],
                                   x["row"])
                    approved[key] = (x["plan_after_dong"], d["decision"], d["decision_id"])
    states = ["persisting" if k in prev_flags else "new" for k in keys]
    flags["lifecycle"] = states
    current = set(keys)
    plan = result.plan
    lines = {}
    for pos, k in enumerate(line_key(*x) for x in zip(
            plan["project_code"].tolist(), plan["capital_source"].tolist(),
            plan["file"].tolist(), plan["sheet"].tolist(), plan["row"].tolist(),
            plan["project_name"].tolist(), _column(plan, "investor"), strict=True)):
        lines[k] = pos
    cleared = []
    for k, rec in prev_flags.items():
        if k not in current:
            now = plan.iloc[lines[k]] if k in lines else None
            cleared.append({"key": key_text(k), "project_code": rec["project_code"],
                            "project_name": rec["project_name"],
                            "capital_source": rec["capital_source"],
                            "previous": _figures(rec),
                            "now": None if now is None else {
                                "plan_dong": int(now["plan_dong"]),
                                "disbursed_dong": int(now["disbursed_dong"]),
                                "flagged": False}})
    issues = []
    for k, (plan_after, decision, _) in approved.items():
        if k not in lines:
            issues.append(Issue("APPROVED-LINE-MISSING", "warning", "", None, None, None,
                                f"{key_text(k)}: approved by {decision} with plan after "
                                f"adjustment {format_trieu(plan_after)} triệu đồng, but the line "
                                "is not in this export"))
            continue
        line = plan.iloc[lines[k]]
        if int(line["plan_dong"]) != plan_after:
            cell = (line["cells"] or {}).get("plan_dong", "") if "cells" in plan else ""
            issues.append(Issue(
                "PLAN-DIFFERS-FROM-APPROVED", "warning", line["file"], line["sheet"],
                int(line["row"]), cell.rstrip("0123456789") or None,
                f"{key_text(k)}: plan {format_trieu(int(line['plan_dong']))} triệu đồng in this "
                f"export differs from {format_trieu(plan_after)} triệu đồng approved after "
                f"adjustment by {decision}; update the plan column or check the decision"))
    result.summary["lifecycle"] = {
        "previous_run": previous[1] if previous else None,
        "previous_round": previous[2] if previous else None,
        "new": states.count("new"), "persisting": states.count("persisting"),
        "cleared": cleared, "decisions": sorted({d for _, _, d in approved.values()}),
        "store_seq": seen}
    result.issues.extend(issues)
    _recount(result)
    return issues


def _column(frame, name: str) -> list:
    return frame[name].tolist() if name in frame else [None] * len(frame)


def _recount(result) -> None:
    counts: dict[str, dict] = {}
    for issue in result.issues:
        entry = counts.setdefault(issue.code, {"severity": issue.severity, "count": 0})
        entry["count"] += 1
    result.summary["issues"] = {
        "total": len(result.issues),
        "errors": sum(1 for i in result.issues if i.severity == "error"),
        "warnings": sum(1 for i in result.issues if i.severity == "warning"),
        "by_code": dict(sorted(counts.items()))}


# ---- decisions: the approved-figures file ---------------------------------------------------

_APPROVED = {
    "project_code": ("ma du an", "ma so du an", "ma da", "project code", "code", "ma"),
    "capital_source": ("nguon von", "capital source", "source", "nguon"),
    "plan_after": ("sau dieu chinh", "plan after", "approved plan", "ke hoach duoc duyet"),
}


def _read_table(path: Path) -> tuple[str | None, list[list]]:
    from disbursement.errors import InputUnreadable
    from disbursement.ingest.read import read_small_table

    try:
        return read_small_table(path, "the approved-figures file")
    except InputUnreadable as exc:
        raise DecisionInvalid(str(exc)) from None


def _approved_header(table: list[list], fold) -> tuple[int, dict[str, int]] | None:
    for head, cells in enumerate(table[:10]):
        texts = [fold(str(c)) if c is not None else "" for c in cells]
        cols = {field: next((j for j, t in enumerate(texts) if any(
            (a in t) if field == "plan_after" else (t == a or t.startswith(a + " "))
            for a in aliases)), None) for field, aliases in _APPROVED.items()}
        if None not in cols.values():
            return head, cols
    return None


def approved_lines(conn: sqlite3.Connection, run_seq: int, path) -> list[tuple]:
    """(code, source, file, sheet, row, plan, plan after) per row of an approved-figures file,
    matched to the lines the run read; raises `DecisionInvalid` listing every bad row."""
    from disbursement.errors import column_letter
    from disbursement.money import UNITS, detect_unit, parse_amount
    from disbursement.text import fold

    path = Path(path)
    sheet, table = _read_table(path)
    where = f"{path}" + (f" sheet '{sheet}'" if sheet else "")
    found = _approved_header(table, fold)
    if found is None:
        raise DecisionInvalid(f"{where}: no header with Mã dự án, Nguồn vốn and Kế hoạch sau "
                              "điều chỉnh (project code, capital source, plan after) in the "
                              "first 10 rows")
    head, cols = found
    unit = UNITS[detect_unit(str(table[head][cols["plan_after"]])) or "trieu"]
    summary = json.loads(conn.execute("SELECT summary FROM runs WHERE seq = ?",
                                      [run_seq]).fetchone()[0])
    labels = {fold(s["label"]): s["capital_source"] for s in summary.get("by_capital_source", [])}
    known = {}
    for x in _rows(conn, f"{_LINES} WHERE l.run_seq = ? AND l.project_code IS NOT NULL",
                   [run_seq]):
        known.setdefault((x["project_code"], x["capital_source"]), []).append(x)
    out, problems, done = [], [], set()
    letter = column_letter(cols["plan_after"])
    for r, cells in enumerate(table[head + 1:], start=head + 2):
        def cell(field, cells=cells):
            j = cols[field]
            return cells[j] if j < len(cells) else None
        code, source = (str(cell(f) if cell(f) is not None else "").strip()
                        for f in ("project_code", "capital_source"))
        if not code and not source and cell("plan_after") in (None, ""):
            continue
        source_id = labels.get(fold(source), source)
        hits = known.get((code.removesuffix(".0"), source_id), [])
        amount = parse_amount(cell("plan_after"), unit)
        if len(hits) != 1:
            problems.append(f"row {r}: {'no line' if not hits else f'{len(hits)} lines'} with "
                            f"project code {code!r} and capital source {source!r} in the run")
        elif amount.dong is None or amount.problem or amount.ambiguous or amount.dong < 0:
            problems.append(f"{letter}{r}: plan after adjustment {cell('plan_after')!r} is not "
                            f"a usable amount ({amount.problem or 'ambiguous or negative'})")
        elif (code, source_id) in done:
            problems.append(f"row {r}: project {code} / {source_id} is listed twice")
        else:
            done.add((code, source_id))
            x = hits[0]
            out.append((x["project_code"], x["capital_source"], x["file"], x["sheet"], x["row"],
                        x["plan_dong"], amount.dong))
    if problems or not out:
        raise DecisionInvalid(f"{where}: nothing recorded; " + (
            "; ".join(problems) if problems else "no approved lines found"))
    return out


# ---- replay ---------------------------------------------------------------------------------

def replay(db: Db, ref: str) -> dict:
    """Re-run a recorded run from its stored input copies and rules text into a temp folder
    and compare every output's sha256 (and the flag, proposal and issue records) with the
    record. Each recorded option goes back to `run_round` or `write_outputs`, whichever takes
    a keyword of that name. Returns {"run_id", "ok", "files": [{"name", "status", …}],
    "records", "engine_version", "ignored_options"}."""
    import inspect
    import tempfile

    from disbursement import __version__
    from disbursement.audit.store import DATE_OPTIONS, DIR_OPTIONS, FILE_OPTIONS
    from disbursement.files import sha256_file
    from disbursement.pipeline import run_round
    from disbursement.render.outputs import write_outputs

    db = store_path(db)
    run = show_run(db, ref)
    with tempfile.TemporaryDirectory(prefix="disbursement-replay-") as tmp:
        base = Path(tmp)
        placed = _materialise(run["inputs"], base)
        with connect(db) as conn:
            text = conn.execute("SELECT text FROM rules_texts WHERE sha256 = ?",
                                [run["rules_sha256"]]).fetchone()[0]
        rules = base / "rules" / Path(run["rules_path"]).name
        rules.parent.mkdir()
        rules.write_text(text, encoding="utf-8")
        options = {"rules_path": rules}
        for key, value in run["options"].items():
            if value and key in FILE_OPTIONS:
                value = placed[key][0]
            elif value and key in DIR_OPTIONS:
                value = base / key
                value.mkdir(exist_ok=True)
            elif value and key in DATE_OPTIONS:
                value = dt.date.fromisoformat(value)
            options.setdefault(key, value)
        takes_run = set(inspect.signature(run_round).parameters) - {"paths", "round_number"}
        takes_out = set(inspect.signature(write_outputs).parameters) - {"result", "out_dir"}
        result = run_round(placed.get("input", []), run["round"],
                           **{k: v for k, v in options.items() if k in takes_run})
        history = (run["summary"] or {}).get("lifecycle")
        if history is not None:
            compare_with_history(db, result, upto=history["store_seq"])
        written = write_outputs(result, base / "out", **{
            k: v for k, v in options.items() if k in takes_out}) if run["outputs"] else {}
        files = []
        for out in run["outputs"]:
            got = written.get(out["name"])
            replayed = sha256_file(got) if got and Path(got).exists() else None
            files.append({"name": out["name"], "recorded": out["sha256"], "replayed": replayed,
                          "status": "MISSING" if replayed is None else
                          "OK" if replayed == out["sha256"] else "DIFFERENT"})
        records = _records_match(run, result)
    return {"run_id": run["run_id"], "files": files, "records": records,
            "engine_version": {"recorded": run["engine_version"], "current": __version__},
            "ignored_options": sorted(set(options) - takes_run - takes_out - {"round"}),
            "ok": all(f["status"] == "OK" for f in files) and records["status"] == "OK"}


def _materialise(inputs: list[dict], base: Path) -> dict[str, list[Path]]:
    """Copy the stored files into `base/<role>/` under their original names."""
    import shutil

    from disbursement.audit.store import DIR_OPTIONS
    from disbursement.files import sha256_file

    placed: dict[str, list[Path]] = {}
    for i, item in enumerate(inputs):
        copy, role = Path(item["stored_copy"]), item["role"]
        if not copy.exists() or sha256_file(copy) != item["sha256"]:
            raise AuditStoreError(f"the stored copy of {item['name']} ({copy}) is missing or "
                                  "changed; run `disbursement audit verify`")
        name = Path(item["name"]).name
        same = [x for x in inputs if x["role"] == role and Path(x["name"]).name == name]
        target = (base / role / item["name"] if role in DIR_OPTIONS
                  else base / role / (str(i) if len(same) > 1 else "") / name)
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(copy, target)
        placed.setdefault(role, []).append(target)
    return placed


def _records_match(run: dict, result) -> dict:
    """Compare stored flag, proposal and issue records with the replayed ones (file names
    reduced to their base name: the replay reads copies from a temp folder)."""
    from disbursement.render.records import flag_records, proposal_json

    def norm(records):
        out = []
        for r in records:
            r = json.loads(json.dumps(r, default=str))
            if isinstance(r.get("source"), dict):
                r["source"]["file"] = Path(r["source"]["file"]).name
            if r.get("file"):
                r["file"] = Path(r["file"]).name
            if isinstance(r.get("override"), dict) and r["override"].get("file"):
                r["override"]["file"] = Path(r["override"]["file"]).name
            out.append(r)
        return out

    proposal = []
    if result.proposal is not None:
        data = proposal_json(result.proposal)
        proposal = [{"kind": k, **x} for k in ("decrease", "increase") for x in data[k + "s"]]
    parts = {"flags": (run["flags"], flag_records(result)),
             "proposal": (run["proposal"], proposal),
             "issues": (run["issue_records"], [i.to_dict() for i in result.issues])}
    different = {}
    for name, (old, new) in parts.items():
        old, new = norm(old), norm(new)
        if len(old) != len(new):
            different[name] = f"{len(old)} recorded, {len(new)} now"
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b and name not in different:
                keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
                different[name] = f"#{i + 1} differs in {', '.join(keys)}"
    return {"status": "DIFFERENT" if different else "OK", "different": different,
            "counts": {name: len(old) for name, (old, _) in parts.items()}}
