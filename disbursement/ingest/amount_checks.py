"""Checks of a sheet's amount cells, for `normalize.normalise_sheet`: merged money cells,
formula cells saved without a result, unreadable or doubtful amounts, and group rows whose
stated totals differ from the sum of their project rows. Each finding is an issue record."""

from __future__ import annotations

import numpy as np

from disbursement.config.issues import issue
from disbursement.errors import column_letter
from disbursement.model import MONEY_COLUMNS
from disbursement.money import format_trieu

GROUP_CLASSES = ("total", "source_group", "status_group", "sector_group")


def report_merged_money(merged, layout, is_line, first_row, report) -> None:
    """An amount merged over several lines is read once, on its first row (AMOUNT-MERGED)."""
    start = first_row - 1
    for canonical in MONEY_COLUMNS:
        k = layout.columns.get(canonical)
        if k is None:
            continue
        for r0, c0, r1, c1 in merged:
            blank = [r + 1 for r in range(r0 + 1, r1 + 1) if r - start < len(is_line) and is_line[r - start]]
            if not c0 <= k <= c1 or not blank:
                continue
            cells = f"{column_letter(c0)}{r0 + 1}:{column_letter(c1)}{r1 + 1}"
            shown = ", ".join(map(str, blank[:10])) + (" …" if len(blank) > 10 else "")
            report(
                "AMOUNT-MERGED",
                r0 + 1,
                canonical,
                f"the amount is merged over rows {r0 + 1}–{r1 + 1} ({cells}): it is read once, "
                f"on row {r0 + 1}, and row {shown} reads as blank; unmerge it and give each "
                "line its own figure",
            )


def fill_formulas(sheet, col, data_start, unit_dong, amounts, was_blank) -> list:
    """Compute formula cells saved without a result; the others become problems, never 0."""
    from disbursement.ingest.formulas import Evaluator

    evaluator = Evaluator(sheet.cells, sheet.uncached, unit_dong)
    problems = []
    for (row0, col0), formula in sheet.uncached.items():
        if col0 != col or row0 < data_start or row0 - data_start >= len(amounts):
            continue
        position = row0 - data_start
        value = evaluator.value(row0, col0)
        if value is None:
            problems.append(
                (
                    position,
                    f"formula ={formula.lstrip('=') or '(shared)'} has no stored "
                    "result and cannot be computed here; open and save the file in Excel",
                )
            )
        else:
            amounts[position], was_blank[position] = value, False
    return problems


def report_cells(problems, is_line, first_row, report) -> None:
    for canonical, found in problems.items():
        for position, message in found:
            if not is_line[position]:
                continue
            required = canonical in ("plan_dong", "disbursed_dong")
            unreadable = required and not message.startswith(("fractional", "ambiguous"))
            suffix = "; line excluded from the review" if unreadable else ""
            # AMOUNT-UNREADABLE is an error, AMOUNT-DOUBTFUL a warning (rules/issues.yaml)
            report(
                "AMOUNT-UNREADABLE" if unreadable else "AMOUNT-DOUBTFUL",
                first_row + position,
                canonical,
                f"{message}{suffix}",
            )


def unparseable_required(problems, first_row) -> set[int]:
    bad = set()
    for canonical in ("plan_dong", "disbursed_dong"):
        for position, message in problems.get(canonical, []):
            if not message.startswith(("fractional", "ambiguous")):
                bad.add(first_row + position)
    return bad


def check_subtotals(classes, money, blank, is_line, first_row, layout, sheet, issues) -> None:
    """Compare each group row with the sum of the project rows under it (R-CALC-5); `classes`
    are the row classes of `rows.classify`."""
    rank: dict[str, int] = {}
    for c in classes:
        if c in GROUP_CLASSES and c not in rank:
            rank[c] = len(rank) if c != "total" else -1
    starts = [i for i, c in enumerate(classes) if c in GROUP_CLASSES]
    line_idx = np.flatnonzero(is_line)
    for i in starts:
        level = rank[classes[i]]
        end = next((j for j in starts if j > i and rank[classes[j]] <= level), len(classes))
        children = line_idx[(line_idx > i) & (line_idx < end)]
        for canonical in ("plan_dong", "disbursed_dong"):
            if canonical not in money:
                continue
            stated = int(money[canonical][i])
            summed = int(money[canonical][children].sum())
            letter = column_letter(layout.columns[canonical])
            if blank[canonical][i]:
                # A formula saved without its result that we could not compute: say so. A
                # group row simply left blank states nothing, so there is nothing to check.
                if len(children) and (layout.data_start + i, layout.columns[canonical]) in (sheet.uncached):
                    issues.append(
                        issue(
                            "SUBTOTAL-UNCHECKED",
                            sheet.file,
                            sheet.sheet,
                            first_row + i,
                            letter,
                            "group row holds a formula saved without its result that the "
                            f"engine cannot compute; its project rows sum to {format_trieu(summed)} "
                            "triệu đồng",
                        )
                    )
                continue
            if stated != summed and not (stated == 0 and len(children) == 0):
                issues.append(
                    issue(
                        "SUBTOTAL-MISMATCH",
                        sheet.file,
                        sheet.sheet,
                        first_row + i,
                        letter,
                        f"group row states {format_trieu(stated)} triệu đồng but its "
                        f"{len(children)} project rows sum to {format_trieu(summed)} "
                        f"(difference {format_trieu(stated - summed)}); flags use the project rows",
                        stated=format_trieu(stated),
                        summed=format_trieu(summed),
                        lines=len(children),
                        difference=format_trieu(stated - summed),
                    )
                )
