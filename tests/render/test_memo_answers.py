"""The memo answers the director's first questions (issue #13), on the sample rounds.

- how many flagged lines recall nothing, and why (grouped, the `_issues.j2` wording);
- what becomes of capital no project can receive, per capital source (settings `returned_to`:
  central-budget capital is reported back, provincial capital goes to the reserve);
- after a recorded decision, the next round cites it in its Căn cứ lines and states how many
  of its lines persist, are new, or cleared.
"""

from __future__ import annotations

import json
from pathlib import Path

import openpyxl
import pytest
from click.testing import CliRunner

from disbursement.cli import cli

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
ROUND1, ROUND2 = SAMPLES / "son_la_2022_den_30-06.xlsx", SAMPLES / "son_la_2022_den_30-09.xlsx"
DECISION = "Quyết định số 1234/QĐ-UBND ngày 15/7/2022 của UBND tỉnh Sơn La"


def _ok(*args) -> str:
    done = CliRunner().invoke(cli, [str(a) for a in args])
    assert done.exit_code == 0, done.output
    return done.output


@pytest.fixture(scope="module")
def two_rounds(tmp_path_factory):
    """Round 1 reviewed and decided, then round 2 against the same store (vi and en)."""
    folder = tmp_path_factory.mktemp("memo")
    store = folder / "audit.sqlite"
    _ok("review", ROUND1, "--round", 1, "--out", folder / "r1", "--audit-db", store)
    _ok("decide", "latest", "--decision", DECISION, "--audit-db", store)
    _ok("review", ROUND2, "--round", 2, "--out", folder / "r2", "--audit-db", store)
    _ok("review", ROUND2, "--round", 2, "--out", folder / "r2en", "--audit-db", store, "--lang", "en")
    data = json.loads(_ok("review", ROUND1, "--round", 1, "--json", "--no-audit"))
    return folder, data


def _memo(folder: Path, name: str) -> str:
    return (folder / name / "to_trinh.md").read_text(encoding="utf-8")


def test_memo_says_how_many_flagged_lines_recall_nothing_and_why(two_rounds):
    folder, data = two_rounds
    memo = _memo(folder, "r1")
    flagged = len(data["flags"])
    recalled = len({(x["source"]["file"], x["source"]["row"]) for x in data["proposal"]["decreases"]})
    dropped = [n for n in data["notes"] if n["code"] in ("RECALL-DROPPED", "RECALL-SOURCE-UNKNOWN")]
    assert flagged - recalled == len(dropped) > 0  # every flagged line is recalled or explained
    assert (
        f"Trong số {flagged} dự án thuộc diện rà soát nêu trên, {len(dropped)} dự án không đề "
        "xuất điều chỉnh giảm"
    ) in memo
    assert f"- {len(dropped)} dự án: chủ đầu tư dự kiến giải ngân hết kế hoạch vốn trong năm." in memo


def test_central_budget_capital_is_reported_back_not_kept_in_the_reserve(two_rounds):
    folder, data = two_rounds
    memo = _memo(folder, "r1")
    central = next(p for p in data["proposal"]["pools"] if p["capital_source"] == "NSTW_TRONG_NUOC")
    local = next(p for p in data["proposal"]["pools"] if p["capital_source"] == "NSDP_CAN_DOI")
    assert central["unallocated_dong"] > 0 and local["unallocated_dong"] > 0
    lines = memo.splitlines()
    central_line = next(x for x in lines if x.startswith("4. Vốn ngân sách trung ương"))
    local_line = next(x for x in lines if x.startswith("1. Vốn cân đối ngân sách địa phương"))
    assert "báo cáo Thủ tướng Chính phủ" in central_line and "dự phòng" not in central_line
    assert "đề nghị thu hồi về dự phòng ngân sách tỉnh" in local_line
    appendix = openpyxl.load_workbook(folder / "r1" / "phu_luc.xlsx").active
    notes = [
        c.value
        for row in appendix.iter_rows()
        for c in row
        if isinstance(c.value, str) and c.value.startswith("Số vốn chưa phân bổ")
    ]
    assert len(notes) == 4 and sum("báo cáo Thủ tướng Chính phủ" in x for x in notes) == 1


def test_next_round_cites_the_recorded_decision_and_the_life_cycle(two_rounds):
    folder, _ = two_rounds
    memo = _memo(folder, "r2")
    first = _memo(folder, "r1")
    assert DECISION not in first
    assert f"*Căn cứ {DECISION} về việc điều chỉnh kế hoạch vốn đầu tư công năm 2022.*" in memo
    assert "So với kết quả rà soát đợt 1:" in memo and "không còn trong danh sách" in memo
    # the sample's 30/9 workbook still holds the plans before the decision: the memo says so
    assert (
        "dòng dự án trong biểu tổng hợp có kế hoạch vốn khác kế hoạch sau điều chỉnh đã được "
        f"phê duyệt tại {DECISION}" in memo
    )
    page = (folder / "r2" / "report.html").read_text(encoding="utf-8")
    assert 'id="card-persisting">17<' in page and "Tiếp tục bị gắn cờ từ đợt 1" in page
    assert 'id="card-cleared">20<' in page and DECISION in page
    assert 'id="card-persisting"' not in (folder / "r1" / "report.html").read_text(encoding="utf-8")
    english = _memo(folder, "r2en")
    assert f"Pursuant to {DECISION} on adjusting the 2022 public investment plan." in english
    assert "Against the review of round 1:" in english


def test_flags_carry_the_life_cycle_mark_only_against_an_earlier_round(two_rounds):
    folder, _ = two_rounds

    def header_and_marks(name: str) -> tuple[list, set]:
        sheet = openpyxl.load_workbook(folder / name / "flags.xlsx").active
        header = [c.value for c in sheet[4]]
        if "So với đợt trước" not in header:
            return header, set()
        col = header.index("So với đợt trước")
        return header, {row[col] for row in sheet.iter_rows(min_row=5, values_only=True)}

    first, marks = header_and_marks("r1")
    assert "So với đợt trước" not in first and not marks  # no earlier round: no "new" for all
    _, marks = header_and_marks("r2")
    assert marks == {"Mới", "Tiếp tục"}
