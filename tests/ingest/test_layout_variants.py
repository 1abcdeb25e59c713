"""Layouts seen in district reports: labels in the code column, 'Trong đó' splits, nghìn đồng."""

from __future__ import annotations

import datetime as dt

import openpyxl

from disbursement.pipeline import run_round


def district_report(path):
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Biểu số 02"
    sheet.append(["UBND TỈNH SƠN LA"])
    sheet.append(["BIỂU TỔNG HỢP ƯỚC GIẢI NGÂN KẾ HOẠCH VỐN NĂM 2022"])
    sheet.append([None] * 8 + ["Đơn vị tính: 1.000 đồng"])
    sheet.append(
        [
            "STT",
            "Mã dự án",
            "Danh mục công trình",
            "Kế hoạch năm 2022",
            None,
            None,
            "Giải ngân đến 30/9/2022",
            None,
            "Ước giải ngân cả năm 2022",
            "Đề nghị bổ sung",
        ]
    )
    sheet.append([None, None, None, "Tổng số", "Trong đó", None, "Tổng số", "Tỷ lệ (%)"])
    sheet.append([None, None, None, None, "NSTW", "NSĐP"])
    for cells in (
        "A4:A6",
        "B4:B6",
        "C4:C6",
        "D4:F4",
        "E5:F5",
        "D5:D6",
        "G4:H4",
        "G5:G6",
        "H5:H6",
        "I4:I6",
        "J4:J6",
    ):
        sheet.merge_cells(cells)
    sheet.append([f"({i})" for i in range(1, 11)])
    # Group labels typed in the code column (B), left of an empty name cell.
    sheet.append(
        ["A", "VỐN ĐẦU TƯ TRONG CÂN ĐỐI NGÂN SÁCH ĐỊA PHƯƠNG", None, 3_000_000, 0, 3_000_000, 1_500_000, 50]
    )
    sheet.append(["1", "Dự án chuyển tiếp"])
    sheet.append(
        [
            "1.1",
            7912001,
            "Trụ sở UBND xã Chiềng Mung",
            1_000_000,
            0,
            1_000_000,
            700_000,
            70,
            1_000_000,
            200_000,
        ]
    )
    sheet.append(
        ["1.2", "7912002", "Đường nội thị Mộc Châu", 2_000_000, 0, 2_000_000, 800_000, 40, 1_500_000]
    )
    sheet.append(["B", "VỐN XỔ SỐ KIẾN THIẾT"])
    sheet.append(["1", "Dự án khởi công mới"])
    sheet.append(["1.1", "7912003", "Trường mầm non Hoa Ban", 500_000, 0, 500_000, "-", 0, 300_000])
    book.save(path)
    return path


def test_district_report_groups_units_and_splits(tmp_path):
    path = district_report(tmp_path / "huyen.xlsx")
    result = run_round([path], 3, as_of=dt.date(2022, 9, 30))
    lines = {p.project_code: p for p in result.plan.itertuples()}
    assert set(lines) == {"7912001", "7912002", "7912003"}  # group rows are not lines
    assert lines["7912001"].status == "continuing" and lines["7912003"].status == "new"
    assert lines["7912003"].capital_source == "NSDP_XSKT"
    assert lines["7912002"].plan_dong == 2_000_000_000  # the "Tổng số" child, in nghìn đồng
    assert lines["7912002"].disbursed_dong == 800_000_000
    flagged = {f.project_code: f.expected_dong for f in result.flags.itertuples()}
    assert flagged == {"7912002": 1_500_000_000, "7912003": 300_000_000}
    codes = {i.code for i in result.issues}
    assert not codes & {"SUBTOTAL-UNCHECKED", "SUBTOTAL-MISMATCH", "CHECK-NOT-NULLABLE"}
