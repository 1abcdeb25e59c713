"""The canonical data model shared by every stage.

The plan table is a pandas DataFrame, one row per *project line* (a project funded from two
capital sources is two lines). Money columns are integer đồng: `int64` when always present,
nullable `Int64` when the sheet may not have the column. `file`, `sheet` and `row` (1-based
Excel row) say where each line came from; `cells` maps a canonical column to its Excel column
letter in that sheet so a flag can cite its source cell.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from disbursement.source_cells import plain_cells

if TYPE_CHECKING:  # typed for mypy; importing the model stays cheap (no pandas at import)
    import pandas as pd

# Status vocabulary (dự án chuyển tiếp / khởi công mới / hoàn thành / khác).
STATUS_CONTINUING = "continuing"
STATUS_NEW = "new"
STATUS_COMPLETED = "completed"
STATUS_OTHER = "other"
STATUSES = (STATUS_CONTINUING, STATUS_NEW, STATUS_COMPLETED, STATUS_OTHER)

# Text columns of the canonical plan table (pandas "string" dtype, nullable).
TEXT_COLUMNS = (
    "stt",
    "project_code",
    "project_name",
    "investor",
    "location",
    "sector",
    "capital_source",  # canonical id from rules (e.g. "NSDP_CAN_DOI")
    "capital_source_label",  # the group or column label as written in the sheet
    "budget_level",  # e.g. "tinh" / "huyen" when the sheet says so (for pool_by)
    "status",  # one of STATUSES
    "category",  # priority category when known (e.g. "oda_counterpart", "ppp")
    "investment_decision",
    "note",
)

# Money columns always present (blank means 0): int64 đồng.
REQUIRED_MONEY = ("plan_dong", "disbursed_dong")

# Money columns present only when the sheet has them: nullable Int64 đồng.
OPTIONAL_MONEY = (
    "expected_dong",  # investor-reported expected disbursement for the year (round 3)
    "extra_need_dong",  # nhu cầu / đề nghị bổ sung
    "completed_volume_dong",  # khối lượng hoàn thành chưa thanh toán
    "medium_term_dong",  # kế hoạch trung hạn
    "cumulative_alloc_dong",  # lũy kế vốn đã bố trí đến hết năm trước
    "tmdt_dong",  # tổng mức đầu tư
    "carried_over_dong",  # kế hoạch năm trước kéo dài (tracked, not in the denominator)
    "decrease_dong",  # số vốn đề nghị điều chỉnh giảm: the investor gives capital back (round 3)
)

MONEY_COLUMNS = REQUIRED_MONEY + OPTIONAL_MONEY
POSITION_COLUMNS = ("file", "sheet", "row")


@dataclass(frozen=True, slots=True)
class ColumnSpec:
    """One column of the canonical plan table: its pandas dtype, whether it may hold a missing
    value, and whether the pandera schema checks it (`ingest/schema.py`)."""

    name: str
    dtype: str  # "string" | "str" | "int64" | "Int64" | "object" | "bool"
    nullable: bool = True
    validated: bool = False


# The one description of the canonical plan table: the empty frame (`empty_plan`) and the
# pandera schema (`ingest.schema.plan_schema`) are both made from it.
PLAN_TABLE: tuple[ColumnSpec, ...] = (
    *(
        ColumnSpec(
            c,
            "string",
            nullable=c != "project_name" and c != "status",
            validated=c in ("project_name", "project_code", "capital_source", "status"),
        )
        for c in TEXT_COLUMNS
    ),
    *(ColumnSpec(c, "int64", nullable=False, validated=True) for c in REQUIRED_MONEY),
    *(ColumnSpec(c, "Int64", validated=True) for c in OPTIONAL_MONEY),
    ColumnSpec("file", "str", nullable=False, validated=True),  # pandas' default text dtype
    ColumnSpec("sheet", "str", nullable=False, validated=True),
    ColumnSpec("row", "int64", nullable=False, validated=True),
    ColumnSpec("cells", "object"),  # canonical column → Excel column letter, per line
    ColumnSpec("trusted", "bool", nullable=False),
)


def empty_plan() -> pd.DataFrame:
    """A plan table with no line: every canonical column, each of its dtype."""
    import pandas as pd

    return pd.DataFrame(
        {
            c.name: pd.Series(pd.array([], dtype=c.dtype))
            if c.dtype in ("string", "Int64")
            else pd.Series([], dtype=c.dtype)
            for c in PLAN_TABLE
        }
    )


@dataclass(frozen=True, slots=True)
class SourceRef:
    file: str
    sheet: str
    row: int
    # canonical column → "H12": the plan line's own mapping (source_cells.SourceCells, or a
    # dict where a Treasury export or a reply changed it), shared by its flag and proposal
    # records and their JSON (never written to after ingest).
    cells: Mapping[str, str] = field(default_factory=dict)

    def to_dict(self) -> dict:
        out = {"file": self.file, "sheet": self.sheet, "row": self.row}
        if self.cells:
            out["cells"] = plain_cells(self.cells)
        return out


@dataclass(frozen=True, slots=True)
class RoundInfo:
    """The round as run: what the memo, appendix and audit need to name it."""

    rule_id: str
    number: int
    name: str  # "Đợt 1"
    year: int
    as_of: dt.date
    description: str
    legal_basis: str
    threshold_pct: int | None = None
    scope: str = ""
    # The round's own date when the workbook's figures are as of another day (`as_of` is then
    # the workbook's date: no output states a data date the data does not have).
    round_as_of: dt.date | None = None
    # English wording from the rules file (--lang en); None where the file gives none.
    name_en: str | None = None
    description_en: str | None = None
    legal_basis_en: str | None = None
    source_labels_en: tuple[tuple[str, str], ...] = ()  # (capital source id, English label)
    source_labels: tuple[tuple[str, str], ...] = ()  # (capital source id, the rules' official label)


@dataclass(frozen=True, slots=True)
class ProposalLine:
    """One line of the proposal: a decrease (recall) or an increase (allocation)."""

    kind: str  # "decrease" | "increase"
    project_code: str | None
    project_name: str
    investor: str | None
    capital_source: str
    capital_source_label: str
    pool: str
    plan_dong: int
    disbursed_dong: int
    amount_dong: int
    plan_after_dong: int
    reason: str  # reason code, e.g. "UNABLE_TO_DISBURSE"; wording lives in templates/
    source: SourceRef
    tier: str | None = None  # priority tier id for increases
    override: dict | None = None  # {"reason":…, "approver":…} when an override applied


@dataclass(frozen=True, slots=True)
class PoolResult:
    pool: str
    capital_source: str
    capital_source_label: str
    recalled_dong: int
    allocated_dong: int
    unallocated_dong: int


@dataclass(frozen=True, slots=True)
class Proposal:
    pools: tuple[PoolResult, ...]
    decreases: tuple[ProposalLine, ...]
    increases: tuple[ProposalLine, ...]
    policy: dict = field(default_factory=dict)  # recall policy, priority list id, legal basis


@dataclass(slots=True)
class RunResult:
    """Everything one review round produced; what the CLI prints and the renderers draw.

    `plan` is the canonical plan table of trusted lines with three columns added by the review:
    `in_scope` (bool: the round's scope applies and plan > 0), `flagged` (bool) and `rule_id`.
    `flags` holds the flagged lines only, with `rate_pct` (display text like "49,99") and
    `reason`. `summary` is the JSON-ready summary (see `review.summarise`).
    """

    round: RoundInfo
    plan: pd.DataFrame
    flags: pd.DataFrame
    issues: list
    summary: dict
    proposal: Proposal | None = None
    inputs: tuple = ()  # input paths as given
    rules_path: str = ""
    replies: list | None = None  # the investors' answered figures that changed a line (JSON)
    reply_files: list = field(default_factory=list)  # investors.replies.Reply, as read
    named_in: str | None = None  # the language `render.words.localised` named it in
