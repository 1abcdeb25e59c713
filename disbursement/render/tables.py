"""The officer's working tables: flags.xlsx / flags.csv, issues.xlsx and proposal.xlsx.

Every word comes from `templates/<lang>/bang_tinh.j2` (headers, states, kinds), the reasons
from `templates/_reasons.j2`, a data issue's text from the registry and `templates/_issues.j2`
(`words.issue_text`), capital-source labels from the localised result (`words.localised`).
Codes (rule ids, issue codes) appear as codes, always beside their words. Money is integer
đồng shown in triệu with three decimals; rates are percent numbers stored already truncated.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import os
from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

import pandas as pd

from disbursement.config.settings import Settings, load_settings
from disbursement.files import atomic_path, atomic_write_bytes, normalise_zip
from disbursement.model import RunResult
from disbursement.money import format_trieu
from disbursement.render.env import environment, in_notation, override_text, reason_text, short_date
from disbursement.render.records import flag_records
from disbursement.render.register import rate_fraction, rate_hundredths
from disbursement.render.sheets import SheetStyle, write_sheet
from disbursement.render.words import issue_text, localised, pool_text, round_values, wording

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
Where = str | os.PathLike | None


def table_words(
    result: RunResult, lang: str, templates_dir: Where = None, settings: Settings | Where = None
) -> Any:
    """The words of the working tables for this (already localised) result."""
    info = result.round
    resolved = settings if isinstance(settings, Settings) else load_settings(settings, year=info.year)
    return wording(
        environment(templates_dir), "bang_tinh", lang, round=round_values(info), s=resolved.for_lang(lang)
    )


def csv_safe(value: Any) -> Any:
    """Text that a spreadsheet would run as a formula gets a leading apostrophe."""
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value


def _where(words: Any, file: str, sheet: str, row: int) -> str:
    return f"{Path(file).name} / {sheet} / {words.row_word} {row}"


def _reply_where(words: Any, reply: dict | None) -> str:
    """The investor's reply a flag's figures came from: file, cells, received date."""
    if not reply:
        return ""
    cells = ", ".join(reply["cells"][k] for k in sorted(reply["cells"]))
    received = dt.date.fromisoformat(reply["received"]).strftime("%d/%m/%Y")
    return (
        f"; {words.reply_where}: {reply['file']} / {reply['sheet']} / {words.cell_word} "
        f"{cells}, {words.received_word} {received}"
    )


def flag_rows(records: list[dict], words: Any) -> list[list]:
    """One row per flag record (`records.flag_records`), in the order of `flag_headers`."""
    statuses = dict(words.statuses)
    rows = []
    for i, rec in enumerate(records, start=1):
        src = rec["source"]
        rows.append(
            [
                i,
                rec["project_code"] or "",
                rec["project_name"],
                rec["investor"] or "",
                rec["capital_source_label"] or rec["capital_source"],
                statuses.get(rec["status"], rec["status"]),
                rec["plan_dong"],
                rec["disbursed_dong"],
                rec["rate_pct"],
                rec["rule_id"],
                _where(words, src["file"], src["sheet"], src["row"]) + _reply_where(words, rec.get("reply")),
            ]
        )
    return rows


def write_flags_csv(
    result: RunResult,
    path: Path,
    *,
    lang: str = "vi",
    templates_dir: Where = None,
    settings: Settings | Where = None,
) -> None:
    result = localised(result, lang)
    words = table_words(result, lang, templates_dir, settings)
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*words.flag_headers, "plan_dong", "disbursed_dong"])
    for row in flag_rows(flag_records(result), words):
        shown = [*row[:6], format_trieu(row[6]), format_trieu(row[7]), *row[8:]]
        writer.writerow([csv_safe(v) for v in shown] + [row[6], row[7]])
    atomic_write_bytes(path, ("\ufeff" + buffer.getvalue()).encode("utf-8"))


def write_table_xlsx(
    path: Path,
    title: str,
    subtitle: str,
    headers: list[str],
    rows: list[list],
    money_columns: set[int],
    created: dt.date,
    *,
    percent_columns: AbstractSet[int] = frozenset(),
    nowrap: AbstractSet[int] = frozenset(),
    sheet_name: str = "Danh sách",
    unit: str = "Đơn vị: triệu đồng",
) -> None:
    """A formatted one-sheet working table (render/sheets.py layout); money given in đồng."""
    import xlsxwriter

    with atomic_path(path) as tmp:
        book = xlsxwriter.Workbook(
            str(tmp), {"strings_to_formulas": False, "strings_to_numbers": False, "in_memory": True}
        )
        book.set_properties({"created": dt.datetime.combine(created, dt.time())})
        write_sheet(
            book,
            sheet_name,
            title,
            subtitle,
            headers,
            rows,
            SheetStyle(unit=unit),
            money=money_columns,
            percent=percent_columns,
            nowrap=nowrap,
        )
        book.close()
        normalise_zip(tmp)


def _optional_ints(frame: pd.DataFrame, name: str) -> list[int | None]:
    return [
        None if v is None or v is pd.NA or v != v else int(v) for v in frame[name].astype(object).tolist()
    ]


def write_flags_xlsx(
    result: RunResult,
    path: Path,
    *,
    lang: str = "vi",
    templates_dir: Where = None,
    settings: Settings | Where = None,
) -> None:
    """Flagged lines with the reason in words; the rate a percent number stored truncated; a
    round that compares the investors' expected figure (round 3) shows that figure too."""
    result = localised(result, lang)
    info = result.round
    words = table_words(result, lang, templates_dir, settings)
    headers = list(words.flag_headers)
    records = flag_records(result)
    rows = flag_rows(records, words)
    threshold = info.threshold_pct
    as_of = short_date(info.as_of)
    for row, rec in zip(rows, records, strict=True):
        rate = rec["rate_pct"] if lang == "vi" else str(rec["rate_pct"]).replace(",", ".")
        details: dict[str, Any] = {"rate": rate, "as_of": as_of}
        if threshold is not None:
            details["threshold"] = threshold
        row[9] = f"{row[9]}: {reason_text(rec['reason'], lang, templates_dir=templates_dir, **details)}"
        row[8] = rate_fraction(rate_hundredths(row[8]))
    headers[9] = f"{headers[9]} / {words.h_reason}"
    money = {6, 7}
    if info.threshold_pct is None and "expected_dong" in result.flags:
        headers.insert(8, str(words.h_expected))
        for row, value in zip(rows, _optional_ints(result.flags, "expected_dong"), strict=True):
            row.insert(8, value)
        money.add(8)
    if "lifecycle" in result.flags:  # the audit store knew the previous round
        marks = dict(words.lifecycles)
        headers.insert(len(headers) - 1, str(words.h_lifecycle))
        for row, mark in zip(rows, result.flags["lifecycle"].tolist(), strict=True):
            row.insert(len(row) - 1, marks.get(str(mark), str(mark)))
    write_table_xlsx(
        path,
        str(words.flags_title),
        str(words.flags_subtitle),
        headers,
        rows,
        money,
        info.as_of,
        percent_columns={headers.index(words.flag_headers[8])},
        nowrap={len(headers) - 1},
        sheet_name=str(words.sheet),
        unit=str(words.unit),
    )


def write_issues_xlsx(
    result: RunResult,
    path: Path,
    *,
    lang: str = "vi",
    templates_dir: Where = None,
    settings: Settings | Where = None,
) -> None:
    """Every data issue, located, with its severity and its text in the run's language."""
    words = table_words(localised(result, lang), lang, templates_dir, settings)
    severities = dict(words.severities)
    rows = [
        [
            i,
            severities.get(x.severity, x.severity),
            x.code,
            Path(x.file).name if x.file else "",
            x.sheet or "",
            x.row if x.row is not None else "",
            x.column or "",
            issue_text(x, lang, templates_dir),
        ]
        for i, x in enumerate(result.issues, start=1)
    ]
    write_table_xlsx(
        path,
        str(words.issues_title),
        str(words.issues_subtitle),
        list(words.issue_headers),
        rows,
        set(),
        result.round.as_of,
        sheet_name=str(words.sheet),
        unit=str(words.unit),
    )


def write_proposal_xlsx(
    result: RunResult,
    path: Path,
    *,
    lang: str = "vi",
    templates_dir: Where = None,
    settings: Settings | Where = None,
) -> None:
    """The proposal as a working table: totals per pool first, then every decrease and increase."""
    result = localised(result, lang)
    proposal = result.proposal
    assert proposal is not None, "proposal.xlsx is written only for a run with a proposal"
    words = table_words(result, lang, templates_dir, settings)
    tiers = {
        t.get("id"): t.get(f"label_{lang}") or t.get("label_vi") or t.get("label")
        for t in ((proposal.policy or {}).get("priority") or {}).get("tiers") or ()
    }
    rows: list[list] = []
    for pool in proposal.pools:
        note = (
            words.unallocated(in_notation(format_trieu(pool.unallocated_dong), lang), pool.capital_source)
            if pool.unallocated_dong
            else ""
        )
        rows.append(
            [
                "",
                str(words.pool_kind),
                "",
                "",
                pool.capital_source_label,
                pool_text(pool.pool, pool.capital_source_label),
                "",
                "",
                pool.recalled_dong,
                pool.allocated_dong,
                str(note),
                "",
                "",
                "",
            ]
        )
    lines = [(str(words.decrease), -1, x) for x in proposal.decreases] + [
        (str(words.increase), 1, x) for x in proposal.increases
    ]
    for i, (kind, sign, x) in enumerate(lines, start=1):
        override = override_text(dict(x.override), lang, templates_dir=templates_dir) if x.override else ""
        rows.append(
            [
                i,
                kind,
                x.project_code or "",
                x.project_name,
                x.capital_source_label,
                pool_text(x.pool, x.capital_source_label),
                x.plan_dong,
                x.disbursed_dong,
                sign * x.amount_dong,
                x.plan_after_dong,
                reason_text(x.reason, lang, templates_dir=templates_dir),
                tiers.get(x.tier, x.tier) or "",
                override,
                _where(words, x.source.file, x.source.sheet, x.source.row),
            ]
        )
    write_table_xlsx(
        path,
        str(words.proposal_title),
        str(words.proposal_subtitle),
        list(words.proposal_headers),
        rows,
        {6, 7, 8, 9},
        result.round.as_of,
        nowrap={13},
        sheet_name=str(words.sheet),
        unit=str(words.unit),
    )
