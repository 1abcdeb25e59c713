"""Lines without a code are first-class in the duplicate check (name + source + investor)."""

from __future__ import annotations

from disbursement.pipeline import run_round
from tests.conftest import line


def test_two_uncoded_lines_alike_are_reported(make_workbook):
    path = make_workbook(
        [
            line("", "Chuẩn bị đầu tư trường THCS Chiềng Mung", disbursed="100"),
            line("", "Chuẩn bị đầu tư trường THCS Chiềng Mung", disbursed="200"),
            line("", "Chuẩn bị đầu tư trạm y tế xã Nà Ớt", disbursed="300"),
        ]
    )
    result = run_round([path], 1, propose=False)
    (dup,) = [i for i in result.issues if i.code == "DUPLICATE-LINE"]
    assert dup.severity == "warning" and dup.row is not None and dup.column == "B"
    assert "appears 2 times" in dup.message
    assert result.summary["lines"] == 3  # both are still reviewed
