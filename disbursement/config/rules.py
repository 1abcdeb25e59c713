"""Load a rules file (rounds, capital-source vocabulary) into frozen dataclasses.

Rules are data: `rules/son-la-2022.yaml` declares the seed's rounds. Every key is checked:
an unknown key or criterion type is a `RulesInvalid` naming the file and the key path, so a
misspelt `threshhold_pct` can never silently fall back to a default. Dates are day/month
(+ year offset) so `--year 2023` shifts every date of the same rules.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbursement.config.policies import AllocationPolicy, RecallPolicy
from disbursement.errors import RulesInvalid
from disbursement.files import default_dir, read_yaml
from disbursement.model import STATUSES

RULES_DIR = default_dir("rules")
DEFAULT_RULES = RULES_DIR / "son-la-2022.yaml"

CRITERION_TYPES = ("rate_below", "expected_below_plan")
DENOMINATORS = ("plan", "plan_with_carried_over")


class _Reader:
    """Walks a YAML mapping, refusing unknown keys and naming the key path on error."""

    def __init__(self, source: str, data: Any, path: str):
        self.source, self.data, self.path = source, data, path
        if not isinstance(data, dict):
            self.fail(f"expected a mapping, got {type(data).__name__}")

    def fail(self, message: str, key: str | None = None) -> None:
        where = f"{self.path}.{key}" if key else self.path
        raise RulesInvalid(f"{self.source}: {where.lstrip('.') or '(top)'}: {message}")

    def allow(self, *keys: str) -> None:
        for key in self.data:
            if key not in keys:
                self.fail(f"unknown key (expected one of: {', '.join(keys)})", str(key))

    def get(self, key: str, kind: type | tuple, default: Any = ..., choices: tuple = ()) -> Any:
        if key not in self.data:
            if default is ...:
                self.fail("missing required key", key)
            return default
        value = self.data[key]
        if (isinstance(value, bool) and kind is int) or not isinstance(value, kind):
            names = kind.__name__ if isinstance(kind, type) else "/".join(k.__name__ for k in kind)
            self.fail(f"expected {names}, got {value!r}", key)
        if choices and value not in choices:
            self.fail(f"{value!r} is not one of: {', '.join(map(str, choices))}", key)
        return value

    def child(self, key: str, default: Any = ...) -> _Reader | None:
        if key not in self.data and default is not ...:
            return default
        return self.section(key)

    def section(self, key: str) -> _Reader:
        """A required mapping under `key` (missing or not a mapping is an error)."""
        return _Reader(self.source, self.get(key, dict), f"{self.path}.{key}")

    def items(self, key: str) -> list[_Reader]:
        values = self.get(key, list)
        return [_Reader(self.source, v, f"{self.path}.{key}[{i}]") for i, v in enumerate(values)]


@dataclass(frozen=True, slots=True)
class DayMonth:
    """A date without its year: the plan year is supplied at run time."""

    day: int
    month: int
    year_offset: int = 0

    def in_year(self, year: int) -> dt.date:
        return dt.date(year + self.year_offset, self.month, self.day)

    @classmethod
    def read(cls, r: _Reader) -> DayMonth:
        r.allow("day", "month", "year_offset")
        value = cls(r.get("day", int), r.get("month", int), r.get("year_offset", int, 0))
        try:
            value.in_year(2024)  # a leap year accepts every valid day/month
        except ValueError:
            r.fail(f"{value.day}/{value.month} is not a date")
        return value


@dataclass(frozen=True, slots=True)
class CapitalSource:
    id: str
    label: str
    aliases: tuple[str, ...]
    foreign: bool = False
    label_en: str | None = None  # the label of English outputs (--lang en)


@dataclass(frozen=True, slots=True)
class Criterion:
    type: str
    threshold_pct: int | None = None
    denominator: str = "plan"
    forecast: bool = False  # expected_below_plan: fall back to a pace forecast when no column


@dataclass(frozen=True, slots=True)
class Round:
    id: str  # stable rule id, e.g. "SL79-R1": used in flags, docs, audit and fixtures
    number: int
    name: str
    description: str
    as_of: DayMonth
    deadline: DayMonth | None
    scope_statuses: tuple[str, ...]  # empty = every status
    scope_sources: tuple[str, ...]  # empty = every capital source
    criterion: Criterion
    recall: dict = field(default_factory=dict)  # parsed by reallocate.RecallPolicy
    reallocation: dict = field(default_factory=dict)  # parsed by reallocate.AllocationPolicy
    name_en: str | None = None  # English outputs (--lang en); None → the Vietnamese one
    description_en: str | None = None

    def scope_text(self) -> str:
        return ", ".join(self.scope_statuses) if self.scope_statuses else "all"


@dataclass(frozen=True, slots=True)
class Rules:
    id: str
    title: str
    legal_basis: str
    plan_year: int
    capital_sources: tuple[CapitalSource, ...]
    rounds: tuple[Round, ...]
    path: str = ""
    legal_basis_en: str | None = None

    def round(self, number: int) -> Round:
        for candidate in self.rounds:
            if candidate.number == number:
                return candidate
        known = ", ".join(str(r.number) for r in self.rounds)
        raise RulesInvalid(f"{self.path}: no round {number} (rounds defined: {known})")


def _criterion(r: _Reader) -> Criterion:
    kind = r.get("type", str)
    if kind not in CRITERION_TYPES:
        r.fail(f"unknown criterion type {kind!r} (known: {', '.join(CRITERION_TYPES)})", "type")
    if kind == "rate_below":
        r.allow("type", "threshold_pct", "denominator")
        pct = r.get("threshold_pct", int)
        if not 0 < pct <= 100:
            r.fail("must be an integer percent in 1..100", "threshold_pct")
        return Criterion(kind, pct, r.get("denominator", str, "plan", DENOMINATORS))
    r.allow("type", "forecast")
    return Criterion(kind, forecast=r.get("forecast", bool, False))


def _round(r: _Reader) -> Round:
    r.allow(
        "id",
        "number",
        "name",
        "name_en",
        "description",
        "description_en",
        "as_of",
        "deadline",
        "scope",
        "criterion",
        "recall",
        "reallocation",
    )
    scope = r.child("scope", None)
    statuses: tuple[str, ...] = ()
    sources: tuple[str, ...] = ()
    if scope is not None:
        scope.allow("status", "capital_sources")
        statuses = tuple(scope.get("status", list, []))
        for status in statuses:
            if status not in STATUSES:
                scope.fail(f"unknown status {status!r} (known: {', '.join(STATUSES)})", "status")
        sources = tuple(scope.get("capital_sources", list, []))
    deadline = r.child("deadline", None)
    return Round(
        id=r.get("id", str),
        number=r.get("number", int),
        name=r.get("name", str),
        description=r.get("description", str),
        as_of=DayMonth.read(r.section("as_of")),
        deadline=DayMonth.read(deadline) if deadline else None,
        scope_statuses=statuses,
        scope_sources=sources,
        criterion=_criterion(r.section("criterion")),
        recall=r.get("recall", dict, {}),
        reallocation=r.get("reallocation", dict, {}),
        name_en=r.get("name_en", str, None),
        description_en=r.get("description_en", str, None),
    )


def load_rules(path: str | Path | None = None) -> Rules:
    """Read and check a rules file; raises RulesInvalid with file and key path."""
    path = Path(path) if path else DEFAULT_RULES
    source = str(path)
    data = read_yaml(path, "rules file", RulesInvalid)
    r = _Reader(source, data, "")
    r.allow("id", "title", "legal_basis", "legal_basis_en", "plan_year", "capital_sources", "rounds")
    sources = []
    for item in r.items("capital_sources"):
        item.allow("id", "label", "label_en", "aliases", "foreign")
        aliases = item.get("aliases", list, [])
        sources.append(
            CapitalSource(
                item.get("id", str),
                item.get("label", str),
                tuple(aliases),
                item.get("foreign", bool, False),
                item.get("label_en", str, None),
            )
        )
    rounds = tuple(_round(item) for item in r.items("rounds"))
    ids = [x.id for x in rounds]
    if len(set(ids)) != len(ids):
        r.fail("round ids must be unique", "rounds")
    rules = Rules(
        id=r.get("id", str),
        title=r.get("title", str),
        legal_basis=r.get("legal_basis", str),
        legal_basis_en=r.get("legal_basis_en", str, None),
        plan_year=r.get("plan_year", int),
        capital_sources=tuple(sources),
        rounds=rounds,
        path=source,
    )
    _check_policies(rules, source)
    return rules


def _check_policies(rules: Rules, source: str) -> None:
    """Parse each round's recall/reallocation blocks now so errors surface at load time."""
    for i, rnd in enumerate(rules.rounds):
        if rnd.recall:
            RecallPolicy.from_dict(rnd.recall, f"{source}: rounds[{i}].recall")
        if rnd.reallocation:
            AllocationPolicy.from_dict(rnd.reallocation, f"{source}: rounds[{i}].reallocation")
