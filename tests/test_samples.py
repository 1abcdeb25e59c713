"""The sample-workbook writer produces the official layout, exact amounts and stable bytes."""

from __future__ import annotations

import datetime as dt
import importlib.util
import unicodedata
from decimal import Decimal
from fractions import Fraction
from pathlib import Path

import openpyxl
import pytest
from python_calamine import CalamineWorkbook

from devtools import samples
from devtools.samples import (
    HEADER_ROW,
    ORDINAL_ROW,
    TOTAL_ROW,
    TREASURY_HEADER_ROW,
    generate_national,
    generate_projects,
    official_columns,
    write_official_workbook,
    write_treasury_export,
)

JUNE = dt.date(2022, 6, 30)
JUNE_KEY = "disbursed_0630_dong"
REPO = Path(__file__).resolve().parent.parent


def trieu(dong: int) -> float:
    return float(Decimal(dong) / 10**6)


def calamine_rows(path: Path, sheet: str = "Biểu 01") -> list[list]:
    return CalamineWorkbook.from_path(str(path)).get_sheet_by_name(sheet).to_python()


@pytest.fixture(scope="module")
def projects() -> list[dict]:
    return generate_projects(2022)


@pytest.fixture(scope="module")
def june_book(tmp_path_factory, projects) -> Path:
    path = tmp_path_factory.mktemp("june") / "june.xlsx"
    write_official_workbook(path, projects, year=2022, as_of=JUNE, disbursed_key=JUNE_KEY)
    return path


def test_title_block_and_unit_line(june_book):
    ws = openpyxl.load_workbook(june_book)["Biểu 01"]
    assert ws["A1"].value == "UBND TỈNH SƠN LA"
    assert ws["A2"].value == "SỞ KẾ HOẠCH VÀ ĐẦU TƯ"
    assert ws["S1"].value == "Biểu 01"
    assert ws["A4"].value == "BIỂU TỔNG HỢP TÌNH HÌNH GIẢI NGÂN KẾ HOẠCH VỐN ĐẦU TƯ CÔNG NĂM 2022"
    assert ws["A5"].value == "(Số liệu giải ngân đến ngày 30/6/2022)"
    assert ws["Q6"].value == "Đơn vị: triệu đồng"
    assert ws["Q6"].alignment.horizontal == "right"


def test_header_texts_at_their_cells(june_book):
    ws = openpyxl.load_workbook(june_book)["Biểu 01"]
    expected = {
        "A7": "STT",
        "B7": "Danh mục dự án",
        "C7": "Mã dự án",
        "D7": "Chủ đầu tư",
        "E7": "Địa điểm XD",
        "F7": "Quyết định đầu tư",
        "F8": "Số quyết định; ngày, tháng, năm ban hành",
        "G8": "TMĐT",
        "G9": "Tổng số (tất cả các nguồn vốn)",
        "H9": "Trong đó: vốn NSNN",
        "I7": "Kế hoạch trung hạn 5 năm 2021-2025",
        "J7": "Lũy kế vốn đã bố trí đến hết năm 2021",
        "K7": "Kế hoạch vốn năm 2021 kéo dài sang năm 2022",
        "L7": "Kế hoạch vốn năm 2022",
        "M7": "Giải ngân đến 30/6/2022",
        "M8": "Số vốn",
        "N8": "Tỷ lệ (%)",
        "O7": "Lũy kế giải ngân từ khởi công",
        "P7": "Khối lượng hoàn thành chưa thanh toán",
        "Q7": "Nhu cầu bổ sung",
        "R7": "Dự kiến giải ngân đến 31/01/2023",
        "S7": "Ghi chú",
    }
    assert {cell: ws[cell].value for cell in expected} == expected
    for letter, _key, path in official_columns(2022, JUNE):
        assert ws[f"{letter}{HEADER_ROW + len(path) - 1}"].value == path[-1]


def test_header_merges(june_book):
    merged = {str(r) for r in openpyxl.load_workbook(june_book)["Biểu 01"].merged_cells.ranges}
    assert {"A4:S4", "A5:S5", "Q6:S6", "A7:A9", "B7:B9", "L7:L9", "S7:S9"} <= merged
    assert {"F7:H7", "F8:F9", "G8:H8", "M7:N7", "M8:M9", "N8:N9"} <= merged
    assert not {"G9:G9", "F7:F9", "M7:M9"} & merged


def test_ordinal_row(june_book):
    rows = calamine_rows(june_book)
    assert rows[ORDINAL_ROW - 1] == [float(n) for n in range(1, 20)]


def test_grand_total_is_exact_sum_of_plans(june_book, projects):
    rows = calamine_rows(june_book)
    total = rows[TOTAL_ROW - 1]
    assert total[1] == "TỔNG SỐ"
    plan_dong = sum(p["plan_dong"] for p in projects)
    assert total[11] == trieu(plan_dong)
    assert round(Decimal(str(total[11])) * 10**6) == plan_dong
    lines = [r for r in rows[TOTAL_ROW:] if isinstance(r[0], float)]
    assert len(lines) == len(projects)
    assert sum(Decimal(str(r[11])) for r in lines) * 10**6 == plan_dong


def test_group_rows_are_formulas_with_cached_values(june_book, projects):
    ws = openpyxl.load_workbook(june_book)["Biểu 01"]
    assert ws["L11"].value.startswith("=SUM(L12,")
    assert ws["B12"].value == "Vốn cân đối ngân sách địa phương" and ws["A12"].value == "I"
    assert ws["L12"].value.startswith("=SUBTOTAL(9,L13:")
    assert (ws["A13"].value, ws["B13"].value) == ("1", "Dự án chuyển tiếp")
    assert ws["A14"].value == 1 and isinstance(ws["A14"].value, int)
    assert ws["N14"].value == "=IFERROR(M14/L14*100,0)"
    rows = calamine_rows(june_book)
    sources = [r for r in rows if r[0] in ("I", "II", "III", "IV")]
    assert [r[1] for r in sources] == list(samples.SOURCE_LABELS)
    assert sum(r[12] for r in sources) == pytest.approx(rows[TOTAL_ROW - 1][12])
    june = sum(p["disbursed_0630_dong"] for p in projects)
    assert rows[TOTAL_ROW - 1][12] == trieu(june)


def test_without_cached_values_formula_cells_read_empty(tmp_path, projects):
    path = tmp_path / "nocache.xlsx"
    write_official_workbook(
        path, projects, year=2022, as_of=JUNE, disbursed_key=JUNE_KEY, cached_values=False
    )
    rows = calamine_rows(path)
    assert rows[TOTAL_ROW - 1][11] == "" and rows[TOTAL_ROW + 2][13] == ""
    assert isinstance(rows[TOTAL_ROW + 2][11], float)  # plain numbers keep their value
    assert openpyxl.load_workbook(path, data_only=True)["Biểu 01"]["L11"].value is None
    assert openpyxl.load_workbook(path)["Biểu 01"]["L11"].value.startswith("=SUM(")


def test_same_input_same_bytes(tmp_path, projects):
    paths = [tmp_path / "a.xlsx", tmp_path / "b.xlsx"]
    for path in paths:
        write_official_workbook(path, projects, year=2022, as_of=JUNE, cached_values=False)
    assert paths[0].read_bytes() == paths[1].read_bytes()


def test_large_workbook_uses_the_same_layout(tmp_path):
    """Over 2.000 lines the writer streams rows (constant_memory); layout and totals hold."""
    lines = generate_projects(5, n=2100)
    paths = [tmp_path / "a.xlsx", tmp_path / "b.xlsx"]
    for path in paths:
        write_official_workbook(path, lines, year=2022, as_of=JUNE, disbursed_key=JUNE_KEY)
    assert paths[0].read_bytes() == paths[1].read_bytes()
    ws = openpyxl.load_workbook(paths[0], read_only=False)["Biểu 01"]
    assert {"A7:A9", "F7:H7", "G8:H8", "M7:N7"} <= {str(r) for r in ws.merged_cells.ranges}
    rows = calamine_rows(paths[0])
    assert rows[HEADER_ROW - 1][0] == "STT" and rows[HEADER_ROW][0] == ""
    assert rows[TOTAL_ROW - 1][11] == trieu(sum(p["plan_dong"] for p in lines))


def test_custom_line_at_exactly_fifty_percent(tmp_path):
    line = {
        "project_code": "7900001",
        "project_name": "Đường A",
        "status": "continuing",
        "plan_dong": 1_000_000_000,
        "disbursed_dong": 500_000_000,
    }
    path = tmp_path / "one.xlsx"
    write_official_workbook(path, [line], year=2022, as_of=JUNE)
    rows = calamine_rows(path)
    total, source, status, project = rows[TOTAL_ROW - 1 : TOTAL_ROW + 3]
    assert (source[0], source[1]) == ("I", "Vốn cân đối ngân sách địa phương")
    assert (status[0], status[1]) == ("1", "Dự án chuyển tiếp")
    assert project[:3] == [1.0, "Đường A", "7900001"]
    assert (project[11], project[12], project[13]) == (1000.0, 500.0, 50.0)
    assert total[13] == 50.0
    assert project[4] == "" and project[6] == ""  # missing fields are blank cells


@pytest.mark.parametrize(
    ("unit", "text", "value"),
    [("dong", "ĐVT: đồng", 1_234_567_000), ("ty", "Đơn vị tính: tỷ đồng", 1.234567)],
)
def test_units(tmp_path, unit, text, value):
    line = {"project_name": "X", "status": "new", "plan_dong": 1_234_567_000}
    path = tmp_path / f"{unit}.xlsx"
    write_official_workbook(path, [line], year=2022, as_of=JUNE, unit=unit)
    rows = calamine_rows(path)
    assert rows[5][16] == text
    assert rows[TOTAL_ROW + 2][11] == value
    assert rows[TOTAL_ROW + 1][1] == "Dự án khởi công mới"


def test_optional_columns_and_later_years(tmp_path):
    path = tmp_path / "lean.xlsx"
    as_of = dt.date(2025, 9, 30)
    write_official_workbook(
        path,
        [{"project_name": "X", "plan_dong": 10**9}],
        year=2025,
        as_of=as_of,
        with_expected=False,
        extra_columns=False,
        ordinals="paren",
    )
    columns = official_columns(2025, as_of, with_expected=False, extra_columns=False)
    keys = [key for _, key, _ in columns]
    assert "expected_dong" not in keys and "medium_term_dong" not in keys and len(keys) == 15
    rows = calamine_rows(path)
    assert rows[1][0] == "SỞ TÀI CHÍNH"
    assert rows[HEADER_ROW - 1][11] == "Giải ngân đến 30/9/2025"
    assert rows[ORDINAL_ROW - 1][:3] == ["(1)", "(2)", "(3)"]
    assert rows[TOTAL_ROW + 1][1] == "Dự án khác"  # no status given


def test_one_sheet_per_key(tmp_path):
    national = generate_national(1, n_lines=300, n_sheets=3)
    assert list(national) == ["Sơn La", "Hà Nội", "Hà Giang"]
    assert [len(v) for v in national.values()] == [100, 100, 100]
    path = tmp_path / "national.xlsx"
    options = {"year": 2022, "as_of": JUNE, "disbursed_key": JUNE_KEY}
    write_official_workbook(path, None, sheets=national, **options)
    book = CalamineWorkbook.from_path(str(path))
    assert book.sheet_names == ["Sơn La", "Hà Nội", "Hà Giang"]
    for name, lines in national.items():
        total = book.get_sheet_by_name(name).to_python()[TOTAL_ROW - 1]
        assert total[11] == trieu(sum(p["plan_dong"] for p in lines))
    with pytest.raises(ValueError, match="either"):
        write_official_workbook(path, national["Sơn La"], sheets=national, year=2022, as_of=JUNE)
    assert len(generate_national(1, n_lines=630)) == 63


def test_treasury_export(tmp_path, projects):
    path = tmp_path / "kbnn.xlsx"
    write_treasury_export(path, projects, as_of=JUNE, disbursed_key=JUNE_KEY)
    rows = calamine_rows(path, "KBNN")
    assert rows[2][0] == "BÁO CÁO TÌNH HÌNH GIẢI NGÂN VỐN ĐẦU TƯ CÔNG"
    assert rows[TREASURY_HEADER_ROW - 1] == [
        "STT",
        "Mã dự án",
        "Tên dự án",
        "Chủ đầu tư",
        "Lũy kế thanh toán từ đầu năm",
        "Số giải ngân đến 30/06/2022",
    ]
    body = rows[TREASURY_HEADER_ROW : TREASURY_HEADER_ROW + len(projects)]
    assert {type(r[1]) for r in body} == {str, float}  # some codes are numbers
    assert [r[5] for r in body] == [float(p["disbursed_0630_dong"]) for p in projects]
    total = rows[TREASURY_HEADER_ROW + len(projects)]
    assert total[2] == "Tổng cộng" and total[5] == sum(p["disbursed_0630_dong"] for p in projects)


def test_generate_projects_is_deterministic_and_realistic(projects):
    assert generate_projects(2022) == projects
    assert generate_projects(2023) != projects
    assert len(projects) == 150
    for p in projects:
        assert unicodedata.is_normalized("NFC", p["project_name"])
        assert len(p["project_code"]) == 7 and p["project_code"].isdigit()
        money = [v for k, v in p.items() if k.endswith("_dong") and v is not None]
        assert all(isinstance(v, int) and v % 1000 == 0 for v in money)
        assert p["disbursed_0630_dong"] <= p["disbursed_0930_dong"] <= p["plan_dong"]
        assert p["expected_dong"] <= p["plan_dong"]
        assert p["medium_term_dong"] >= p["cumulative_alloc_dong"] + p["plan_dong"]
        assert p["tmdt_dong"] >= p["tmdt_nsnn_dong"] >= p["medium_term_dong"]
    assert {p["capital_source_label"] for p in projects} == set(samples.SOURCE_LABELS)
    codes = [p["project_code"] for p in projects]
    shared = {c for c in codes if codes.count(c) > 1}
    assert 1 <= len(shared) <= 5
    assert sum(p["plan_dong"] == 0 for p in projects) == 2
    funded = [p for p in projects if p["plan_dong"]]
    continuing = [p for p in funded if p["status"] == "continuing"]
    rates = {Fraction(p["disbursed_0630_dong"], p["plan_dong"]) for p in continuing}
    half = Fraction(1, 2)
    assert half in rates and Fraction(49_999, 100_000) in rates
    assert min(rates) < Fraction(2, 5) and max(rates) > Fraction(3, 5)
    brisk = [p for p in funded if 2 * p["disbursed_0630_dong"] >= p["plan_dong"]]
    assert 0.05 <= sum(bool(p["extra_need_dong"]) for p in brisk) / len(brisk) <= 0.25


def test_bundled_samples_match_the_generator(tmp_path):
    spec = importlib.util.spec_from_file_location("generate", REPO / "sample_data" / "generate.py")
    generate = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(generate)
    lines = generate_projects(generate.SEED, n=150, year=generate.YEAR)
    for name, (as_of, key) in generate.CUT_OFFS.items():
        options = {"year": generate.YEAR, "as_of": as_of, "disbursed_key": key}
        write_official_workbook(tmp_path / name, lines, **options)
        assert (tmp_path / name).read_bytes() == (REPO / "sample_data" / name).read_bytes(), name
