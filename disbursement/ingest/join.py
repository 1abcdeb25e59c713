"""Join a State Treasury (KBNN) disbursement export to the plan on the project code.

A Treasury export has codes, names and disbursement but no plan. Its figures replace the
plan sheet's disbursement for the lines it covers. Codes are compared after normalising
(numbers vs text, spaces, a leading apostrophe, leading zeros). A name-similarity fallback
(rapidfuzz) is used only above a high threshold and is always reported.
"""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd

from disbursement.errors import Issue

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


def join_treasury(plan: pd.DataFrame, treasury: pd.DataFrame, issues: list[Issue]) -> pd.DataFrame:
    """Plan lines with disbursement taken from the Treasury lines (a new frame)."""
    if plan.empty or treasury.empty:
        return plan
    plan = plan.copy()
    t = treasury.copy()
    t["key"] = [normalise_code(c) for c in t["project_code"]]
    files = sorted(set(t["file"]))
    first = t.iloc[0]
    dup = t[t["key"].notna() & t["key"].duplicated(keep=False)]
    if len(dup):
        codes = sorted(set(dup["key"]))
        issues.append(Issue("TREASURY-DUPLICATE-CODE", "warning", first.file, first.sheet, None,
                            None, f"{len(codes)} codes appear more than once in the Treasury export "
                            f"and were summed: {_listed(codes)}"))
    grouped = t[t["key"].notna()].groupby("key", sort=False)
    sums = grouped["disbursed_dong"].sum()
    where = grouped.agg(file=("file", "first"), sheet=("sheet", "first"), cells=("cells", "first"))
    plan_keys = [normalise_code(c) for c in plan["project_code"]]
    matched = np.array([k is not None and k in sums.index for k in plan_keys], dtype=bool)
    by_name = _name_matches(plan, t, matched, set(k for k, m in zip(plan_keys, matched, strict=True)
                                                    if m), issues)
    disbursed = plan["disbursed_dong"].to_numpy(dtype=np.int64).copy()
    cells = list(plan["cells"])
    for i, key in enumerate(plan_keys):
        if not matched[i] and i not in by_name:
            continue
        key = key if matched[i] else by_name[i]
        disbursed[i] = int(sums[key])
        src = where.loc[key]
        cell = src.cells.get("disbursed_dong", "") if isinstance(src.cells, dict) else ""
        cells[i] = {**cells[i], "disbursed_dong": f"{Path(src.file).name}:{src.sheet}!{cell}"}
    covered = matched | np.isin(np.arange(len(plan)), list(by_name))
    missing = plan[~covered]
    if len(missing):
        disbursed[~covered] = 0
        labels = [f"{c or '(no code)'} ({s}!{r})" for c, s, r in
                  zip(missing["project_code"].fillna(""), missing["sheet"], missing["row"], strict=True)]
        issues.append(Issue("TREASURY-MISSING", "warning", missing.iloc[0].file, None, None, None,
                            f"{len(missing)} plan lines have no Treasury row and are taken as 0 "
                            f"disbursed: {_listed(labels)}"))
    used = {k for k in plan_keys if k is not None} | set(by_name.values())
    extra = [k for k in sums.index if k not in used]
    if extra:
        issues.append(Issue("TREASURY-UNKNOWN-CODE", "warning", first.file, first.sheet, None, None,
                            f"{len(extra)} Treasury codes are not in the plan: {_listed(extra)}"))
    plan["disbursed_dong"] = disbursed
    plan["cells"] = cells
    issues.append(Issue("TREASURY-JOINED", "info", ", ".join(files), None, None, None,
                        f"disbursement of {int(covered.sum())} of {len(plan)} plan lines taken from "
                        "the Treasury export"))
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
        best = process.extractOne(name, names, scorer=fuzz.token_sort_ratio,
                                  score_cutoff=NAME_MATCH_MIN)
        if best is None or keys[best[2]] in found.values():
            continue
        found[int(i)] = keys[best[2]]
        line = plan.iloc[i]
        issues.append(Issue("TREASURY-NAME-MATCH", "warning", line.file, line.sheet, int(line.row),
                            None, f"no Treasury row with code {_shown(line.project_code)}; "
                            f"matched by name to Treasury code {keys[best[2]]} "
                            f"({free['project_name'].iloc[best[2]]!r}, similarity {best[1]:.0f}%) "
                            "— check it"))
    return found
