"""Which figures a round cannot do without, and the located reason when a sheet lacks one.

A sheet is reviewed only when its plan column and the figure the round compares (disbursed for
a rate round, the investors' expected figure for round 3 unless the rules enable the pace
forecast) were recognised by a stated rule. Otherwise the sheet is refused with a reason that
names the file, sheet, header rows read, the headers seen and the closest vocabulary entry
(`examples` in rules/columns.yaml, ranked by rapidfuzz) — never read as 0.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from disbursement.config.rules import RULES_DIR, DayMonth, Round
from disbursement.errors import RulesInvalid, column_letter
from disbursement.files import read_yaml
from disbursement.ingest.tokens import canonical as canonical_text
from disbursement.text import fold

SUGGEST_MIN = 60  # rapidfuzz token_set_ratio (0..100) below which no entry is suggested
MAX_HEADERS_SHOWN = 12
MAX_SUGGEST_HEADERS = 200  # a sheet with a header in each of 16,384 columns stays fast
WORDS = {
    "plan_dong": "plan (Kế hoạch vốn năm …)",
    "disbursed_dong": "disbursement (Giải ngân đến …)",
    "expected_dong": "expected disbursement (Dự kiến giải ngân đến 31/01 …)",
}


@dataclass(frozen=True)
class Requirement:
    """The columns a round needs: every name in `all_of`, and one of `one_of`; and the as-of
    date candidates are ranked against (`as_of`, or the round's day and month in the year)."""

    all_of: tuple[str, ...] = ("plan_dong",)
    one_of: tuple[str, ...] = ("disbursed_dong",)
    as_of: dt.date | None = None
    round_as_of: DayMonth | None = None

    def as_of_in(self, year: int) -> dt.date | None:
        if self.as_of is not None:
            return self.as_of
        return self.round_as_of.in_year(year) if self.round_as_of is not None else None

    def missing(self, columns: Sequence[str]) -> list[str]:
        out = [c for c in self.all_of if c not in columns]
        if self.one_of and not any(c in columns for c in self.one_of):
            out.append(self.one_of[0])
        return out


def requirement_for(rnd: Round, as_of: dt.date | None = None, *, answered: bool = False) -> Requirement:
    """Rate rounds compare disbursed; round 3 compares expected (or the forecast from disbursed).

    `answered`: the investors' replies bring the expected figures, so a round-3 sheet needs
    only its plan and disbursement (lines no reply answers are reported, not guessed)."""
    criterion = rnd.criterion
    if criterion is not None and criterion.type == "expected_below_plan" and answered:
        return Requirement(
            one_of=("expected_dong", "decrease_dong", "disbursed_dong"), as_of=as_of, round_as_of=rnd.as_of
        )
    if criterion is not None and criterion.type == "expected_below_plan":
        evidence = ("expected_dong", "decrease_dong")  # a proposed decrease is evidence too
        return Requirement(
            one_of=(*evidence, "disbursed_dong") if criterion.forecast else evidence,
            as_of=as_of,
            round_as_of=rnd.as_of,
        )
    return Requirement(as_of=as_of, round_as_of=rnd.as_of)


@lru_cache(maxsize=4)
def vocabulary_examples(path: str | None = None) -> dict[str, tuple[str, ...]]:
    """canonical column → example headers as officers write them (`examples:` in columns.yaml)."""
    data = read_yaml(Path(path or RULES_DIR / "columns.yaml"), "column vocabulary", RulesInvalid)
    return {name: tuple(spec.get("examples") or ()) for name, spec in data["columns"].items()}


def _score(header: str, canonical: str, year: int) -> tuple[int, str]:
    """Best rapidfuzz score of a header (abbreviations expanded) against the entries of one
    canonical column, and that entry."""
    from rapidfuzz import fuzz

    text = canonical_text(header)
    best = (0, "")
    for example in vocabulary_examples().get(canonical, ()):
        entry = example.replace("{year}", str(year)).replace("{next}", str(year + 1))
        score = int(fuzz.token_set_ratio(text, canonical_text(entry)))
        best = max(best, (score, entry))
    return best


def closest(headers: Sequence[str], missing: Sequence[str], year: int) -> dict[str, tuple[str, str, int]]:
    """missing canonical → (header seen, vocabulary entry, score): each header is offered for
    the one missing column it is closest to, and only when the score reaches SUGGEST_MIN."""
    out: dict[str, tuple[str, str, int]] = {}
    for header in headers:
        scored = [(*_score(header, c, year), c) for c in missing]
        if not scored:
            continue
        score, entry, canonical = max(scored)
        if score >= SUGGEST_MIN and (canonical not in out or score > out[canonical][2]):
            out[canonical] = (header, entry, score)
    return out


def refusal_reason(
    missing: Sequence[str],
    *,
    header_rows: tuple[int, int],
    paths: Sequence[str],
    used: set[int],
    year: int,
    not_money: Sequence = (),
    choices: dict | None = None,
) -> str:
    """Plain-language reason a sheet is not reviewed (one line; file and sheet are added by the
    caller). A figure with candidates no rule separates says which they are."""
    choices = choices or {}
    undecided = [c for c in missing if choices.get(c, {}).get("ambiguous")]
    missing = [c for c in missing if c not in undecided]
    parts = []
    for canonical in undecided:
        named = " and ".join(
            f"{x['column']} “{x['header']}”"
            for x in choices[canonical]["candidates"]
            if not x["passed_over_by"]
        )
        parts.append(
            f"{len(named.split(' and '))} candidates for the {WORDS.get(canonical, canonical)} "
            f"that no rule of rules/candidates.yaml separates ({named}); delete or "
            "rename the one that is not this figure"
        )
    if not missing:
        return "; ".join(parts) + "; the sheet was not reviewed (no column is taken first-come)"
    needed = " and ".join(f"no {WORDS.get(c, c)} column" for c in missing)
    seen = [f"{column_letter(i)} “{p}”" for i, p in enumerate(paths) if p]
    shown = "; ".join(seen[:MAX_HEADERS_SHOWN]) + (" …" if len(seen) > MAX_HEADERS_SHOWN else "")
    rows = (
        f"row {header_rows[0]}"
        if header_rows[0] == header_rows[1]
        else f"rows {header_rows[0]}–{header_rows[1]}"
    )
    text = f"{needed} recognised in header {rows} (headers seen: {shown or 'none'})"
    unmapped = [
        p
        for i, p in enumerate(paths)
        if p and i not in used and not any(x.search(fold(p)) for x in not_money)
    ]
    hits = closest(unmapped[:MAX_SUGGEST_HEADERS], missing, year)
    for canonical in missing:
        hit = hits.get(canonical)
        if hit:
            text += (
                f"; “{hit[0]}” is closest to the vocabulary entry “{hit[1]}” "
                f"({WORDS.get(canonical, canonical)}) — if that is what it holds, add its "
                "wording to rules/columns.yaml"
            )
    return "; ".join([*parts, text]) + "; the sheet was not reviewed (no figure is read as 0)"
