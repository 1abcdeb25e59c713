"""The command line: exit codes, the exact lines the user sees, and the JSON contract."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner

from disbursement.cli import cli
from tests.conftest import line


def run(*args):
    return CliRunner().invoke(cli, list(map(str, args)))


def test_review_prints_summary_then_flags(make_workbook):
    path = make_workbook(
        [
            line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="499,999"),
            line("7912346", "Trường THCS xã Mường Bú", disbursed="900"),
        ]
    )
    result = run("review", path, "--round", 1, "--no-audit")
    assert result.exit_code == 0, result.output
    out = result.output
    assert out.index("Số dòng dự án đã đọc: 2; trong phạm vi rà soát: 2; bị gắn cờ: 1") < out.index(
        "Các dòng bị gắn cờ (1)"
    )
    english = run("review", path, "--round", 1, "--no-audit", "--lang", "en").output
    assert english.index("Project lines read: 2; in scope: 2; flagged: 1") < english.index(
        "Flagged lines (1)"
    )
    assert "Local budget balance capital" in english and "Vốn cân đối" not in english
    assert "7912345" in out and "Vốn cân đối ngân sách địa phương" in out


def test_json_contract(make_workbook):
    path = make_workbook(
        [
            line("7912345", "=Đường Chiềng Lương – Nà Sản", disbursed="499,999"),
            line("7912346", "Trường THCS xã Mường Bú", source="NSDP_XSKT", disbursed="900"),
        ]
    )
    result = run("review", path, "--round", 1, "--json", "--no-audit")
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert set(data) >= {"flags", "issues", "summary"}
    (flag,) = data["flags"]
    assert flag["project_code"] == "7912345"
    assert flag["project_name"] == "=Đường Chiềng Lương – Nà Sản"
    assert flag["capital_source"] == "NSDP_CAN_DOI"
    assert flag["rule_id"] == "SL79-R1"
    assert flag["plan_dong"] == 1_000_000_000 and flag["disbursed_dong"] == 499_999_000
    assert isinstance(flag["plan_dong"], int)
    assert flag["source"]["file"] == str(path) and flag["source"]["sheet"]
    assert isinstance(flag["source"]["row"], int) and flag["source"]["row"] > 5
    for issue in data["issues"]:
        assert set(issue) == {"code", "severity", "file", "sheet", "row", "column", "message"}
        assert issue["severity"] in {"error", "warning"}
    for note in data["notes"]:  # info records: same shape, kept apart from the contract's issues
        assert set(note) == {"code", "severity", "file", "sheet", "row", "column", "message"}
        assert note["severity"] == "info"
    assert data["summary"]["flagged"] == 1 and data["summary"]["lines"] == 2


def test_unreadable_input_is_one_error_line_exit_1(tmp_path):
    bad = tmp_path / "hong.xlsx"
    bad.write_text("this is not a workbook", encoding="utf-8")
    result = run("review", bad, "--round", 1, "--no-audit")
    assert result.exit_code == 1
    assert result.output.startswith(f"Error: {bad}: this is a text file (a CSV or HTML export?) named .xlsx")
    assert result.output.count("\n") == 1
    assert "Traceback" not in result.output
    missing = run("review", tmp_path / "khong_co.xlsx", "--round", 1)
    assert missing.exit_code == 1
    assert missing.output == f"Error: {tmp_path / 'khong_co.xlsx'}: no such file\n"


def test_usage_errors_exit_2(make_workbook):
    path = make_workbook([line("7912345", "Đường bản Co Mạ")])
    assert run("review", path).exit_code == 2  # --round missing
    assert run("review", path, "--round", "one").exit_code == 2
    assert run("review", path, "--round", 1, "--as-of", "31/02/2022").exit_code == 2
    assert run("nonsense").exit_code == 2


def test_unknown_round_is_an_error_exit_1(make_workbook):
    path = make_workbook([line("7912345", "Đường bản Co Mạ")])
    result = run("review", path, "--round", 9, "--no-audit")
    assert result.exit_code == 1
    assert "no round 9 (rounds defined: 1, 2, 3)" in result.output


def test_out_writes_flags_files(make_workbook, tmp_path):
    path = make_workbook([line("7912345", "@Đường bản Co Mạ", disbursed="10")])
    out = tmp_path / "out"
    result = run("review", path, "--round", 1, "--out", out, "--no-audit")
    assert result.exit_code == 0, result.output
    csv_text = (out / "flags.csv").read_text(encoding="utf-8-sig")
    assert "'@Đường bản Co Mạ" in csv_text
    import openpyxl

    sheet = openpyxl.load_workbook(out / "flags.xlsx").active
    names = [c.value for c in sheet["C"]]
    assert "@Đường bản Co Mạ" in names
    assert sheet.cell(row=5, column=7).value == 1000.0  # plan in triệu đồng


def test_inspect_explains_the_sheet(make_workbook):
    path = make_workbook([line("7912345", "Đường bản Co Mạ", disbursed="10")])
    result = run("inspect", path)
    assert result.exit_code == 0, result.output
    assert "header rows 7–9; column-ordinal rows: 10" in result.output
    assert "L  plan_dong              ← Kế hoạch vốn năm 2022" in result.output
    assert "unit: trieu (from: Đơn vị: triệu đồng)" in result.output
    data = json.loads(run("inspect", path, "--json").output)
    (sheet,) = data["sheets"]
    assert sheet["columns"]["disbursed_dong"] == {"column": "M", "header": "Giải ngân đến 30/6/2022 / Số vốn"}
    assert sheet["row_classes"]["project"] == 1 and sheet["first_lines"][0]["row"] == 14


def test_sheet_without_project_codes_reports_and_exports(tmp_path):
    import openpyxl

    path = tmp_path / "khong_ma.xlsx"
    book = openpyxl.Workbook()
    sheet = book.active
    for row in (
        ["BÁO CÁO GIẢI NGÂN VỐN ĐẦU TƯ CÔNG 6 THÁNG ĐẦU NĂM 2022"],
        [None, None, None, None, "ĐVT: Triệu đồng"],
        ["TT", "Tên dự án", "Chủ đầu tư", "KH vốn năm 2022", "Giải ngân từ 01/01/2022 đến 30/6/2022"],
        ["I", "Vốn ngân sách trung ương", None, 2000, 600],
        ["a", "Các dự án chuyển tiếp", None, 2000, 600],
        [1, "Đường Mường Bú - Chiềng San", "Ban QLDA Giao thông", 1200, 500],
        [2, "Cầu Tạ Bú", "UBND huyện Mường La", 800, 100],
    ):
        sheet.append(row)
    book.save(path)
    result = run("review", path, "--round", 1, "--no-audit", "--out", tmp_path / "out")
    assert result.exit_code == 0, result.output
    assert "Số dòng dự án đã đọc: 2; trong phạm vi rà soát: 2; bị gắn cờ: 2" in result.output
    assert re.search(r"^-\s+Đường Mường Bú - Chiềng San", result.output, re.M)
    data = json.loads(run("review", path, "--round", 1, "--no-audit", "--json").output)
    assert [f["project_code"] for f in data["flags"]] == [None, None]
    assert [f["source"]["row"] for f in data["flags"]] == [6, 7]


def test_review_in_a_read_only_folder_runs_and_says_it_was_not_recorded(make_workbook, tmp_path, monkeypatch):
    import os

    path = make_workbook([line("7912345", "Đường bản Co Mạ", disbursed="10")])
    folder = tmp_path / "chi_doc"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("DISBURSEMENT_AUDIT_DB", raising=False)
    real_access = os.access
    monkeypatch.setattr(
        os, "access", lambda p, mode: False if str(p) == str(folder.resolve()) else real_access(p, mode)
    )
    result = CliRunner().invoke(cli, ["review", str(path), "--round", "1", "--json"])
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    assert len(data["flags"]) == 1 and "audit" not in data
    assert [i["code"] for i in data["issues"] if i["code"] == "AUDIT-NOT-RECORDED"]
    assert not (folder / "disbursement-audit.sqlite").exists()
