"""`report.html`: the whole round in one page an officer opens in any browser, offline.

The spreadsheets are the record; this page is for reading and finding: summary cards, the
totals per capital source, investor and district (the same groups as `so_theo_doi.xlsx`),
the register with every line as a table row (sortable, filterable, searchable by a few lines
of plain JS over the rows already in the page), the proposal and the data issues.

Self-contained on purpose: the page travels by e-mail or USB stick to offices without a
network, so CSS, JS, the data and the chart (a base64 `data:` URI) are all inline, and the
Content-Security-Policy forbids every fetch. Autoescaped (`*.html.j2`): a project name is text,
never markup. Deterministic like every output: no clock, no random ids, same input → same bytes.
Wording lives in `templates/<lang>/report.j2`; numbers are formatted here (`Numbers`: triệu
đồng, rates truncated by the one rate policy).
"""

from __future__ import annotations

import base64
import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jinja2

from disbursement.config.issues import lookup
from disbursement.errors import OutputError
from disbursement.files import atomic_path
from disbursement.model import ProposalLine, RunResult
from disbursement.money import format_scaled, format_trieu, rate_scaled
from disbursement.render.env import in_notation
from disbursement.render.register import RegisterLine, district, group_totals, register_lines
from disbursement.render.words import issue_detail, pool_text, round_values, wording

REPORT_NAME = "report.html"
REPORT_TEMPLATE = "report.html.j2"


def rate_text(hundredths: int | None, lang: str = "vi") -> str:
    """4999 → "49,99 %" ("49.99 %" in English): the register's truncated rate, never rounded
    up; "" when undefined (plan 0)."""
    return "" if hundredths is None else in_notation(format_scaled(hundredths), lang) + " %"


@dataclass(frozen=True, slots=True)
class Numbers:
    """Numbers in the page's notation: triệu đồng (format_trieu) and truncated rates, in the
    notation of the run's language (`words.in_notation`, as the memo and the chart)."""

    lang: str = "vi"

    def money(self, dong: int | None) -> str:
        if dong is None:
            return ""
        return in_notation(format_trieu(int(dong)), self.lang)

    def rate(self, hundredths: int | None) -> str:
        return rate_text(hundredths, self.lang)

    def rate_of(self, disbursed: int, plan: int) -> str:
        return self.rate(rate_scaled(disbursed, plan) if plan > 0 else None)


@dataclass(frozen=True, slots=True)
class Cell:
    """A table cell: the text shown and, for numbers, the raw integer the sort compares."""

    text: str
    sort: int | None = None


def _num(n: Numbers, dong: int | None, text: str | None = None) -> Cell:
    return Cell(n.money(dong) if text is None else text, dong)


@functools.lru_cache(maxsize=256)
def _file_name(file: str) -> str:
    return Path(file).name  # once per input, not once per line (a third of the page's time)


def _where(file: str, sheet: str, row: int, row_word: str) -> str:
    return f"{_file_name(file)} / {sheet} / {row_word} {row}"


def register_row(index: int, x: RegisterLine, words: Any, n: Numbers) -> dict[str, Any]:
    """One `<tr>` of the register: data attributes for the filters, cells in column order."""
    cells = [
        Cell(str(index), index),
        Cell(x.project_code),
        Cell(x.project_name),
        Cell(x.investor),
        Cell(x.location),
        Cell(x.capital_source_label),
        _num(n, x.plan_dong),
        _num(n, x.disbursed_dong),
        _num(n, x.compared_dong),
        Cell(n.rate(x.rate_hundredths), x.rate_hundredths),
        Cell("" if x.threshold_pct is None else f"{x.threshold_pct} %", x.threshold_pct),
        Cell(str(words.states[x.state])),
        Cell(str(words.lifecycles.get(x.lifecycle, x.lifecycle))),
        _num(n, x.change_dong, n.money(x.change_dong) if x.change_dong else ""),
        Cell(_where(x.file, x.sheet, x.row, str(words.row_word))),
    ]
    return {"source": x.capital_source, "state": x.state, "cells": cells}


def _group_rows(lines: list[RegisterLine], key: Any, words: Any, n: Numbers) -> dict[str, Any]:
    groups = group_totals(lines, key, str(words.blank))
    rows = [
        [
            g.name,
            str(g.lines),
            n.money(g.plan_dong),
            n.money(g.disbursed_dong),
            n.rate(g.rate_hundredths),
            str(g.flagged),
            n.money(g.recalled_dong or None),
            n.money(g.received_dong or None),
        ]
        for g in groups
    ]
    plan, disbursed = sum(g.plan_dong for g in groups), sum(g.disbursed_dong for g in groups)
    total = [
        str(words.total),
        str(sum(g.lines for g in groups)),
        n.money(plan),
        n.money(disbursed),
        n.rate_of(disbursed, plan),
        str(sum(g.flagged for g in groups)),
        n.money(sum(g.recalled_dong for g in groups)),
        n.money(sum(g.received_dong for g in groups)),
    ]
    return {"rows": rows, "total": total}


def _source_rows(summary: dict, n: Numbers) -> list[list[str]]:
    return [
        [
            str(e.get("label") or e["capital_source"]),
            str(e["lines"]),
            str(e["in_scope"]),
            str(e["flagged"]),
            str(e.get("not_applicable", 0)),
            n.money(e["plan_dong"]),
            n.money(e["disbursed_dong"]),
            n.rate_of(int(e["disbursed_dong"]), int(e["plan_dong"])),
            n.money(e.get("flagged_plan_dong", 0)),
        ]
        for e in summary.get("by_capital_source", ())
    ]


def _tier_labels(result: RunResult, lang: str) -> dict[str, str]:
    tiers = (
        ((result.proposal.policy or {}).get("priority") or {}).get("tiers", ())
        if result.proposal is not None
        else ()
    )
    return {str(t["id"]): str(t.get(f"label_{lang}") or t.get("label_vi") or t["id"]) for t in tiers}


def _reason(code: str, lang: str, templates_dir: str | None) -> str:
    from disbursement.render.env import reason_text

    try:
        return reason_text(code, lang, templates_dir=templates_dir)
    except OutputError:
        return code


def _proposal_rows(
    lines: tuple[ProposalLine, ...],
    n: Numbers,
    tiers: dict[str, str],
    templates_dir: str | None,
    row_word: str,
) -> list[list[str]]:
    lang = n.lang
    return [
        [
            x.project_code or "",
            x.project_name,
            x.investor or "",
            x.capital_source_label,
            n.money(x.plan_dong),
            n.money(x.disbursed_dong),
            n.money(x.amount_dong),
            n.money(x.plan_after_dong),
            _reason(x.reason, lang, templates_dir),
            tiers.get(x.tier or "", x.tier or ""),
            _where(x.source.file, x.source.sheet, x.source.row, row_word),
        ]
        for x in lines
    ]


def _proposal(
    result: RunResult, n: Numbers, templates_dir: str | None, row_word: str
) -> dict[str, Any] | None:
    proposal = result.proposal
    if proposal is None:
        return None
    tiers = _tier_labels(result, n.lang)
    pools = [
        [
            pool_text(p.pool, p.capital_source_label),
            p.capital_source_label,
            n.money(p.recalled_dong),
            n.money(p.allocated_dong),
            n.money(p.unallocated_dong),
        ]
        for p in proposal.pools
    ]
    totals = [
        sum(getattr(p, f) for p in proposal.pools)
        for f in ("recalled_dong", "allocated_dong", "unallocated_dong")
    ]
    return {
        "decreases": _proposal_rows(proposal.decreases, n, tiers, templates_dir, row_word),
        "increases": _proposal_rows(proposal.increases, n, tiers, templates_dir, row_word),
        "decreased": n.money(sum(x.amount_dong for x in proposal.decreases)),
        "increased": n.money(sum(x.amount_dong for x in proposal.increases)),
        "pools": pools,
        "pool_total": [n.money(t) for t in totals],
        "recalled_dong": totals[0],
        "allocated_dong": totals[1],
    }


def _issue_rows(result: RunResult, lang: str, words: Any, templates_dir: str | None) -> list[dict[str, str]]:
    """Each issue where it is, its code's meaning and this occurrence's details, in `lang`
    (`words.issue_detail`); the engine's English message only on the English page."""
    severities = words.severities
    rows = []
    for i in result.issues:
        detail = issue_detail(i, lang, templates_dir) or (str(i.message) if lang == "en" else "")
        rows.append(
            {
                "severity": str(severities.get(i.severity, i.severity)),
                "level": str(i.severity),
                "code": str(i.code),
                "meaning": lookup(str(i.code)).text(lang),
                "message": detail,
                "file": _file_name(str(i.file)) if i.file else "",
                "sheet": str(i.sheet or ""),
                "row": "" if i.row is None else str(i.row),
                "column": str(i.column or ""),
            }
        )
    return rows


def report_words(env: jinja2.Environment, result: RunResult, lang: str) -> Any:
    return wording(env, "report", lang, round=round_values(result.round))


def _cards(result: RunResult, proposal: dict[str, Any] | None, n: Numbers) -> dict[str, str]:
    s = result.summary
    plan, disbursed = int(s["plan_dong"]), int(s["disbursed_dong"])
    cards = {
        "lines": str(s["lines"]),
        "in_scope": str(s["in_scope"]),
        "flagged": str(s["flagged"]),
        "not_applicable": str(s.get("not_applicable", 0)),
        "plan": n.money(plan),
        "disbursed": n.money(disbursed),
        "rate": n.rate_of(disbursed, plan),
    }
    if proposal is not None:
        cards["recalled"] = n.money(proposal["recalled_dong"])
        cards["allocated"] = n.money(proposal["allocated_dong"])
    block = s.get("lifecycle") or {}
    if block.get("previous_run"):  # against the previous round of the year
        cards["persisting"] = str(block.get("persisting", 0))
        cards["new"] = str(block.get("new", 0))
        cards["cleared"] = str(len(block.get("cleared") or ()))
        cards["previous_round"] = str(block.get("previous_round"))
    return cards


def report_context(
    result: RunResult, words: Any, lang: str, chart: bytes | None, templates_dir: str | None = None
) -> dict[str, Any]:
    """Everything the page shows, as text (numbers formatted) and raw integers to sort by."""
    lines = register_lines(result)
    sources: dict[str, str] = {}  # filter options: each source once, as its first line names it
    for x in lines:
        sources.setdefault(x.capital_source, x.capital_source_label)
    n = Numbers(lang)
    proposal = _proposal(result, n, templates_dir, str(words.row_word))
    info = result.round
    return {
        "lang": lang,
        "w": words,
        "round": {
            "name": info.name,
            "rule_id": info.rule_id,
            "as_of": f"{info.as_of:%d/%m/%Y}",
            "description": info.description,
            "legal_basis": info.legal_basis,
            "threshold_pct": info.threshold_pct,
            # the decisions recorded (`decide`) on earlier rounds of the year
            "decisions": list((result.summary.get("lifecycle") or {}).get("decision_texts") or ()),
        },
        "cards": _cards(result, proposal, n),
        "by_source": _source_rows(result.summary, n),
        "by_investor": _group_rows(lines, lambda x: x.investor, words, n),
        "by_district": _group_rows(lines, district, words, n),
        "sources": [{"id": s, "label": label} for s, label in sources.items()],
        "states": [{"id": k, "label": str(v)} for k, v in words.states.items()],
        "rows": [register_row(i, x, words, n) for i, x in enumerate(lines, start=1)],
        "total_rows": len(lines),
        "proposal": proposal,
        "issues": _issue_rows(result, lang, words, templates_dir),
        "chart": None
        if chart is None
        else "data:image/png;base64," + base64.b64encode(chart).decode("ascii"),
    }


def write_report(
    result: RunResult,
    path: str | Path,
    *,
    env: jinja2.Environment,
    lang: str = "vi",
    chart: bytes | None = None,
    templates_dir: str | None = None,
) -> Path:
    """Render `report.html` atomically. With a proposal the page embeds `bieu_do.png`: `chart`
    when the caller already rendered it (write_outputs does), else drawn here the same way."""
    if result.proposal is None:
        chart = None
    elif chart is None:
        from disbursement.render.chart import render_chart

        chart = render_chart(result, env, lang)
    words = report_words(env, result, lang)
    html = env.get_template(REPORT_TEMPLATE).render(report_context(result, words, lang, chart, templates_dir))
    target = Path(path)
    with atomic_path(target) as tmp:
        tmp.write_text(html, encoding="utf-8")
    return target
