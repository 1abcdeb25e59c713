"""Recording one review run: its rows in every table and its link in the chain, in one
transaction (so a writer killed half way leaves nothing), on either back end."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import os
import time
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from disbursement.audit import blobs
from disbursement.audit.backends import Connection
from disbursement.audit.chain import canonical_json, chain_head, hash_version, seal
from disbursement.audit.store import Db, connect, current_user, new_id, utc_now
from disbursement.files import sha256_file
from disbursement.model import RunResult
from disbursement.render.records import flag_records, proposal_json
from disbursement.version import __version__

FILE_OPTIONS = ("overrides", "settings")  # options naming a file the run read: kept like inputs
DIR_OPTIONS = ("templates_dir", "replies")  # options naming a folder: every file in it is kept
DATE_OPTIONS = ("as_of", "date", "received")  # recorded as ISO text
# Test-only: a file path; the writer creates it once the run's rows are written (before
# COMMIT) and waits, so a test can kill it mid-record. Never set in use.
PAUSE_ENV = "DISBURSEMENT_AUDIT_TEST_PAUSE"
_RUN_INSERT = ("seq, run_id, recorded_at, reviewer, engine_version, year, round, rule_id, "
               "round_name, as_of, threshold_pct, rules_path, rules_sha256, options, summary, "
               "policy, hash_version, db_role, prev_hash, record_hash")


def record_run(db: Db, result: RunResult, *, reviewer: str | None = None,
               rules_text: str | None = None, input_paths: Iterable[Any] | None = None,
               output_paths: Mapping[str, str | os.PathLike[str]] | None = None,
               engine_version: str | None = None, overrides: Iterable[Any] | None = None,
               options: Mapping[str, Any] | None = None) -> str:
    """Record one review run (a `RunResult`) and return its run id.

    `input_paths` default to `result.inputs`, `rules_text` to the content of
    `result.rules_path`. `options` are the options as the user gave them, named like the
    keyword arguments of `pipeline.run_round` and `outputs.write_outputs` (plus `round`), so
    that replay can pass each one back; the files and folders they name (`FILE_OPTIONS`,
    `DIR_OPTIONS`) are kept in the store like the inputs. `overrides` are dicts (or
    dataclasses) with reason and approver; by default the overrides marked on the proposal.
    """
    rows = _run_rows(result, overrides)
    rules_text = rules_text if rules_text is not None else Path(result.rules_path).read_text(
        encoding="utf-8")
    rules_sha = hashlib.sha256(rules_text.encode("utf-8")).hexdigest()
    info = result.round
    opts = {k: str(v) if isinstance(v, os.PathLike) else v.isoformat()
            if isinstance(v, dt.date) else v for k, v in (options or {
                "round": info.number, "year": info.year, "as_of": info.as_of}).items()}
    files: list[tuple[str, str, Any]] = [
        ("input", str(p), p) for p in (input_paths if input_paths is not None else result.inputs)]
    files += [(key, str(opts[key]), opts[key]) for key in FILE_OPTIONS if opts.get(key)]
    for key in DIR_OPTIONS:
        if opts.get(key):
            folder = Path(opts[key])
            files += [(key, f.relative_to(folder).as_posix(), f) for f in sorted(folder.rglob("*"))
                      if f.is_file()]
    contents = [blobs.read_source(path) for _, _, path in files]
    outputs = [(name, str(p), Path(p).stat().st_size, sha256_file(p))
               for name, p in sorted((output_paths or {}).items())]
    with connect(db, create=True) as conn:
        role = conn.role()
        with conn.transaction():
            inputs = [(i, role_, name, *reversed(blobs.keep(conn, data)))
                      for i, ((role_, name, _), data) in enumerate(zip(files, contents,
                                                                       strict=True))]
            seq, prev = chain_head(conn)
            seq += 1
            run_id = new_id()  # inside the lock: ids sort in chain order
            conn.execute("INSERT INTO rules_texts VALUES (?, ?) ON CONFLICT DO NOTHING",
                         (rules_sha, rules_text))
            conn.execute(
                f"INSERT INTO runs ({_RUN_INSERT}) "
                "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                (seq, run_id, utc_now(), reviewer or current_user(), engine_version or __version__,
                 info.year, info.number, info.rule_id, info.name, info.as_of.isoformat(),
                 info.threshold_pct, str(opts.get("rules_path") or result.rules_path), rules_sha,
                 canonical_json(opts), canonical_json(result.summary),
                 canonical_json(rows["policy"]) if rows["policy"] is not None else None,
                 hash_version(role), role, prev, ""))
            conn.executemany("INSERT INTO inputs VALUES (?,?,?,?,?,?)",
                             [(seq, *i) for i in inputs])
            name_ids = _name_ids(conn, rows["names"])
            conn.executemany("INSERT INTO sheets VALUES (?,?,?,?)",
                             [(seq, *r) for r in rows["sheets"]])
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
            _pause_point()
    return run_id


def _pause_point() -> None:
    marker = os.environ.get(PAUSE_ENV)
    if marker:
        Path(marker).write_text(str(os.getpid()), encoding="utf-8")
        time.sleep(600)


def _opt(value: Any) -> Any:
    return None if value is None or value is pd.NA or (
        isinstance(value, float) and value != value) else value


def _run_rows(result: RunResult, overrides: Iterable[Any] | None) -> dict[str, Any]:
    """The rows of one run for each table, from the result (no store access)."""
    plan: Any = result.plan
    n = len(plan)

    def column(name: str, default: Any = None) -> list[Any]:
        return plan[name].tolist() if name in plan else [default] * n

    sheet_no: dict[tuple[str, str], int] = {}
    lines, names = [], []
    for i, (code, source, status, name, p, d, e, scope, flag, file, sheet, row) in enumerate(
            zip(column("project_code"), column("capital_source"), column("status"),
                column("project_name"), column("plan_dong", 0), column("disbursed_dong", 0),
                column("expected_dong"), column("in_scope", False), column("flagged", False),
                column("file", ""), column("sheet", ""), column("row", 0), strict=True)):
        number = sheet_no.setdefault((str(file), str(sheet)), len(sheet_no))
        name = _opt(name)
        names.append(name)
        expected = _opt(e)
        lines.append((i, _opt(code), _opt(source) or "UNKNOWN", _opt(status), name, int(p),
                      int(d), None if expected is None else int(expected), int(bool(scope)),
                      int(bool(flag)), number, int(row)))
    records = flag_records(result)
    flags_table: Any = result.flags
    if "lifecycle" in flags_table:
        for record, state in zip(records, flags_table["lifecycle"].tolist(), strict=True):
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
        dataclasses.asdict(o) if dataclasses.is_dataclass(o) and not isinstance(o, type)
        else dict(o) for o in overrides]
    override_rows = [(i, o.get("project_code"), o.get("capital_source"), o.get("kind"),
                      o.get("amount_dong"), str(o.get("reason") or ""), str(o.get("approver") or ""),
                      canonical_json(o)) for i, o in enumerate(given)]
    issues = [(i, x.code, x.severity, x.file, x.sheet, x.row, x.column, x.message)
              for i, x in enumerate(result.issues)]
    return {"sheets": [(no, f, s) for (f, s), no in sheet_no.items()], "lines": lines,
            "names": names, "flags": flags, "proposal": proposal, "issues": issues,
            "overrides": override_rows,
            "policy": None if result.proposal is None else result.proposal.policy}


def _name_ids(conn: Connection, names: Iterable[str | None]) -> dict[str, int]:
    """Ids of the names in `names`, adding the ones the store does not have yet."""
    rows = [(int.from_bytes(hashlib.sha256(n.encode("utf-8")).digest()[:8], "big", signed=True), n)
            for n in dict.fromkeys(names) if n is not None]
    conn.execute(conn.ddl("CREATE TEMP TABLE IF NOT EXISTS new_names (digest INTEGER, text TEXT)"))
    conn.execute("DELETE FROM new_names")
    conn.executemany("INSERT INTO new_names VALUES (?, ?)", rows)
    conn.execute("INSERT INTO names (digest, text) SELECT digest, text FROM new_names n WHERE NOT "
                 "EXISTS (SELECT 1 FROM names m WHERE m.digest = n.digest AND m.text = n.text)")
    return {str(text): int(ident) for text, ident in conn.execute(
        "SELECT m.text, m.id FROM new_names n JOIN names m "
        "ON m.digest = n.digest AND m.text = n.text").fetchall()}
