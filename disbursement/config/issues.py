"""The issue-code registry (`rules/issues.yaml`): one entry per stable code, read once.

Every data issue is a record with a code from this registry (severity, vi and en wording, the
anchor of its row in docs/issues.md), in the spirit of pandera's `SchemaErrorReason` and
frictionless' typed errors. :func:`issue` builds the record and refuses a code that is not
registered, or a severity the entry does not allow: a programming error, found by the tests,
never a guess in a signed document.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from disbursement.config.rules import RULES_DIR, _Reader
from disbursement.errors import Issue, RulesInvalid
from disbursement.files import read_yaml

REGISTRY_FILE = RULES_DIR / "issues.yaml"
SEVERITIES = ("error", "warning", "info")


@dataclass(frozen=True, slots=True)
class IssueCode:
    """One registered code: the severities it may carry (the first is its usual one), its
    plain-language meaning in Vietnamese and English, and its anchor in docs/issues.md."""

    code: str
    severities: tuple[str, ...]
    vi: str
    en: str
    doc: str

    @property
    def severity(self) -> str:
        return self.severities[0]

    def text(self, lang: str = "vi") -> str:
        return self.en if lang == "en" else self.vi


class UnknownIssueCode(KeyError):
    """A code that `rules/issues.yaml` does not register (a defect of the code, not of data)."""


def load_registry(path: str | Path = REGISTRY_FILE) -> dict[str, IssueCode]:
    """Read and check the registry; unknown keys and bad values name the key path."""
    source = str(path)
    top = _Reader(source, read_yaml(path, "issue-code registry", RulesInvalid), "")
    codes: dict[str, IssueCode] = {}
    for code in top.data:
        entry = top.section(str(code))
        entry.allow("severity", "vi", "en", "doc")
        raw = entry.get("severity", (str, list))
        severities = tuple(raw) if isinstance(raw, list) else (raw,)
        if not severities or any(s not in SEVERITIES for s in severities):
            entry.fail(f"{raw!r} is not one of (or a list of): {', '.join(SEVERITIES)}", "severity")
        codes[str(code)] = IssueCode(
            str(code), severities, entry.get("vi", str), entry.get("en", str), entry.get("doc", str)
        )
    return codes


@functools.cache
def registry() -> dict[str, IssueCode]:
    """The built-in registry, read once per process."""
    return load_registry()


def lookup(code: str) -> IssueCode:
    try:
        return registry()[code]
    except KeyError:
        raise UnknownIssueCode(f"issue code {code!r} is not registered in {REGISTRY_FILE}") from None


def issue(
    code: str,
    file: str,
    sheet: str | None,
    row: int | None,
    column: str | None,
    message: str,
    *,
    severity: str | None = None,
    **params: Any,
) -> Issue:
    """An `Issue` of a registered code, with the registry's severity unless the entry allows
    the one given (OVERRIDE-INVALID is an error or, for a doubtful amount, a warning)."""
    entry = lookup(code)
    chosen = entry.severity if severity is None else severity
    if chosen not in entry.severities:
        raise ValueError(f"issue code {code} is registered as {'/'.join(entry.severities)}, not {chosen}")
    return Issue(code, chosen, file, sheet, row, column, message, params or None)
