"""Formulas saved without results are computed or reported, never read as 0."""

from __future__ import annotations

from disbursement.ingest.formulas import Evaluator
from disbursement.pipeline import run_round
from tests.conftest import line


def test_evaluator_sum_subtotal_and_terms():
    cells = [["", 1.5], ["", 2.25], ["", ""], ["", ""], ["", "x"]]
    uncached = {(2, 1): "SUBTOTAL(9,B1:B2)", (3, 1): "B1+B2-B3", (4, 0): "SUBTOTAL(9,B1:B4)"}
    ev = Evaluator(cells, uncached, 1_000_000)
    assert ev.value(2, 1) == 3_750_000
    assert ev.value(3, 1) == 0  # 1.5 + 2.25 − 3.75
    assert ev.value(4, 0) == 3_750_000  # nested SUBTOTAL cell B3 skipped, as in Excel
    assert Evaluator(cells, {(0, 0): "VLOOKUP(A1,B:B,1)"}, 1).value(0, 0) is None
    assert Evaluator(cells, {(0, 0): "A1+1"}, 1).value(0, 0) is None  # circular


def test_workbook_without_cached_values_reads_like_the_cached_one(make_workbook):
    lines = [
        line("7900001", "Đường bản Púng Bánh", disbursed="499,999"),
        line("7900002", "Trường tiểu học Sốp Cộp", status="new", disbursed="600"),
    ]
    cached = run_round([make_workbook(lines, name="co.xlsx")], 1, propose=False)
    bare = run_round([make_workbook(lines, name="khong.xlsx", cached_values=False)], 1, propose=False)
    assert bare.summary["plan_dong"] == cached.summary["plan_dong"] == 2_000_000_000
    assert [f.project_code for f in bare.flags.itertuples()] == ["7900001"]
    codes = {i.code for i in bare.issues}
    assert "FORMULA-NO-RESULT" in codes
    assert not codes & {"SUBTOTAL-MISMATCH", "AMOUNT-UNREADABLE"}


def test_uncomputable_formula_on_a_project_row_is_an_error_not_zero(make_workbook, tmp_path):
    import re
    import zipfile

    path = make_workbook(
        [
            line("7900001", "Đường bản Púng Bánh", disbursed="100"),
            line("7900002", "Kè suối Nậm La", disbursed="900"),
        ]
    )
    rows = {f.project_code: f.row for f in run_round([path], 1, propose=False).plan.itertuples()}
    target = rows["7900002"]
    patched = tmp_path / "patched.xlsx"
    with zipfile.ZipFile(path) as src, zipfile.ZipFile(patched, "w") as dst:
        for info in src.infolist():
            data = src.read(info.filename)
            if info.filename.startswith("xl/worksheets/sheet1"):
                text = data.decode()
                text = re.sub(
                    rf'<c r="M{target}"([^>]*?)(/>|>.*?</c>)',
                    rf'<c r="M{target}"\1><f>VLOOKUP(C{target},KBNN!A:B,2,0)</f></c>',
                    text,
                    count=1,
                )
                data = text.encode()
            dst.writestr(info, data)
    result = run_round([patched], 1, propose=False)
    errors = [i for i in result.issues if i.code == "AMOUNT-UNREADABLE"]
    assert len(errors) == 1 and errors[0].row == target and errors[0].column == "M"
    assert "VLOOKUP" in errors[0].message and "line excluded" in errors[0].message
    assert [f.project_code for f in result.plan.itertuples()] == ["7900001"]
