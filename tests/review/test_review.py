"""Round semantics on official-layout workbooks: thresholds, scope, plan 0, two sources."""

from __future__ import annotations

import datetime as dt

import pytest

from disbursement.errors import NothingToReview
from disbursement.pipeline import run_round
from tests.conftest import line


def flagged_codes(result) -> list[tuple[str, str]]:
    return [(f.project_code, f.capital_source) for f in result.flags.itertuples()]


def test_round1_exactly_half_is_not_flagged_and_just_under_is(make_workbook):
    path = make_workbook(
        [
            line("7900001", "Đường Chiềng Lương – Nà Sản, huyện Mai Sơn", disbursed="499,999"),
            line("7900002", "Trường THCS xã Mường Bú, huyện Mường La", disbursed="500"),
            line("7900003", "Kè chống sạt lở suối Nậm La", plan="3.000", disbursed="1.499,999"),
        ]
    )
    result = run_round([path], 1, propose=False)
    assert flagged_codes(result) == [("7900001", "NSDP_CAN_DOI"), ("7900003", "NSDP_CAN_DOI")]
    first = result.flags.iloc[0]
    assert first.plan_dong == 1_000_000_000 and first.disbursed_dong == 499_999_000
    assert first.rate_pct == "49,99"  # display truncates, so it never reads as the threshold
    assert first.rule_id == "SL79-R1"


def test_plan_zero_is_never_flagged_but_counted_not_applicable(make_workbook):
    path = make_workbook(
        [
            line("7900011", "Nhà văn hóa bản Hụm, xã Chiềng Đen", plan="0", disbursed="0"),
            line("7900012", "Cầu treo bản Pá Ban", disbursed="10"),
        ]
    )
    result = run_round([path], 1, propose=False)
    assert flagged_codes(result) == [("7900012", "NSDP_CAN_DOI")]
    assert result.summary["not_applicable"] == 1
    assert result.summary["lines"] == 2


def test_new_start_is_outside_round1_but_inside_round2(make_workbook):
    lines = [
        line("7900021", "Trạm y tế xã Tà Hộc", status="new", disbursed="100"),
        line("7900022", "Đường nội thị thị trấn Hát Lót", disbursed="100"),
    ]
    june = make_workbook(lines, name="t6.xlsx")
    september = make_workbook(lines, name="t9.xlsx", as_of=dt.date(2022, 9, 30))
    assert flagged_codes(run_round([june], 1, propose=False)) == [("7900022", "NSDP_CAN_DOI")]
    r2 = run_round([september], 2, propose=False)
    assert sorted(flagged_codes(r2)) == [("7900021", "NSDP_CAN_DOI"), ("7900022", "NSDP_CAN_DOI")]
    assert r2.round.as_of == dt.date(2022, 9, 30)
    assert not [i for i in r2.issues if i.code == "ASOF-MISMATCH"]


def test_round2_threshold_is_sixty_percent_strict(make_workbook):
    path = make_workbook(
        [
            line("7900031", "Thủy lợi bản Lếch", status="new", disbursed="599,999"),
            line("7900032", "Thủy lợi bản Mòn", status="new", disbursed="600"),
        ],
        as_of=dt.date(2022, 9, 30),
    )
    assert flagged_codes(run_round([path], 2, propose=False)) == [("7900031", "NSDP_CAN_DOI")]


def test_project_under_two_capital_sources_is_two_lines(make_workbook):
    path = make_workbook(
        [
            line("7900041", "Bệnh viện đa khoa huyện Sông Mã", disbursed="100"),
            line(
                "7900041",
                "Bệnh viện đa khoa huyện Sông Mã",
                source="NSTW_TRONG_NUOC",
                plan="2.000",
                disbursed="1.500",
            ),
        ]
    )
    result = run_round([path], 1, propose=False)
    assert result.summary["lines"] == 2
    assert flagged_codes(result) == [("7900041", "NSDP_CAN_DOI")]
    sources = {e["capital_source"]: e for e in result.summary["by_capital_source"]}
    assert sources["NSTW_TRONG_NUOC"]["flagged"] == 0
    assert sources["NSDP_CAN_DOI"]["flagged_plan_dong"] == 1_000_000_000
    assert not [i for i in result.issues if i.code == "DUPLICATE-CODE"]


def test_year_shift_moves_every_date_and_reads_that_years_plan(make_workbook):
    path = make_workbook([line("7900051", "Đường bản Co Mạ", disbursed="100")], year=2023)
    result = run_round([path], 1, year=2023, propose=False)
    assert result.round.as_of == dt.date(2023, 6, 30)
    assert flagged_codes(result) == [("7900051", "NSDP_CAN_DOI")]
    # Read as 2022, the 2023 sheet has no 2022 plan: the run is refused, naming the year.
    with pytest.raises(NothingToReview, match="plan year 2023, not 2022; run with --year 2023"):
        run_round([path], 1, year=2022, propose=False)
    # Without --year, the one plan year the headers name is used, and said.
    guessed = run_round([path], 1, propose=False)
    assert guessed.round.as_of == dt.date(2023, 6, 30) and guessed.summary["lines"] == 1
    assert guessed.issues[0].code == "YEAR-FROM-HEADER"


def test_flag_cites_source_cells_and_status_from_group_rows(make_workbook):
    path = make_workbook(
        [
            line("7900061", "Sân vận động huyện Phù Yên", source="NSDP_XSKT", disbursed="1"),
        ]
    )
    flag = run_round([path], 1, propose=False).flags.iloc[0]
    assert flag.status == "continuing" and flag.capital_source == "NSDP_XSKT"
    assert flag.capital_source_label == "Vốn xổ số kiến thiết"
    assert flag.cells["plan_dong"].endswith(str(flag.row))
    assert flag.sheet and flag.file.endswith("ke_hoach.xlsx")
