"""`disbursement requests`: one workbook per investor, protected, keyed, and a covering letter."""

from __future__ import annotations

import json

from docx import Document
from openpyxl import load_workbook

from disbursement.files import sha256_file
from tests.investors.conftest import EXPECTED, FLAGGED_CODE, ROUND3, SAMPLE_0930, YEN_CHAU, run


def test_one_workbook_per_investor_with_a_letter_listing_them(request_dir):
    files = sorted(p.name for p in request_dir.glob("*.xlsx"))
    assert len(files) == 18 and YEN_CHAU in files
    assert all(name.isascii() and " " not in name for name in files)
    letter = "\n".join(p.text for p in Document(request_dir / "cong_van_yeu_cau.docx").paragraphs)
    assert "Kính gửi: Các chủ đầu tư" in letter and "15/10/2022" in letter
    for name in files:
        assert f"tệp {name}" in letter


def test_request_layout_header_protection_and_hidden_keys(request_dir):
    book = load_workbook(request_dir / YEN_CHAU)
    assert book.sheetnames == ["Hướng dẫn", "Số liệu", "_khoa"]
    assert book["_khoa"].sheet_state == "hidden"
    cover = "\n".join(str(c.value) for c in book["Hướng dẫn"]["A"] if c.value)
    assert "Hạn gửi lại: 15/10/2022" in cover and "UBND huyện Yên Châu" in cover
    sheet = book["Số liệu"]
    header = next(r for r in range(1, 16) if sheet.cell(r, 2).value == "Mã dự án")
    headers = [sheet.cell(header, c).value for c in range(1, sheet.max_column + 1)]
    assert "Kế hoạch vốn năm 2022" in headers
    assert headers[9:14] == [
        EXPECTED,
        "Khối lượng hoàn thành chưa thanh toán",
        "Nhu cầu bổ sung vốn",
        "Đề nghị điều chỉnh giảm",
        "Giải trình",
    ]
    assert sheet.protection.sheet and not sheet.protection.sort
    assert sheet.column_dimensions["O"].hidden  # the key column
    rows = range(header + 1, sheet.max_row + 1)
    codes = [sheet.cell(r, 2).value for r in rows]
    assert FLAGGED_CODE in codes
    row = header + 1 + codes.index(FLAGGED_CODE)
    assert sheet.cell(row, 5).value == 9360  # plan in triệu đồng, the answers' unit
    assert sheet.cell(row, 8).value == "Có"  # flagged, with its reason
    assert "Không có khả năng giải ngân" in sheet.cell(row, 9).value
    unlocked = [c for c in range(1, sheet.max_column + 1) if not sheet.cell(row, c).protection.locked]
    assert unlocked == [10, 11, 12, 13, 14]
    assert sheet.cell(row, 15).value  # the line's key


def test_same_input_same_bytes_and_json_lists_files(tmp_path, request_dir):
    result = run(
        "requests",
        SAMPLE_0930,
        *ROUND3,
        "--out",
        tmp_path / "again",
        "--deadline",
        "15/10/2022",
        "--no-audit",
        "--json",
    )
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["requests"]) == 18
    assert set(data["files"]) == {p.name for p in request_dir.iterdir()}
    for name in data["files"]:
        assert sha256_file(tmp_path / "again" / name) == sha256_file(request_dir / name), name


def test_requests_need_round_and_out(tmp_path):
    result = run("requests", SAMPLE_0930, "--no-audit")
    assert result.exit_code == 2 and "--round and --out" in result.output
