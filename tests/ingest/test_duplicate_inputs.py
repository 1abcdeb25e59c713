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
