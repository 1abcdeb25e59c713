"""`phu_luc.xlsx`: the appendix of decreases and increases (xlsxwriter).

Layout (domain.md §3): title block, unit line, a two-row merged header, a column-ordinal row,
then TỔNG SỐ → capital source (I, II, …) → a) decreases / b) increases → project lines. Amounts
are triệu đồng (đồng ÷ 10⁶, so exact to the đồng), shown with three decimals. Every total, every
rate and every "plan after" is a live formula that also carries its computed value, so viewers
that do not recalculate show the right figure; a rate is truncated to the hundredths shown
(never rounded up to a threshold), in the formula as in the stored value. All text goes through
`write_string`: a project name starting with "=" is text, never a formula.
Only the proposal's lines are listed.
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass, field
from typing import Any

from disbursement.errors import cell_ref
from disbursement.model import ProposalLine, RunResult
from disbursement.money import format_pct, rate_scaled
from disbursement.render.env import override_text, reason_text, roman, short_date

# Columns: A STT, B name, C investor, D code, E plan, F disbursed, G rate, H decrease,
# I increase, J plan after, K note.
PLAN, DISB, RATE, DEC, INC, AFTER, NOTE = 4, 5, 6, 7, 8, 9, 10
MONEY_COLS = (PLAN, DISB, DEC, INC, AFTER)
LAST_COL = NOTE
WIDTHS = (6, 46, 28, 11, 14, 14, 9, 14, 14, 14, 38)
HEADER_TOP = 4  # 0-based rows 4–5 header, 6 ordinals, 7 TỔNG SỐ
XLSX_STRMAX = 32767


@dataclass
class _Row:
    kind: str  # total | group | subgroup | line
    stt: str
    name: str
    sums: dict[int, int] = field(default_factory=dict)  # column → đồng
    line: ProposalLine | None = None
    children: list[_Row] = field(default_factory=list)
    note: str = ""
    index: int = -1  # 0-based sheet row


def _trieu(dong: int) -> float:
    from disbursement.money import trieu_float

    return trieu_float(int(dong))


def rate_formula(disbursed: str, plan: str) -> str:
    """The rate cell's formula: the amounts back in whole đồng (ROUND of triệu × 10⁶, exact),
    then TRUNC of the hundredths, so a spreadsheet shows the truncated rate of
    :func:`~disbursement.money.rate_scaled` (49,996 % reads 49,99, never 50,00) and a float
    quotient such as 0,5 stored as 0,49999… does not lose a hundredth."""
    return f"=IF({plan}=0,0,TRUNC(ROUND({disbursed}*1000000,0)*10000/ROUND({plan}*1000000,0))/100)"


def rate_cell_value(disbursed_dong: int, plan_dong: int) -> float:
    """The value stored beside :func:`rate_formula`: the same truncated hundredths, ÷ 100."""
    return (rate_scaled(disbursed_dong, plan_dong) or 0) / 100


def _height(texts: dict[int, str]) -> float:
    """Row height (pt) fitting wrapped text: viewers do not grow rows written by xlsxwriter."""
    lines = 1
    for col, text in texts.items():
        per_line = max(1, int(WIDTHS[col] * 1.05))  # Times New Roman with diacritics, as rendered
        lines = max(lines, sum(-(-max(1, len(part)) // per_line) for part in text.split("\n")))
    return 15.0 * min(lines, 27)


def _text(value) -> str:
    return "" if value is None else str(value)[:XLSX_STRMAX]


def _tree(result: RunResult, words, lang: str, templates_dir, tiers: dict[str, str]) -> _Row:
    rnd = result.round
    proposal = result.proposal
    assert proposal is not None, "the appendix is written only for a run with a proposal"
    total = _Row("total", "", words.total)
    groups: dict[str, _Row] = {}
    label_of = {pool.capital_source: pool.capital_source_label for pool in proposal.pools}
    unallocated: dict[str, int] = {}
    for pool in proposal.pools:
        unallocated[pool.capital_source] = unallocated.get(pool.capital_source, 0) + pool.unallocated_dong
    parts = (
        ("decrease", words.decreases, proposal.decreases),
        ("increase", words.increases, proposal.increases),
    )
    in_lines = [ln.capital_source for _, _, lines in parts for ln in lines]
    for source in dict.fromkeys([*label_of, *in_lines]):
        if source not in in_lines:
            continue
        group = _Row("group", "", label_of.get(source, source))
        groups[source] = group
        for letter, (kind, label, lines) in zip("ab", parts, strict=True):
            mine = [ln for ln in lines if ln.capital_source == source]
            if not mine:
                continue
            sub = _Row("subgroup", f"{letter})", label)
            for number, ln in enumerate(mine, start=1):
                if kind == "decrease":
                    details: dict[str, Any] = {
                        "as_of": short_date(rnd.as_of),
                        "rate": format_pct(ln.disbursed_dong, ln.plan_dong),
                    }
                    if rnd.threshold_pct is not None:
                        details["threshold"] = rnd.threshold_pct
                else:
                    details = {"tier": tiers[ln.tier]} if ln.tier in tiers else {}
                note = reason_text(ln.reason, lang, templates_dir=templates_dir, **details)
                if ln.override:
                    note += "; " + override_text(ln.override, lang, templates_dir=templates_dir)
                sub.children.append(
                    _Row(
                        "line",
                        str(number),
                        ln.project_name,
                        line=ln,
                        note=note,
                        sums={
                            PLAN: ln.plan_dong,
                            DISB: ln.disbursed_dong,
                            DEC: ln.amount_dong if kind == "decrease" else 0,
                            INC: ln.amount_dong if kind == "increase" else 0,
                            AFTER: ln.plan_after_dong,
                        },
                    )
                )
            group.children.append(sub)
        if unallocated.get(source):
            from disbursement.render.env import number_filters

            amount = number_filters(lang)["trieu"](unallocated[source])
            group.note = str(words.unallocated(amount, source)).strip()
        total.children.append(group)
    for number, group in enumerate(total.children, start=1):
        group.stt = roman(number)

    def add_up(row: _Row) -> None:
        for child in row.children:
            if child.kind != "line":
                add_up(child)
        if row.kind != "line":
            row.sums = {col: sum(c.sums[col] for c in row.children) for col in MONEY_COLS}

    add_up(total)
    return total


def write_appendix(
    result: RunResult,
    path: str | os.PathLike,
    *,
    words,
    lang: str,
    date: dt.date,
    author: str,
    templates_dir=None,
    tiers: dict[str, str] | None = None,
    summaries: tuple[str, ...] = (),
) -> None:
    import xlsxwriter

    workbook = xlsxwriter.Workbook(
        str(path),
        {
            "in_memory": True,
            "strings_to_formulas": False,
            "strings_to_numbers": False,
            "strings_to_urls": False,
        },
    )
    stamp = dt.datetime(date.year, date.month, date.day, 8, 0, 0)
    workbook.set_properties({"title": str(words.title), "author": author, "created": stamp})
    sheet = workbook.add_worksheet(str(words.sheet_name)[:31])
    base = {"font_name": "Times New Roman", "font_size": 11, "valign": "vcenter"}

    def fmt(**extra):
        return workbook.add_format({**base, **extra})

    cell = {"border": 1, "text_wrap": True}
    f_title = fmt(bold=True, font_size=13, align="center")
    f_sub = fmt(italic=True, font_size=12, align="center", text_wrap=True)
    f_unit = fmt(italic=True, align="right")
    f_head = fmt(bold=True, align="center", **cell)
    f_ord = fmt(italic=True, align="center", font_size=9, **cell)
    styles = {
        "total": {"bold": True},
        "group": {"bold": True},
        "subgroup": {"bold": True, "italic": True},
        "line": {},
    }
    f_text = {k: fmt(**v, **cell) for k, v in styles.items()}
    f_center = {k: fmt(**v, align="center", **cell) for k, v in styles.items()}
    f_money = {k: fmt(**v, num_format="#,##0.000", **cell) for k, v in styles.items()}
    f_rate = {k: fmt(**v, num_format="0.00", **cell) for k, v in styles.items()}

    for col, width in enumerate(WIDTHS):
        sheet.set_column(col, col, width)
    sheet.merge_range(0, 0, 0, LAST_COL, _text(words.label), f_title)
    sheet.merge_range(1, 0, 1, LAST_COL, _text(words.title), f_title)
    sheet.merge_range(2, 0, 2, LAST_COL, _text(words.subtitle), f_sub)
    sheet.merge_range(3, AFTER, 3, LAST_COL, _text(words.unit), f_unit)
    top, low = HEADER_TOP, HEADER_TOP + 1
    for col, key in (
        (0, "h_stt"),
        (1, "h_name"),
        (2, "h_investor"),
        (3, "h_code"),
        (PLAN, "h_plan"),
        (AFTER, "h_after"),
        (NOTE, "h_note"),
    ):
        sheet.merge_range(top, col, low, col, _text(getattr(words, key)), f_head)
    sheet.merge_range(top, DISB, top, RATE, _text(words.h_disbursed), f_head)
    sheet.write_string(low, DISB, _text(words.h_disbursed_amount), f_head)
    sheet.write_string(low, RATE, _text(words.h_rate), f_head)
    sheet.merge_range(top, DEC, top, INC, _text(words.h_adjust), f_head)
    sheet.write_string(low, DEC, _text(words.h_decrease), f_head)
    sheet.write_string(low, INC, _text(words.h_increase), f_head)
    sheet.set_row(top, 30)
    sheet.set_row(low, 30)
    for col, ordinal in enumerate(words.ordinals):
        sheet.write_string(low + 1, col, _text(ordinal), f_ord)

    tree = _tree(result, words, lang, templates_dir, tiers or {})
    rows: list[_Row] = []

    def place(row: _Row) -> None:
        row.index = HEADER_TOP + 3 + len(rows)
        rows.append(row)
        for child in row.children:
            place(child)

    place(tree)
    for row in rows:
        kind = row.kind
        sheet.write_string(row.index, 0, row.stt, f_center[kind])
        sheet.write_string(row.index, 1, _text(row.name), f_text[kind])
        line = row.line
        sheet.write_string(row.index, 2, _text(line.investor if line else ""), f_text[kind])
        sheet.write_string(row.index, 3, _text(line.project_code if line else ""), f_center[kind])
        for col in MONEY_COLS:
            value = _trieu(row.sums[col])
            if kind == "line" and col in (PLAN, DISB, DEC, INC):
                if col in (DEC, INC) and row.sums[col] == 0:
                    sheet.write_blank(row.index, col, None, f_money[kind])
                else:
                    sheet.write_number(row.index, col, value, f_money[kind])
                continue
            if kind == "line":  # AFTER: plan − decrease + increase
                r = row.index
                formula = f"={cell_ref(r, PLAN)}-{cell_ref(r, DEC)}+{cell_ref(r, INC)}"
            elif kind == "subgroup":
                first, last = row.children[0].index, row.children[-1].index
                formula = f"=SUM({cell_ref(first, col)}:{cell_ref(last, col)})"
            else:
                formula = "=" + "+".join(cell_ref(child.index, col) for child in row.children)
            sheet.write_formula(row.index, col, formula, f_money[kind], value)
        r = row.index
        plan, disb = row.sums[PLAN], row.sums[DISB]
        sheet.write_formula(
            r,
            RATE,
            rate_formula(cell_ref(r, DISB), cell_ref(r, PLAN)),
            f_rate[kind],
            rate_cell_value(disb, plan),
        )
        sheet.write_string(r, NOTE, _text(row.note), f_text[kind])
        texts = {1: _text(row.name), NOTE: _text(row.note)}
        if line is not None:
            texts[2] = _text(line.investor)
        sheet.set_row(r, _height(texts))

    sheet.freeze_panes(HEADER_TOP + 3, 2)
    sheet.set_landscape()
    sheet.set_paper(9)  # A4
    sheet.set_margins(left=0.4, right=0.3, top=0.5, bottom=0.5)
    sheet.center_horizontally()
    sheet.repeat_rows(HEADER_TOP, HEADER_TOP + 2)
    sheet.fit_to_pages(1, 0)
    sheet.set_footer("&C&P/&N")
    if summaries:  # the settings ask for the per-investor / per-area sheets here too
        from disbursement.render.env import environment
        from disbursement.render.register import register_lines, register_words, write_summaries

        write_summaries(
            workbook,
            register_lines(result),
            register_words(environment(templates_dir), result, lang),
            summaries,
        )
    workbook.close()
