"""With LibreOffice installed: the memo converts to PDF and the appendix recalculates to the
values we stored beside the formulas. Skipped (with the reason) when `soffice` is missing;
CI installs libreoffice-writer-nogui and libreoffice-calc-nogui."""

from __future__ import annotations

import re
import shutil
import subprocess
import zipfile

import openpyxl
import pytest
from test_render_fixtures import LINES, OTHER_LINES, _build, make_result

from disbursement.render import render_outputs

SOFFICE = shutil.which("soffice") or shutil.which("libreoffice")
pytestmark = pytest.mark.skipif(
    SOFFICE is None,
    reason="LibreOffice (soffice) not installed: apt-get install libreoffice-writer-nogui "
    "libreoffice-calc-nogui",
)


def convert(source, fmt: str, out_dir, profile) -> None:
    subprocess.run(
        [SOFFICE, f"-env:UserInstallation=file://{profile}", "--headless", "--norestore",
         "--convert-to", fmt, "--outdir", str(out_dir), str(source)],
        check=True, capture_output=True, timeout=240,
    )  # fmt: skip


@pytest.fixture(scope="module")
def rendered(tmp_path_factory):
    return render_outputs(make_result(), tmp_path_factory.mktemp("lo"))


def test_memo_converts_to_pdf(rendered, tmp_path):
    convert(rendered["docx"], "pdf", tmp_path, tmp_path / "profile")
    pdf = (tmp_path / "to_trinh.pdf").read_bytes()
    assert pdf.startswith(b"%PDF")
    pages = len(re.findall(rb"/Type\s*/Page[^s]", pdf))
    assert pages >= 2
    if shutil.which("pdftotext"):
        text = subprocess.run(["pdftotext", str(tmp_path / "to_trinh.pdf"), "-"],
                              check=True, capture_output=True, text=True).stdout  # fmt: skip
        assert "TỜ TRÌNH" in text
        assert "ngày 05 tháng 7 năm 2022" in text


def strip_cached_values(source, target) -> None:
    """Copy the workbook without the values stored beside formulas, so LibreOffice must
    compute every formula itself when it loads the copy."""
    with zipfile.ZipFile(source) as zin, zipfile.ZipFile(target, "w") as zout:
        for info in zin.infolist():
            data = zin.read(info.filename)
            if info.filename.startswith("xl/worksheets/"):
                data = re.sub(rb"(<f>[^<]*</f>)<v>[^<]*</v>", rb"\1", data)
            zout.writestr(info, data)


def test_recalculated_appendix_equals_the_stored_values(rendered, tmp_path):
    bare = tmp_path / "bare" / "phu_luc.xlsx"
    bare.parent.mkdir()
    strip_cached_values(rendered["xlsx"], bare)
    assert b"<v>" not in zipfile.ZipFile(bare).read("xl/worksheets/sheet1.xml").split(b"<f>")[1]
    out = tmp_path / "recalc"
    convert(bare, "xlsx", out, tmp_path / "profile")
    stored = openpyxl.load_workbook(rendered["xlsx"], data_only=True).active
    formulas = openpyxl.load_workbook(rendered["xlsx"]).active
    recalculated = openpyxl.load_workbook(out / "phu_luc.xlsx", data_only=True).active
    checked = 0
    for row in formulas.iter_rows(min_row=8):
        for cell in row:
            if cell.data_type != "f":
                continue
            mine = stored[cell.coordinate].value
            theirs = recalculated[cell.coordinate].value
            assert theirs is not None, cell.coordinate
            if cell.column_letter == "G":  # the truncated rate: the very same number
                assert theirs == mine, cell.coordinate
            else:  # money: equal to the đồng
                assert round(theirs * 1_000_000) == round(mine * 1_000_000), cell.coordinate
            checked += 1
    assert checked > 40


# (plan, disbursed) in đồng at the edges of the rate policy: 49,996 %, just under 50 % by one
# đồng of a large plan, exactly 17,06 % where the triệu float quotient falls just below,
# a third, and a plan not a whole triệu.
EDGE_RATES = [
    (1_000_000_000, 499_960_000),
    (200_000_000_000, 99_999_999_999),
    (9_548_040_000, 1_628_895_624),
    (3_000_000, 1_000_000),
    (123_456_789_011, 61_728_394_505),
    (700_000_000_001, 350_000_000_000),
]


def test_recalculated_rates_at_the_edges_are_truncated_like_the_flags(tmp_path):
    lines = [
        (*line[:4], plan, disbursed, *line[6:])
        for line, (plan, disbursed) in zip(LINES, EDGE_RATES, strict=False)
    ]
    written = render_outputs(_build(lines, OTHER_LINES), tmp_path / "out")
    bare = tmp_path / "bare" / "phu_luc.xlsx"
    bare.parent.mkdir()
    strip_cached_values(written["xlsx"], bare)
    convert(bare, "xlsx", tmp_path / "recalc", tmp_path / "profile")
    stored = openpyxl.load_workbook(written["xlsx"], data_only=True).active
    recalculated = openpyxl.load_workbook(tmp_path / "recalc" / "phu_luc.xlsx", data_only=True).active
    shown = {}
    for r in range(8, stored.max_row + 1):
        plan, disbursed = stored[f"E{r}"].value, stored[f"F{r}"].value
        if isinstance(plan, (int, float)) and plan:
            assert recalculated[f"G{r}"].value == stored[f"G{r}"].value, r
            shown[(round(plan * 1_000_000), round(disbursed * 1_000_000))] = stored[f"G{r}"].value
    assert shown[(1_000_000_000, 499_960_000)] == 49.99
    assert shown[(200_000_000_000, 99_999_999_999)] == 49.99
    assert shown[(9_548_040_000, 1_628_895_624)] == 17.06  # F/E*10000 is 1705,999…
    assert shown[(3_000_000, 1_000_000)] == 33.33
