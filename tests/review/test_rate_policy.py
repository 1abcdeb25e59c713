"""One rate display policy (truncation, decided in integers) across every output.

Invariant (docs/rules.md, R-CALC-4): no output shows a rate at or above the threshold for a line
flagged below it (`disbursed*100 < threshold*plan`), and every output shows the same digits.
"""

from __future__ import annotations

import json
import math

import numpy as np
import openpyxl
from click.testing import CliRunner
from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement.cli import cli
from disbursement.money import format_pct, format_rates, rate_scaled, trieu_float
from disbursement.render.appendix import rate_cell_value
from disbursement.render.register import rate_fraction, rate_hundredths
from tests.conftest import line
from tests.fixtures_builder import build_official

PLANS = st.integers(min_value=1, max_value=10**15)


def _shown(text: str) -> int:
    """Hundredths of a vi-VN rate text ("1.234,56" → 123456)."""
    return int(text.replace(".", "").replace(",", ""))


def _spreadsheet_formula(disbursed: int, plan: int) -> float:
    """The appendix formula evaluated as a spreadsheet does (IEEE doubles):
    TRUNC(ROUND(F*10^6,0)*10000/ROUND(E*10^6,0))/100 over the triệu cells."""
    f, e = trieu_float(disbursed), trieu_float(plan)
    return math.trunc(round(f * 1_000_000) * 10_000 / round(e * 1_000_000)) / 100


@settings(max_examples=400, deadline=None)
@given(plan=PLANS, threshold=st.integers(min_value=1, max_value=100), data=st.data())
def test_a_line_below_the_threshold_never_shows_the_threshold(plan, threshold, data):
    # Disbursed just below the fence is where rounding would betray the decision.
    fence = -(-threshold * plan // 100)  # smallest disbursed that is not below
    disbursed = data.draw(st.one_of(st.integers(max(0, fence - 3), fence + 2), st.integers(0, 2 * plan)))
    flagged = disbursed * 100 < threshold * plan
    scaled = rate_scaled(disbursed, plan)
    texts = [format_pct(disbursed, plan), format_rates(np.array([disbursed]), np.array([plan]))[0]]
    assert {_shown(t) for t in texts} == {scaled}
    assert rate_hundredths(texts[1]) == scaled  # register / flags.xlsx read the same text back
    assert rate_cell_value(disbursed, plan) == scaled / 100  # appendix stored value
    assert rate_fraction(scaled) == scaled / 10_000  # register / flags.xlsx percent cell
    if flagged:
        assert scaled < threshold * 100
        assert rate_cell_value(disbursed, plan) < threshold
    else:
        assert scaled >= threshold * 100
    # Truncation: the shown rate is at most the true rate and within one hundredth of it.
    assert scaled * plan <= disbursed * 10_000 < (scaled + 1) * plan


@settings(max_examples=400, deadline=None)
@given(plan=st.integers(min_value=1, max_value=10**12), data=st.data())
def test_the_appendix_formula_computes_the_stored_value(plan, data):
    """Exact while 10⁴·disbursed fits a double's 53 bits (disbursed < 9·10¹¹ đồng a row)."""
    disbursed = data.draw(
        st.one_of(
            st.integers(0, min(2 * plan, 9 * 10**11)),
            st.integers(0, 12_000).map(lambda h: h * plan // 10_000).filter(lambda d: d <= 9 * 10**11),
        )
    )
    assert _spreadsheet_formula(disbursed, plan) == rate_cell_value(disbursed, plan)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(st.integers(-(10**15), 10**15), st.integers(-5, 10**13)).map(
            lambda x: x if x[1] % 3 else (x[1] * 7 // 20, x[1])  # shared rates, like a round's
        ),
        max_size=40,
    )
)
def test_a_column_of_rates_is_each_lines_rate(lines):
    """`format_rates` writes each distinct rate once: every line still shows its own."""
    disbursed = np.array([d for d, _ in lines], dtype=np.int64)
    plan = np.array([p for _, p in lines], dtype=np.int64)
    assert format_rates(disbursed, plan) == [format_pct(d, p) if p > 0 else "" for d, p in lines]


def test_negative_and_undefined_rates():
    assert format_pct(-1, 800) == "-0,12"  # toward zero, like TRUNC
    assert format_rates(np.array([5, -5, 499_960]), np.array([0, 800, 1_000_000])) == ["", "-0,62", "49,99"]
    assert rate_scaled(5, 0) is None and format_pct(5, 0) == ""


def test_every_output_of_a_review_shows_the_truncated_rate(tmp_path):
    """A line at 49,996 % of its plan reads 49,99 in the terminal, the JSON, flags.xlsx/csv,
    the memo, the appendix and the register; the old rounding showed 50,00 in three of them."""
    lines = [
        line(
            "7900001",
            "Đường Chiềng Lương – Nà Sản, huyện Mai Sơn",
            plan="1.000",
            disbursed="499,96",
            expected_dong="700",
        ),
        line(
            "7900002",
            "Trường THCS xã Mường Bú, huyện Mường La",
            plan="1.000",
            disbursed="900",
            extra_need_dong="300",
        ),
    ]
    (src,) = build_official(tmp_path, lines)
    out = tmp_path / "out"
    runner = CliRunner()
    shown = runner.invoke(cli, ["review", str(src), "--round", "1", "--out", str(out), "--no-audit"])
    assert shown.exit_code == 0, shown.output
    assert "49,99%" in shown.output and "50,00%" not in shown.output
    done = runner.invoke(cli, ["review", str(src), "--round", "1", "--json", "--no-audit"])
    payload = json.loads(done.output)
    (flag,) = payload["flags"]
    assert flag["rate_pct"] == "49,99"
    assert "49,99%" in flag["reason_text"]
    csv_text = (out / "flags.csv").read_text(encoding="utf-8-sig")
    assert "49,99" in csv_text and "50,00" not in csv_text
    flags_sheet = openpyxl.load_workbook(out / "flags.xlsx").active
    rates = [
        c.value
        for row in flags_sheet.iter_rows()
        for c in row
        if isinstance(c.value, float) and c.number_format.endswith("%")
    ]
    assert rates == [0.4999]
    appendix = openpyxl.load_workbook(out / "phu_luc.xlsx", data_only=True).active
    cells = {c.value for row in appendix.iter_rows(min_row=8) for c in row}
    assert 49.99 in cells and 50.0 not in cells
    assert any(isinstance(v, str) and "49,99%" in v for v in cells)
    memo = (out / "to_trinh.md").read_text(encoding="utf-8")
    # the memo cites rates of totals: 1.399,96 of 2.000 triệu is 69,998 %, truncated to 69,99
    assert "69,99%" in memo and "70,00" not in memo
    assert payload["summary"]["rate_pct"] == "69,99"
    register = openpyxl.load_workbook(out / "so_theo_doi.xlsx").worksheets
    shown = [
        c.value
        for sheet in register
        for row in sheet.iter_rows()
        for c in row
        if isinstance(c.value, float) and c.number_format.endswith("%") and c.value < 0.5
    ]
    assert 0.4999 in shown
