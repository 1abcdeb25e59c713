"""Issue records for bad data, and the few exceptions for "cannot continue".

Bad cells never raise: they become `Issue` records in the run's report and the run goes on.
Exceptions are only for conditions the run cannot survive (unreadable file, invalid rules);
the CLI turns them into one `Error: …` line and exit code 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any


class DisbursementError(Exception):
    """Base of every error the CLI reports as `Error: <message>` (exit 1)."""


class InputUnreadable(DisbursementError):
    """An input file cannot be opened or parsed at all."""


class NothingToReview(DisbursementError):
    """No sheet of any input can be reviewed; the message lists each sheet's reason.

    Raised before anything is written or recorded: a refused run leaves no memo, no outputs
    and no audit record (docs/reliability.md)."""


class RulesInvalid(DisbursementError):
    """A rules file has an unknown key, an unknown criterion type or a bad value."""


class SettingsInvalid(DisbursementError):
    """An organisation settings file is invalid."""


class OutputError(DisbursementError):
    """An output cannot be written (bad folder, permissions, path outside --out)."""


@dataclass(frozen=True, slots=True)
class Issue:
    """One data problem, located where the officer sees it in Excel.

    `code` is a stable id (see docs/issues.md); `row` is the 1-based Excel row and `column`
    the Excel column letter, so the message can be followed straight to the cell.
    """

    code: str
    severity: str  # "error" | "warning" | "info"
    file: str
    sheet: str | None
    row: int | None
    column: str | None
    message: str
    # Facts of this occurrence for the wording of `templates/_issues.j2` (vi and en); not part
    # of the JSON record, whose `message` stays the engine's own text.
    params: dict[str, Any] | None = field(default=None, compare=False, hash=False)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "severity": self.severity,
            "file": self.file,
            "sheet": self.sheet,
            "row": self.row,
            "column": self.column,
            "message": self.message,
        }

    def location(self) -> str:
        parts = [self.file]
        if self.sheet:
            parts.append(f"sheet '{self.sheet}'")
        if self.row is not None:
            cell = f"{self.column}{self.row}" if self.column else f"row {self.row}"
            parts.append(cell)
        elif self.column:
            parts.append(f"column {self.column}")
        return ", ".join(parts)


def column_letter(index: int) -> str:
    """0-based column index → Excel letters (0 → A, 26 → AA)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


def column_index(letters: str) -> int:
    """Excel letters → 0-based column index ('A' → 0, 'Z' → 25, 'AA' → 26)."""
    index = 0
    for ch in letters.upper():
        index = index * 26 + ord(ch) - 64
    return index - 1


def cell_ref(row: int, col: int) -> str:
    """0-based row and column → an A1 reference (0, 27 → 'AB1')."""
    return f"{column_letter(col)}{row + 1}"


def cell_column(ref: str) -> str:
    """The column letters of an A1 reference ('AB12' → 'AB')."""
    return ref.rstrip("0123456789")


def issue_counts(issues: list[Issue]) -> dict:
    """Counts per severity and code, made from the final records (summary["issues"])."""
    counts: dict[str, dict] = {}
    for issue in issues:
        entry = counts.setdefault(issue.code, {"severity": issue.severity, "count": 0})
        entry["count"] += 1
    return {
        "total": len(issues),
        "errors": sum(1 for i in issues if i.severity == "error"),
        "warnings": sum(1 for i in issues if i.severity == "warning"),
        "by_code": dict(sorted(counts.items())),
    }
