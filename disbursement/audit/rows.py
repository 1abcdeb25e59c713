"""Per-row records of hash version 3: only what the row's own columns do not hold, and back.

Up to hash version 2 every flag, proposal and override row also kept its whole record as JSON
(`record`), repeating the row's columns and, per line, every source cell ("L15", "M15", …):
78 % of a national store. From version 3 `record` keeps the rest only; a key is left out when
its column holds the same value of the same type, and `source.cells` when it is exactly the
sheet's cell-letter map (`sheets.cells`) with the row number appended. What a record did not
have is listed under `_absent`; `"cells": null` in a lean source means the record had no cells.
`full` gives back the record as written — the same dict `json.loads` of a version-2 `record`
gives (keys in sorted order). From version 4 the flag and proposal records, lines and issues of
a run are blocks (audit/blocks.py); `lean` still writes the override rows. The readers here
(`flags`, `proposal`, `overrides`, `issues`, `lines`) give the same records for every version.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson

from disbursement.audit import blocks
from disbursement.audit.backends import Connection

ABSENT = "_absent"
FLAG_KEYS = ("project_code", "capital_source", "rule_id", "plan_dong", "disbursed_dong")
SOURCE_KEYS = ("file", "sheet", "row")
PROPOSAL_KEYS = (
    "project_code",
    "capital_source",
    "pool",
    "amount_dong",
    "plan_dong",
    "plan_after_dong",
    "reason",
)
OVERRIDE_KEYS = ("project_code", "capital_source", "kind", "amount_dong", "reason", "approver")
_LEAN_VERSION = 3
_ISSUES = (
    "SELECT code, severity, file, sheet, row, col AS column, message FROM issues "
    "WHERE run_seq = ? ORDER BY issue_no"
)
_LINES = (
    "SELECT l.line_no, l.project_code, l.capital_source, n.text AS project_name, l.status, "
    "l.plan_dong, l.disbursed_dong, l.expected_dong, l.in_scope, l.flagged, s.file, s.sheet, "
    "l.row FROM lines l LEFT JOIN names n ON n.id = l.name_id JOIN sheets s ON "
    "s.run_seq = l.run_seq AND s.sheet_no = l.sheet_no WHERE l.run_seq = ? ORDER BY l.line_no"
)


def expand(letter_map: Mapping[str, str], row: int) -> dict[str, str]:
    suffix = str(row)
    return {key: letter + suffix for key, letter in letter_map.items()}


def _same(a: Any, b: Any) -> bool:
    return type(a) is type(b) and a == b


def lean(record: Mapping[str, Any], columns: Mapping[str, Any]) -> dict[str, Any]:
    """What of `record` the row's `columns` do not hold (the override rows; the flag and
    proposal rows of hash version 3 also left out their source's file / sheet / row and cells,
    which `full` gives back)."""
    rest = dict(record)
    absent = []
    for key, value in columns.items():
        if key not in rest:
            absent.append(key)
        elif _same(rest[key], value):
            del rest[key]
    if absent:
        rest[ABSENT] = absent
    return rest


def full(
    rest: dict[str, Any],
    columns: Mapping[str, Any],
    source: Mapping[str, Any] | None = None,
    letter_map: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """The record `lean` was given, from its lean part, columns and sheet map."""
    absent = set(rest.pop(ABSENT, ()))
    out = {key: value for key, value in columns.items() if key not in absent}
    if source is not None and "source" not in absent:
        part = rest.pop("source", {})
        if type(part) is dict:
            src = {k: v for k, v in source.items() if f"source.{k}" not in absent}
            if "cells" not in part:
                part["cells"] = expand(letter_map or {}, source.get("row", part.get("row")))
            elif part["cells"] is None:
                del part["cells"]
            src.update(part)
            if type(src.get("cells")) is dict:
                src["cells"] = dict(sorted(src["cells"].items()))
            out["source"] = dict(sorted(src.items()))
        else:  # not a dict: kept as it was
            out["source"] = part
    out.update(rest)
    return dict(sorted(out.items()))


def _version(conn: Connection, seq: int) -> int:
    return int(conn.scalar("SELECT hash_version FROM runs WHERE seq = ?", (seq,)))


def _letter_maps(conn: Connection, seq: int) -> dict[tuple[Any, Any], dict[str, str]]:
    return {
        (file, sheet): orjson.loads(cells)
        for file, sheet, cells in conn.execute(
            "SELECT file, sheet, cells FROM sheets WHERE run_seq = ? AND cells IS NOT NULL", (seq,)
        ).fetchall()
    }


def _in_blocks(version: int) -> bool:
    return version >= blocks.BLOCK_HASH_VERSION


def in_blocks(conn: Connection, seq: int) -> bool:
    """Whether run `seq` keeps its many rows as blocks (hash version 4 on)."""
    return _in_blocks(_version(conn, seq))


def flags(conn: Connection, seq: int) -> list[dict[str, Any]]:
    """The flag records of run `seq`, in order, as they were recorded."""
    version = _version(conn, seq)
    if _in_blocks(version):
        return blocks.records(conn, seq, "flags", (*FLAG_KEYS, "source"))
    if version < _LEAN_VERSION:
        return [
            orjson.loads(r)
            for (r,) in conn.execute(
                "SELECT record FROM flags WHERE run_seq = ? ORDER BY flag_no", (seq,)
            ).fetchall()
        ]
    maps = _letter_maps(conn, seq)
    out = []
    for *values, file, sheet, row, record in conn.execute(
        "SELECT project_code, capital_source, rule_id, plan_dong, disbursed_dong, file, "
        "sheet, row, record FROM flags WHERE run_seq = ? ORDER BY flag_no",
        (seq,),
    ).fetchall():
        out.append(
            full(
                orjson.loads(record),
                dict(zip(FLAG_KEYS, values, strict=True)),
                {"file": file, "sheet": sheet, "row": row},
                maps.get((file, sheet)),
            )
        )
    return out


def proposal(conn: Connection, seq: int) -> list[dict[str, Any]]:
    """The proposal lines of run `seq` as {"kind", **record}, in order."""
    version = _version(conn, seq)
    if _in_blocks(version):
        kept = blocks.records(conn, seq, "proposal_lines", ("kind", *PROPOSAL_KEYS))
        return [{"kind": x.pop("kind"), **x} for x in kept]  # `kind` first, as before
    if version < _LEAN_VERSION:
        return [
            {"kind": k, **orjson.loads(r)}
            for k, r in conn.execute(
                "SELECT kind, record FROM proposal_lines WHERE run_seq = ? ORDER BY line_no", (seq,)
            ).fetchall()
        ]
    maps = _letter_maps(conn, seq)
    out = []
    for kind, *values, record in conn.execute(
        "SELECT kind, project_code, capital_source, pool, amount_dong, plan_dong, "
        "plan_after_dong, reason, record FROM proposal_lines WHERE run_seq = ? "
        "ORDER BY line_no",
        (seq,),
    ).fetchall():
        rest = orjson.loads(record)
        src = rest.get("source")
        letter_map = maps.get((src.get("file"), src.get("sheet"))) if type(src) is dict else None
        out.append(
            {"kind": kind, **full(rest, dict(zip(PROPOSAL_KEYS, values, strict=True)), {}, letter_map)}
        )
    return out


def overrides(conn: Connection, seq: int) -> list[dict[str, Any]]:
    """The override records of run `seq`, in order."""
    if _version(conn, seq) < _LEAN_VERSION:
        return [
            orjson.loads(r)
            for (r,) in conn.execute(
                "SELECT record FROM overrides WHERE run_seq = ? ORDER BY override_no", (seq,)
            ).fetchall()
        ]
    return [
        full(orjson.loads(record), dict(zip(OVERRIDE_KEYS, values, strict=True)))
        for *values, record in conn.execute(
            "SELECT project_code, capital_source, kind, amount_dong, reason, approver, "
            "record FROM overrides WHERE run_seq = ? ORDER BY override_no",
            (seq,),
        ).fetchall()
    ]


def issues(conn: Connection, seq: int) -> list[dict[str, Any]]:
    """The issue records of run `seq` (code, severity, file, sheet, row, column, message)."""
    if _in_blocks(_version(conn, seq)):
        issues = blocks.columns(conn, seq, "issues", blocks.ISSUE_COLUMNS)
        return blocks.rows_of(issues, blocks.ISSUE_COLUMNS)
    return conn.rows(_ISSUES, [seq])


def lines(conn: Connection, seq: int, code: str | None = None) -> list[dict[str, Any]]:
    """The lines of run `seq` (all, or those of project `code`), in order: line_no, project
    code and name, capital source, status, figures, in_scope / flagged (0 / 1), file, sheet, row."""
    if not _in_blocks(_version(conn, seq)):
        if code is None:
            return conn.rows(_LINES, [seq])
        return conn.rows(_LINES.replace("ORDER BY", "AND l.project_code = ? ORDER BY"), [seq, code])
    columns = blocks.columns(conn, seq, "lines", blocks.LINE_COLUMNS)
    sheets = {
        no: (file, sheet)
        for no, file, sheet in conn.execute(
            "SELECT sheet_no, file, sheet FROM sheets WHERE run_seq = ?", (seq,)
        ).fetchall()
    }
    codes = columns["project_code"]
    chosen = range(len(codes)) if code is None else [i for i, c in enumerate(codes) if c == code]
    names = [n for n in blocks.LINE_COLUMNS if n != "sheet_no"]
    values = [columns[n] for n in names]
    out = []
    for i in chosen:
        line = {"line_no": i, **{n: v[i] for n, v in zip(names, values, strict=True)}}
        line["file"], line["sheet"] = sheets.get(columns["sheet_no"][i], (None, None))
        out.append(line)
    return out
