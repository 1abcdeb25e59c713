"""phu_luc.xlsx read back with openpyxl: layout, live formulas with cached values, text safety."""

from __future__ import annotations

import openpyxl
import pytest
from test_render_fixtures import make_result

from disbursement.render import render_outputs

FIRST_DATA_ROW = 8  # 1-based: title 1–3, unit 4, header 5–6, ordinals 7, TỔNG SỐ 8


def dong(value) -> int:
    return round(value * 1_000_000)


@pytest.fixture(scope="module")
def result():
    return make_result()


@pytest.fixture(scope="module")
def path(result, tmp_path_factory):
    return render_outputs(result, tmp_path_factory.mktemp("appendix"))["xlsx"]


@pytest.fixture(scope="module")
def formulas(path):
    return openpyxl.load_workbook(path).active


@pytest.fixture(scope="module")
def values(path):
    return openpyxl.load_workbook(path, data_only=True).active


def rows_by_kind(sheet):
    """(row number, STT, name) of every data row."""
    out = []
    for r in range(FIRST_DATA_ROW, sheet.max_row + 1):
        out.append((r, sheet.cell(r, 1).value, sheet.cell(r, 2).value))
    return out


def test_title_block_unit_and_header(formulas):
    s = formulas
    assert s["A1"].value == "Phụ lục"
    assert s["A2"].value == "ĐIỀU CHỈNH KẾ HOẠCH ĐẦU TƯ CÔNG NĂM 2022 (ĐỢT 1)"
    assert s["A3"].value == ("(Kèm theo Tờ trình số …/TTr-SKHĐT ngày 05/7/2022 của Sở Kế hoạch và Đầu tư)")
    assert s["J4"].value == "Đơn vị: triệu đồng"
    header = [s.cell(5, c).value for c in range(1, 12)]
    assert header == ["STT", "Danh mục dự án", "Chủ đầu tư", "Mã dự án",
                      "Kế hoạch vốn năm 2022 đã giao", "Giải ngân đến 30/6/2022", None,
                      "Điều chỉnh", None, "Kế hoạch năm 2022 sau điều chỉnh", "Ghi chú"]  # fmt: skip
    assert [s.cell(6, c).value for c in range(6, 10)] == ["Số vốn", "Tỷ lệ %", "Giảm", "Tăng"]
    merged = {str(m) for m in s.merged_cells.ranges}
    assert {"A5:A6", "B5:B6", "F5:G5", "H5:I5", "J5:J6", "K5:K6", "A1:K1"} <= merged
    assert s.cell(7, 10).value == "10 = 5 - 8 + 9"


def test_hierarchy_total_sources_subgroups_lines(formulas, result):
    rows = rows_by_kind(formulas)
    assert rows[0][2] == "TỔNG SỐ"
    groups = [name for _, stt, name in rows if stt in ("I", "II", "III", "IV")]
    assert groups == [p.capital_source_label for p in result.proposal.pools]
    assert rows[1][1:] == ("I", "Vốn cân đối ngân sách địa phương")
    assert rows[2][1:] == ("a)", "Điều chỉnh giảm")
    assert rows[3][1:] == ("1", "Đường giao thông liên xã Chiềng Sơn - Lóng Sập, huyện Mộc Châu")
    lines = [r for r in rows if r[1] and r[1].isdigit()]
    n = len(result.proposal.decreases) + len(result.proposal.increases)
    assert len(lines) == n  # only the proposal's lines
    assert all(name != "Bệnh viện đa khoa huyện Thuận Châu" for _, _, name in rows)


def test_totals_are_formulas_with_cached_values_equal_to_the_proposal(formulas, values, result):
    proposal = result.proposal
    total = FIRST_DATA_ROW
    for col in "EFHIJ":
        assert str(formulas[f"{col}{total}"].value).startswith("=")
    assert dong(values[f"H{total}"].value) == sum(x.amount_dong for x in proposal.decreases)
    assert dong(values[f"I{total}"].value) == sum(x.amount_dong for x in proposal.increases)
    lines = proposal.decreases + proposal.increases
    assert dong(values[f"E{total}"].value) == sum(x.plan_dong for x in lines)
    assert dong(values[f"F{total}"].value) == sum(x.disbursed_dong for x in lines)
    assert dong(values[f"J{total}"].value) == sum(x.plan_after_dong for x in lines)
    # per capital source
    for r, stt, _name in rows_by_kind(formulas):
        if stt in ("I", "II", "III", "IV"):
            pool = result.proposal.pools[["I", "II", "III", "IV"].index(stt)]
            assert dong(values[f"H{r}"].value) == pool.recalled_dong
            assert dong(values[f"I{r}"].value) == pool.allocated_dong
            assert str(formulas[f"H{r}"].value).startswith("=")


def test_line_amounts_are_exact_and_plan_after_is_a_formula(formulas, values, result):
    by_name = {ln.project_name: ln for ln in result.proposal.decreases + result.proposal.increases}
    for r, stt, name in rows_by_kind(formulas):
        if not (stt and stt.isdigit()):
            continue
        line = by_name[name]
        assert dong(values[f"E{r}"].value) == line.plan_dong
        assert dong(values[f"F{r}"].value) == line.disbursed_dong
        col = "H" if line.kind == "decrease" else "I"
        assert dong(values[f"{col}{r}"].value) == line.amount_dong
        assert formulas[f"J{r}"].value == f"=E{r}-H{r}+I{r}"
        assert dong(values[f"J{r}"].value) == line.plan_after_dong
        assert formulas[f"G{r}"].value == (
            f"=IF(E{r}=0,0,TRUNC(ROUND(F{r}*1000000,0)*10000/ROUND(E{r}*1000000,0))/100)"
        )
        # the stored value is the truncated rate, exactly the hundredths the flags show
        assert values[f"G{r}"].value == line.disbursed_dong * 10_000 // line.plan_dong / 100
        assert formulas[f"E{r}"].number_format == "#,##0.000"


def test_notes_carry_reason_wording_and_override(values):
    notes = {values.cell(r, 2).value: values.cell(r, 11).value for r in range(8, values.max_row + 1)}
    assert notes["Kè chống sạt lở bờ suối Nậm La, thành phố Sơn La"] == (
        "Giải ngân chậm: tỷ lệ giải ngân đến 30/6/2022 đạt 15,63%, dưới 50% kế hoạch"
    )
    assert notes["Trường THPT Chiềng Khương, huyện Sông Mã"] == ("Bổ sung thanh toán khối lượng hoàn thành")
    override = notes["Cầu Tà Làng qua sông Đà, huyện Mường La"]
    assert "Văn bản số 215/BQLDA-KH" in override and "Lò Văn Hùng" in override
    assert notes["Vốn xổ số kiến thiết"] == (
        "Số vốn chưa phân bổ 234,567 triệu đồng, đề nghị thu hồi về dự phòng ngân sách tỉnh"
    )


def test_print_setup_and_frozen_header(formulas):
    s = formulas
    assert s.freeze_panes == "C8"
    assert s.page_setup.orientation == "landscape"
    assert str(s.page_setup.paperSize) == "9"
    assert s.sheet_properties.pageSetUpPr.fitToPage
    assert s.page_setup.fitToWidth in (None, 1)  # omitted attribute = 1 page wide
    assert s.page_setup.fitToHeight == 0
    assert s.print_title_rows == "$5:$7"


@pytest.mark.parametrize("prefix", ["=", "+", "-", "@", "\t", "\r"])
def test_text_that_looks_like_a_formula_is_written_as_text(prefix, tmp_path):
    name = f'{prefix}HYPERLINK("http://x","y")+1'
    path = render_outputs(make_result(first_name=name), tmp_path)["xlsx"]
    sheet = openpyxl.load_workbook(path).active
    cell = sheet.cell(FIRST_DATA_ROW + 3, 2)
    assert cell.data_type == "s"
    assert cell.value.replace("_x000D_", "\r") == name  # xlsx escapes a CR as _x000D_
    own = [c for row in sheet.iter_rows() for c in row if c.data_type == "f"]
    assert all(c.column_letter in "EFGHIJ" for c in own)


def test_english_appendix(result, tmp_path):
    path = render_outputs(result, tmp_path, lang="en")["xlsx"]
    s = openpyxl.load_workbook(path).active
    assert s["A2"].value == "ADJUSTMENT OF THE 2022 PUBLIC INVESTMENT PLAN (ROUND 1)"
    assert s["J4"].value == "Unit: VND million"
    assert s.cell(FIRST_DATA_ROW, 2).value == "TOTAL"
    notes = [s.cell(r, 11).value for r in range(FIRST_DATA_ROW, s.max_row + 1)]
    assert "To pay for completed work volume" in notes


def test_a_rate_just_below_the_threshold_never_reads_as_the_threshold():
    """One policy (truncation) instead of extra decimals: the note reads 49,99 like the flags."""
    from disbursement.money import format_rate

    assert format_rate(499_960_000, 1_000_000_000, 50) == "49,99"
    assert format_rate(499_999_999, 1_000_000_000, 50) == "49,99"
    assert format_rate(499_960_000, 1_000_000_000, None) == "49,99"
    assert format_rate(500_000_000, 1_000_000_000, 50) == "50,00"
    assert format_rate(1, 3, 50) == "33,33"


def test_capital_sources_follow_the_pool_order(tmp_path):
    import dataclasses

    result = make_result()
    proposal = result.proposal
    flipped = dataclasses.replace(proposal, pools=tuple(reversed(proposal.pools)))
    path = render_outputs(dataclasses.replace(result, proposal=flipped), tmp_path)["xlsx"]
    sheet = openpyxl.load_workbook(path).active
    groups = [name for _, stt, name in rows_by_kind(sheet) if stt in ("I", "II", "III", "IV")]
    assert groups == [p.capital_source_label for p in flipped.pools]
