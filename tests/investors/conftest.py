"""Fixtures for the investor round-trip: requests written from the sample 30/9 workbook, and
replies filled the way an investor would (openpyxl: typed figures, sorted or deleted rows)."""

from __future__ import annotations

import shutil
from collections.abc import Callable
from pathlib import Path

import pytest
from click.testing import CliRunner
from openpyxl import load_workbook

from disbursement.cli import cli

ROOT = Path(__file__).resolve().parents[2]
SAMPLE_0930 = ROOT / "sample_data" / "son_la_2022_den_30-09.xlsx"
ROUND3 = ("--round", "3", "--as-of", "30/09/2022")
EXPECTED = "Dự kiến giải ngân đến 31/01/2023"
EXPLANATION = "Giải trình"
NEED = "Nhu cầu bổ sung vốn"
FLAGGED_CODE = "7853079"  # UBND huyện Yên Châu, flagged in round 3 (expects 9.231,901 of 9.360)
YEN_CHAU = "UBND_huyen_Yen_Chau.xlsx"


def run(*args):
    return CliRunner().invoke(cli, [str(a) for a in args])


@pytest.fixture(scope="session")
def request_dir(tmp_path_factory) -> Path:
    """The requests of round 3 on the sample 30/9 workbook, written once for the session."""
    out = tmp_path_factory.mktemp("requests")
    result = run(
        "requests", SAMPLE_0930, *ROUND3, "--out", out / "yeu_cau", "--deadline", "15/10/2022", "--no-audit"
    )
    assert result.exit_code == 0, result.output
    return out / "yeu_cau"


def header_columns(sheet, header_row: int = 5) -> dict[str, int]:
    return {sheet.cell(header_row, c).value: c for c in range(1, sheet.max_column + 1)}


def fill_reply(
    source: Path,
    target: Path,
    answers: dict[str, dict[str, object]],
    *,
    reverse: bool = False,
    delete_codes: tuple[str, ...] = (),
    drop_keys: bool = False,
    edit: Callable | None = None,
) -> Path:
    """An investor's reply: `answers` maps a project code to {header: value}; rows may be
    sorted (reversed) or deleted, and the hidden key sheet dropped (copied elsewhere)."""
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, target)
    book = load_workbook(target)
    sheet = book["Số liệu"]
    cols = header_columns(sheet)
    width = sheet.max_column
    rows = [[sheet.cell(r, c).value for c in range(1, width + 1)] for r in range(6, sheet.max_row + 1)]
    rows = [r for r in rows if r[cols["Mã dự án"] - 1] not in delete_codes]
    if reverse:
        rows.reverse()
    for r in range(6, sheet.max_row + 1):
        for c in range(1, width + 1):
            sheet.cell(r, c).value = None
    for i, values in enumerate(rows):
        for c, value in enumerate(values, start=1):
            sheet.cell(6 + i, c).value = value
        code = values[cols["Mã dự án"] - 1]
        for header, value in answers.get(code, {}).items():
            sheet.cell(6 + i, cols[header]).value = value
    if drop_keys:
        del book["_khoa"]
        for r in range(6, 6 + len(rows)):
            sheet.cell(r, cols["Khóa dòng (không sửa)"]).value = None
    if edit is not None:
        edit(book)
    book.save(target)
    return target
