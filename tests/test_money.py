"""Money as exact integer đồng: units, parsing, percentage tests, display (R-PARSE-2/5, T8, T9)."""

from __future__ import annotations

import datetime as dt
import doctest
import time
import unicodedata
from decimal import Decimal
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from disbursement import money
from disbursement.money import (
    UNITS,
    ParsedAmount,
    below_pct,
    below_pct_array,
    detect_unit,
    format_dong,
    format_pct,
    format_trieu,
    infer_style,
    parse_amount,
    parse_amount_column,
    trieu_float,
)

TRIEU = UNITS["trieu"]
TY = UNITS["ty"]


def test_units():
    assert UNITS == {"dong": 1, "nghin": 1_000, "trieu": 1_000_000, "ty": 1_000_000_000}


# --- detect_unit ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("text", "unit"),
    [
        ("Đơn vị: triệu đồng", "trieu"),
        ("ĐVT: đồng", "dong"),
        ("Đơn vị tính: Triệu đồng", "trieu"),
        ("Đơn vị tính: tỷ đồng", "ty"),
        ("nghìn đồng", "nghin"),
        ("ngàn đồng", "nghin"),
        ("1.000 đồng", "nghin"),
        ("(triệu đồng)", "trieu"),
        ("Tr.đ", "trieu"),
        ("trđ", "trieu"),
        ("VNĐ", "dong"),
        ("VND", "dong"),
        ("đồng", "dong"),
        ("Don vi tinh: trieu dong", "trieu"),
        ("ĐƠN VỊ TÍNH: TRIỆU ĐỒNG", "trieu"),
        ("Đơn vị: Triệu đồng.", "trieu"),
        ("Giá trị hợp đồng (triệu đồng)", "trieu"),
        ("Kế hoạch vốn năm 2022 (tỷ đồng)", "ty"),
        ("ĐVT: Tỷ", "ty"),
        ("billion VND", "ty"),
        ("Số tiền (VNĐ)", "dong"),
        ("ĐVT: đ", "dong"),
        ("(tr.đ)", "trieu"),
        ("Đơn vị: 1.000đ", "nghin"),
    ],
)
def test_detect_unit(text, unit):
    assert detect_unit(text) == unit
    assert detect_unit(unicodedata.normalize("NFD", text)) == unit
    assert detect_unit(text.upper()) == unit


@pytest.mark.parametrize(
    "text",
    [
        "Tỷ lệ (%)",
        "Tỷ lệ giải ngân",
        "Giá trị hợp đồng",
        "Tên dự án",
        "Đồng Nai",
        "",
        "   ",
        "nghìn tỷ đồng",  # 10¹² đồng is not one of UNITS: refuse rather than say "tỷ"
        "Kế hoạch năm 2022",
        "Đơn vị trình",
        "Đơn vị đề xuất",
        "Chủ đầu tư/Đơn vị thực hiện",
    ],
)
def test_detect_no_unit(text):
    assert detect_unit(text) is None


def test_detect_unit_of_non_text():
    assert detect_unit(None) is None  # type: ignore[arg-type]


# --- parse_amount: examples ----------------------------------------------------------------
@pytest.mark.parametrize("value", [None, "", "   ", "\u00a0", "-", "–", "—", " - ", float("nan")])
def test_blank_and_dash_are_zero(value):
    assert parse_amount(value) == ParsedAmount(0, None, False)


@pytest.mark.parametrize(
    ("text", "dong"),
    [
        ("1.234.567", 1_234_567_000_000),
        ("12.345,5", 12_345_500_000),
        (" 17.410,437 ", 17_410_437_000),
        ("1\u00a0234\u00a0567", 1_234_567_000_000),
        ("1\u202f234,5", 1_234_500_000),
        ("1\u2009234\u2009567,25", 1_234_567_250_000),
        ("1,234,567.5", 1_234_567_500_000),
        ("1,234.5", 1_234_500_000),
        ("12,5", 12_500_000),
        ("12.5", 12_500_000),
        ("0,5", 500_000),
        ("0.123", 123_000),
        ("1234", 1_234_000_000),
        ("(1.234.567)", -1_234_567_000_000),
        ("-1.234.567", -1_234_567_000_000),
        ("\u22121.234.567", -1_234_567_000_000),
        ("+12,5", 12_500_000),
        ("1.5E+06", 1_500_000_000_000),
        ("0", 0),
    ],
)
def test_parse_text(text, dong):
    assert parse_amount(text) == ParsedAmount(dong, None, False)


@pytest.mark.parametrize(
    ("text", "vi_dong", "en_dong"),
    [
        ("1.234", 1_234_000_000, 1_234_000),
        ("1,234", 1_234_000, 1_234_000_000),
        ("(1.234)", -1_234_000_000, -1_234_000),
        ("-1.234", -1_234_000_000, -1_234_000),
    ],
)
def test_ambiguous_strings_default_to_vi_vn(text, vi_dong, en_dong):
    assert parse_amount(text) == ParsedAmount(vi_dong, None, True)
    assert parse_amount(text, style="vi") == ParsedAmount(vi_dong, None, False)
    assert parse_amount(text, style="en") == ParsedAmount(en_dong, None, False)


@pytest.mark.parametrize(
    ("value", "why"),
    [
        ("45,2%", "(a percentage)"),
        ("85,7 %", "(a percentage)"),
        ("#REF!", "(Excel error value)"),
        ("#DIV/0!", "(Excel error value)"),
        ("#N/A", "(Excel error value)"),
        ("#VALUE!", "(Excel error value)"),
        ("#NAME?", "(Excel error value)"),
        ("x", ""),
        ("abc", ""),
        ("Năm 2022", ""),
        ("30/06/2022", ""),
        ("QĐ 79/QĐ-UBND", ""),
        ("1.23.4", ""),
        ("1.234,", ""),
        ("0.123.456", ""),
        ("--5", ""),
        ("((5))", ""),
        ("1.234 quả", ""),
    ],
)
def test_not_an_amount(value, why):
    parsed = parse_amount(value)
    assert parsed.dong is None
    assert parsed.problem == f"not an amount: {value!r}" + (f" {why}" if why else "")


@pytest.mark.parametrize(
    "value",
    [True, False, np.bool_(True), dt.date(2022, 6, 30), dt.datetime(2022, 6, 30), object(), [1], 1j],
)
def test_other_types_are_not_amounts(value):
    parsed = parse_amount(value)
    assert parsed.dong is None
    assert parsed.problem.startswith("not an amount:")


def test_numbers_are_exact():
    assert parse_amount(17410.437).dong == 17_410_437_000
    assert parse_amount(17410.437, TY).dong == 17_410_437_000_000
    assert parse_amount(Decimal("17410.437")).dong == 17_410_437_000
    assert parse_amount(12).dong == 12_000_000
    assert parse_amount(np.int64(12)).dong == 12_000_000
    assert parse_amount(np.float64(0.1)).dong == 100_000
    assert parse_amount(-0.0).dong == 0
    assert parse_amount(5_861_264, UNITS["dong"]).dong == 5_861_264
    assert parse_amount(5_861.264, UNITS["nghin"]).dong == 5_861_264


def test_float_binary_noise_is_not_a_fraction():
    # a formula cell =0.1+0.2 holds 0.30000000000000004
    assert parse_amount(0.1 + 0.2) == ParsedAmount(300_000)
    assert parse_amount(1_234.1 + 0.2) == ParsedAmount(1_234_300_000)


def test_fractional_dong_is_rounded_half_away_from_zero():
    assert parse_amount(0.5, UNITS["dong"]) == ParsedAmount(1, "fractional đồng rounded")
    assert parse_amount(-0.5, UNITS["dong"]) == ParsedAmount(-1, "fractional đồng rounded")
    assert parse_amount(2.5, UNITS["dong"]) == ParsedAmount(3, "fractional đồng rounded")
    assert parse_amount("0,0000005") == ParsedAmount(1, "fractional đồng rounded")
    assert parse_amount("0,0000004") == ParsedAmount(0, "fractional đồng rounded")
    assert parse_amount(Decimal("1.2345674")) == ParsedAmount(1_234_567, "fractional đồng rounded")


@pytest.mark.parametrize("value", [float("inf"), float("-inf"), 1e300, 10**30, "9" * 30])
def test_out_of_range(value):
    parsed = parse_amount(value)
    assert parsed.dong is None
    assert parsed.problem


def test_unit_words_in_the_cell():
    assert parse_amount("1.234 triệu") == ParsedAmount(1_234_000_000, None, True)
    assert parse_amount("17.410,437 triệu đồng") == ParsedAmount(17_410_437_000)
    assert parse_amount("5 tỷ đồng") == ParsedAmount(
        5_000_000_000, "unit 'tỷ đồng' in the cell used instead of the column unit"
    )
    assert parse_amount("1.234.567 đ").dong == 1_234_567
    assert parse_amount("16,28 nghìn tỷ").dong == 16_280_000_000_000  # T6: 16,28 nghìn tỷ


def test_style_contradicted_by_an_unambiguous_string_is_noted():
    parsed = parse_amount("1,234,567.5", style="vi")
    assert parsed == ParsedAmount(1_234_567_500_000, "en-US number '1,234,567.5' in a vi-VN column")
    parsed = parse_amount("12.345,5", style="en")
    assert parsed == ParsedAmount(12_345_500_000, "vi-VN number '12.345,5' in an en-US column")


def test_bad_arguments_are_programming_errors():
    with pytest.raises(ValueError, match="style"):
        parse_amount("1", style="fr")
    with pytest.raises(ValueError, match="unit"):
        parse_amount("1", unit=0)
    with pytest.raises(ValueError, match="unit"):
        parse_amount("1", unit=1.5)  # type: ignore[arg-type]


# --- oracles -------------------------------------------------------------------------------
def test_t8_english_republication_trap():
    """QĐ 2471/QĐ-TTg: 77.427,175 tỷ reduced; the English copy prints "77,427,175 billion"."""
    true_dong = parse_amount("77.427,175", TY)
    assert true_dong == ParsedAmount(77_427_175_000_000)  # ≈ 77 nghìn tỷ
    printed = parse_amount("77,427,175", TY)
    assert printed == ParsedAmount(77_427_175_000_000_000)  # unambiguous en-US grouping
    assert printed.dong == 1000 * true_dong.dong  # the trap: only a magnitude check finds it
    assert infer_style(["77,427,175", "5,396,587"]) == "en"
    noted = parse_amount("77,427,175", TY, style="vi")
    assert noted.problem == "en-US number '77,427,175' in a vi-VN column"
    assert parse_amount("5.396,587", TY).dong == 5_396_587_000_000
    assert parse_amount("VND 5,396,587 billion", TY).dong == 1000 * 5_396_587_000_000


def test_t9_ubtvqh_figures():
    assert parse_amount("1.926,908", TY).dong == 1_926_908_000_000
    assert parse_amount("VND 1,926,908 billion", TY).dong == 1_926_908_000_000_000
    assert parse_amount("3.270,678", TY).dong == 3_270_678_000_000
    # "+573,092 tỷ" is ambiguous alone; the vi-VN default reads it right
    assert parse_amount("573,092", TY) == ParsedAmount(573_092_000_000, None, True)
    assert parse_amount("150", TY).dong == 150_000_000_000


def test_seed_round_oracle_499_999_vs_500_000():
    """Plan 1.000 triệu; disbursed 499,999 → below 50% (flagged); 500,000 → not below."""
    plan = parse_amount("1.000").dong
    assert plan == 1_000_000_000
    below = parse_amount("499,999", style="vi").dong
    exactly = parse_amount("500,000", style="vi").dong
    assert (below, exactly) == (499_999_000, 500_000_000)
    assert below_pct(below, plan, 50) is True
    assert below_pct(exactly, plan, 50) is False
    # the display truncates (one rate policy): a line below 50 % never reads "50,00"
    assert format_pct(below, plan) == "49,99"
    assert format_pct(exactly, plan) == "50,00"
    assert below_pct(0, plan, 60) is True


def test_t3_published_totals_do_not_add_up():
    parts = [parse_amount(v).dong for v in ("1.213.570", "3.837.535")]
    total = parse_amount("5.023.546").dong
    assert sum(parts) - total == parse_amount("27.559").dong
    assert format_pct(parse_amount("5.023.546").dong, parse_amount("5.861.264").dong, 1) == "85,7"


def test_rate_oracles():
    assert format_pct(1_297, 6_626) == "19,57"  # T2
    assert format_pct(1_297, 6_133) == "21,14"  # 21,1478…: the source rounds to 21,15; we truncate
    assert format_pct(1_872, 6_133) == "30,52"  # 30,5234…; the source prints 30,51
    assert format_pct(20_168_3, 40_300_7) == "50,04"  # T4
    assert format_pct(600_000, 6_599_735) == "9,09"  # T1


# --- infer_style ---------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("strings", "style"),
    [
        (["1.234.567", "12,5"], "vi"),
        (["1.234", "12.345,5"], "vi"),
        (["1,234,567", "1,234.5"], "en"),
        (["1.234", "1,234"], None),  # no evidence
        (["1.234.567", "1,234,567"], None),  # contradicting evidence
        (["1.234.567", "1.234.567", "1,234,567"], "vi"),  # every string counts
        (["1.234.567", "12.345,5", "12,5", "1,234,567"], "vi"),  # 3 vs 1
        (["-", "", "x", "45,2%", "#REF!"], None),
        ([1.5, None, 3], None),
        ([], None),
    ],
)
def test_infer_style(strings, style):
    assert infer_style(strings) == style


# --- parse_amount_column -------------------------------------------------------------------
def test_column_mixed_cells():
    values = [1000.5, None, "", "-", "1.234", "12.345,5", "#REF!", 7, True, "45%", 0.1 + 0.2, " "]
    amounts, blank, problems = parse_amount_column(values, TRIEU)
    assert amounts.dtype == np.int64 and blank.dtype == bool
    assert amounts.tolist() == [
        1_000_500_000,
        0,
        0,
        0,
        1_234_000_000,  # the column is vi-VN ("12.345,5"), so "1.234" is not ambiguous
        12_345_500_000,
        0,
        7_000_000,
        0,
        0,
        300_000,
        0,
    ]
    assert blank.tolist() == [False, True, True, False] + [False] * 7 + [True]
    assert problems == [
        (6, "not an amount: '#REF!' (Excel error value)"),
        (8, "not an amount: 'True'"),
        (9, "not an amount: '45%' (a percentage)"),
    ]


def test_column_flags_ambiguous_cells_without_column_evidence():
    amounts, _, problems = parse_amount_column(["1.234", "2.500", "17"], TRIEU)
    assert amounts.tolist() == [1_234_000_000, 2_500_000_000, 17_000_000]
    assert [p for p, _ in problems] == [0, 1]
    assert problems[0][1] == "ambiguous number '1.234': read as vi-VN (en-US would differ)"


def test_column_style_counts_every_occurrence():
    amounts, _, problems = parse_amount_column([".5", ".5", ",5"], TRIEU)
    assert amounts.tolist() == [500_000, 500_000, 500_000]
    assert problems == [(2, "vi-VN number ',5' in an en-US column")]


def test_column_explicit_style():
    amounts, _, problems = parse_amount_column(["1.234", "2,500", "2,5"], TRIEU, style="en")
    assert amounts.tolist() == [1_234_000, 2_500_000_000, 2_500_000]
    assert problems == [(2, "vi-VN number '2,5' in an en-US column")]


def test_column_numpy_and_tuple_input():
    arr = np.array([1.5, np.nan, 2.25])
    amounts, blank, problems = parse_amount_column(arr, TRIEU)
    assert amounts.tolist() == [1_500_000, 0, 2_250_000]
    assert blank.tolist() == [False, True, False]
    assert problems == []
    ints = np.array([1, 2, 10**17], dtype=np.int64)
    amounts, _, problems = parse_amount_column(ints, TRIEU)
    assert amounts.tolist() == [1_000_000, 2_000_000, 0]
    assert problems == [(2, "amount out of range: '100000000000000000'")]
    amounts, _, _ = parse_amount_column(("1", 2, None), UNITS["dong"])
    assert amounts.tolist() == [1, 2, 0]


def test_column_big_and_fractional_numbers_fall_back_to_exact_path():
    values = [2**53 + 1, 10**12 + 0.5, 999_999_999.999999, 0.5]
    amounts, _, problems = parse_amount_column(values, UNITS["dong"])
    assert amounts.tolist() == [2**53 + 1, 10**12 + 1, 1_000_000_000, 1]
    assert [p for p, _ in problems] == [1, 2, 3]
    amounts, _, _ = parse_amount_column([999_999_999.999999], TRIEU)
    assert amounts.tolist() == [999_999_999_999_999]


def test_column_empty():
    amounts, blank, problems = parse_amount_column([], TRIEU)
    assert amounts.shape == blank.shape == (0,)
    assert problems == []


def test_column_of_100k_numbers_is_fast():
    rng = np.random.default_rng(7)
    values = (np.round(rng.uniform(-1e6, 1e7, 100_000), 3)).tolist()
    values[::97] = [None] * len(values[::97])
    best = min(_timed(parse_amount_column, values, TRIEU) for _ in range(3))
    assert best < 0.1
    amounts, blank, problems = parse_amount_column(values, TRIEU)
    assert problems == [] and blank.sum() == len(values[::97])
    sample = list(range(0, 100_000, 1_013))
    assert amounts[sample].tolist() == [parse_amount(values[i]).dong for i in sample]


def _timed(func, *args) -> float:
    start = time.perf_counter()
    func(*args)
    return time.perf_counter() - start


# --- below_pct -----------------------------------------------------------------------------
def test_below_pct_array():
    num = np.array([499_999, 500_000, 0, 10**15], dtype=np.int64)
    den = np.array([1_000_000, 1_000_000, 0, 10**15], dtype=np.int64)
    assert below_pct_array(num, den, 50).tolist() == [True, False, False, False]
    assert below_pct_array(num, den, 101).tolist() == [True, True, False, True]


def test_below_pct_array_guards_int64_overflow():
    big = 9 * 10**17  # x100 overflows int64
    num = np.array([big - 1, big], dtype=np.int64)
    den = np.array([2 * big, 2 * big], dtype=np.int64)
    assert below_pct_array(num, den, 50).tolist() == [True, False]
    with pytest.raises(TypeError):
        below_pct_array(num, den, 50.5)  # type: ignore[arg-type]


# --- display -------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("dong", "decimals", "text"),
    [
        (17_410_437_000, 3, "17.410,437"),
        (-1_234_500_000, 3, "-1.234,500"),
        (0, 3, "0,000"),
        (-400, 3, "0,000"),
        (-500, 3, "-0,001"),
        (17_410_437_500, 3, "17.410,438"),
        (1_500_000, 0, "2"),
        (-1_500_000, 0, "-2"),
        (1_234_567, 6, "1,234567"),
        (1_234_567, 8, "1,23456700"),
        (5_861_264_000_000, 0, "5.861.264"),
        (10**18, 3, "1.000.000.000.000,000"),
    ],
)
def test_format_trieu(dong, decimals, text):
    assert format_trieu(dong, decimals) == text


def test_format_dong_and_float():
    assert format_dong(17_410_437_000) == "17.410.437.000"
    assert format_dong(-1_000) == "-1.000"
    assert format_dong(0) == "0"
    assert trieu_float(17_410_437_000) == 17410.437
    assert trieu_float(-1) == -1e-06


@pytest.mark.parametrize(
    ("num", "den", "decimals", "text"),
    [
        (4_999, 10_000, 2, "49,99"),
        (1, 8, 2, "12,50"),
        (1, 800, 2, "0,12"),  # 0,125: truncated, never rounded up
        (-1, 800, 2, "-0,12"),  # toward zero, as a spreadsheet's TRUNC
        (1, 3, 2, "33,33"),
        (2, 3, 0, "66"),
        (499_960, 1_000_000, 2, "49,99"),  # 49,996 reads 49,99, not 50,00
        (999_999, 1_000_000, 0, "99"),
        (1, -3, 2, "-33,33"),
        (5, 0, 2, ""),
        (0, 5, 2, "0,00"),
        (123, 1, 2, "12.300,00"),
    ],
)
def test_format_pct(num, den, decimals, text):
    assert format_pct(num, den, decimals) == text


def test_docstring_examples():
    """The examples in the docstrings of every module of the money package run and hold."""
    from disbursement.money import column, display, parse, threshold, units

    results = [doctest.testmod(module) for module in (units, parse, column, threshold, display)]
    assert sum(r.failed for r in results) == 0
    assert sum(r.attempted for r in results) >= 5  # the examples exist (a test that can fail)


def test_every_name_of_the_former_module_is_still_importable():
    for name in (
        "UNITS",
        "MAX_DONG",
        "ParsedAmount",
        "below_pct",
        "below_pct_array",
        "detect_unit",
        "detect_foreign_unit",
        "format_dong",
        "format_pct",
        "format_rate",
        "format_rates",
        "format_trieu",
        "infer_style",
        "parse_amount",
        "parse_amount_column",
        "rate_scaled",
        "trieu_float",
        "unit_in_header",
        "unit_label",
        "UNIT_TABLE",
        "UNIT_KEYS",
    ):
        assert hasattr(money, name) and name in money.__all__, name


# --- properties ----------------------------------------------------------------------------
AMOUNTS_1000 = st.integers(-(10**12), 10**12).map(lambda k: k * 1000)  # 3 decimals of triệu


def _en_trieu(dong: int) -> str:
    whole, rest = divmod(abs(dong), 1_000_000)
    return ("-" if dong < 0 else "") + f"{whole:,}.{rest // 1000:03d}"


@settings(max_examples=200)
@given(AMOUNTS_1000)
def test_format_trieu_round_trips(dong):
    text = format_trieu(dong)
    assert parse_amount(text).dong == dong
    assert parse_amount(text, style="vi") == ParsedAmount(dong)


@settings(max_examples=200)
@given(AMOUNTS_1000)
def test_vi_and_en_renderings_read_the_same(dong):
    vi, en = format_trieu(dong), _en_trieu(dong)
    assert parse_amount(vi, style="vi") == parse_amount(en, style="en") == ParsedAmount(dong)
    guessed = parse_amount(en)
    if not guessed.ambiguous:  # e.g. "1.500" alone would be read as vi-VN 1500
        assert guessed.dong == dong


@settings(max_examples=200)
@given(st.integers(-(10**15), 10**15), st.integers(-(10**15), 10**15), st.integers(0, 100))
def test_below_pct_is_the_exact_fraction_comparison(num, den, pct):
    assert below_pct(num, den, pct) == (num * 100 < pct * den)
    if den > 0:
        assert below_pct(num, den, pct) == (Fraction(num, den) < Fraction(pct, 100))
    array = below_pct_array(np.array([num]), np.array([den]), pct)
    assert array.tolist() == [below_pct(num, den, pct)]


@settings(max_examples=200)
@given(st.text())
def test_parse_amount_never_raises_on_text(text):
    parsed = parse_amount(text)
    assert isinstance(parsed, ParsedAmount)
    if parsed.dong is None:
        assert parsed.problem


ANY_CELL = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.decimals(allow_nan=True, allow_infinity=True),
    st.text(max_size=20),
    st.text(alphabet="0123456789.,-() %\u00a0", max_size=16),
    st.dates(),
)


@settings(max_examples=200)
@given(ANY_CELL, st.sampled_from([1, 1_000, 1_000_000, 1_000_000_000]), st.sampled_from([None, "vi", "en"]))
def test_parse_amount_never_raises(value, unit, style):
    parsed = parse_amount(value, unit, style)
    assert parsed.dong is None or abs(parsed.dong) <= money.MAX_DONG


SIX_DECIMALS = st.decimals(
    min_value=Decimal("-1000000000"), max_value=Decimal("1000000000"), places=6, allow_nan=False
)


@settings(max_examples=200)
@given(SIX_DECIMALS)
def test_float_cells_with_up_to_six_decimals_are_exact(value):
    expected = int(value * 1_000_000)
    assert parse_amount(float(value)) == ParsedAmount(expected)
    amounts, _, problems = parse_amount_column([float(value)], TRIEU)
    assert amounts.tolist() == [expected] and problems == []


COLUMN_CELL = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    SIX_DECIMALS.map(float),
    st.text(alphabet="0123456789.,- ", max_size=12),
    st.sampled_from(["1.234", "1,234", "12,5", "#REF!", "x", "", "-", True]),
)


@settings(max_examples=100)
@given(st.lists(COLUMN_CELL, max_size=30), st.sampled_from([1, 1_000, 1_000_000, 1_000_000_000]))
def test_column_equals_cell_by_cell(values, unit):
    amounts, blank, problems = parse_amount_column(values, unit)
    style = infer_style(v for v in values if isinstance(v, str))
    noted = dict(problems)
    assert len(noted) == len(problems)
    for i, value in enumerate(values):
        parsed = parse_amount(value, unit, style)
        assert amounts[i] == (parsed.dong or 0), (i, value)
        assert blank[i] == (
            value is None
            or (isinstance(value, float) and value != value)
            or (isinstance(value, str) and not value.strip())
        )
        assert (i in noted) == bool(parsed.problem or parsed.ambiguous), (i, value)
