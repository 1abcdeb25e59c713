"""What a request is: its wording (rules/investors.yaml), its lines and their keys.

A line's key is the audit store's identity across runs (`audit.queries.line_key`: code and
capital source, or the folded name, source and investor) hashed to a short token. The token
travels in the request's hidden sheet and in a hidden column beside each row, so a reply is
matched to its lines even when the investor sorts or deletes rows.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from disbursement.errors import DisbursementError
from disbursement.files import default_dir, read_yaml
from disbursement.money import UNITS

FIELD_KINDS = ("money", "text")
MONEY_FIELDS = ("expected_dong", "completed_volume_dong", "extra_need_dong", "decrease_dong")


class RequestSpecInvalid(DisbursementError):
    """rules/investors.yaml cannot be used."""


@dataclass(frozen=True)
class AnswerField:
    id: str
    header: str  # a template: "Dự kiến giải ngân đến 31/01/{next_year}"
    kind: str


@dataclass(frozen=True)
class Spec:
    unit: str
    fields: tuple[AnswerField, ...]
    sheets: dict[str, str]
    columns: dict[str, str]
    texts: dict[str, Any]

    @property
    def unit_dong(self) -> int:
        return UNITS[self.unit]

    def field(self, field_id: str) -> AnswerField:
        return next(f for f in self.fields if f.id == field_id)


_TOP = {
    "unit",
    "answer_fields",
    "sheets",
    "columns",
    "title",
    "subtitle",
    "unit_line",
    "flag_mark",
    "cover",
    "no_deadline",
}


@lru_cache(maxsize=4)
def load_spec(path: str | None = None) -> Spec:
    """Read rules/investors.yaml strictly: every key known, every answer field understood."""
    source = Path(path) if path else default_dir("rules") / "investors.yaml"
    raw = read_yaml(source, "investor request wording", RequestSpecInvalid)

    def fail(why: str) -> RequestSpecInvalid:
        return RequestSpecInvalid(f"{source}: {why}")

    if not isinstance(raw, dict):
        raise fail("expected a mapping at the top")
    unknown, missing = sorted(set(raw) - _TOP), sorted(_TOP - set(raw))
    if unknown or missing:
        raise fail(f"unknown keys {unknown}" if unknown else f"missing keys {missing}")
    if raw["unit"] not in UNITS:
        raise fail(f"unit {raw['unit']!r} is not one of {sorted(UNITS)}")
    fields = []
    for i, item in enumerate(raw["answer_fields"] or []):
        if not isinstance(item, dict) or set(item) != {"id", "header", "kind"}:
            raise fail(f"answer_fields[{i}]: expected id, header and kind")
        if item["kind"] not in FIELD_KINDS or (item["kind"] == "money" and item["id"] not in MONEY_FIELDS):
            raise fail(
                f"answer_fields[{i}]: {item['id']!r} / {item['kind']!r} is not a money "
                f"field of {MONEY_FIELDS} nor a text field"
            )
        fields.append(AnswerField(str(item["id"]), str(item["header"]), str(item["kind"])))
    if not fields:
        raise fail("answer_fields is empty")
    texts = {k: raw[k] for k in ("title", "subtitle", "unit_line", "flag_mark", "cover", "no_deadline")}
    return Spec(str(raw["unit"]), tuple(fields), dict(raw["sheets"]), dict(raw["columns"]), texts)


@dataclass(frozen=True)
class RequestLine:
    """One line as the request showed it: the key, who it is, and the figures at request time."""

    token: str
    project_code: str | None
    capital_source: str
    capital_source_label: str
    project_name: str
    plan_dong: int
    disbursed_dong: int
    flagged: bool = False
    reason: str | None = None
    figures: dict[str, int | None] = field(default_factory=dict)  # answer fields as they stood


@dataclass(frozen=True)
class Request:
    request_id: str
    investor: str
    year: int
    round: int
    rule_id: str
    as_of: dt.date
    deadline: dt.date | None
    unit: str
    file_name: str
    lines: tuple[RequestLine, ...]

    def line(self, token: str) -> RequestLine | None:
        return next((x for x in self.lines if x.token == token), None)


def token_for(key: tuple[Any, ...]) -> str:
    """The short, stable token of a line key (12 hex digits of its sha256)."""
    text = "\x1f".join(str(part) for part in key)
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:12]


def request_id_for(
    investor_key: str, year: int, round_number: int, as_of: dt.date, tokens: list[str], inputs: list[str]
) -> str:
    """Same inputs, same round, same investor → the same id (and the same bytes out)."""
    text = "\x1e".join(
        [investor_key, str(year), str(round_number), as_of.isoformat(), *sorted(tokens), *inputs]
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]
