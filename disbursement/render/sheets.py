"""One layout for the officer's working sheets: readable on screen and when printed.

Column widths come from the content (capped; only a column whose text is longer than the cap
wraps), header rows repeat on every printed page, panes freeze below the header, an auto-filter
covers the table, and pages are landscape A4 fitted to the width (never squeezed onto one page).
Money cells hold đồng-exact triệu values with three decimals; rates are percent numbers, stored
already truncated so a spreadsheet's display rounding cannot lift 49,996 % to 50,00 %.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from dataclasses import dataclass

from disbursement.money import format_trieu, trieu_float

HEADER_ROW = 3
MAX_TEXT_WIDTH = 34
A4_WIDTH = 150  # characters of column width that still print legibly on landscape A4
MIN_WIDTH = 6


@dataclass(frozen=True, slots=True)
class SheetStyle:
    unit: str
    font: str = "Times New Roman"
    paper: int = 9  # A4; a table wider than A4_WIDTH prints on A3


def _shown(value, is_money: bool, is_percent: bool) -> str:
    if value is None:
        return ""
    if is_money and isinstance(value, int):
        return format_trieu(value)
    if is_percent and isinstance(value, float):
        return f"{value * 100:.2f} %"
    return str(value)


def column_widths(
    headers: list[str],
    rows: list[list],
    money: AbstractSet[int],
    percent: AbstractSet[int],
    nowrap: AbstractSet[int] = frozenset(),
) -> list[tuple[int, bool]]:
    """(width, wraps) per column: the longest shown value, capped; headers wrap on words."""
    out = []
    for c, header in enumerate(headers):
        longest = max((len(_shown(row[c], c in money, c in percent)) for row in rows), default=0)
        word = max((len(w) for w in header.split()), default=0)
        width = max(longest, word, MIN_WIDTH) + 2
        if c in nowrap:
            out.append((width, False))
        else:
            out.append((min(width, MAX_TEXT_WIDTH), width > MAX_TEXT_WIDTH))
    return out


def write_sheet(
    book,
    name: str,
    title: str,
    subtitle: str,
    headers: list[str],
    rows: list[list],
    style: SheetStyle,
    *,
    money: AbstractSet[int] = frozenset(),
    percent: AbstractSet[int] = frozenset(),
    nowrap: AbstractSet[int] = frozenset(),
    total_last: bool = False,
):
    """Add one formatted table sheet to an xlsxwriter `book`; money given as integer đồng."""
    sheet = book.add_worksheet(name[:31])
    base = {"font_name": style.font, "font_size": 11, "valign": "top"}

    def fmt(**extra):
        return book.add_format({**base, **extra})

    bold = fmt(bold=True, font_size=12)
    head = fmt(bold=True, border=1, align="center", valign="vcenter", text_wrap=True, bg_color="#DDEBF7")
    widths = column_widths(headers, rows, money, percent, nowrap)
    plain = {True: fmt(border=1, text_wrap=True), False: fmt(border=1)}
    money_fmt = fmt(border=1, num_format="#,##0.000")
    pct_fmt = fmt(border=1, num_format="0.00%")
    total_extra = {"bold": True, "bg_color": "#F2F2F2"}
    totals = {
        "text": fmt(border=1, **total_extra),
        "money": fmt(border=1, num_format="#,##0.000", **total_extra),
        "pct": fmt(border=1, num_format="0.00%", **total_extra),
    }
    sheet.write_string(0, 0, title, bold)
    sheet.write_string(1, 0, subtitle)
    sheet.write_string(2, max(len(headers) - 1, 0), style.unit)
    header_lines = 1
    for c, (header, (width, _)) in enumerate(zip(headers, widths, strict=True)):
        sheet.set_column(c, c, width)
        sheet.write_string(HEADER_ROW, c, header, head)
        header_lines = max(header_lines, -(-len(header) // max(width - 2, 1)))
    sheet.set_row(HEADER_ROW, 15 * header_lines + 3)
    last = len(rows) - 1
    for r, row in enumerate(rows):
        is_total = total_last and r == last
        lines = max(
            (
                -(-len(str(value)) * 10 // max(widths[c][0] * 11, 1))
                for c, value in enumerate(row)
                if widths[c][1] and isinstance(value, str)
            ),
            default=1,
        )
        if lines > 1:  # spreadsheets do not grow a row for wrapped text written by a program
            sheet.set_row(HEADER_ROW + 1 + r, 15 * lines)
        for c, value in enumerate(row):
            at = HEADER_ROW + 1 + r
            if value is None:
                sheet.write_blank(at, c, None, totals["text"] if is_total else plain[False])
            elif c in money and isinstance(value, int):
                sheet.write_number(at, c, trieu_float(value), totals["money"] if is_total else money_fmt)
            elif c in percent and isinstance(value, float):
                sheet.write_number(at, c, value, totals["pct"] if is_total else pct_fmt)
            elif isinstance(value, int | float):
                sheet.write_number(at, c, value, totals["text"] if is_total else plain[False])
            else:
                sheet.write_string(at, c, str(value), totals["text"] if is_total else plain[widths[c][1]])
    sheet.freeze_panes(HEADER_ROW + 1, 0)
    sheet.autofilter(HEADER_ROW, 0, HEADER_ROW + max(len(rows), 1), len(headers) - 1)
    sheet.set_landscape()
    wide = sum(width for width, _ in widths) > A4_WIDTH
    sheet.set_paper(8 if wide else style.paper)  # 8 = A3 for a wide register
    sheet.repeat_rows(HEADER_ROW)
    sheet.fit_to_pages(1, 0)  # one page wide, as many pages tall as the rows need
    sheet.set_margins(left=0.5, right=0.5, top=0.6, bottom=0.6)
    sheet.set_footer("&C&P / &N")
    return sheet
