"""Fixtures that build real-looking official-layout workbooks for each test."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from pathlib import Path

import pytest

from devtools.samples import write_official_workbook

SOURCES = {
    "NSDP_CAN_DOI": "Vốn cân đối ngân sách địa phương",
    "NSDP_SDD": "Vốn từ nguồn thu tiền sử dụng đất",
    "NSDP_XSKT": "Vốn xổ số kiến thiết",
    "NSTW_TRONG_NUOC": "Vốn ngân sách trung ương",
}


def trieu(value: str) -> int:
    """'499,999' triệu (vi-VN) → đồng, exactly."""
    return int(Decimal(value.replace(".", "").replace(",", ".")) * 1_000_000)


def line(
    code: str,
    name: str,
    *,
    source: str = "NSDP_CAN_DOI",
    status: str = "continuing",
    plan: str = "1.000",
    disbursed: str = "0",
    **extra,
) -> dict:
    """One project line in the shape `samples.write_official_workbook` takes (amounts in đồng)."""
    record = {
        "project_code": code,
        "project_name": name,
        "investor": "Ban QLDA ĐTXD các công trình giao thông tỉnh",
        "location": "Huyện Mai Sơn",
        "sector": "Giao thông",
        "capital_source_label": SOURCES[source],
        "status": status,
        "investment_decision": "Số 1234/QĐ-UBND ngày 15/3/2021",
        "plan_dong": trieu(plan),
        "disbursed_dong": trieu(disbursed),
        "tmdt_dong": trieu(plan) * 5,
        "medium_term_dong": trieu(plan) * 3,
        "cumulative_alloc_dong": trieu(plan),
        "expected_dong": None,
        "extra_need_dong": None,
        "completed_volume_dong": None,
        "note": "",
    }
    for key, value in extra.items():
        record[key] = trieu(value) if key.endswith("_dong") and isinstance(value, str) else value
    return record


@pytest.fixture
def make_workbook(tmp_path: Path):
    """Write an official-layout workbook of the given lines and return its path."""

    def build(
        lines: list[dict],
        *,
        name: str = "ke_hoach.xlsx",
        year: int = 2022,
        as_of: dt.date | None = None,
        **options,
    ) -> Path:
        path = tmp_path / name
        write_official_workbook(path, lines, year=year, as_of=as_of or dt.date(year, 6, 30), **options)
        return path

    return build
