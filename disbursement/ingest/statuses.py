"""The status vocabulary (rules/statuses.yaml): which words name a line's status.

Read once, strictly: every status is one the rules know, every pattern compiles; a bad entry is
a `RulesInvalid` naming the file and the entry.
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

from disbursement.errors import RulesInvalid
from disbursement.files import default_dir, read_yaml
from disbursement.model import STATUSES

Patterns = tuple[tuple[re.Pattern[str], str], ...]


@lru_cache(maxsize=4)
def load_statuses(path: str | None = None) -> tuple[Patterns, dict[str, str], Patterns]:
    """(phrases a label starts with, exact cell values, words a note may hold anywhere)."""
    source = Path(path) if path else default_dir("rules") / "statuses.yaml"
    raw = read_yaml(source, "status vocabulary", RulesInvalid)
    if not isinstance(raw, dict) or set(raw) != {"phrases", "values", "note"}:
        raise RulesInvalid(f"{source}: expected exactly the keys phrases, values and note")

    def status(value: object, where: str) -> str:
        if value not in STATUSES:
            raise RulesInvalid(f"{source}: {where}: status {value!r} is not one of {STATUSES}")
        return str(value)

    def patterns(key: str) -> Patterns:
        out = []
        for i, item in enumerate(raw[key] or []):
            where = f"{key}[{i}]"
            if not isinstance(item, dict) or set(item) != {"status", "pattern"}:
                raise RulesInvalid(f"{source}: {where}: expected status and pattern")
            try:
                out.append((re.compile(str(item["pattern"])), status(item["status"], where)))
            except re.error as exc:
                raise RulesInvalid(f"{source}: {where}: not a valid pattern ({exc})") from None
        return tuple(out)

    if not isinstance(raw["values"], dict):
        raise RulesInvalid(f"{source}: values: expected a mapping of word → status")
    values = {str(k): status(v, f"values.{k}") for k, v in raw["values"].items()}
    return patterns("phrases"), values, patterns("note")
