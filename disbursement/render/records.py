"""Flags and issues as JSON (the stable `review --json` contract), CSV and formatted xlsx.

The JSON contract: {"flags": [...], "issues": [...], "summary": {...}} with integer đồng,
1-based Excel rows and NFC names exactly as written. Keys are only ever added.
"""

from __future__ import annotations

import csv
import datetime as dt
import functools
import io
import json
from collections.abc import Set as AbstractSet
from pathlib import Path

import orjson
import pandas as pd

from disbursement.files import atomic_path, atomic_write_bytes, normalise_zip
from disbursement.model import RunResult

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def _optional_int(value):
    import pandas as pd

    return None if value is None or pd.isna(value) else int(value)


def _optional_str(value):
    import pandas as pd

    return None if value is None or pd.isna(value) else str(value)


@functools.lru_cache(maxsize=16384)
def _reason_text(code: str, rate: str, threshold, as_of: str) -> str:
    from disbursement.render import reason_text

    details = {"rate": rate, "as_of": as_of}
    if threshold is not None:
        details["threshold"] = threshold
    return reason_text(code, "vi", **details)


def flag_records(result: RunResult) -> list[dict]:
    """One JSON-ready dict per flagged line, in workbook order."""
    info = result.round
    flags = result.flags
    as_of_vn = f"{info.as_of.day}/{info.as_of.month}/{info.as_of.year}"
    as_of, threshold = info.as_of.isoformat(), info.threshold_pct

    def texts(name: str) -> list:  # column-wise: one pass per column, NA → None
        if name not in flags:
            return [None] * len(flags)
        return [None if v is None or v is pd.NA or v != v else str(v)
                for v in flags[name].astype(object).tolist()]

    def ints(name: str) -> list:
        if name not in flags:
            return [None] * len(flags)
        return [None if v is None or v is pd.NA else int(v)
                for v in flags[name].astype(object).tolist()]

    lifecycle = flags["lifecycle"].tolist() if "lifecycle" in flags else None
    evidence = flags["evidence"].tolist() if "evidence" in flags else None
    columns = zip(texts("project_code"), texts("project_name"), texts("capital_source"),
                  texts("capital_source_label"), texts("rule_id"), texts("reason"),
                  ints("plan_dong"), ints("disbursed_dong"), ints("expected_dong"),
                  flags["rate_pct"].tolist(), texts("status"), texts("investor"),
                  flags["forecast"].tolist(), flags["file"].tolist(), flags["sheet"].tolist(),
                  ints("row"), flags["cells"].tolist(), strict=True)
    records = []
    for i, (code, name, source, label, rule, reason, plan, disbursed, expected, rate, status,
            investor, forecast, file, sheet, row, cells) in enumerate(columns):
        record = {
            "project_code": code, "project_name": name, "capital_source": source,
            "capital_source_label": label, "rule_id": rule, "reason": reason,
            "reason_text": _reason_text(reason, rate, threshold, as_of_vn),
            "plan_dong": plan, "disbursed_dong": disbursed, "expected_dong": expected,
            "rate_pct": rate, "threshold_pct": threshold, "as_of": as_of, "status": status,
            "investor": investor, "forecast": bool(forecast),
            "source": {"file": file, "sheet": sheet, "row": row, "cells": dict(cells)},
        }
        if lifecycle is not None:  # set when the audit store knows the previous round
            record["lifecycle"] = lifecycle[i]
        if evidence is not None and evidence[i] is not None:  # figures an investor's reply gave
            record["reply"] = evidence[i]
        records.append(record)
    return records


_JSON_OPTIONS = orjson.OPT_NON_STR_KEYS  # int keys become text, as the stdlib writes them


def _encode(value) -> bytes:
    try:
        return orjson.dumps(value, option=_JSON_OPTIONS)
    except (orjson.JSONEncodeError, TypeError):  # e.g. text orjson refuses (lone surrogates)
        return json.dumps(value).encode("ascii")


def write_json(payload: dict, stream) -> None:
    """Write `payload` as UTF-8 JSON bytes, one list element per line, each encoded by orjson.

    Same value as `json.dumps(payload)` (tests/render/test_json_output.py), about 4× faster
    than the stdlib's C encoder, and never holds the whole text in memory (a national run's
    flags and issues are ~100 MB of JSON). `stream.write` takes bytes.
    """
    stream.write(b"{")
    for k, (key, value) in enumerate(payload.items()):
        stream.write((b"," if k else b"") + b"\n" + _encode(key) + b": ")
        if isinstance(value, list):
            stream.write(b"[")
            for i, item in enumerate(value):
                stream.write((b",\n" if i else b"\n") + _encode(item))
            stream.write(b"\n]" if value else b"]")
        else:
            stream.write(_encode(value))
    stream.write(b"\n}\n")
    stream.flush()


def result_json(result: RunResult, *, flags: list[dict] | None = None,
                proposal: dict | None = None) -> dict:
    """The `--json` payload; `flags` / `proposal` are `flag_records(result)` /
    `proposal_json(result.proposal)` when the caller has them already."""
    out = {
        "flags": flag_records(result) if flags is None else flags,
        # The contract's issues are errors and warnings; info records go to "notes" (same shape).
        "issues": [x.to_dict() for x in result.issues if x.severity in ("error", "warning")],
        "notes": [x.to_dict() for x in result.issues if x.severity not in ("error", "warning")],
        "summary": result.summary,
    }
    if result.proposal is not None:
        out["proposal"] = proposal_json(result.proposal) if proposal is None else proposal
    if result.replies is not None:  # only when the review was given investors' replies
        out["replies"] = result.replies
    return out


def proposal_json(proposal) -> dict:
    def line(x) -> dict:
        entry = {
            "project_code": x.project_code,
            "project_name": x.project_name,
            "capital_source": x.capital_source,
            "pool": x.pool,
            "amount_dong": int(x.amount_dong),
            "plan_dong": int(x.plan_dong),
            "disbursed_dong": int(x.disbursed_dong),
            "plan_after_dong": int(x.plan_after_dong),
            "reason": x.reason,
            "tier": x.tier,
            "source": x.source.to_dict(),
        }
        if x.override:
            entry["override"] = dict(x.override)
        return entry

    return {
        "pools": [{"pool": p.pool, "capital_source": p.capital_source,
                   "recalled_dong": int(p.recalled_dong), "allocated_dong": int(p.allocated_dong),
                   "unallocated_dong": int(p.unallocated_dong)} for p in proposal.pools],
        "decreases": [line(x) for x in proposal.decreases],
        "increases": [line(x) for x in proposal.increases],
        "policy": proposal.policy,
    }


FLAG_COLUMNS = [
    ("STT", None), ("Mã dự án", "project_code"), ("Tên dự án", "project_name"),
    ("Chủ đầu tư", "investor"), ("Nguồn vốn", "capital_source_label"), ("Tính chất", "status"),
    ("Kế hoạch vốn (triệu đồng)", "plan_dong"), ("Đã giải ngân (triệu đồng)", "disbursed_dong"),
    ("Tỷ lệ (%)", "rate_pct"), ("Quy tắc", "rule_id"), ("Nguồn số liệu", "where"),
]
STATUS_VI = {"continuing": "Chuyển tiếp", "new": "Khởi công mới", "completed": "Hoàn thành",
             "other": "Khác"}


def _flag_rows(result: RunResult) -> list[list]:
    rows = []
    for i, rec in enumerate(flag_records(result), start=1):
        src = rec["source"]
        rows.append([i, rec["project_code"] or "", rec["project_name"], rec["investor"] or "",
                     rec["capital_source_label"] or rec["capital_source"],
                     STATUS_VI.get(rec["status"], rec["status"]), rec["plan_dong"],
                     rec["disbursed_dong"], rec["rate_pct"], rec["rule_id"],
                     f"{Path(src['file']).name} / {src['sheet']} / dòng {src['row']}"
                     + _reply_where(rec.get("reply"))])
    return rows


def _reply_where(reply: dict | None) -> str:
    """The investor's reply a flag's figures came from: file, cells, received date."""
    if not reply:
        return ""
    cells = ", ".join(reply["cells"][k] for k in sorted(reply["cells"]))
    received = dt.date.fromisoformat(reply["received"]).strftime("%d/%m/%Y")
    return (f"; báo cáo của chủ đầu tư: {reply['file']} / {reply['sheet']} / ô {cells}, "
            f"nhận ngày {received}")


def csv_safe(value):
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def write_flags_csv(result: RunResult, path: Path) -> None:
    from disbursement.money import format_trieu

    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([h for h, _ in FLAG_COLUMNS] + ["plan_dong", "disbursed_dong"])
    for row in _flag_rows(result):
        shown = [*row[:6], format_trieu(row[6]), format_trieu(row[7]), *row[8:]]
        writer.writerow([csv_safe(v) for v in shown] + [row[6], row[7]])
    atomic_write_bytes(path, ("\ufeff" + buffer.getvalue()).encode("utf-8"))


def write_table_xlsx(path: Path, title: str, subtitle: str, headers: list[str], rows: list[list],
                     money_columns: set[int], widths: list[int] | None, created: dt.date, *,
                     percent_columns: AbstractSet[int] = frozenset(), nowrap: AbstractSet[int] = frozenset(),
                     sheet_name: str = "Danh sách", unit: str = "Đơn vị: triệu đồng") -> None:
    """A formatted one-sheet working table (render/sheets.py layout); money given in đồng.

    `widths` is kept for callers' sake; widths now come from the content.
    """
    import xlsxwriter

    from disbursement.render.sheets import SheetStyle, write_sheet

    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(str(tmp), {"strings_to_formulas": False,
                                              "strings_to_numbers": False, "in_memory": True})
        book.set_properties({"created": dt.datetime.combine(created, dt.time())})
        write_sheet(book, sheet_name, title, subtitle, headers, rows, SheetStyle(unit=unit),
                    money=money_columns, percent=percent_columns, nowrap=nowrap)
        book.close()
        normalise_zip(tmp)


def write_flags_xlsx(result: RunResult, path: Path) -> None:
    """Flagged lines; the rate is a percent number stored truncated; a round that compares the
    investors' expected figure (round 3) shows that figure beside the disbursed one."""
    from disbursement.render.register import rate_fraction, rate_hundredths

    info = result.round
    headers = [h for h, _ in FLAG_COLUMNS]
    rows = _flag_rows(result)
    for row in rows:
        row[8] = rate_fraction(rate_hundredths(row[8]))
    money = {6, 7}
    if info.threshold_pct is None and "expected_dong" in result.flags:
        expected = [None if v is None or v is pd.NA or v != v else int(v)
                    for v in result.flags["expected_dong"].astype(object).tolist()]
        headers.insert(8, "Dự kiến giải ngân cả năm (triệu đồng)")
        for row, value in zip(rows, expected, strict=True):
            row.insert(8, value)
        money.add(8)
    rate = headers.index("Tỷ lệ (%)")
    write_table_xlsx(
        path,
        f"DANH SÁCH DỰ ÁN BỊ GẮN CỜ - {info.name.upper()} NĂM {info.year} ({info.rule_id})",
        f"Số liệu giải ngân đến ngày {info.as_of.strftime('%d/%m/%Y')}; {info.description}",
        headers, rows, money, None, info.as_of, percent_columns={rate},
        nowrap={len(headers) - 1},
    )


def write_issues_xlsx(result: RunResult, path: Path) -> None:
    rows = [[i, x.severity, x.code, Path(x.file).name if x.file else "", x.sheet or "",
             x.row if x.row is not None else "", x.column or "", x.message]
            for i, x in enumerate(result.issues, start=1)]
    write_table_xlsx(path, "CÁC VẤN ĐỀ VỀ SỐ LIỆU", "Mỗi dòng chỉ ra tệp, trang tính, dòng và cột",
                     ["STT", "Mức độ", "Mã", "Tệp", "Trang tính", "Dòng", "Cột", "Nội dung"],
                     rows, set(), None, result.round.as_of)


PROPOSAL_HEADERS = ["STT", "Loại", "Mã dự án", "Tên dự án", "Nguồn vốn", "Nhóm (pool)",
                    "Kế hoạch vốn", "Đã giải ngân", "Điều chỉnh", "Kế hoạch sau điều chỉnh",
                    "Lý do", "Thứ tự ưu tiên", "Điều chỉnh thủ công", "Nguồn số liệu"]


def write_proposal_xlsx(result: RunResult, path: Path) -> None:
    """The proposal as a working table: pools first, then every decrease and increase."""
    proposal = result.proposal
    assert proposal is not None, "proposal.xlsx is written only for a run with a proposal"
    rows: list[list] = []
    for pool in proposal.pools:
        rows.append(["", "Tổng nhóm", "", pool.capital_source_label, pool.capital_source, pool.pool,
                     "", "", pool.recalled_dong, pool.allocated_dong,
                     f"chưa phân bổ (trả về dự phòng): {pool.unallocated_dong:,} đồng".replace(",", "."),
                     "", "", ""])
    lines = [("Giảm", x) for x in proposal.decreases] + [("Tăng", x) for x in proposal.increases]
    for i, (kind, x) in enumerate(lines, start=1):
        override = (f"{x.override.get('reason', '')} — {x.override.get('approver', '')}"
                    if x.override else "")
        rows.append([i, kind, x.project_code or "", x.project_name, x.capital_source_label, x.pool,
                     x.plan_dong, x.disbursed_dong, -x.amount_dong if kind == "Giảm" else x.amount_dong,
                     x.plan_after_dong, x.reason, x.tier or "", override,
                     f"{Path(x.source.file).name} / {x.source.sheet} / dòng {x.source.row}"])
    info = result.round
    write_table_xlsx(path, f"ĐỀ XUẤT ĐIỀU CHỈNH KẾ HOẠCH VỐN - {info.name.upper()} NĂM {info.year}",
                     f"Số liệu đến ngày {info.as_of.strftime('%d/%m/%Y')}; "
                     "dòng 'Tổng nhóm': cột Điều chỉnh = thu hồi, cột sau = phân bổ",
                     PROPOSAL_HEADERS, rows, {6, 7, 8, 9},
                     None, info.as_of, nowrap={13})
