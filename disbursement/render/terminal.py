"""Terminal report of a round: summary first, then the flagged lines, then data issues."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from disbursement.model import RunResult
from disbursement.money import format_trieu

MAX_ISSUES_LISTED = 30


def _table(headers: list[str], rows: list[list[str]], right: set[int]) -> list[str]:
    widths = [max(len(str(x)) for x in col) for col in zip(headers, *rows, strict=True)]

    def fmt(row):
        return "  ".join(str(v).rjust(w) if i in right else str(v).ljust(w)
                         for i, (v, w) in enumerate(zip(row, widths, strict=True))).rstrip()

    return [fmt(headers), "  ".join("-" * w for w in widths)] + [fmt(r) for r in rows]


def terminal_report(result: RunResult) -> str:
    info, s = result.round, result.summary
    lines = [
        f"{info.rule_id} — {info.name} năm {info.year}, số liệu đến {info.as_of:%d/%m/%Y}",
        f"  {info.description}",
        "",
        f"Project lines read: {s['lines']}; in scope: {s['in_scope']}; "
        f"flagged: {s['flagged']}; plan 0 (not applicable): {s['not_applicable']}",
        f"Plan {format_trieu(s['plan_dong'])} triệu đồng, disbursed "
        f"{format_trieu(s['disbursed_dong'])}" + (f" ({s['rate_pct']}%)" if s["rate_pct"] else ""),
        "",
    ]
    if s.get("unknown_source_lines"):
        lines[-1:-1] = [f"Capital source unknown: {s['unknown_source_lines']} lines, plan "
                        f"{format_trieu(s['unknown_source_plan_dong'])} triệu đồng — reviewed, "
                        "kept out of reallocation"]
    rows = [[e["label"], str(e["lines"]), str(e["in_scope"]), str(e["flagged"]),
             format_trieu(e["plan_dong"]), format_trieu(e["flagged_plan_dong"]),
             format_trieu(e["flagged_plan_dong"] - e["flagged_disbursed_dong"])]
            for e in s["by_capital_source"]]
    lines += _table(["Capital source", "Lines", "In scope", "Flagged", "Plan (tr.đ)",
                     "Flagged plan", "Flagged undisbursed"], rows, {1, 2, 3, 4, 5, 6})
    lines.append("")
    if len(result.flags):
        lines.append(f"Flagged lines ({len(result.flags)}):")
        # A round that compares the investors' expected figure shows the figure that flagged.
        expected = info.threshold_pct is None and "expected_dong" in result.flags
        flag_rows = []
        for f in result.flags.itertuples(index=False):
            name = f.project_name if len(f.project_name) <= 60 else f.project_name[:57] + "…"
            code = f.project_code if isinstance(f.project_code, str) else "-"
            row = [code, name, f.capital_source,
                   format_trieu(int(f.plan_dong)), format_trieu(int(f.disbursed_dong))]
            if expected:
                value = f.expected_dong
                row.append("-" if value is None or value is pd.NA or value != value
                           else format_trieu(int(value)))
            flag_rows.append([*row, f"{f.rate_pct}%", f"{f.sheet}!{f.row}"])
        headers = ["Code", "Project", "Source", "Plan", "Disbursed", *(["Expected"] * expected),
                   "Rate", "Row"]
        lines += _table(headers, flag_rows, set(range(3, 6 + expected)))
    else:
        lines.append("No line flagged.")
    if result.proposal is not None:
        lines += ["", "Proposal per pool (triệu đồng):"]
        lines += _table(["Pool", "Recalled", "Allocated", "Unallocated"],
                        [[p.pool, format_trieu(p.recalled_dong), format_trieu(p.allocated_dong),
                          format_trieu(p.unallocated_dong)] for p in result.proposal.pools],
                        {1, 2, 3})
    lines += ["", *issues_report(result.issues)]
    return "\n".join(lines)


def issues_report(issues) -> list[str]:
    if not issues:
        return ["Data issues: none."]
    counts: dict[str, int] = {}
    for x in issues:
        counts[f"{x.severity} {x.code}"] = counts.get(f"{x.severity} {x.code}", 0) + 1
    out = [f"Data issues ({len(issues)}): " + ", ".join(f"{k} ×{v}" for k, v in sorted(counts.items()))]
    # Errors and warnings are listed where they are; info records are only counted above.
    ranked = sorted((x for x in issues if x.severity in ("error", "warning")),
                    key=lambda x: (x.severity != "error", x.file, x.sheet or "", x.row or 0))
    for x in ranked[:MAX_ISSUES_LISTED]:
        where = x.location().replace(x.file, Path(x.file).name) if x.file else "(run)"
        out.append(f"  {x.severity:7} {x.code}: {where}: {x.message}")
    # Only listed kinds can be "more": info records are counted above, never said to be hidden.
    hidden = len(ranked) - min(len(ranked), MAX_ISSUES_LISTED)
    if hidden:
        out.append(f"  … {hidden} more (see issues.xlsx with --out, or --json)")
    return out


def inspect_report(data: dict) -> str:
    """`disbursement inspect`: what the engine understood of each sheet, for a human."""
    from disbursement.money import format_trieu

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
        lines.append(f"  unit: {s['unit']} (from: {s['unit_source'] or '-'}); "
                     f"as of: {s['as_of'] or 'not stated'}; legacy encoding: "
                     f"{s['legacy_encoding'] or 'none'}")
        lines.append("  columns:")
        for canonical, col in s["columns"].items():
            lines.append(f"    {col['column']:>3}  {canonical:<22} ← {col['header']}")
        classes = ", ".join(f"{k} {v}" for k, v in sorted(s["row_classes"].items()))
        lines.append(f"  rows: {classes}")
        lines.append(f"  project lines: {s['lines']}; first ones:")
        for x in s["first_lines"]:
            lines.append(f"    row {x['row']}: {x['project_code'] or '-'} {x['project_name'][:50]} | "
                         f"{x['capital_source']} | {x['status']} | plan "
                         f"{format_trieu(x['plan_dong'])} | disbursed {format_trieu(x['disbursed_dong'])}")
    from disbursement.errors import Issue

    lines += ["", *issues_report([Issue(**i) for i in data["issues"]])]
    return "\n".join(lines)


def _candidate_lines(candidates: dict) -> list[str]:
    """Per figure with several candidate columns: each, and which rule chose or passed it."""
    out = []
    for canonical, choice in candidates.items():
        verdict = ("no rule separates them: refused" if choice["ambiguous"] else
                   f"{choice['chosen']} chosen by {choice['rule']} ({choice['says']})")
        out.append(f"  candidates for {canonical}: {verdict}")
        for x in choice["candidates"]:
            mark = ("chosen" if x["column"] == choice["chosen"] else
                    f"passed over ({x['passed_over_by']})" if x["passed_over_by"] else "undecided")
            out.append(f"    {x['column']:>3}  score {x['score']:>2}  {mark:<40} ← {x['header']}")
    return out


def whatif_report(data: dict) -> str:
    """Per threshold and capital source: lines flagged and money recallable."""
    lines = [f"What-if for {data['rule_id']} (as of {data['as_of']}, recall policy "
             f"{data['recall_policy']}); amounts in triệu đồng", ""]
    rows = [[f"{r['threshold_pct']}%", r["capital_source_label"] or r["capital_source"],
             f"{r['lines_flagged']}/{r['lines_in_scope']}", format_trieu(r["plan_dong"]),
             format_trieu(r["recallable_dong"])] for r in data["rows"]]
    lines += _table(["Threshold", "Capital source", "Flagged/in scope", "Flagged plan",
                     "Recallable"], rows, {2, 3, 4})
    return "\n".join(lines)
