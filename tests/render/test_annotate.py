"""Annotated copies: the officer's own sheet with flagged rows filled and offending cells
commented; the original is never touched; the output is atomic and byte-stable."""

from __future__ import annotations

import datetime as dt
import json
import zipfile
from pathlib import Path

import openpyxl
import pytest
import xlsxwriter
from click.testing import CliRunner

from disbursement.cli import cli
from disbursement.errors import OutputError
from disbursement.files import sha256_file
from disbursement.pipeline import run_round
from disbursement.render.annotate import ERROR_FILL, FLAG_FILL, annotate_copy, annotated_name
from tests.conftest import line
from tests.fixtures_builder import (
    SOFFICE_REASON,
    build_csv,
    build_official,
    build_table,
    build_treasury,
    converter,
    soffice,
)

LINES = [
    line("7900001", "Đường Chiềng Lương – Nà Sản, huyện Mai Sơn", disbursed="499,999"),
    line("7900002", "Trường THCS xã Mường Bú, huyện Mường La", disbursed="500"),
    line("7900003", "Kè chống sạt lở bờ suối Nậm La", source="NSDP_XSKT", plan="3.000", disbursed="100"),
]


def annotate(path: Path, out: Path, **run) -> tuple[Path, object]:
    result = run_round([path], run.pop("round", 1), propose=False, **run)
    written = annotate_copy(path, out, result.flags, result.issues, round_info=result.round)
    return written, result


def fill(cell) -> str | None:
    return cell.fill.fgColor.rgb if cell.fill and cell.fill.fill_type == "solid" else None


def test_flagged_rows_are_filled_and_the_disbursed_cell_says_why(tmp_path):
    (src,) = build_official(tmp_path, LINES)
    before = sha256_file(src)
    written, result = annotate(src, tmp_path / "out" / annotated_name(src))
    assert written == tmp_path / "out" / "ke_hoach.annotated.xlsx"
    assert sha256_file(src) == before
    sheet = openpyxl.load_workbook(written)["Biểu 01"]
    original = openpyxl.load_workbook(src)["Biểu 01"]
    flags = {f.project_code: f for f in result.flags.itertuples()}
    assert set(flags) == {"7900001", "7900003"}
    first = flags["7900001"]
    assert all(fill(c) == FLAG_FILL for c in sheet[first.row])
    comment = sheet[first.cells["disbursed_dong"]].comment
    assert comment is not None and comment.author == "disbursement"
    # Rule id, a rate that does not read as the threshold, the threshold and the data date.
    for part in ("SL79-R1", "49,99%", "< ngưỡng 50%", "30/06/2022", "1.000,000 triệu đồng"):
        assert part in comment.text
    unflagged = result.plan[result.plan["project_code"] == "7900002"].iloc[0]
    assert all(fill(c) is None for c in sheet[int(unflagged.row)])
    assert sheet[unflagged.cells["disbursed_dong"]].comment is None
    # The officer's sheet is otherwise the same: values, formulas, merged header.
    assert sheet.merged_cells.ranges == original.merged_cells.ranges
    for row_new, row_old in zip(sheet.iter_rows(), original.iter_rows(), strict=True):
        assert [c.value for c in row_new] == [c.value for c in row_old]
    assert str(sheet["L11"].value).startswith("=SUM(")


def test_each_issue_cell_gets_its_code_and_message(tmp_path):
    lines = [
        *LINES,
        line("7900001", "Đường Chiềng Lương – Nà Sản (giai đoạn 2)", plan="500", disbursed="100"),
    ]
    (src,) = build_table(
        tmp_path, lines, group_values="number", subtotal_errors={"Vốn cân đối ngân sách địa phương": "27,559"}
    )
    written, result = annotate(src, tmp_path / "copy.xlsx")
    mismatch = next(i for i in result.issues if i.code == "SUBTOTAL-MISMATCH")
    duplicate = next(i for i in result.issues if i.code == "DUPLICATE-CODE")
    sheet = openpyxl.load_workbook(written).active
    text = sheet[f"{mismatch.column}{mismatch.row}"].comment.text
    assert text.startswith(
        "[SUBTOTAL-MISMATCH] Cảnh báo: Dòng tổng/nhóm khác tổng các dòng dự án "
        "của nó: dòng nhóm ghi 2.527,559 triệu đồng"
    )
    assert "(chênh lệch 27,559)" in text
    assert "[DUPLICATE-CODE]" in sheet[f"{duplicate.column}{duplicate.row}"].comment.text


def test_an_error_cell_is_filled_and_a_flag_and_issue_on_one_cell_share_the_comment(tmp_path):
    lines = [
        line("7900001", "Đường bản Co Mạ", disbursed="10", cell_text={"disbursed_dong": "#REF!"}),
        line("7900002", "Đường bản Hụm", disbursed="10"),
    ]
    (src,) = build_table(tmp_path, lines, columns="flat")
    written, result = annotate(src, tmp_path / "copy.xlsx")
    bad = next(i for i in result.issues if i.code == "AMOUNT-UNREADABLE")
    sheet = openpyxl.load_workbook(written).active
    assert fill(sheet[f"{bad.column}{bad.row}"]) == ERROR_FILL
    flag = result.flags.iloc[0]
    cell = sheet[flag.cells["disbursed_dong"]]
    assert fill(cell) == FLAG_FILL and "SL79-R1" in cell.comment.text


def test_the_copy_is_byte_stable_and_the_write_atomic(tmp_path, monkeypatch):
    (src,) = build_official(tmp_path, LINES)
    one, _ = annotate(src, tmp_path / "a" / "copy.xlsx")
    two, _ = annotate(src, tmp_path / "b" / "copy.xlsx")
    assert one.read_bytes() == two.read_bytes()
    with zipfile.ZipFile(one) as archive:
        assert archive.namelist()[0] == "[Content_Types].xml"
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert b"2022-06-30T00:00:00Z" in archive.read("docProps/core.xml")
    # A failure while writing leaves the previous copy as it was and no temp file behind.
    import disbursement.render.annotate as module

    def broken(workbook, target):
        Path(target).write_bytes(b"half a file")
        raise OSError("disk full")

    monkeypatch.setattr(module, "save_workbook", broken)
    with pytest.raises(OSError, match="disk full"):
        annotate(src, one)
    assert one.read_bytes() == two.read_bytes()
    assert sorted(p.name for p in one.parent.iterdir()) == ["copy.xlsx"]


def test_the_input_is_never_the_output(tmp_path):
    (src,) = build_official(tmp_path, LINES)
    result = run_round([src], 1, propose=False)
    with pytest.raises(OutputError, match="would overwrite the input"):
        annotate_copy(src, src, result.flags, result.issues)


def test_an_existing_comment_is_kept_above_ours(tmp_path):
    src = tmp_path / "ghi_chu.xlsx"
    (built,) = build_table(tmp_path, LINES, columns="flat", name="tmp.xlsx")
    book = openpyxl.load_workbook(built)
    # Where the officer already left a note: the disbursed cell of the first project (F10).
    book.active["F10"].comment = openpyxl.comments.Comment("Số liệu KBNN ngày 29/6", "Cán bộ A")
    book.save(src)
    written, result = annotate(src, tmp_path / "copy.xlsx")
    assert result.flags.iloc[0].cells["disbursed_dong"] == "F10"
    text = openpyxl.load_workbook(written).active["F10"].comment.text
    assert text.index("Số liệu KBNN ngày 29/6") < text.index("SL79-R1")


def test_round3_comment_sits_on_the_expected_disbursement(tmp_path):
    lines = [
        line("7900001", "Đường bản Co Mạ", disbursed="300", expected_dong="700"),
        line("7900002", "Đường bản Hụm", disbursed="900", expected_dong="1.000"),
    ]
    (src,) = build_official(tmp_path, lines, as_of=dt.date(2022, 10, 31))
    written, result = annotate(src, tmp_path / "copy.xlsx", round=3)
    (flag,) = result.flags.itertuples()
    text = openpyxl.load_workbook(written).active[flag.cells["expected_dong"]].comment.text
    assert text.startswith("SL79-R3 (Đợt 3): dự kiến giải ngân cả năm 700,000 triệu đồng < kế hoạch")


def test_xlsm_keeps_its_macros_and_its_suffix(tmp_path):
    vba = tmp_path / "vbaProject.bin"
    vba.write_bytes(b"\xd0\xcf\x11\xe0 not a real VBA project, kept byte for byte")
    (built,) = build_table(tmp_path, LINES, columns="flat", name="tmp.xlsx")
    src = tmp_path / "bieu.xlsm"
    book = xlsxwriter.Workbook(str(src))
    sheet = book.add_worksheet("Biểu 01")
    for r, row in enumerate(openpyxl.load_workbook(built).active.iter_rows(values_only=True)):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    book.add_vba_project(str(vba))
    book.close()
    written, result = annotate(src, tmp_path / annotated_name(src))
    assert written.name == "bieu.annotated.xlsm" and len(result.flags) == 2
    with zipfile.ZipFile(written) as archive:
        assert archive.read("xl/vbaProject.bin") == vba.read_bytes()
        assert b"macroEnabled" in archive.read("[Content_Types].xml")
    # Asked for .xlsx, an .xlsm still gets .xlsm: macros in an .xlsx do not open in Excel.
    other, _ = annotate(src, tmp_path / "x.annotated.xlsx")
    assert other.suffix == ".xlsm"


def test_csv_gets_an_xlsx_copy_of_its_cells(tmp_path):
    (src,) = build_csv(tmp_path, LINES)
    written, result = annotate(src, tmp_path / "out" / annotated_name(src))
    assert written.name == "danh_sach.annotated.xlsx"
    sheet = openpyxl.load_workbook(written).active
    assert sheet.title == "danh_sach"
    assert sheet["B1"].value == "Mã dự án" and sheet["B2"].value == "7900001"
    flag = result.flags.iloc[0]
    assert flag.row == 2 and all(fill(c) == FLAG_FILL for c in sheet[2])
    assert "SL79-R1" in sheet[flag.cells["disbursed_dong"]].comment.text


def test_a_formula_looking_text_stays_text(tmp_path):
    src = tmp_path / "danh_sach.csv"
    src.write_text(
        "STT;Mã dự án;Tên dự án;Kế hoạch vốn năm 2022 (triệu đồng);"
        'Giải ngân đến 30/6/2022 (triệu đồng)\n1;7900001;=HYPERLINK("x");1.000;10\n',
        encoding="utf-8",
    )
    written, _ = annotate(src, tmp_path / "copy.xlsx")
    cell = openpyxl.load_workbook(written).active["C2"]
    assert cell.value == '=HYPERLINK("x")' and cell.data_type == "s"


@pytest.mark.skipif(soffice() is None, reason=SOFFICE_REASON)
def test_xls_gets_an_xlsx_copy_with_its_merges(tmp_path):
    (xlsx,) = build_official(tmp_path, LINES)
    converter().prefetch([(xlsx, "xls")])
    src = converter().convert(xlsx, "xls", tmp_path / "ke_hoach.xls")
    before = sha256_file(src)
    written, result = annotate(src, tmp_path / "out" / annotated_name(src))
    assert written.name == "ke_hoach.annotated.xlsx" and sha256_file(src) == before
    sheet = openpyxl.load_workbook(written)["Biểu 01"]
    assert "A4:S4" in {str(r) for r in sheet.merged_cells.ranges}  # the title line
    flag = result.flags.iloc[0]
    assert sheet[f"B{flag.row}"].value == flag.project_name
    assert "SL79-R1" in sheet[flag.cells["disbursed_dong"]].comment.text


def test_treasury_figures_are_commented_on_the_plan_row(tmp_path):
    plan, kbnn = build_treasury(tmp_path, LINES)
    result = run_round([plan, kbnn], 1, propose=False)
    written = annotate_copy(
        plan, tmp_path / "plan.annotated.xlsx", result.flags, result.issues, round_info=result.round
    )
    flag = result.flags.iloc[0]
    assert "kbnn" in flag.cells["disbursed_dong"]  # the figure came from the Treasury file
    sheet = openpyxl.load_workbook(written).active
    assert "SL79-R1" in sheet[flag.cells["plan_dong"]].comment.text
    # The Treasury export's copy marks the row the figure came from (given all the flags).
    kbnn_copy = annotate_copy(
        kbnn, tmp_path / "kbnn.annotated.xlsx", result.flags, result.issues, round_info=result.round
    )
    cell = flag.cells["disbursed_dong"].split("!")[1]
    treasury = openpyxl.load_workbook(kbnn_copy)["KBNN"]
    assert fill(treasury[cell]) == FLAG_FILL
    assert f"Dòng kế hoạch: {flag.project_code}" in treasury[cell].comment.text


def test_review_out_writes_the_annotated_copy(tmp_path):
    (src,) = build_official(tmp_path, LINES)
    out = tmp_path / "out"
    outcome = CliRunner().invoke(
        cli, ["review", str(src), "--round", "1", "--out", str(out), "--json", "--no-audit"]
    )
    assert outcome.exit_code == 0, outcome.output
    copy = out / "ke_hoach.annotated.xlsx"
    assert str(copy) in json.loads(outcome.output)["outputs"].values()
    sheet = openpyxl.load_workbook(copy)["Biểu 01"]
    assert fill(sheet["A14"]) == FLAG_FILL and "SL79-R1" in sheet["M14"].comment.text


def test_merged_data_cells_get_their_comment_on_the_range_anchor(tmp_path):
    # The row above a flagged line has its disbursed cell merged down over the flagged line's:
    # openpyxl's merged cells refuse comments ("'MergedCell' object attribute 'comment' is
    # read-only"), so the note goes to the range's top-left cell instead of ending the run.
    (path,) = build_table(tmp_path / "in", LINES)
    flagged = run_round([path], 1, propose=False).flags
    ref = flagged["cells"].iloc[0]["disbursed_dong"]
    column, row = ref.rstrip("0123456789"), int(ref.lstrip("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    book = openpyxl.load_workbook(path)
    book.active.merge_cells(f"{column}{row - 1}:{ref}")
    book.save(path)
    written, _result = annotate(path, tmp_path / "out")
    sheet = openpyxl.load_workbook(written).active
    assert f"{column}{row - 1}:{ref}" in {str(r) for r in sheet.merged_cells.ranges}
    assert sheet[f"{column}{row - 1}"].comment is not None
