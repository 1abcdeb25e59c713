"""Plan workbook + State Treasury (KBNN) export joined on the normalised project code."""

from __future__ import annotations

import datetime as dt

from devtools.samples import write_treasury_export
from disbursement.ingest.join import normalise_code
from disbursement.pipeline import run_round
from tests.conftest import line


def test_normalise_code():
    assert normalise_code(7912345.0) == "7912345"
    assert normalise_code(" 07912 345 ") == "7912345"
    assert normalise_code("'7912345") == "7912345"
    assert normalise_code("DA-01") == "DA-01"
    assert normalise_code(None) is None


def test_treasury_figures_replace_plan_disbursement(make_workbook, tmp_path):
    lines = [
        line("7900001", "Đường giao thông bản Nà Ngần, xã Chiềng Sại"),
        line("7900002", "Trường mầm non xã Chiềng Khoang", status="new"),
        line("7900003", "Nhà văn hóa bản Lướt, xã Chiềng Pấc"),
    ]
    plan = make_workbook(lines)
    treasury = tmp_path / "kbnn.xlsx"
    rows = [
        dict(lines[0], disbursed_dong=100_000_000),
        dict(lines[1], disbursed_dong=900_000_000),
        dict(line("7999999", "Dự án không có trong kế hoạch"), disbursed_dong=5_000_000),
    ]
    write_treasury_export(treasury, rows, as_of=dt.date(2022, 6, 30))
    result = run_round([plan, treasury], 1, propose=False)
    by_code = {p.project_code: p for p in result.plan.itertuples()}
    assert by_code["7900001"].disbursed_dong == 100_000_000  # đồng in the export, exact
    assert by_code["7900002"].disbursed_dong == 900_000_000
    assert by_code["7900003"].disbursed_dong == 0
    assert by_code["7900001"].cells["disbursed_dong"].startswith("kbnn.xlsx:")
    assert sorted(f.project_code for f in result.flags.itertuples()) == ["7900001", "7900003"]
    messages = {i.code: i.message for i in result.issues}
    assert "7900003" in messages["TREASURY-MISSING"]
    assert "7999999" in messages["TREASURY-UNKNOWN-CODE"]


def test_name_fallback_only_when_nearly_identical_and_reported(make_workbook, tmp_path):
    lines = [
        line("7900001", "Đường giao thông bản Nà Ngần, xã Chiềng Sại"),
        line("7900002", "Trường mầm non xã Chiềng Khoang"),
    ]
    plan = make_workbook(lines)
    treasury = tmp_path / "kbnn.xlsx"
    rows = [
        dict(lines[0], project_code="8800001", disbursed_dong=700_000_000),
        dict(
            lines[1],
            project_code="8800002",
            project_name="Bệnh viện huyện Quỳnh Nhai",
            disbursed_dong=1_000_000,
        ),
    ]
    write_treasury_export(treasury, rows, as_of=dt.date(2022, 6, 30))
    result = run_round([plan, treasury], 1, propose=False)
    by_code = {p.project_code: p for p in result.plan.itertuples()}
    assert by_code["7900001"].disbursed_dong == 700_000_000
    assert by_code["7900002"].disbursed_dong == 0
    (match,) = [i for i in result.issues if i.code == "TREASURY-NAME-MATCH"]
    assert "8800001" in match.message and match.row == by_code["7900001"].row
