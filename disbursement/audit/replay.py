"""Replay: re-run a recorded run from its stored input copies and rules text, and compare.

Everything comes from the store (on PostgreSQL the copies live in the database), so a replay
needs nothing from the disk of the officer who recorded the run.
"""

from __future__ import annotations

import datetime as dt
import json
import tempfile
from pathlib import Path
from typing import Any

from disbursement.audit import blobs
from disbursement.audit.backends import Connection
from disbursement.audit.queries import Record, show_run
from disbursement.audit.record import DATE_OPTIONS, DIR_OPTIONS, FILE_OPTIONS
from disbursement.audit.store import Db, connect, locate
from disbursement.files import sha256_file
from disbursement.model import RunResult
from disbursement.render.records import flag_records, proposal_json
from disbursement.session import AuditTarget, ReviewOptions, review
from disbursement.version import __version__


def replay(db: Db, ref: str) -> Record:
    """Re-run a recorded run from its stored input copies and rules text into a temp folder
    and compare every output's sha256 (and the flag, proposal and issue records) with the
    record. The recorded options become `session.ReviewOptions` and the run goes through
    `session.review`, the same composition as the CLI's review (not recorded again).
    Returns {"run_id", "ok", "files": [{"name", "status", …}],
    "records", "engine_version", "ignored_options"}."""
    location = locate(db)
    run = show_run(location, ref)
    with tempfile.TemporaryDirectory(prefix="disbursement-replay-") as tmp:
        base = Path(tmp)
        with connect(location) as conn:
            placed = _materialise(conn, run["inputs"], base)
            text = str(conn.scalar("SELECT text FROM rules_texts WHERE sha256 = ?", [run["rules_sha256"]]))
        rules = base / "rules" / Path(run["rules_path"]).name
        rules.parent.mkdir()
        rules.write_text(text, encoding="utf-8")
        recorded: dict[str, Any] = {"rules_path": rules}
        for key, value in run["options"].items():
            if value and key in FILE_OPTIONS:
                value = placed[key][0]
            elif value and key in DIR_OPTIONS:
                value = base / key
                value.mkdir(exist_ok=True)
            elif value and key in DATE_OPTIONS:
                value = dt.date.fromisoformat(value)
            recorded.setdefault(key, value)
        recorded.setdefault("round", run["round"])
        options, ignored = ReviewOptions.from_recorded(recorded)
        history = (run["summary"] or {}).get("lifecycle")
        outcome = review(
            placed.get("input", []),
            options,
            out_dir=base / "out" if run["outputs"] else None,
            audit=AuditTarget(location) if history is not None else None,
            history_upto=history["store_seq"] if history is not None else None,
            record=False,
        )
        result, written = outcome.result, outcome.written
        files = []
        for out in run["outputs"]:
            got = written.get(out["name"])
            replayed = sha256_file(got) if got and Path(got).exists() else None
            files.append(
                {
                    "name": out["name"],
                    "recorded": out["sha256"],
                    "replayed": replayed,
                    "status": "MISSING"
                    if replayed is None
                    else "OK"
                    if replayed == out["sha256"]
                    else "DIFFERENT",
                }
            )
        records = _records_match(run, result)
    return {
        "run_id": run["run_id"],
        "files": files,
        "records": records,
        "engine_version": {"recorded": run["engine_version"], "current": __version__},
        "ignored_options": ignored,
        "ok": all(f["status"] == "OK" for f in files) and records["status"] == "OK",
    }


def _materialise(conn: Connection, inputs: list[Record], base: Path) -> dict[str, list[Path]]:
    """Write the stored copies into `base/<role>/` under their original names."""
    placed: dict[str, list[Path]] = {}
    for i, item in enumerate(inputs):
        role = item["role"]
        data = blobs.checked(conn, item["sha256"], item["name"])
        name = Path(item["name"]).name
        same = [x for x in inputs if x["role"] == role and Path(x["name"]).name == name]
        target = (
            base / role / item["name"]
            if role in DIR_OPTIONS
            else base / role / (str(i) if len(same) > 1 else "") / name
        )
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_bytes(data)
        placed.setdefault(role, []).append(target)
    return placed


def _records_match(run: Record, result: RunResult) -> Record:
    """Compare stored flag, proposal and issue records with the replayed ones (file names
    reduced to their base name: the replay reads copies from a temp folder)."""

    def norm(records: list[Record]) -> list[Record]:
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

    proposal: list[Record] = []
    if result.proposal is not None:
        data = proposal_json(result.proposal)
        proposal = [{"kind": k, **x} for k in ("decrease", "increase") for x in data[k + "s"]]
    parts = {
        "flags": (run["flags"], flag_records(result)),
        "proposal": (run["proposal"], proposal),
        "issues": (run["issue_records"], [i.to_dict() for i in result.issues]),
    }
    different: dict[str, str] = {}
    for name, (old, new) in parts.items():
        old, new = norm(old), norm(new)
        if len(old) != len(new):
            different[name] = f"{len(old)} recorded, {len(new)} now"
        for i, (a, b) in enumerate(zip(old, new, strict=False)):
            if a != b and name not in different:
                keys = sorted(k for k in {*a, *b} if a.get(k) != b.get(k))
                different[name] = f"#{i + 1} differs in {', '.join(keys)}"
    return {
        "status": "DIFFERENT" if different else "OK",
        "different": different,
        "counts": {name: len(old) for name, (old, _) in parts.items()},
    }
