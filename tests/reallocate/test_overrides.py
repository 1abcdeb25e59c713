"""Overrides: reading .csv/.xlsx, applying on top of a proposal, re-checking every limit."""

from __future__ import annotations

import datetime as dt
import os

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disbursement.config.priority import priority_for_year
from disbursement.errors import InputUnreadable
from disbursement.model import OPTIONAL_MONEY
from disbursement.reallocate.overrides import OverrideRow, apply_overrides, read_overrides
from disbursement.reallocate.proposal import AllocationPolicy, RecallPolicy, propose

T = 1_000_000
LAW39 = priority_for_year(2022)
ALLOC = AllocationPolicy()
HEADER = "Mã dự án,Nguồn vốn,Loại,Số tiền (triệu đồng),Lý do,Người phê duyệt\n"


def make_plan(rows: list[dict]) -> pd.DataFrame:
    base = {
        "project_code": None,
        "project_name": "Dự án",
        "investor": "Ban QLDA tỉnh",
        "capital_source": "NSDP_CAN_DOI",
        "capital_source_label": "Vốn cân đối ngân sách địa phương",
        "budget_level": "tinh",
        "status": "continuing",
        "category": None,
        "investment_decision": "QĐ 12/QĐ-UBND",
        "file": "ke-hoach-2022.xlsx",
        "sheet": "Biểu 01",
        "flagged": False,
        "plan_dong": 0,
        "disbursed_dong": 0,
    }
    df = pd.DataFrame([{**base, "row": 10 + i, **r} for i, r in enumerate(rows)])
    for column in (
        "project_code",
        "project_name",
        "investor",
        "capital_source",
        "capital_source_label",
        "budget_level",
        "status",
        "category",
        "investment_decision",
        "file",
        "sheet",
    ):
        df[column] = df[column].astype("string")
    for column in OPTIONAL_MONEY:
        df[column] = (df[column] if column in df else pd.Series([None] * len(df))).astype("Int64")
    df["cells"] = [{} for _ in range(len(df))]
    return df


def plan_2022() -> pd.DataFrame:
    return make_plan(
        [
            {
                "project_code": "7912101",
                "project_name": "Đường Chiềng Sinh - Chiềng Ngần",
                "flagged": True,
                "plan_dong": 5_000 * T,
                "disbursed_dong": 1_200 * T,
                "expected_dong": 3_000 * T,
            },
            {
                "project_code": "7912203",
                "project_name": "Kè suối Nậm La",
                "plan_dong": 3_000 * T,
                "disbursed_dong": 2_700 * T,
                "extra_need_dong": 2_500 * T,
                "medium_term_dong": 20_000 * T,
                "cumulative_alloc_dong": 5_000 * T,
            },
            {
                "project_code": "7912204",
                "project_name": "Bệnh viện Thuận Châu",
                "plan_dong": 2_000 * T,
                "disbursed_dong": 1_900 * T,
                "extra_need_dong": 1_500 * T,
                "medium_term_dong": 20_000 * T,
                "cumulative_alloc_dong": 5_000 * T,
            },
            {
                "project_code": "7912301",
                "project_name": "Cầu bản Hụm",
                "status": "new",
                "plan_dong": 500 * T,
                "disbursed_dong": 450 * T,
                "extra_need_dong": 700 * T,
                "medium_term_dong": 5_000 * T,
            },
            {
                "project_code": "7912401",
                "project_name": "Trụ sở xã Chiềng Khoi",
                "plan_dong": 300 * T,
                "disbursed_dong": 100 * T,
            },
            {
                "project_code": "7912401",
                "project_name": "Trụ sở xã Chiềng Khoi (huyện)",
                "capital_source": "NSDP_CAN_DOI",
                "budget_level": "huyen",
                "plan_dong": 300 * T,
                "disbursed_dong": 100 * T,
            },
        ]
    )


def computed():
    plan = plan_2022()
    proposal, _ = propose(plan, RecallPolicy(), ALLOC, LAW39, as_of=dt.date(2022, 6, 30), year=2022)
    return plan, proposal


def amounts(proposal):
    return {(x.kind, x.project_code): x.amount_dong // T for x in (*proposal.decreases, *proposal.increases)}


def apply_csv(tmp_path, body: str):
    path = tmp_path / "dieu-chinh.csv"
    path.write_text(HEADER + body, encoding="utf-8")
    rows, read_issues = read_overrides(path)
    plan, proposal = computed()
    result, issues = apply_overrides(proposal, plan, rows, ALLOC, LAW39, year=2022)
    return proposal, result, read_issues, issues


def test_computed_proposal_before_overrides():
    _, proposal = computed()
    assert amounts(proposal) == {
        ("decrease", "7912101"): 2_000,
        ("increase", "7912203"): 1_250,
        ("increase", "7912204"): 750,
    }


def test_overrides_replace_and_add_lines_and_keep_the_pool_balanced(tmp_path):
    _, result, read_issues, issues = apply_csv(
        tmp_path,
        (
            "7912204,Vốn cân đối ngân sách địa phương,tăng,1500,Đã có khối lượng,Nguyễn Văn An\n"
            "7912101,NSDP_CAN_DOI,giảm,3800,Chủ đầu tư đề nghị,Nguyễn Văn An\n"
            "7912301,nsdp_can_doi,Điều chỉnh tăng,550,Cấp bách,Lò Văn Bình\n"
            '7912203,NSDP_CAN_DOI,increase,"1.750,0",Theo tiến độ,Lò Văn Bình\n'
        ),
    )
    assert read_issues == []
    assert [i.code for i in issues] == ["OVERRIDE-APPLIED"] * 4
    assert amounts(result) == {
        ("decrease", "7912101"): 3_800,
        ("increase", "7912203"): 1_750,
        ("increase", "7912204"): 1_500,
        ("increase", "7912301"): 550,
    }
    [pool] = result.pools
    assert (pool.recalled_dong, pool.allocated_dong, pool.unallocated_dong) == (3_800 * T, 3_800 * T, 0)
    added = next(x for x in result.increases if x.project_code == "7912301")
    assert (added.reason, added.tier, added.plan_after_dong) == ("MANUAL_ADJUSTMENT", "new_start", 1_050 * T)
    replaced = next(x for x in result.decreases if x.project_code == "7912101")
    assert replaced.reason == "UNABLE_TO_DISBURSE"
    assert replaced.override == {
        "reason": "Chủ đầu tư đề nghị",
        "approver": "Nguyễn Văn An",
        "file": str(tmp_path / "dieu-chinh.csv"),
        "row": 3,
    }
    assert replaced.plan_after_dong == 1_200 * T
    assert result.policy["overrides"] == {"rows": 4, "applied": 4, "rejected": 0}


def test_rows_that_break_a_limit_are_error_issues_and_not_applied(tmp_path):
    _, result, read_issues, issues = apply_csv(
        tmp_path,
        (
            "7912101,NSDP_CAN_DOI,giảm,4000,Thu hồi hết,Nguyễn Văn An\n"  # row 2: below disbursed
            "7912203,NSDP_CAN_DOI,tăng,2600,Bổ sung,Nguyễn Văn An\n"  # row 3: above need
            "7912101,NSDP_CAN_DOI,tăng,10,Nhầm,Nguyễn Văn An\n"  # row 4: has a decrease
            "7912301,NSDP_CAN_DOI,tăng,600,Bổ sung,Nguyễn Văn An\n"  # row 5: pool overdrawn
            "7999999,NSDP_CAN_DOI,tăng,1,Bổ sung,Nguyễn Văn An\n"  # row 6: no such line
            "7912401,NSDP_CAN_DOI,giảm,100,Thu hồi,Nguyễn Văn An\n"  # row 7: two lines
            "7912204,NSDP_XSKT,tăng,100,Bổ sung,Nguyễn Văn An\n"  # row 8: other source
            "7912204,NSDP_CAN_DOI,tăng,700,Bổ sung,Nguyễn Văn An\n"  # row 9: fine (frees)
            "7912204,NSDP_CAN_DOI,tăng,600,Bổ sung,Nguyễn Văn An\n"  # row 10: duplicate
            "7912203,NSDP_CAN_DOI,tăng,1300,Bổ sung,\n"  # row 11: no approver
            "7912203,NSDP_CAN_DOI,thêm,1300,Bổ sung,Nguyễn Văn An\n"  # row 12: bad kind
            "7912203,NSDP_CAN_DOI,tăng,12%,Bổ sung,Nguyễn Văn An\n"
        ),
    )  # row 13: not money
    got = sorted((i.row, i.code, i.column) for i in read_issues + issues if i.severity == "error")
    assert got == [
        (2, "OVERRIDE-LIMIT", "D"),
        (3, "OVERRIDE-LIMIT", "D"),
        (4, "OVERRIDE-LIMIT", "D"),
        (5, "OVERRIDE-POOL-OVERDRAWN", "D"),
        (6, "OVERRIDE-LINE-NOT-FOUND", "A"),
        (7, "OVERRIDE-LINE-AMBIGUOUS", "A"),
        (8, "OVERRIDE-LINE-NOT-FOUND", "A"),
        (10, "OVERRIDE-DUPLICATE", "A"),
        (11, "OVERRIDE-INVALID", "F"),
        (12, "OVERRIDE-INVALID", "C"),
        (13, "OVERRIDE-INVALID", "D"),
    ]
    messages = {i.row: i.message for i in issues}
    assert "below disbursed to date (1,200,000,000 đồng)" in messages[2]
    assert "cap of 2,500,000,000 đồng (need" in messages[3]
    assert "already has a decrease" in messages[4]
    assert "would allocate 550,000,000 đồng more than it recalls" in messages[5]
    assert "row 9 already overrides the increase" in messages[10]
    assert amounts(result) == {
        ("decrease", "7912101"): 2_000,
        ("increase", "7912203"): 1_250,
        ("increase", "7912204"): 700,
    }
    assert result.pools[0].unallocated_dong == 50 * T
    assert result.policy["overrides"]["applied"] == 1


def test_file_order_does_not_matter(tmp_path):
    # The increase is listed first; it only fits once the larger decrease is applied.
    _, result, _, issues = apply_csv(
        tmp_path,
        (
            "7912301,NSDP_CAN_DOI,tăng,700,Cấp bách,Lò Văn Bình\n"
            "7912101,NSDP_CAN_DOI,giảm,2700,Chủ đầu tư đề nghị,Nguyễn Văn An\n"
        ),
    )
    assert [i.code for i in issues] == ["OVERRIDE-APPLIED"] * 2
    assert amounts(result)[("increase", "7912301")] == 700
    assert result.pools[0].unallocated_dong == 0


def test_zero_cancels_a_computed_line(tmp_path):
    _, result, _, issues = apply_csv(tmp_path, "7912203,NSDP_CAN_DOI,tăng,0,Hoãn,Lò Văn Bình\n")
    assert [i.code for i in issues] == ["OVERRIDE-APPLIED"]
    assert ("increase", "7912203") not in amounts(result)
    assert result.pools[0].unallocated_dong == 1_250 * T


def test_ambiguous_amount_is_refused(tmp_path):
    _, _, read_issues, _ = apply_csv(tmp_path, '7912203,NSDP_CAN_DOI,tăng,"1,250",x,y\n')
    [issue] = read_issues
    assert (issue.code, issue.row, issue.column) == ("OVERRIDE-INVALID", 2, "D")
    assert "vi-VN and en-US" in issue.message


def test_xlsx_with_a_title_row_and_numeric_cells(tmp_path):
    import openpyxl

    book = openpyxl.Workbook()
    sheet = book.active
    sheet.title = "Điều chỉnh"
    sheet.append(["DANH SÁCH ĐIỀU CHỈNH THEO Ý KIẾN PHÊ DUYỆT"])
    sheet.append(["STT", "Mã DA", "Nguồn vốn", "Tăng/giảm", "Số tiền (triệu đồng)", "Lý do", "Người duyệt"])
    sheet.append([1, 7912204, "NSDP_CAN_DOI", "Giảm", None, "x", "y"])
    sheet.append([2, 7912204, "NSDP_CAN_DOI", "Tăng", 800.5, "Bổ sung", "Phó Giám đốc Sở"])
    sheet.append(
        [3, "7912101", "Vốn cân đối ngân sách địa phương", "giảm", "2100", "Thu hồi", "Phó Giám đốc Sở"]
    )
    path = tmp_path / "dieu-chinh.xlsx"
    book.save(path)
    rows, read_issues = read_overrides(path)
    assert [(i.sheet, i.row, i.column, i.code) for i in read_issues] == [
        ("Điều chỉnh", 3, "E", "OVERRIDE-INVALID")
    ]
    letters = {
        "project_code": "B",
        "capital_source": "C",
        "kind": "D",
        "amount": "E",
        "reason": "F",
        "approver": "G",
    }
    assert rows[0] == OverrideRow(
        str(path),
        "Điều chỉnh",
        4,
        "7912204",
        "NSDP_CAN_DOI",
        "increase",
        800_500_000,
        "Bổ sung",
        "Phó Giám đốc Sở",
        letters,
    )
    assert (rows[1].row, rows[1].kind, rows[1].amount_dong) == (5, "decrease", 2_100 * T)
    plan, proposal = computed()
    result, issues = apply_overrides(proposal, plan, rows, ALLOC, LAW39, year=2022)
    assert [i.code for i in issues] == ["OVERRIDE-APPLIED"] * 2
    from disbursement.render.words import issue_text

    said = [issue_text(i, "vi") for i in issues]
    assert any(
        "điều chỉnh tăng của dự án 7912204 là 800,500 triệu đồng" in t
        and "người phê duyệt: Phó Giám đốc Sở" in t
        for t in said
    ), said
    assert any("increase of 7912204 set to 800.500 million VND" in issue_text(i, "en") for i in issues)
    increase = next(x for x in result.increases if x.project_code == "7912204")
    assert increase.amount_dong == 800_500_000
    assert result.pools[0].unallocated_dong == 49_500_000


def test_unreadable_overrides_files(tmp_path):
    bad = tmp_path / "o.csv"
    bad.write_text("Mã dự án,Nguồn vốn,Loại\n1,2,3\n", encoding="utf-8")
    with pytest.raises(InputUnreadable, match="lacks: amount, reason, approver"):
        read_overrides(bad)
    bad.write_text("a,b\n1,2\n", encoding="utf-8")
    with pytest.raises(InputUnreadable, match="no overrides header"):
        read_overrides(bad)
    with pytest.raises(InputUnreadable, match=r"\.xlsx or \.csv"):
        read_overrides(tmp_path / "o.ods")
    with pytest.raises(InputUnreadable, match="no such file"):
        read_overrides(tmp_path / "khong_co.csv")


def test_two_columns_naming_one_field_are_refused_not_chosen_between(tmp_path):
    """One header matcher for the officer's tables (rules/officer_tables.yaml): never a guess."""
    from disbursement.ingest.tables import read_approved_figures

    two = tmp_path / "o.csv"
    two.write_text(
        "Mã dự án,Nguồn vốn,Loại,Số tiền,Số vốn,Lý do,Người duyệt\n7912204,NSDP_CAN_DOI,tăng,800,900,x,y\n",
        encoding="utf-8",
    )
    with pytest.raises(InputUnreadable, match="row 1: columns D, E could each be amount"):
        read_overrides(two)
    approved = tmp_path / "a.csv"
    approved.write_text(
        "Mã dự án,Nguồn vốn,KH sau điều chỉnh,KH năm 2022 sau điều chỉnh\n7912204,NSDP_CAN_DOI,800,900\n",
        encoding="utf-8",
    )
    with pytest.raises(InputUnreadable, match="columns C, D could each be plan_after"):
        read_approved_figures(approved)
    # "Mã" alone names the code; "Mã nguồn vốn" is not a project code (a one-word alias
    # matches the whole header only)
    fine = tmp_path / "b.csv"
    fine.write_text(
        "Mã,Mã nguồn vốn,Nguồn vốn,Kế hoạch sau điều chỉnh\n7912204,X,NSDP,800\n", encoding="utf-8"
    )
    assert read_approved_figures(fine).rows[0].code == "7912204"


# --- invariants after random overrides --------------------------------------------------------


@st.composite
def scenario(draw):
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    n = draw(st.integers(2, 10))
    rows = []
    for i in range(n):
        plan_dong = int(rng.integers(0, 50)) * 100 * T
        rows.append(
            {
                "project_code": f"79{i:05d}",
                "flagged": bool(rng.random() < 0.4),
                "plan_dong": plan_dong,
                "disbursed_dong": int(rng.integers(0, plan_dong + 1)),
                "extra_need_dong": None if rng.random() < 0.3 else int(rng.integers(0, 30)) * 100 * T,
                "medium_term_dong": int(rng.integers(0, 100)) * 100 * T,
                "status": ["continuing", "new", "completed"][int(rng.integers(0, 3))],
            }
        )
    plan = make_plan(rows)
    overrides = [
        OverrideRow(
            "o.csv",
            None,
            2 + k,
            f"79{draw(st.integers(0, n - 1)):05d}",
            "NSDP_CAN_DOI",
            draw(st.sampled_from(["decrease", "increase"])),
            draw(st.integers(0, 40)) * 100 * T,
            "lý do",
            "người duyệt",
            {},
        )
        for k in range(draw(st.integers(0, 6)))
    ]
    return plan, overrides


SCALE = float(os.environ.get("DISBURSEMENT_PROPERTY_SCALE", "1"))  # see test_reallocate.py


@settings(max_examples=max(10, int(150 * SCALE)), deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(scenario())
def test_overrides_never_break_a_limit(case):
    plan, overrides = case
    proposal, _ = propose(plan, RecallPolicy(), ALLOC, LAW39, as_of=dt.date(2022, 6, 30), year=2022)
    result, issues = apply_overrides(proposal, plan, overrides, ALLOC, LAW39, year=2022)
    applied = sum(1 for i in issues if i.code == "OVERRIDE-APPLIED")
    assert applied + sum(1 for i in issues if i.severity == "error") == len(overrides)
    rows = plan.set_index("project_code")
    need = rows["extra_need_dong"].fillna(0).astype("int64")
    room = rows["medium_term_dong"].fillna(0).astype("int64") - rows["plan_dong"]
    balance = {}
    for x in result.decreases:
        assert x.amount_dong > 0 and x.plan_after_dong >= x.disbursed_dong
        balance[x.pool] = balance.get(x.pool, 0) + x.amount_dong
    for x in result.increases:
        assert 0 < x.amount_dong <= min(need[x.project_code], room[x.project_code])
        assert not rows.loc[x.project_code, "flagged"]
        balance[x.pool] = balance.get(x.pool, 0) - x.amount_dong
    for p in result.pools:
        assert p.unallocated_dong == balance[p.pool] >= 0
        assert p.recalled_dong == p.allocated_dong + p.unallocated_dong


def test_a_line_without_a_code_is_overridden_by_its_name(tmp_path):
    """Code-less lines (new starts, preparation) are first-class: an override names them by
    'Tên dự án' and capital source; a name that fits two code-less lines is refused."""
    plan = plan_2022()
    plan.loc[0, "project_code"] = pd.NA  # the flagged line has no code yet
    plan.loc[0, "project_name"] = "Chuẩn bị đầu tư đường Chiềng Sinh"
    proposal, _ = propose(plan, RecallPolicy(), ALLOC, LAW39, as_of=dt.date(2022, 6, 30), year=2022)
    path = tmp_path / "dieu-chinh.csv"
    path.write_text(
        "Mã dự án,Tên dự án,Nguồn vốn,Loại,Số tiền (triệu đồng),Lý do,Người phê duyệt\n"
        ",Chuẩn bị đầu tư đường Chiềng Sinh,NSDP_CAN_DOI,giảm,2500,Đề nghị,Lò Văn Bình\n"
        ",Không có dự án này,NSDP_CAN_DOI,giảm,100,Đề nghị,Lò Văn Bình\n"
        ",,NSDP_CAN_DOI,giảm,100,Đề nghị,Lò Văn Bình\n",
        encoding="utf-8",
    )
    rows, read_issues = read_overrides(path)
    assert [(i.code, i.row, i.column) for i in read_issues] == [("OVERRIDE-INVALID", 4, "A")]
    result, issues = apply_overrides(proposal, plan, rows, ALLOC, LAW39, year=2022)
    codes = [(i.code, i.row) for i in issues]
    assert ("OVERRIDE-APPLIED", 2) in codes and ("OVERRIDE-LINE-NOT-FOUND", 3) in codes
    (decrease,) = result.decreases
    assert decrease.project_code is None and decrease.amount_dong == 2_500 * T
    assert decrease.override["row"] == 2
