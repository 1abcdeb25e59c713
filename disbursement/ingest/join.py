"""Join a State Treasury (KBNN) disbursement export to the plan on the project code.

A Treasury export has codes, names and disbursement (sometimes its own copy of the plan,
used only as a cross-check). Its figures replace the plan sheet's disbursement for the lines
it covers, matched on (code, capital source) when both sides give a source. Codes are
compared after normalising (numbers vs text, spaces, a leading apostrophe, leading zeros).
A name-similarity fallback (rapidfuzz) is used only above a high threshold, always reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.errors import Issue
from disbursement.money import format_trieu
from disbursement.source_cells import cell_of
from disbursement.text import fold

NAME_MATCH_MIN = 92  # rapidfuzz token_sort_ratio, 0..100
MAX_LISTED = 20


def normalise_code(code) -> str | None:
    if code is None or (not isinstance(code, str) and pd.isna(code)):
        return None
    text = re.sub(r"\s+", "", str(code)).lstrip("'")
    if re.fullmatch(r"\d+\.0", text):
        text = text[:-2]
    if text.isdigit():
        text = text.lstrip("0") or "0"
    return text or None


def _shown(code) -> str:
    return code if isinstance(code, str) and code else "(none)"


def _listed(items: list[str]) -> str:
    shown = ", ".join(items[:MAX_LISTED])
    return shown + (f" … (+{len(items) - MAX_LISTED})" if len(items) > MAX_LISTED else "")


# What marks a sheet as a Treasury export, whatever columns it carries: the issuer line of
# the title ("KHO BẠC NHÀ NƯỚC SƠN LA", "KBNN tỉnh …"), a "Mã ĐVQHNS" column (the budget-unit
# code only the Treasury's system prints) or a sheet named for it.
TREASURY_TITLE = re.compile(r"^(kho bac nha nuoc|kbnn)\b|\bkho bac nha nuoc (tinh|thanh pho|huyen)\b")
TREASURY_HEADER = re.compile(r"\bma (so )?dvqhns\b|\bma dv ?qhns\b")
TREASURY_SHEET = re.compile(r"^(kbnn|kho bac)\b")


def is_treasury_export(sheet, layout) -> str | None:
    """Why this sheet is a Treasury (KBNN) export, or None: its own markers, never the mere
    absence of a plan column (a KBNN report may carry a "Kế hoạch vốn" column of its own)."""
    titles = [
        fold(str(v))
        for row in sheet.cells[: layout.header_top]
        for v in row
        if isinstance(v, str) and v.strip()
    ]
    if any(TREASURY_TITLE.search(t) for t in titles):
        return "its title names the State Treasury (Kho bạc Nhà nước)"
    if any(TREASURY_HEADER.search(fold(p)) for p in layout.paths):
        return "it has a Mã ĐVQHNS column"
    if TREASURY_SHEET.match(fold(sheet.sheet)):
        return f"its sheet is named {sheet.sheet!r}"
    return None


def _has(value) -> bool:
    return isinstance(value, str) and bool(value)


def join_treasury(plan: pd.DataFrame, treasury: pd.DataFrame, issues: list[Issue]) -> pd.DataFrame:
    """Plan lines with disbursement taken from the Treasury lines (a new frame).

    A Treasury row belongs to a plan line with the same code — and the same capital source
    when both carry one (a project under two sources has two Treasury rows, one per line).
    A Treasury plan column (`treasury_plan_dong`) only cross-checks the plan."""
    if plan.empty or treasury.empty:
        return plan
    plan = plan.copy()
    t = treasury.reset_index(drop=True).copy()
    t["key"] = [normalise_code(c) for c in t["project_code"]]
    t_source = [
        c if _has(c) and c != "UNKNOWN" else None
        for c in t["capital_source"].astype(object).where(t["capital_source"].notna(), None)
    ]
    files = sorted(set(t["file"]))
    by_key: dict[str, list[int]] = {}
    for j, key in enumerate(t["key"]):
        if key is not None:
            by_key.setdefault(key, []).append(j)
    plan_keys = [normalise_code(c) for c in plan["project_code"]]
    plan_source = [
        c if _has(c) and c != "UNKNOWN" else None
        for c in plan["capital_source"].astype(object).where(plan["capital_source"].notna(), None)
    ]

    def rows_for(key: str | None, source: str | None) -> list[int]:
        found = by_key.get(key, []) if key is not None else []
        if source is not None and any(t_source[j] is not None for j in found):
            same = [j for j in found if t_source[j] == source]
            return same or [j for j in found if t_source[j] is None]
        return found

    chosen = [rows_for(k, s) for k, s in zip(plan_keys, plan_source, strict=True)]
    matched = np.array([bool(r) for r in chosen], dtype=bool)
    used = {j for rows in chosen for j in rows}
    by_name = _name_matches(plan, t, matched, {t["key"][j] for j in used}, issues)
    for i, key in by_name.items():
        chosen[i] = rows_for(key, plan_source[i])
        used.update(chosen[i])
    disbursed = plan["disbursed_dong"].to_numpy(dtype=np.int64).copy()
    cells = list(plan["cells"])
    t_disbursed = t["disbursed_dong"].to_numpy(dtype=np.int64)
    t_plan = (
        t["treasury_plan_dong"] if "treasury_plan_dong" in t else pd.Series([pd.NA] * len(t), dtype="Int64")
    )
    for i, rows in enumerate(chosen):
        if not rows:
            continue
        disbursed[i] = int(t_disbursed[rows].sum())
        src = t.iloc[rows[0]]
        cell = cell_of(src.cells, "disbursed_dong")
        cells[i] = {**cells[i], "disbursed_dong": f"{Path(src.file).name}:{src.sheet}!{cell}"}
        if len(rows) > 1:
            line = plan.iloc[i]
            issues.append(
                issue(
                    "TREASURY-DUPLICATE-CODE",
                    src.file,
                    src.sheet,
                    int(src.row),
                    None,
                    f"{len(rows)} Treasury rows for code "
                    f"{_shown(line.project_code)} (rows "
                    f"{', '.join(str(int(t['row'][j])) for j in rows)}) were summed "
                    f"for the plan line at {line.sheet}!{int(line.row)}",
                )
            )
        known = [int(t_plan[j]) for j in rows if not pd.isna(t_plan[j])]
        if known and sum(known) != int(plan["plan_dong"].iloc[i]):
            line = plan.iloc[i]
            issues.append(
                issue(
                    "TREASURY-PLAN-DIFFERS",
                    src.file,
                    src.sheet,
                    int(src.row),
                    None,
                    f"the Treasury's plan for "
                    f"{_shown(line.project_code)} is {format_trieu(sum(known))} triệu "
                    f"đồng, the plan workbook's is "
                    f"{format_trieu(int(line.plan_dong))} ({line.sheet}!{int(line.row)}); "
                    "the plan workbook's figure is used",
                )
            )
    covered = np.array([bool(r) for r in chosen], dtype=bool)
    missing = plan[~covered]
    if len(missing):
        disbursed[~covered] = 0
        labels = [
            f"{c or '(no code)'} ({s}!{r})"
            for c, s, r in zip(
                missing["project_code"].fillna(""), missing["sheet"], missing["row"], strict=True
            )
        ]
        issues.append(
            issue(
                "TREASURY-MISSING",
                missing.iloc[0].file,
                None,
                None,
                None,
                f"{len(missing)} plan lines have no Treasury row and are taken as 0 "
                f"disbursed: {_listed(labels)}",
            )
        )
    for j in range(len(t)):
        if j in used:
            continue
        row = t.iloc[j]
        source = f" under {t_source[j]}" if t_source[j] else ""
        issues.append(
            issue(
                "TREASURY-UNKNOWN-CODE",
                row.file,
                row.sheet,
                int(row.row),
                None,
                f"Treasury row {_shown(row.project_code)}{source} "
                f"({row.project_name!s}, {format_trieu(int(t_disbursed[j]))} triệu đồng "
                "disbursed) matches no plan line; its figure is not used",
            )
        )
    plan["disbursed_dong"] = disbursed
    plan["cells"] = cells
    issues.append(
        issue(
            "TREASURY-JOINED",
            ", ".join(files),
            None,
            None,
            None,
            f"disbursement of {int(covered.sum())} of {len(plan)} plan lines taken from "
            "the Treasury export (joined on code, and capital source where both "
            "sides give one)",
        )
    )
    return plan


def _name_matches(plan, treasury, matched, used_keys, issues) -> dict[int, str]:
    """Plan lines without a code match → Treasury key, by near-identical name only."""
    from rapidfuzz import fuzz, process

    free = treasury[treasury["key"].notna() & ~treasury["key"].isin(used_keys)]
    if free.empty or matched.all():
        return {}
    names = free["project_name"].fillna("").str.lower().tolist()
    keys = free["key"].tolist()
    found: dict[int, str] = {}
    for i in np.flatnonzero(~matched):
        name = str(plan["project_name"].iloc[i]).lower()
        best = process.extractOne(name, names, scorer=fuzz.token_sort_ratio, score_cutoff=NAME_MATCH_MIN)
        if best is None or keys[best[2]] in found.values():
            continue
        found[int(i)] = keys[best[2]]
        line = plan.iloc[i]
        issues.append(
            issue(
                "TREASURY-NAME-MATCH",
                line.file,
                line.sheet,
                int(line.row),
                None,
                f"no Treasury row with code {_shown(line.project_code)}; "
                f"matched by name to Treasury code {keys[best[2]]} "
                f"({free['project_name'].iloc[best[2]]!r}, similarity {best[1]:.0f}%) "
                "— check it",
            )
        )
    return found
