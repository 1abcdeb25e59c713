"""Priority lists (thứ tự ưu tiên bố trí vốn) as data, chosen by plan year.

Each file in `rules/priority/` is one ordered list of tiers, with its legal basis and the plan
years it governs. A plan line goes to the *first* tier whose `match` fits it:

```yaml
id: law-39-2019
title: …
legal_basis: Luật Đầu tư công số 39/2019/QH14, Điều 51
applies_from_year: 2020
applies_to_year: 2025          # null = open-ended
tiers:
  - id: completed
    label_vi: Dự án đã hoàn thành …
    label_en: Completed projects not yet fully funded
    legal_basis: Luật Đầu tư công 39/2019/QH14, Điều 51
    match: {status: [completed]}        # keys: status, category; {} matches every line
```

Every key given in `match` must fit (AND); a list fits any of its values (OR); a line whose
status or category is missing never fits a list. `match: {}` is a catch-all and may only be
the last tier. A list without a catch-all leaves unmatched lines out of the allocation; the
shipped lists end with an `other` tier so that a line whose sheet states no priority group
still receives, last.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any, NoReturn

import numpy as np
import pandas as pd

from disbursement.errors import RulesInvalid
from disbursement.files import default_dir, read_yaml
from disbursement.model import STATUSES

PRIORITY_DIR = default_dir("rules") / "priority"
_LIST_KEYS = (
    "id",
    "title",
    "title_en",
    "legal_basis",
    "legal_basis_en",
    "applies_from_year",
    "applies_to_year",
    "tiers",
)
_TIER_KEYS = ("id", "label_vi", "label_en", "legal_basis", "match")
_MATCH_KEYS = ("status", "category")


@dataclass(frozen=True, slots=True)
class Tier:
    id: str
    label_vi: str
    label_en: str
    legal_basis: str
    status: tuple[str, ...] | None = None  # None: status not tested
    category: tuple[str, ...] | None = None

    @property
    def catch_all(self) -> bool:
        return self.status is None and self.category is None

    def to_dict(self) -> dict:
        match = {k: list(v) for k, v in (("status", self.status), ("category", self.category)) if v}
        return {
            "id": self.id,
            "label_vi": self.label_vi,
            "label_en": self.label_en,
            "legal_basis": self.legal_basis,
            "match": match,
        }


@dataclass(frozen=True, slots=True)
class PriorityList:
    id: str
    title: str
    legal_basis: str
    applies_from_year: int
    applies_to_year: int | None
    tiers: tuple[Tier, ...]
    path: str = ""
    title_en: str | None = None  # English outputs (--lang en)
    legal_basis_en: str | None = None

    def covers(self, year: int) -> bool:
        return self.applies_from_year <= year and (
            self.applies_to_year is None or year <= self.applies_to_year
        )

    def tier_index(self, plan) -> np.ndarray:
        """Index of each line's tier in `tiers` (int array aligned with `plan`; -1 = none)."""
        out = np.full(len(plan), -1, dtype=np.int64)
        columns = {}
        for name in ("status", "category"):
            if name in plan:
                codes, uniques = pd.factorize(plan[name])
                columns[name] = (codes, list(uniques))
        for i, tier in enumerate(self.tiers):
            fits = out < 0
            for name, values in (("status", tier.status), ("category", tier.category)):
                if values is None:
                    continue
                if name not in columns:
                    fits &= False
                    continue
                codes, uniques = columns[name]
                fits &= np.isin(codes, [k for k, u in enumerate(uniques) if u in values])
            out[fits] = i
        return out

    def to_dict(self) -> dict:
        return {
            "id": self.id,
            "title": self.title,
            "legal_basis": self.legal_basis,
            "applies_from_year": self.applies_from_year,
            "applies_to_year": self.applies_to_year,
            "tiers": [t.to_dict() for t in self.tiers],
            **({"title_en": self.title_en} if self.title_en else {}),
            **({"legal_basis_en": self.legal_basis_en} if self.legal_basis_en else {}),
        }


def _fail(where: str, message: str) -> NoReturn:
    raise RulesInvalid(f"{where.rstrip(': ')}: {message}")


def _at(where: str, key: str) -> str:
    """Key path: "file: " + "tiers" → "file: tiers"; "file: tiers[0]" + "id" → "….id"."""
    return where + key if where.endswith(": ") else f"{where}.{key}"


def _mapping(value: Any, where: str, allowed: tuple[str, ...]) -> dict:
    if not isinstance(value, dict):
        _fail(where, f"expected a mapping, got {type(value).__name__}")
    for key in value:
        if key not in allowed:
            _fail(_at(where, key), f"unknown key (expected one of: {', '.join(allowed)})")
    return value


def _text(d: dict, key: str, where: str) -> str:
    value = d.get(key)
    if not isinstance(value, str) or not value.strip():
        _fail(_at(where, key), f"expected non-empty text, got {value!r}")
    return value.strip()


def _year(d: dict, key: str, where: str, nullable: bool = False) -> int | None:
    value = d.get(key)
    if value is None and nullable and key in d:
        return None
    if isinstance(value, bool) or not isinstance(value, int) or not 1990 <= value <= 2100:
        _fail(_at(where, key), f"expected a year, got {value!r}")
    return value


def _tier(d: Any, where: str) -> Tier:
    d = _mapping(d, where, _TIER_KEYS)
    match = _mapping(d.get("match", {}) or {}, f"{where}.match", _MATCH_KEYS)
    parsed: dict[str, tuple[str, ...]] = {}
    for key, values in match.items():
        if not isinstance(values, list) or not values or not all(isinstance(v, str) for v in values):
            _fail(f"{where}.match.{key}", f"expected a non-empty list of text, got {values!r}")
        if key == "status":
            for v in values:
                if v not in STATUSES:
                    _fail(f"{where}.match.status", f"{v!r} is not one of: {', '.join(STATUSES)}")
        parsed[key] = tuple(values)
    return Tier(
        id=_text(d, "id", where),
        label_vi=_text(d, "label_vi", where),
        label_en=_text(d, "label_en", where),
        legal_basis=_text(d, "legal_basis", where),
        status=parsed.get("status"),
        category=parsed.get("category"),
    )


def load_priority(path: str | Path) -> PriorityList:
    """Read and check one priority file; RulesInvalid names the file and key path."""
    path = Path(path)
    source = str(path)
    data = read_yaml(path, "priority list", RulesInvalid)
    where = f"{source}: "
    d = _mapping(data, where, _LIST_KEYS)
    tiers_raw = d.get("tiers")
    if not isinstance(tiers_raw, list) or not tiers_raw:
        _fail(f"{where}tiers", "expected a non-empty list of tiers")
    tiers = tuple(_tier(t, f"{where}tiers[{i}]") for i, t in enumerate(tiers_raw))
    ids = [t.id for t in tiers]
    if len(set(ids)) != len(ids):
        _fail(f"{where}tiers", "tier ids must be unique")
    for i, tier in enumerate(tiers[:-1]):
        if tier.catch_all:
            _fail(f"{where}tiers[{i}].match", "an empty match (catch-all) may only be the last tier")
    plist = PriorityList(
        id=_text(d, "id", where),
        title=_text(d, "title", where),
        legal_basis=_text(d, "legal_basis", where),
        applies_from_year=_year(d, "applies_from_year", where),  # type: ignore[arg-type]
        applies_to_year=_year(d, "applies_to_year", where, nullable=True),
        tiers=tiers,
        path=source,
        title_en=_text(d, "title_en", where) if "title_en" in d else None,
        legal_basis_en=_text(d, "legal_basis_en", where) if "legal_basis_en" in d else None,
    )
    if plist.applies_to_year is not None and plist.applies_to_year < plist.applies_from_year:
        _fail(f"{where}applies_to_year", "is before applies_from_year")
    return plist


def load_all(folder: str | Path | None = None) -> list[PriorityList]:
    folder = Path(folder) if folder else PRIORITY_DIR
    lists = [load_priority(p) for p in sorted(folder.glob("*.yaml"))]
    seen: dict[str, str] = {}
    for plist in lists:
        if plist.id in seen:
            raise RulesInvalid(f"{plist.path}: id {plist.id!r} also used by {seen[plist.id]}")
        seen[plist.id] = plist.path
    return lists


def priority_for_year(year: int, folder: str | Path | None = None) -> PriorityList:
    """The one priority list whose years cover `year` (RulesInvalid if none or several)."""
    lists = [p for p in load_all(folder) if p.covers(year)]
    if len(lists) != 1:
        where = folder or PRIORITY_DIR
        found = ", ".join(p.id for p in lists) or "none"
        raise RulesInvalid(
            f"{where}: exactly one priority list must cover plan year {year} (found: {found}); "
            "set applies_from_year/applies_to_year so the periods do not overlap"
        )
    return lists[0]


def resolve_priority(name: str, year: int, folder: str | Path | None = None) -> PriorityList:
    """`name` is "by_year" or the id of a list in `folder`."""
    if name == "by_year":
        return priority_for_year(year, folder)
    for plist in load_all(folder):
        if plist.id == name:
            return plist
    raise RulesInvalid(f"{folder or PRIORITY_DIR}: no priority list with id {name!r}")
