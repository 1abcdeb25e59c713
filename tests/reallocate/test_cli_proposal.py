"""CLI: the proposal in --json, overrides applied and refused, what-if thresholds."""

from __future__ import annotations

import json

from click.testing import CliRunner

from disbursement.cli import cli
from tests.conftest import line


def run(*args):
    return CliRunner().invoke(
        cli, [*map(str, args), "--no-audit"] if args[0] == "review" else list(map(str, args))
    )


def lines():
    return [
        # Slow, the investor expects 600 of 1.000: 400 triệu can be recalled.
        line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="300", expected_dong="600"),
        # Disbursing well and asking for 250 triệu more.
        line("7912346", "Trường THCS xã Mường Bú", disbursed="900", extra_need_dong="250"),
        # Disbursing well, asking for 500 triệu more, but from another capital source.
        line("7912347", "Cầu bản Púng", source="NSDP_XSKT", disbursed="950", extra_need_dong="500"),
    ]


def test_review_json_carries_a_balanced_proposal(make_workbook):
    data = json.loads(run("review", make_workbook(lines()), "--round", 1, "--json").output)
    proposal = data["proposal"]
    (pool,) = [p for p in proposal["pools"] if p["capital_source"] == "NSDP_CAN_DOI"]
    assert pool == {
        "pool": "NSDP_CAN_DOI",
        "capital_source": "NSDP_CAN_DOI",
        "recalled_dong": 400_000_000,
        "allocated_dong": 250_000_000,
        "unallocated_dong": 150_000_000,
    }
    (decrease,) = proposal["decreases"]
    assert decrease["project_code"] == "7912345" and decrease["plan_after_dong"] == 600_000_000
    assert decrease["reason"] == "UNABLE_TO_DISBURSE" and decrease["source"]["row"] > 10
    (increase,) = proposal["increases"]  # the XSKT line cannot take NSĐP capital
    assert increase["project_code"] == "7912346" and increase["amount_dong"] == 250_000_000


def test_overrides_applied_and_a_violating_row_refused(make_workbook, tmp_path):
    overrides = tmp_path / "dieu_chinh.csv"
    overrides.write_text(
        "Mã dự án,Nguồn vốn,Loại,Số tiền,Lý do,Người phê duyệt\n"
        '7912345,NSDP_CAN_DOI,giảm,"350",Chủ đầu tư cam kết thêm 50 triệu,Phó Giám đốc\n'
        '7912346,NSDP_CAN_DOI,tăng,"900",Theo đề nghị,Phó Giám đốc\n',
        encoding="utf-8",
    )
    result = run("review", make_workbook(lines()), "--round", 1, "--json", "--overrides", overrides)
    assert result.exit_code == 0, result.output
    data = json.loads(result.output)
    (decrease,) = data["proposal"]["decreases"]
    assert decrease["amount_dong"] == 350_000_000
    assert decrease["override"] == {
        "reason": "Chủ đầu tư cam kết thêm 50 triệu",
        "approver": "Phó Giám đốc",
        "file": str(overrides),
        "row": 2,
    }
    (increase,) = data["proposal"]["increases"]
    assert increase["amount_dong"] == 250_000_000  # 900 > stated need 250: refused
    refused = [i for i in data["issues"] if i["severity"] == "error" and i["code"].startswith("OVERRIDE")]
    assert len(refused) == 1 and refused[0]["row"] == 3 and refused[0]["file"] == str(overrides)


def test_whatif_per_threshold_and_source(make_workbook):
    path = make_workbook(lines())
    result = run("whatif", path, "--round", 1, "--thresholds", "30,50,95")
    assert result.exit_code == 0, result.output
    assert "Thử các ngưỡng cho SL79-R1" in result.output
    english = run("whatif", path, "--round", 1, "--thresholds", "30,50,95", "--lang", "en")
    assert "What-if for SL79-R1" in english.output
    data = json.loads(run("whatif", path, "--round", 1, "--thresholds", "30,50,95", "--json").output)
    rows = {(r["threshold_pct"], r["capital_source"]): r for r in data["rows"]}
    assert rows[(30, "NSDP_CAN_DOI")]["lines_flagged"] == 0
    assert rows[(50, "NSDP_CAN_DOI")]["lines_flagged"] == 1
    assert rows[(50, "NSDP_CAN_DOI")]["recallable_dong"] == 400_000_000
    assert rows[(95, "NSDP_CAN_DOI")]["lines_flagged"] == 2
    assert rows[(95, "NSDP_XSKT")]["lines_flagged"] == 0
    assert run("whatif", path, "--round", 1, "--thresholds", "50,abc").exit_code == 2
    assert run("whatif", path, "--round", 1, "--thresholds", "0").exit_code == 2
