"""The register (so_theo_doi.xlsx): every line accounted for, summaries that add up."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from disbursement.cli import cli
from disbursement.errors import Issue
from disbursement.pipeline import run_round
from disbursement.render.env import environment
from disbursement.render.outputs import write_outputs
from disbursement.render.register import group_totals, register_lines, write_register
from disbursement.render.terminal import issues_report

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
ROUNDS = {1: "son_la_2022_den_30-06.xlsx", 2: "son_la_2022_den_30-09.xlsx", 3: "son_la_2022_den_30-09.xlsx"}


@pytest.fixture(scope="module", params=[1, 2, 3])
def written(request, tmp_path_factory):
    number = request.param
    result = run_round([str(SAMPLES / ROUNDS[number])], number)
    out = tmp_path_factory.mktemp(f"r{number}")
    write_outputs(result, out)
    return result, out


def _table(sheet):
    rows = list(sheet.iter_rows(min_row=4, values_only=True))
    return rows[0], rows[1:]


def test_register_names_every_line_with_its_state(written):
    result, out = written
    book = openpyxl.load_workbook(out / "so_theo_doi.xlsx")
    assert book.sheetnames == ["So theo doi", "Theo chu dau tu", "Theo dia ban"]
    header, rows = _table(book["So theo doi"])
    assert len(rows) == len(result.plan) == 150
    states = Counter(r[header.index("Kết quả rà soát")] for r in rows)
    s = result.summary
    assert states["Bị gắn cờ"] == s["flagged"]
    assert states["Không áp dụng (kế hoạch 0)"] == s["not_applicable"] == 2
    assert states["Đạt"] == s["in_scope"] - s["flagged"]
    assert sum(states.values()) == s["lines"]


def test_no_register_rate_reads_at_or_above_the_threshold_for_a_flagged_line(written):
    result, out = written
    header, rows = _table(openpyxl.load_workbook(out / "so_theo_doi.xlsx")["So theo doi"])
    rate, state = header.index("Tỷ lệ giải ngân"), header.index("Kết quả rà soát")
    threshold = result.round.threshold_pct
    flagged = [r for r in rows if r[state] == "Bị gắn cờ"]
    assert flagged
    assert all(isinstance(r[rate], float) for r in flagged)
    if threshold is not None:
        # Stored truncated to the two decimals shown: Excel cannot round 49,996 % up to 50,00 %.
        assert all(round(r[rate] * 100, 2) < threshold for r in flagged)
        assert all(
            round(r[rate] * 10_000) == r[rate] * 10_000
            or abs(r[rate] * 10_000 - round(r[rate] * 10_000)) < 1e-6
            for r in flagged
        )


def test_per_investor_and_per_area_totals_add_up_to_the_run(written):
    result, out = written
    book = openpyxl.load_workbook(out / "so_theo_doi.xlsx")
    s = result.summary
    recalled = sum(x.amount_dong for x in result.proposal.decreases) if result.proposal else 0
    for name in ("Theo chu dau tu", "Theo dia ban"):
        _, rows = _table(book[name])
        *groups, total = rows
        assert total[1] == "TỔNG SỐ"
        assert sum(g[2] for g in groups) == total[2] == s["lines"]
        assert round(sum(g[3] for g in groups), 3) == round(total[3], 3) == s["plan_dong"] / 1e6
        assert sum(g[6] for g in groups) == total[6] == s["flagged"]
        assert round(total[7], 6) == round(recalled / 1e6, 6)
    lines = register_lines(result)
    by_investor = group_totals(lines, lambda x: x.investor, "-")
    assert sum(g.disbursed_dong for g in by_investor) == s["disbursed_dong"]
    assert len(by_investor) == len({x.investor for x in lines})


def test_flags_xlsx_rate_is_a_percent_number(written):
    result, out = written
    sheet = openpyxl.load_workbook(out / "flags.xlsx").active
    header = [c.value for c in sheet[4]]
    col = header.index("Tỷ lệ (%)") + 1
    cells = [sheet.cell(row=r, column=col) for r in range(5, 5 + len(result.flags))]
    assert all(isinstance(c.value, float) and c.number_format == "0.00%" for c in cells)
    assert sheet.page_setup.orientation == "landscape"
    assert sheet.print_title_rows == "$4:$4"
    assert sheet.sheet_properties.pageSetUpPr.fitToPage
    assert sheet.page_setup.fitToWidth in (None, 1) and sheet.page_setup.fitToHeight == 0
    if result.round.threshold_pct is None:  # round 3: the expected figure that flagged
        assert "Dự kiến giải ngân cả năm (triệu đồng)" in header


def test_register_in_english_uses_english_words(tmp_path):
    result = run_round([str(SAMPLES / ROUNDS[1])], 1)
    write_register(result, tmp_path / "r.xlsx", env=environment(), lang="en")
    book = openpyxl.load_workbook(tmp_path / "r.xlsx")
    assert book.sheetnames == ["Register", "By investor", "By area"]
    header, rows = _table(book["Register"])
    assert {r[header.index("Review result")] for r in rows} >= {"Flagged", "Passed"}


def test_terminal_never_says_more_after_listing_none():
    notes = [Issue("STATUS-FROM-NOTE", "info", "a.xlsx", "S", 3, "B", "x") for _ in range(24)]
    lines = issues_report(notes, "en")
    assert sum("a.xlsx / S / B3" in x for x in lines) == 3  # the first examples, located
    for i, x in enumerate(lines):  # "… more" only ever follows listed examples of its code
        if "more" in x:
            assert "a.xlsx / S /" in lines[i - 1]
    warnings = [Issue("UNIT-ASSUMED", "warning", "a.xlsx", "S", r, "B", "w") for r in range(1, 6)]
    text = "\n".join(issues_report(warnings + notes, "en"))
    assert "… and 2 more" in text and "… and 21 more" in text
    assert text.index("UNIT-ASSUMED") < text.index("STATUS-FROM-NOTE")  # warnings first
    vi = "\n".join(issues_report(warnings, "vi"))
    assert "… và 2 trường hợp khác" in vi and "more" not in vi


def test_register_marks_new_persisting_and_cleared_against_the_previous_round(tmp_path):
    db = tmp_path / "audit.db"
    for number, out in ((1, "r1"), (2, "r2")):
        done = CliRunner().invoke(
            cli,
            [
                "review",
                str(SAMPLES / ROUNDS[number]),
                "--round",
                str(number),
                "--audit-db",
                str(db),
                "--out",
                str(tmp_path / out),
            ],
        )
        assert done.exit_code == 0, done.output
    header, rows = _table(openpyxl.load_workbook(tmp_path / "r2" / "so_theo_doi.xlsx")["So theo doi"])
    marks = Counter((r[header.index("Kết quả rà soát")], r[header.index("So với đợt trước")]) for r in rows)
    first = run_round([str(SAMPLES / ROUNDS[1])], 1)
    second = run_round([str(SAMPLES / ROUNDS[2])], 2)
    codes1 = set(zip(first.flags["project_code"], first.flags["capital_source"], strict=True))
    codes2 = set(zip(second.flags["project_code"], second.flags["capital_source"], strict=True))
    assert marks[("Bị gắn cờ", "Tiếp tục")] == len(codes1 & codes2) > 0
    assert marks[("Bị gắn cờ", "Mới")] == len(codes2 - codes1) > 0
    assert marks[("Đạt", "Đã hết")] == len(codes1 - codes2) > 0


def test_the_appendix_carries_the_summaries_when_the_settings_ask(tmp_path):
    settings = tmp_path / "settings.yaml"
    shipped = (SAMPLES.parent / "rules" / "settings" / "son-la.yaml").read_text(encoding="utf-8")
    settings.write_text(
        shipped.replace("appendix_summaries: []", "appendix_summaries: [investor, area]"), encoding="utf-8"
    )
    result = run_round([str(SAMPLES / ROUNDS[1])], 1)
    plain, asked = tmp_path / "plain", tmp_path / "asked"
    write_outputs(result, plain)
    write_outputs(result, asked, settings=settings)
    assert openpyxl.load_workbook(plain / "phu_luc.xlsx").sheetnames == ["Phu luc"]
    book = openpyxl.load_workbook(asked / "phu_luc.xlsx")
    assert book.sheetnames == ["Phu luc", "Theo chu dau tu", "Theo dia ban"]
    _, rows = _table(book["Theo chu dau tu"])
    assert rows[-1][1] == "TỔNG SỐ" and rows[-1][2] == result.summary["lines"]
    assert round(rows[-1][3], 3) == result.summary["plan_dong"] / 1e6
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        shipped.replace("appendix_summaries: []", "appendix_summaries: [sector]"), encoding="utf-8"
    )
    from disbursement.config.settings import load_settings
    from disbursement.errors import SettingsInvalid

    with pytest.raises(SettingsInvalid, match="appendix_summaries"):
        load_settings(bad, year=2022)
