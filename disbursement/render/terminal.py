"""Terminal report of a round, in the run's language (`templates/<lang>/man_hinh.j2`).

`inspect` is the engine's own diagnostic of how each sheet was read: it speaks English.

The summary first, then the flagged lines, the proposal per capital source, the life cycle
against the previous round, and the data issues grouped by code: each code once with its count
and meaning, then its first few located examples (never "… N more" after listing none).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from disbursement.config.issues import lookup
from disbursement.errors import Issue
from disbursement.model import RunResult
from disbursement.money import format_trieu
from disbursement.render.env import environment, in_notation
from disbursement.render.words import issue_detail, localised, wording

EXAMPLES_PER_CODE = 3
SEVERITY_ORDER = {"error": 0, "warning": 1, "info": 2}


def _table(headers: Sequence[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def fmt(row: Sequence[Any]) -> str:
        return "  ".join(
            str(v).rjust(w) if i in right else str(v).ljust(w)
            for i, (v, w) in enumerate(zip(row, widths, strict=True))
        ).rstrip()

    return [fmt(headers), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def terminal_words(lang: str) -> Any:
    return wording(environment(), "man_hinh", lang)


def _optional_trieu(value: Any) -> str:
    return "-" if value is None or value is pd.NA or value != value else format_trieu(int(value))


def _localise_numbers(rows: list[list[str]], columns: Iterable[int], lang: str) -> list[list[str]]:
    """Amount and rate cells of a table in the notation of `lang`."""
    wanted = set(columns)
    return [[in_notation(v, lang) if i in wanted else v for i, v in enumerate(row)] for row in rows]


def _flag_lines(result: RunResult, words: Any) -> list[str]:
    info, flags = result.round, result.flags
    if not len(flags):
        return [str(words.none_flagged)]
    # A round that compares the investors' expected figure shows the figure that flagged.
    expected = info.threshold_pct is None and "expected_dong" in flags
    headers = list(words.flag_headers)
    if not expected:
        del headers[5]
    rows = []
    for f in flags.itertuples(index=False):
        name = f.project_name if len(f.project_name) <= 60 else f.project_name[:57] + "…"
        code = f.project_code if isinstance(f.project_code, str) else "-"
        label = f.capital_source_label if isinstance(f.capital_source_label, str) else f.capital_source
        row = [code, name, label[:30], format_trieu(int(f.plan_dong)), format_trieu(int(f.disbursed_dong))]
        if expected:
            row.append(_optional_trieu(f.expected_dong))
        rows.append([*row, f"{f.rate_pct}%", f"{f.sheet}!{f.row}"])
    rows = _localise_numbers(rows, range(3, 7 + expected), words.lang)
    return [str(words.flagged_title(len(flags))), *_table(headers, rows, set(range(3, 6 + expected)))]


def _proposal_lines(result: RunResult, words: Any) -> list[str]:
    if result.proposal is None:
        return []
    totals: dict[str, list[Any]] = {}
    for p in result.proposal.pools:
        entry = totals.setdefault(p.capital_source, [p.capital_source_label, 0, 0, 0])
        entry[1] += p.recalled_dong
        entry[2] += p.allocated_dong
        entry[3] += p.unallocated_dong
    rows = [[label, format_trieu(a), format_trieu(b), format_trieu(c)] for label, a, b, c in totals.values()]
    rows = _localise_numbers(rows, (1, 2, 3), words.lang)
    return ["", str(words.proposal_title), *_table(list(words.proposal_headers), rows, {1, 2, 3})]


def terminal_report(result: RunResult, lang: str = "vi") -> str:
    """What `disbursement review` prints (without --json)."""
    result = localised(result, lang)
    words = terminal_words(lang)
    info, s = result.round, result.summary
    header = words.header(
        {
            "rule_id": info.rule_id,
            "name": info.name,
            "year": info.year,
            "as_of_text": f"{info.as_of:%d/%m/%Y}",
        }
    )
    lines = [
        str(header),
        f"  {info.description}",
        "",
        str(words.counts(s)),
        str(
            words.totals(
                in_notation(format_trieu(s["plan_dong"]), lang),
                in_notation(format_trieu(s["disbursed_dong"]), lang),
                in_notation(s["rate_pct"] or "", lang),
            )
        ),
    ]
    if s.get("unknown_source_lines"):
        lines.append(
            str(
                words.unknown_source(
                    s["unknown_source_lines"], in_notation(format_trieu(s["unknown_source_plan_dong"]), lang)
                )
            )
        )
    rows = [
        [
            e["label"],
            str(e["lines"]),
            str(e["in_scope"]),
            str(e["flagged"]),
            format_trieu(e["plan_dong"]),
            format_trieu(e["flagged_plan_dong"]),
            format_trieu(e["flagged_plan_dong"] - e["flagged_disbursed_dong"]),
        ]
        for e in s["by_capital_source"]
    ]
    rows = _localise_numbers(rows, (4, 5, 6), lang)
    lines += ["", *_table(list(words.source_headers), rows, {1, 2, 3, 4, 5, 6}), ""]
    lines += _flag_lines(result, words)
    lines += _proposal_lines(result, words)
    block = s.get("lifecycle") or {}
    if block.get("previous_run"):
        lines += ["", str(words.lifecycle(block))]
    lines += ["", *issues_report(result.issues, lang)]
    return "\n".join(lines)


def issues_report(issues: Iterable[Issue], lang: str = "vi") -> list[str]:
    """Issues grouped by code (errors first): count and meaning, then located examples."""
    words = terminal_words(lang)
    issues = list(issues)
    if not issues:
        return [str(words.no_issues)]
    groups: dict[tuple[str, str], list[Issue]] = {}
    for x in issues:
        groups.setdefault((x.severity, x.code), []).append(x)
    severities = dict(words.severities)
    out = [str(words.issues_title(len(issues)))]
    for (severity, code), members in sorted(
        groups.items(), key=lambda kv: (SEVERITY_ORDER.get(kv[0][0], 3), kv[0][1])
    ):
        meaning = lookup(code).text(lang).rstrip(".")
        out.append(f"  {severities.get(severity, severity)} {code} ×{len(members)}: {meaning}")
        ranked = sorted(members, key=lambda x: (x.file, x.sheet or "", x.row or 0))
        for x in ranked[:EXAMPLES_PER_CODE]:
            where = _where(x, words)
            detail = issue_detail(x, lang) or (x.message if lang == "en" else "")
            out.append(f"      {where}" + (f": {detail}" if detail else ""))
        hidden = len(ranked) - min(len(ranked), EXAMPLES_PER_CODE)
        if hidden:
            out.append(f"      {words.more(hidden)}")
    return out


def _where(x: Issue, words: Any) -> str:
    if not x.file:
        return str(words.run_word)
    parts = [Path(x.file).name]
    if x.sheet:
        parts.append(x.sheet)
    cell = (
        f"{x.column}{x.row}"
        if x.column and x.row is not None
        else f"{words.row_word} {x.row}"
        if x.row is not None
        else x.column or ""
    )
    if cell:
        parts.append(cell)
    return " / ".join(parts)


def written_lines(written: dict[str, Path], run_id: str | None, store: Any, lang: str) -> list[str]:
    """Where the files were written and the run recorded."""
    words = terminal_words(lang)
    out = [""] if written or run_id else []
    out += [f"  {words.wrote} {name}: {path}" for name, path in written.items()]
    if run_id:
        out.append(f"  {words.recorded(run_id, store)}")
    return out


def inspect_report(data: dict) -> str:
    """`disbursement inspect`: what the engine understood of each sheet, for a human."""
    lines = [f"Plan year {data['year']}"]
    for s in data["sheets"]:
        lines += ["", f"{Path(s['file']).name} / sheet '{s['sheet']}': {s['status']}"]
        lines += _candidate_lines(s.get("candidates") or {})
        if s["status"] != "read":
            lines.append(f"  reason: {s['reason']}")
            continue
        top, bottom = s["header_rows"]
        ordinals = ", ".join(map(str, s["ordinal_rows"])) or "none"
        lines.append(f"  header rows {top}–{bottom}; column-ordinal rows: {ordinals}")
        lines.append(
            f"  unit: {s['unit']} (from: {s['unit_source'] or '-'}); "
            f"as of: {s['as_of'] or 'not stated'}; legacy encoding: "
            f"{s['legacy_encoding'] or 'none'}"
        )
        lines.append("  columns:")
        for canonical, col in s["columns"].items():
            lines.append(f"    {col['column']:>3}  {canonical:<22} ← {col['header']}")
        classes = ", ".join(f"{k} {v}" for k, v in sorted(s["row_classes"].items()))
        lines.append(f"  rows: {classes}")
        lines.append(f"  project lines: {s['lines']}; first ones:")
        for x in s["first_lines"]:
            lines.append(
                f"    row {x['row']}: {x['project_code'] or '-'} {x['project_name'][:50]} | "
                f"{x['capital_source']} | {x['status']} | plan "
                f"{format_trieu(x['plan_dong'])} | disbursed {format_trieu(x['disbursed_dong'])}"
            )
    lines += ["", *issues_report([Issue(**i) for i in data["issues"]], "en")]
    return "\n".join(lines)


def _candidate_lines(candidates: dict) -> list[str]:
    """Per figure with several candidate columns: each, and which rule chose or passed it."""
    out = []
    for canonical, choice in candidates.items():
        verdict = (
            "no rule separates them: refused"
            if choice["ambiguous"]
            else f"{choice['chosen']} chosen by {choice['rule']} ({choice['says']})"
        )
        out.append(f"  candidates for {canonical}: {verdict}")
        for x in choice["candidates"]:
            mark = (
                "chosen"
                if x["column"] == choice["chosen"]
                else f"passed over ({x['passed_over_by']})"
                if x["passed_over_by"]
                else "undecided"
            )
            out.append(f"    {x['column']:>3}  score {x['score']:>2}  {mark:<40} ← {x['header']}")
    return out


def whatif_report(data: dict, lang: str = "vi") -> str:
    """Per threshold and capital source: lines flagged and money recallable."""
    words = terminal_words(lang)
    as_of = dt.date.fromisoformat(data["as_of"]).strftime("%d/%m/%Y")
    policy = dict(words.recall_policies).get(data["recall_policy"], data["recall_policy"])
    lines = [str(words.whatif_title(data["rule_id"], as_of, policy)), ""]
    rows = [
        [
            f"{r['threshold_pct']}%",
            (lang == "en" and r.get("capital_source_label_en"))
            or r["capital_source_label"]
            or r["capital_source"],
            f"{r['lines_flagged']}/{r['lines_in_scope']}",
            format_trieu(r["plan_dong"]),
            format_trieu(r["recallable_dong"]),
        ]
        for r in data["rows"]
    ]
    rows = _localise_numbers(rows, (3, 4), lang)
    lines += _table(list(words.whatif_headers), rows, {2, 3, 4})
    return "\n".join(lines)
