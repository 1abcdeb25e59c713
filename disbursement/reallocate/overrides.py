"""Manual overrides of a computed proposal, read from an .xlsx or .csv the officer fills in.

Columns (header names in Vietnamese or English, any case, with or without diacritics):
project code (Mã dự án), capital source (Nguồn vốn: canonical id or label), kind (Loại:
decrease/increase, giảm/tăng), amount (Số tiền, triệu đồng unless the header names another
unit), reason (Lý do), approver (Người phê duyệt).

`apply_overrides` replaces the computed amount of the named line (or adds a line, reason code
MANUAL_ADJUSTMENT) and re-checks the same limits as the computation: plan after ≥ disbursed;
an increase within the receiver's caps and eligibility (the line is not flagged in this
round); the money stays in the line's own pool; the pool's unallocated stays ≥ 0. A row that
breaks a limit is an error issue at its row and cell and is not applied. Rows that free money
(a larger decrease, a smaller increase) are applied before rows that use it, each group in
file order, so a valid file never fails because of its row order. The priority order is not
re-imposed on overrides: overriding it is what an approver is for.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from disbursement.config.issues import issue
from disbursement.config.policies import AllocationPolicy
from disbursement.config.priority import PriorityList, resolve_priority
from disbursement.errors import Issue, column_letter
from disbursement.ingest.read import read_small_table
from disbursement.ingest.tables import amount_unit, find_header
from disbursement.ingest.tables import header_fold as fold
from disbursement.model import Proposal, ProposalLine
from disbursement.money import format_trieu, infer_style, parse_amount
from disbursement.reallocate.allocation import INELIGIBLE_TEXT, Rows, pool_keys, receivers, sort_order
from disbursement.reallocate.proposal import _LINE_COLUMNS, _line, build_pools

FIELDS = ("project_code", "capital_source", "kind", "amount", "reason", "approver")
_KINDS = {
    "decrease": "decrease",
    "giam": "decrease",
    "dieu chinh giam": "decrease",
    "dc giam": "decrease",
    "thu hoi": "decrease",
    "-": "decrease",
    "increase": "increase",
    "tang": "increase",
    "dieu chinh tang": "increase",
    "dc tang": "increase",
    "bo sung": "increase",
    "+": "increase",
}


@dataclass(frozen=True, slots=True)
class OverrideRow:
    file: str
    sheet: str | None
    row: int  # the row number the officer sees (Excel row, or CSV line)
    project_code: str
    capital_source: str
    kind: str  # "decrease" | "increase"
    amount_dong: int
    reason: str
    approver: str
    columns: dict  # field → column letter in the overrides file
    project_name: str = ""  # for a line without a code: matched by its name and source

    @property
    def label(self) -> str:
        return self.project_code or f'"{self.project_name}"'

    def issue(self, code: str, message: str, field: str | None = None) -> Issue:
        return issue(
            code, self.file, self.sheet, self.row, self.columns.get(field) if field else None, message
        )


def _cell_text(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():  # a code typed as a number
        return str(int(value))
    return str(value).strip()


def read_overrides(path: str | Path) -> tuple[list[OverrideRow], list[Issue]]:
    """Rows of an overrides file; unreadable values become error issues, not exceptions."""

    path = Path(path)
    sheet, rows = read_small_table(path, "the overrides file")
    head, cols = find_header(
        rows,
        "overrides",
        str(path),
        "Mã dự án, Nguồn vốn, Loại (giảm/tăng), Số tiền (triệu đồng), Lý do, Người phê duyệt",
    )
    unit = amount_unit(str(rows[head][cols["amount"]]), str(path))
    body = rows[head + 1 :]
    style = infer_style(r[cols["amount"]] for r in body if cols["amount"] < len(r))
    letters = {f: column_letter(j) for f, j in cols.items()}
    out: list[OverrideRow] = []
    issues: list[Issue] = []
    for i, cells in enumerate(body, start=head + 2):
        values = {f: (cells[j] if j < len(cells) else None) for f, j in cols.items()}
        text = {f: _cell_text(v) for f, v in values.items()}
        if not any(text.values()):
            continue

        def bad(field: str, message: str, severity: str = "error", row: int = i) -> None:
            issues.append(
                issue("OVERRIDE-INVALID", str(path), sheet, row, letters[field], message, severity=severity)
            )

        kind = _KINDS.get(fold(text["kind"]))
        parsed = parse_amount(values["amount"], unit, style)
        if not text["project_code"] and not text.get("project_name"):
            bad(
                "project_code",
                "project code is empty (for a line without a code, give its name in a 'Tên dự án' column)",
            )
        elif not text["capital_source"]:
            bad("capital_source", "capital source is empty")
        elif kind is None:
            bad("kind", f"kind {text['kind']!r} is neither decrease/giảm nor increase/tăng")
        elif text["amount"] in ("", "-"):
            bad("amount", "amount is empty (write 0 to cancel a computed line)")
        elif parsed.dong is None:
            bad("amount", f"amount {text['amount']!r} is not a number ({parsed.problem})")
        elif parsed.ambiguous:
            bad(
                "amount",
                f"amount {text['amount']!r} reads differently in vi-VN and en-US "
                "notation; write it without thousands separators",
            )
        elif parsed.dong < 0:
            bad("amount", "amount must not be negative: the kind column says decrease or increase")
        elif not text["reason"]:
            bad("reason", "an override needs a reason")
        elif not text["approver"]:
            bad("approver", "an override needs the approver's name")
        else:
            if parsed.problem:
                bad("amount", f"amount {text['amount']!r}: {parsed.problem}", "warning")
            out.append(
                OverrideRow(
                    str(path),
                    sheet,
                    i,
                    text["project_code"],
                    text["capital_source"],
                    kind,
                    int(parsed.dong),
                    text["reason"],
                    text["approver"],
                    letters,
                    text.get("project_name", ""),
                )
            )
    return out, issues


def _pos_of(line: ProposalLine, where: dict) -> int:
    return where[(line.source.file, line.source.sheet, line.source.row)]


def _problem(
    ov: OverrideRow,
    pos: int,
    recv: pd.DataFrame,
    flagged: bool,
    plan_dong: int,
    disbursed: int,
    cross_in: int,
    other: ProposalLine | None,
) -> tuple[str, str] | None:
    """(code, message) when the row breaks a line limit, else None."""
    if ov.amount_dong > 0 and other is not None and other.amount_dong > 0:
        return (
            "OVERRIDE-LIMIT",
            f"the line already has a {other.kind} in this proposal; set that to 0 first",
        )
    if ov.kind == "decrease":
        if plan_dong - ov.amount_dong < disbursed:
            return (
                "OVERRIDE-LIMIT",
                f"plan after ({plan_dong - ov.amount_dong:,} đồng) would "
                f"be below disbursed to date ({disbursed:,} đồng)",
            )
        return None
    if ov.amount_dong == 0:
        return None
    if flagged:
        return ("OVERRIDE-LIMIT", "the line is flagged for recall in this round")
    if not recv["eligible"].iat[pos]:
        reason = recv["ineligible_reason"].iat[pos]
        why = "no stated need" if pd.isna(reason) else INELIGIBLE_TEXT[reason]
        return ("OVERRIDE-LIMIT", f"the line cannot receive capital: {why}")
    cap = int(recv["cap_dong"].iat[pos])
    if ov.amount_dong + cross_in > cap:
        return (
            "OVERRIDE-LIMIT",
            f"above the line's cap of {cap:,} đồng "
            f"({recv['cap_basis'].iat[pos]}, less {cross_in:,} from other pools)",
        )
    return None


def apply_overrides(
    proposal: Proposal,
    plan: pd.DataFrame,
    rows: list[OverrideRow],
    policy_alloc: AllocationPolicy,
    priority: PriorityList | str = "by_year",
    *,
    year: int,
    priority_folder=None,
) -> tuple[Proposal, list[Issue]]:
    """The proposal with every valid override applied, and an issue per rejected row."""
    if isinstance(priority, str):
        priority = resolve_priority(priority, year, priority_folder)
    plan = plan.iloc[sort_order(plan)]
    pools = pool_keys(plan, policy_alloc.pool_by)
    recv, _ = receivers(plan, policy_alloc, priority)
    records = Rows(plan, _LINE_COLUMNS)
    where = {
        (str(f), str(s), int(r)): pos
        for pos, (f, s, r) in enumerate(
            zip(
                plan["file"].to_numpy(dtype=object),
                plan["sheet"].to_numpy(dtype=object),
                plan["row"].to_numpy(),
                strict=True,
            )
        )
    }
    codes = plan["project_code"].astype("string").fillna("").str.strip().to_numpy(dtype=object)
    names = plan["project_name"].astype("string").fillna("").map(fold).to_numpy(dtype=object)
    ids = plan["capital_source"].astype("string").fillna("").map(fold).to_numpy(dtype=object)
    labels = (
        plan["capital_source_label"].astype("string").fillna("").map(fold).to_numpy(dtype=object)
        if "capital_source_label" in plan
        else ids
    )
    flagged = plan["flagged"].to_numpy(dtype=bool, na_value=False)
    lines: dict[tuple[int, str], ProposalLine] = {}  # own-pool decreases and increases
    cross: list[ProposalLine] = []
    for line in (*proposal.decreases, *proposal.increases):
        pos = _pos_of(line, where)
        if line.kind == "increase" and line.pool != pools[pos]:
            cross.append(line)
        else:
            lines[(pos, line.kind)] = line
    balance: dict[str, int] = {}
    for line in (*lines.values(), *cross):
        sign = 1 if line.kind == "decrease" else -1
        balance[line.pool] = balance.get(line.pool, 0) + sign * line.amount_dong
    cross_in: dict[int, int] = {}
    for line in cross:
        pos = _pos_of(line, where)
        cross_in[pos] = cross_in.get(pos, 0) + line.amount_dong

    issues: list[Issue] = []
    seen: dict[tuple[int, str], int] = {}
    resolved = []
    for ov in rows:
        source = fold(ov.capital_source)
        same = (
            (codes == ov.project_code)
            if ov.project_code
            else ((codes == "") & (names == fold(ov.project_name)))
        )  # a code-less line: by its name
        hits = np.flatnonzero(same & ((ids == source) | (labels == source)))
        if len(hits) != 1:
            what = "no line" if not len(hits) else f"{len(hits)} lines"
            named = (
                f"project code {ov.project_code}"
                if ov.project_code
                else f'no project code and the name "{ov.project_name}"'
            )
            issues.append(
                ov.issue(
                    "OVERRIDE-LINE-NOT-FOUND" if not len(hits) else "OVERRIDE-LINE-AMBIGUOUS",
                    f"{what} with {named} and capital source {ov.capital_source!r} in the plan",
                    "project_code",
                )
            )
            continue
        pos = int(hits[0])
        if (pos, ov.kind) in seen:
            issues.append(
                ov.issue(
                    "OVERRIDE-DUPLICATE",
                    f"row {seen[(pos, ov.kind)]} already overrides the {ov.kind} of this line",
                    "project_code",
                )
            )
            continue
        seen[(pos, ov.kind)] = ov.row
        current = lines[(pos, ov.kind)].amount_dong if (pos, ov.kind) in lines else 0
        frees = ov.amount_dong >= current if ov.kind == "decrease" else ov.amount_dong <= current
        resolved.append((0 if frees else 1, ov, pos))
    applied = 0
    for _, ov, pos in sorted(resolved, key=lambda x: x[0]):  # stable: file order in each group
        row, pool, key = records[pos], pools[pos], (pos, ov.kind)
        other = (pos, "increase" if ov.kind == "decrease" else "decrease")
        current = lines[key].amount_dong if key in lines else 0
        plan_dong, disbursed = int(row["plan_dong"]), int(row["disbursed_dong"])
        delta = ov.amount_dong - current
        problem = _problem(
            ov, pos, recv, flagged[pos], plan_dong, disbursed, cross_in.get(pos, 0), lines.get(other)
        )
        if problem is None:
            after = balance.get(pool, 0) + (delta if ov.kind == "decrease" else -delta)
            if after < 0:
                problem = (
                    "OVERRIDE-POOL-OVERDRAWN",
                    f"pool {pool} would allocate {-after:,} "
                    "đồng more than it recalls; lower an increase or raise a decrease",
                )
        if problem:
            issues.append(ov.issue(*problem, field="amount"))
            continue
        balance[pool] = balance.get(pool, 0) + (delta if ov.kind == "decrease" else -delta)
        mark = {"reason": ov.reason, "approver": ov.approver, "file": ov.file, "row": ov.row}
        if key in lines:
            old = lines[key]
            after_plan = plan_dong - ov.amount_dong if ov.kind == "decrease" else (plan_dong + ov.amount_dong)
            lines[key] = dataclasses.replace(
                old, amount_dong=ov.amount_dong, plan_after_dong=after_plan, override=mark
            )
        else:
            tier = int(recv["tier"].iat[pos])
            new = _line(
                records,
                pos,
                ov.kind,
                ov.amount_dong,
                "MANUAL_ADJUSTMENT",
                pool,
                priority.tiers[tier].id if ov.kind == "increase" and tier >= 0 else None,
            )
            lines[key] = dataclasses.replace(new, override=mark)
        applied += 1
        issues.append(
            issue(
                "OVERRIDE-APPLIED",
                ov.file,
                ov.sheet,
                ov.row,
                ov.columns.get("amount"),
                f"{ov.kind} of {ov.label} ({pool}) set to "
                f"{ov.amount_dong:,} đồng (computed: {current:,}); approved by "
                f"{ov.approver}",
                kind=ov.kind,
                line=ov.label,
                amount=format_trieu(ov.amount_dong),
                computed=format_trieu(current),
                approver=ov.approver,
            )
        )
    tier_of = recv["tier"].to_numpy()
    kept = [(pos, x) for (pos, _), x in lines.items() if x.amount_dong > 0]
    decreases = tuple(
        x for _, x in sorted(((p, x) for p, x in kept if x.kind == "decrease"), key=lambda t: t[0])
    )
    increases = [(x.pool, int(tier_of[p]), p, x) for p, x in kept if x.kind == "increase"]
    increases += [(x.pool, int(tier_of[_pos_of(x, where)]), _pos_of(x, where), x) for x in cross]
    increases.sort(key=lambda t: t[:3])
    inc = tuple(t[3] for t in increases)
    policy = dict(proposal.policy)
    policy["overrides"] = {"rows": len(rows), "applied": applied, "rejected": len(rows) - applied}
    return Proposal(build_pools(decreases, inc), decreases, inc, policy), issues


def overrides_for_round(
    proposal: Proposal, plan: pd.DataFrame, path: str | Path, rnd, *, year: int, issues: list | None = None
) -> Proposal:
    """Read `path` and apply it with the round's reallocation block; issues are appended."""
    alloc = (
        AllocationPolicy.from_dict(rnd.reallocation, f"round {rnd.id}.reallocation")
        if rnd.reallocation
        else AllocationPolicy()
    )
    rows, problems = read_overrides(path)
    result, rejected = apply_overrides(proposal, plan, rows, alloc, alloc.priority, year=year)
    if issues is not None:
        issues.extend(problems + rejected)
    return result
