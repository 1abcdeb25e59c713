"""Deciding between several columns that could each be one figure, by rules kept as data.

`rules/candidates.yaml` ranks candidates (adjusted plan over assigned, the disbursement dated
the as-of date, year-to-date over monthly, this year's over carried-over and cumulative); the
vocabulary score of columns.yaml breaks what they leave; two candidates nothing separates are
ambiguous — the figure is then left unmapped, so the sheet is refused with both named.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from disbursement.config.rules import RULES_DIR
from disbursement.errors import RulesInvalid, column_letter
from disbursement.files import read_yaml
from disbursement.text import fold

_RULE_KEYS = {"id", "says", "prefer", "over", "as_of"}
_DATE = re.compile(r"(?<![\d/])(\d{1,2})\s*[/.-]\s*(\d{1,2})(?:\s*[/.-]\s*(\d{4}))?(?![\d/])")
_MONTH_WORDS = re.compile(r"ngay (\d{1,2}) thang (\d{1,2})(?: nam (\d{4}))?")


@dataclass(frozen=True)
class RankRule:
    id: str
    says: str
    prefer: re.Pattern | None
    over: re.Pattern | None
    as_of: bool


@lru_cache(maxsize=8)
def load_rank_rules(year: int, path: str | None = None) -> dict[str, tuple[RankRule, ...]]:
    source = Path(path or RULES_DIR / "candidates.yaml")
    data = read_yaml(source, "candidate ranking rules", RulesInvalid) or {}

    def compile_(text: str | None, where: str) -> re.Pattern | None:
        if text is None:
            return None
        try:
            return re.compile(text.replace("{year}", str(year)).replace("{prev}", str(year - 1)))
        except re.error as exc:
            raise RulesInvalid(f"{source}: {where}: not a regular expression ({exc})") from None

    out = {}
    for canonical, rules in data.items():
        parsed = []
        for i, spec in enumerate(rules):
            where = f"{canonical}[{i}]"
            unknown = set(spec) - _RULE_KEYS
            if unknown or "id" not in spec:
                raise RulesInvalid(f"{source}: {where}: unknown keys {sorted(unknown)} or no id")
            parsed.append(
                RankRule(
                    spec["id"],
                    spec.get("says", ""),
                    compile_(spec.get("prefer"), where),
                    compile_(spec.get("over"), where),
                    bool(spec.get("as_of")),
                )
            )
        out[canonical] = tuple(parsed)
    return out


def header_dates(text: str, year: int) -> set[dt.date]:
    """Dates a header names: "30/6/2022", "30.06.2022", "30/6" (plan year), "ngày 30 tháng 6"."""
    out = set()
    folded = fold(text)
    for match in [*_DATE.finditer(folded), *_MONTH_WORDS.finditer(folded)]:
        day, month = int(match[1]), int(match[2])
        try:
            out.add(dt.date(int(match[3]) if match[3] else year, month, day))
        except ValueError:
            continue
    return out


def _winners(
    rule: RankRule, texts: dict[int, str], dates: dict[int, set], as_of: dt.date | None
) -> tuple[set[int], set[int]]:
    """(candidates the rule prefers, candidates it passes over when any preferred exists)."""
    if rule.as_of:
        if as_of is None:
            return set(), set()
        preferred = {c for c in texts if as_of in dates[c]}
        return preferred, set(texts) - preferred
    if rule.prefer is None:
        return set(), set()
    preferred = {c for c, t in texts.items() if rule.prefer.search(t)}
    losers = {
        c for c, t in texts.items() if c not in preferred and (rule.over is None or rule.over.search(t))
    }
    return preferred, losers


def decide(
    candidates: list[tuple[int, int, str]],
    columns: dict[str, int],
    paths: list[str],
    year: int,
    as_of: dt.date | None,
) -> tuple[dict[str, int], dict[str, dict]]:
    """The columns after ranking, and per ranked figure with 2+ candidates how it was chosen:
    {"chosen": letter | None, "rule": id, "says": text, "candidates": [{column, header,
    score, passed_over_by}], "ambiguous": bool}."""
    columns = dict(columns)
    rules = load_rank_rules(year)
    choices: dict[str, dict] = {}
    for canonical, ranking in rules.items():
        taken = {c for name, c in columns.items() if name != canonical}
        scores: dict[int, int] = {}
        for neg, col, name in candidates:
            if name == canonical and col not in taken:
                scores[col] = max(scores.get(col, 0), -neg)
        if len(scores) < 2:
            continue
        texts = {col: fold(paths[col]) for col in scores}
        dates = {col: header_dates(paths[col], year) for col in scores}
        beaten: dict[int, str] = {}
        for rule in ranking:  # linear per rule: a sheet may offer thousands of candidates
            alive = {c: t for c, t in texts.items() if c not in beaten}
            preferred, losers = _winners(rule, alive, dates, as_of)
            if preferred and losers:
                for b in losers:
                    beaten.setdefault(b, rule.id)
        left = [c for c in scores if c not in beaten]
        top = max(scores[c] for c in left) if left else 0
        best = [c for c in left if scores[c] == top]
        ambiguous = len(best) != 1
        chosen = None if ambiguous else best[0]
        for c in left:
            if c != chosen and not ambiguous:
                beaten[c] = "VOCABULARY-SCORE"
        used = {beaten[c] for c in beaten if c not in left}
        rule_id = (
            "AMBIGUOUS"
            if ambiguous
            else ",".join(r.id for r in ranking if r.id in used) or "VOCABULARY-SCORE"
        )
        says = "; ".join(r.says for r in ranking if r.id in used)
        if ambiguous:
            columns.pop(canonical, None)
        elif chosen is not None:
            columns[canonical] = chosen
        choices[canonical] = {
            "chosen": column_letter(chosen) if chosen is not None else None,
            "rule": rule_id,
            "says": says or ("the higher vocabulary score (rules/columns.yaml)" if not ambiguous else ""),
            "ambiguous": ambiguous,
            "candidates": [
                {
                    "column": column_letter(c),
                    "header": paths[c],
                    "score": scores[c],
                    "passed_over_by": beaten.get(c),
                }
                for c in sorted(scores)
            ],
        }
    return columns, choices
