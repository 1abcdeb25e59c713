"""Recall and allocation policies of a round, parsed strictly from the round's YAML blocks.

```yaml
recall:                          # how much to take from each flagged line (điều chỉnh giảm)
  policy: unable_portion         # unable_portion | undisbursed | pace_forecast
  fallback: pace_forecast        # unable_portion only, when expected_dong is unknown:
                                 #   undisbursed (default) | pace_forecast | none
  min_amount_dong: 100000000     # recalls below this are dropped (reported as info)
  rounding_unit_dong: 1000000    # amounts are rounded DOWN to this unit (1000000 = whole triệu)
  deadline: {day: 31, month: 1, year_offset: 1}   # pace_forecast only (R-LAW-2)
  acceleration_pct: 100          # pace_forecast only: 120 = investors speed up by a fifth
reallocation:                    # who receives (điều chỉnh tăng)
  pool_by: [capital_source, budget_level]   # capital_source is required (R-ADJ-1, R-ADJ-4)
  method: proportional           # proportional | greedy
  require_completed_volume: false
  completed_volume_is_need: true
  eligibility: [investment_decision, in_medium_term_plan, has_stated_need]
  allow_cross_pool: []           # e.g. [{from: NSDP_XSKT, to: NSDP_CAN_DOI}]
  priority: by_year              # or the id of a list in rules/priority/
```

Pace forecast (integer đồng, exact): with D = days from 01/01 of the plan year to the
deadline and E = days from 01/01 to the as-of date (both counting the first day),
`forecast = min(plan, max(disbursed, disbursed × D × acceleration_pct ÷ (E × 100)))`, rounded
down; the recall is `plan − forecast`. At 30/06 with the 31/01 deadline D/E = 396/181 ≈ 2,19.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass
from typing import Any

from disbursement.errors import RulesInvalid

RECALL_POLICIES = ("unable_portion", "undisbursed", "pace_forecast")
FALLBACKS = ("undisbursed", "pace_forecast", "none")
METHODS = ("proportional", "greedy")
ELIGIBILITY = ("investment_decision", "in_medium_term_plan", "has_stated_need")
POOL_COLUMNS = ("capital_source", "budget_level", "investor", "sector", "location")
_RECALL_KEYS = ("policy", "fallback", "min_amount_dong", "rounding_unit_dong", "deadline", "acceleration_pct")
_ALLOC_KEYS = (
    "pool_by",
    "method",
    "require_completed_volume",
    "completed_volume_is_need",
    "eligibility",
    "allow_cross_pool",
    "priority",
)


class _Block:
    """A YAML mapping read strictly: unknown keys and bad values name `where` and the key."""

    def __init__(self, data: Any, where: str, allowed: tuple[str, ...]):
        self.where = where
        if not isinstance(data, dict):
            self.fail(None, f"expected a mapping, got {type(data).__name__}")
        for key in data:
            if key not in allowed:
                self.fail(key, f"unknown key (expected one of: {', '.join(allowed)})")
        self.data = data

    def fail(self, key: Any, message: str) -> None:
        raise RulesInvalid(f"{self.where}.{key}: {message}" if key else f"{self.where}: {message}")

    def get(self, key: str, kind: type, default: Any) -> Any:
        value = self.data.get(key, default)
        if (kind is int and isinstance(value, bool)) or not isinstance(value, kind):
            self.fail(key, f"expected {kind.__name__}, got {value!r}")
        return value

    def choice(self, key: str, choices: tuple[str, ...], default: Any) -> str:
        value = self.data.get(key, default)
        if value not in choices:
            self.fail(key, f"{value!r} is not one of: {', '.join(choices)}")
        return value

    def integer(self, key: str, default: int, low: int, high: int | None = None) -> int:
        value = self.get(key, int, default)
        if value < low or (high is not None and value > high):
            bound = f"{low}..{high}" if high is not None else f">= {low}"
            self.fail(key, f"must be an integer {bound}, got {value}")
        return value

    def names(self, key: str, choices: tuple[str, ...], default: tuple[str, ...]) -> tuple:
        values = self.data.get(key, list(default))
        if not isinstance(values, list):
            self.fail(key, f"expected a list, got {values!r}")
        for i, value in enumerate(values):
            if value not in choices:
                self.fail(f"{key}[{i}]", f"{value!r} is not one of: {', '.join(choices)}")
        if len(set(values)) != len(values):
            self.fail(key, "values must not repeat")
        return tuple(values)


@dataclass(frozen=True, slots=True)
class Deadline:
    """Day/month with a year offset from the plan year (31/01 of N+1 by default)."""

    day: int = 31
    month: int = 1
    year_offset: int = 1

    def in_year(self, year: int) -> dt.date:
        return dt.date(year + self.year_offset, self.month, self.day)


@dataclass(frozen=True, slots=True)
class RecallPolicy:
    policy: str = "unable_portion"
    fallback: str = "undisbursed"
    min_amount_dong: int = 0
    rounding_unit_dong: int = 1_000_000
    deadline: Deadline = Deadline()
    acceleration_pct: int = 100

    @classmethod
    def from_dict(cls, d: Any, where: str) -> RecallPolicy:
        b = _Block(d, where, _RECALL_KEYS)
        if "policy" not in b.data:
            b.fail("policy", f"missing required key (one of: {', '.join(RECALL_POLICIES)})")
        policy = b.choice("policy", RECALL_POLICIES, None)
        fallback = b.choice("fallback", FALLBACKS, "undisbursed")
        if "fallback" in b.data and policy != "unable_portion":
            b.fail("fallback", "only used with policy: unable_portion")
        uses_pace = policy == "pace_forecast" or fallback == "pace_forecast"
        for key in ("deadline", "acceleration_pct"):
            if key in b.data and not uses_pace:
                b.fail(key, "only used with policy (or fallback): pace_forecast")
        deadline = Deadline()
        if "deadline" in b.data:
            db = _Block(b.data["deadline"], f"{where}.deadline", ("day", "month", "year_offset"))
            deadline = Deadline(
                db.integer("day", 31, 1, 31),
                db.integer("month", 1, 1, 12),
                db.integer("year_offset", 1, 0, 1),
            )
            try:
                deadline.in_year(2024)
            except ValueError:
                b.fail("deadline", f"{deadline.day}/{deadline.month} is not a date")
        return cls(
            policy=policy,
            fallback=fallback,
            min_amount_dong=b.integer("min_amount_dong", 0, 0),
            rounding_unit_dong=b.integer("rounding_unit_dong", 1_000_000, 1),
            deadline=deadline,
            acceleration_pct=b.integer("acceleration_pct", 100, 1, 500),
        )

    def to_dict(self) -> dict:
        return asdict(self)


@dataclass(frozen=True, slots=True)
class AllocationPolicy:
    pool_by: tuple[str, ...] = ("capital_source",)
    method: str = "proportional"
    require_completed_volume: bool = False
    completed_volume_is_need: bool = True
    eligibility: tuple[str, ...] = ELIGIBILITY
    allow_cross_pool: tuple[tuple[str, str], ...] = ()
    priority: str = "by_year"

    @classmethod
    def from_dict(cls, d: Any, where: str) -> AllocationPolicy:
        b = _Block(d, where, _ALLOC_KEYS)
        pool_by = b.names("pool_by", POOL_COLUMNS, ("capital_source",))
        if "capital_source" not in pool_by:
            b.fail("pool_by", "must include capital_source (no move across capital sources)")
        pairs = b.get("allow_cross_pool", list, [])
        cross = []
        for i, pair in enumerate(pairs):
            pb = _Block(pair, f"{where}.allow_cross_pool[{i}]", ("from", "to"))
            src, dst = pb.get("from", str, None), pb.get("to", str, None)
            if src == dst:
                pb.fail("to", "must differ from 'from'")
            cross.append((src, dst))
        priority = b.get("priority", str, "by_year")
        if priority != "by_year":
            from disbursement.config.priority import PRIORITY_DIR, load_all

            known = [p.id for p in load_all()]
            if priority not in known:
                b.fail(
                    "priority",
                    f"{priority!r} is neither 'by_year' nor a list in "
                    f"{PRIORITY_DIR} (known: {', '.join(known)})",
                )
        return cls(
            pool_by=pool_by,
            method=b.choice("method", METHODS, "proportional"),
            require_completed_volume=b.get("require_completed_volume", bool, False),
            completed_volume_is_need=b.get("completed_volume_is_need", bool, True),
            eligibility=b.names("eligibility", ELIGIBILITY, ELIGIBILITY),
            allow_cross_pool=tuple(cross),
            priority=priority,
        )

    def to_dict(self) -> dict:
        out = asdict(self)
        out["allow_cross_pool"] = [{"from": a, "to": b} for a, b in self.allow_cross_pool]
        return out
