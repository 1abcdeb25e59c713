"""One unit table (money.UNIT_TABLE) behind the header detector, the CLI's --unit choices,
the document labels and the officer tables; a unit in another currency is refused."""

from __future__ import annotations

import openpyxl
import pytest

from disbursement.cli.app import UNITS as CLI_UNITS
from disbursement.errors import InputUnreadable
from disbursement.ingest.tables import amount_unit
from disbursement.money import UNIT_KEYS, UNIT_TABLE, UNITS, detect_unit, unit_in_header, unit_label
from disbursement.reallocate.overrides import read_overrides


def test_every_unit_view_is_the_table():
    assert UNIT_KEYS == ("dong", "nghin", "trieu", "ty") == CLI_UNITS
    assert {u.key: u.dong for u in UNIT_TABLE} == UNITS
    assert [unit_label(k) for k in UNIT_KEYS] == ["đồng", "nghìn đồng", "triệu đồng", "tỷ đồng"]
    assert unit_label("trieu", "en") == "VND million"
    assert detect_unit is unit_in_header
    for unit in UNIT_TABLE:  # each unit's own label is recognised as that unit
        assert unit_in_header(f"Đơn vị tính: {unit.vi}") == unit.key
        assert unit_in_header(f"({unit.vi})") == unit.key


@pytest.mark.parametrize(
    ("header", "dong"),
    [
        ("Số tiền (triệu đồng)", 10**6),
        ("Số tiền (đồng)", 1),
        ("Số tiền (1.000 đồng)", 1_000),
        ("Số tiền (Tr.đ)", 10**6),
        ("Số tiền (tỷ đồng)", 10**9),
        ("Số tiền", 10**6),
        ("Amount (VND million)", 10**6),
    ],
)
def test_an_officer_table_reads_its_unit_with_the_one_detector(header, dong):
    assert amount_unit(header, "x.xlsx") == dong


@pytest.mark.parametrize("header", ["Số tiền (nghìn USD)", "Số tiền (triệu USD)", "Amount (EUR)"])
def test_an_amount_column_in_another_currency_is_refused(header):
    with pytest.raises(InputUnreadable, match="another currency"):
        amount_unit(header, "x.xlsx")


def test_an_overrides_file_in_usd_is_refused_not_read_as_dong(tmp_path):
    path = tmp_path / "overrides.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(["Mã dự án", "Nguồn vốn", "Loại", "Số tiền (nghìn USD)", "Lý do", "Người phê duyệt"])
    sheet.append(["7900001", "NSDP_CAN_DOI", "giảm", 100, "Văn bản 1", "Lò Văn Hùng"])
    book.save(path)
    with pytest.raises(InputUnreadable, match=r"overrides\.xlsx: the amount column is in another"):
        read_overrides(path)
    sheet["D1"] = "Số tiền (1.000 đồng)"  # nghìn đồng: the old word test read this as đồng
    book.save(path)
    (row,), issues = read_overrides(path)
    assert row.amount_dong == 100_000 and issues == []
