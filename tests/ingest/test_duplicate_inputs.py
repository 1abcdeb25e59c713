"""The same table given twice — the same file, or plan.xlsx beside its plan.xls — is refused as a
duplicate (INPUT-DUPLICATE), never summed into doubled plans."""

from __future__ import annotations

import pytest

from disbursement.pipeline import run_round
from tests.conftest import line
from tests.fixtures_builder import SOFFICE_REASON, build_table, converter, soffice

LINES = [
    line("7906001", "Đường Nà Ớt - Chiềng Nơi, huyện Mai Sơn", disbursed="300"),
    line("7906002", "Trường Tiểu học Chiềng Mung", plan="2.000", disbursed="1.500"),
]


@pytest.mark.skipif(soffice() is None, reason=SOFFICE_REASON)
def test_xlsx_beside_its_xls_copy_is_not_summed(tmp_path) -> None:
    (xlsx,) = build_table(tmp_path, LINES)
    xls = converter().convert(xlsx, "xls", tmp_path / "ke_hoach.xls")
    once = run_round([xlsx], 1, propose=False)
    both = run_round([xlsx, xls], 1, propose=False)
    assert both.summary["plan_dong"] == once.summary["plan_dong"] == 3_000_000_000
    assert len(both.plan) == 2
    (dup,) = [i for i in both.issues if i.code == "INPUT-DUPLICATE"]
    assert dup.file == str(xls) and "ke_hoach.xlsx" in dup.message


def test_different_tables_are_both_read(tmp_path) -> None:
    (first,) = build_table(tmp_path / "a", LINES)
    (second,) = build_table(tmp_path / "b", [dict(LINES[0], project_code="7906003")])
    result = run_round([first, second], 1, propose=False)
    assert len(result.plan) == 3
    assert not [i for i in result.issues if i.code == "INPUT-DUPLICATE"]


def test_cheap_key_meets_only_to_be_confirmed_by_the_full_fingerprint() -> None:
    """Sheets alike in their first rows and last row but differing below are two tables; the
    same cells padded differently (an .xls export) are one."""
    from disbursement.ingest.fingerprint import HEAD_ROWS, SeenTables, cheap_key, fingerprint
    from disbursement.ingest.sheet import RawSheet

    head = [["STT", "Tên dự án", "Kế hoạch"]] + [[str(i), f"Dự án {i}", 100.0] for i in range(HEAD_ROWS)]
    first = [*head, ["99", "Dự án A", 5.0], ["", "Tổng", 1.0]]
    second = [*head, ["99", "Dự án B", 5.0], ["", "Tổng", 1.0]]
    padded = [[*row, ""] for row in first] + [["", "", ""]] * 3
    assert cheap_key(first) == cheap_key(second) and fingerprint(first) != fingerprint(second)
    assert fingerprint(first) == fingerprint(padded) and cheap_key(first) == cheap_key(padded)
    files = {"a.xlsx": first, "b.xlsx": second}
    read_again = []

    def read(file):  # what SeenTables reads back: the earlier file's sheets
        read_again.append(file)
        return [RawSheet(file, "Biểu 01", files[file])]

    seen = SeenTables(read)
    assert seen.first_with(first, "a.xlsx", "Biểu 01") is None
    assert seen.first_with(second, "b.xlsx", "Biểu 01") is None
    assert seen.first_with(padded, "a.xls", "Biểu 01") == "a.xlsx / sheet 'Biểu 01'"
    assert read_again == ["a.xlsx"]  # read back only when cheap keys meet
    third = [*head, ["99", "Dự án C", 5.0], ["", "Tổng", 1.0]]
    assert seen.first_with(third, "c.xlsx", "Biểu 01") is None
    assert read_again == ["a.xlsx", "b.xlsx"]  # each earlier file read once
    assert seen.first_with([["", ""]], "c.xlsx", "Trống") is None  # empty sheets never match
    assert seen.first_with([["", ""]], "d.xlsx", "Trống") is None


def test_a_legacy_xls_is_fingerprinted_when_read_not_read_again() -> None:
    """An .xls is read in a forked child; reading it again while a later workbook's threads run
    would fork a process with live threads: its sheets are fingerprinted as they are read."""
    from disbursement.ingest.fingerprint import SeenTables

    cells = [["STT", "Tên dự án"], ["1", "Đường Nà Ớt"]]

    def read(file):
        raise AssertionError(f"{file} was read again")

    seen = SeenTables(read)
    assert seen.first_with(cells, "ke_hoach.xls", "Biểu 01") is None
    assert (
        seen.first_with([row[:] for row in cells], "ke_hoach.xlsx", "Biểu 01")
        == "ke_hoach.xls / sheet 'Biểu 01'"
    )
