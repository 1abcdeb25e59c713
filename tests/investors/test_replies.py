"""Replies read back: matched by key whatever the investor did to the rows, validated with the
workbook reader's money rules, recorded as dated evidence, and used by `review --replies`."""

from __future__ import annotations

import json

import pytest

from tests.audit_backends import backend, fetch, pg_schema_url, store  # noqa: F401 (fixtures)
from tests.investors.conftest import (
    EXPECTED,
    EXPLANATION,
    FLAGGED_CODE,
    NEED,
    ROUND3,
    SAMPLE_0930,
    YEN_CHAU,
    fill_reply,
    run,
)

PLAN_9360 = "9.360"  # the flagged line's whole plan, typed as vi-VN text (triệu đồng)


def review_json(*args):
    result = run("review", SAMPLE_0930, *ROUND3, "--json", *args)
    assert result.exit_code == 0, result.output
    return json.loads(result.output)


def flagged_codes(data) -> set[str]:
    return {f["project_code"] for f in data["flags"]}


def test_done_when_sorted_reply_clears_the_flag_and_is_audited(tmp_path, request_dir, store):  # noqa: F811
    """The issue's 'done when': a sorted reply filling the full plan unflags the line, the
    JSON records was/now, and `audit project` shows the change (SQLite and PostgreSQL)."""
    recorded = run(
        "requests",
        SAMPLE_0930,
        *ROUND3,
        "--out",
        tmp_path / "yeu_cau",
        "--deadline",
        "15/10/2022",
        "--audit-db",
        store,
    )
    assert recorded.exit_code == 0, recorded.output
    before = review_json("--no-audit")
    assert FLAGGED_CODE in flagged_codes(before)
    fill_reply(
        tmp_path / "yeu_cau" / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360, EXPLANATION: "Đã nghiệm thu giai đoạn 2"}},
        reverse=True,
    )
    after = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--audit-db", store)
    assert flagged_codes(after) == flagged_codes(before) - {FLAGGED_CODE}
    assert after["replies"] == [
        {
            "investor": "UBND huyện Yên Châu",
            "file": YEN_CHAU,
            "project_code": FLAGGED_CODE,
            "capital_source": "NSDP_CAN_DOI",
            "field": "expected_dong",
            "was_dong": 9_231_901_000,
            "now_dong": 9_360_000_000,
            "received": "2022-10-10",
        }
    ]
    assert after["summary"]["replies"] == {"files": 1, "lines_answered": 1, "changes": 1}
    history = run("audit", "project", FLAGGED_CODE, "--audit-db", store)
    assert history.exit_code == 0, history.output
    assert (
        "expected_dong: was 9.231,901, now 9.360,000, from UBND huyện Yên Châu, received 2022-10-10"
    ) in history.output


def test_flag_evidence_names_the_reply_cell(tmp_path, request_dir):
    """A line still flagged after its reply cites the reply (file, cell, date), not the master
    workbook's expected cell."""
    fill_reply(
        request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: "9.000", NEED: 0}}
    )
    data = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit")
    (flag,) = [f for f in data["flags"] if f["project_code"] == FLAGGED_CODE]
    assert flag["expected_dong"] == 9_000_000_000
    assert flag["reply"]["file"] == YEN_CHAU and flag["reply"]["received"] == "2022-10-10"
    assert set(flag["reply"]["cells"]) == {"expected_dong", "extra_need_dong"}
    assert "expected_dong" not in flag["source"]["cells"]  # the master's cell is not the evidence


def test_deleted_rows_are_not_answered_the_rest_applies(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360}},
        delete_codes=("7853080", "7853081"),
    )
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    assert result.exit_code == 0, result.output
    (reply,) = json.loads(result.output)["replies"]
    assert reply["applicable"] and reply["lines_answered"] == 1
    assert reply["lines_not_answered"] == 3
    assert [c["now_dong"] for c in reply["changes"]] == [9_360_000_000]


def test_lost_hidden_sheet_matches_by_code_with_a_warning(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360}},
        drop_keys=True,
        reverse=True,
    )
    data = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit")
    assert FLAGGED_CODE not in flagged_codes(data)
    codes = {i["code"] for i in data["issues"]} | {n["code"] for n in data["notes"]}
    assert {"REPLY-KEYS-LOST", "REPLY-MATCHED-BY-CODE"} <= codes
    lost = next(i for i in data["issues"] if i["code"] == "REPLY-KEYS-LOST")
    assert lost["file"].endswith(YEN_CHAU) and lost["sheet"] == "Số liệu"


def test_lost_hidden_sheet_without_store_or_plan_is_not_applied(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360}},
        drop_keys=True,
    )
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    (reply,) = json.loads(result.output)["replies"]
    assert not reply["applicable"]
    assert [i["code"] for i in reply["issues"]][-1] == "REPLY-UNKNOWN-REQUEST"


def test_vi_text_amounts_are_exact(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: "9.231,9015", NEED: "1.234,5"}},
    )
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    (reply,) = json.loads(result.output)["replies"]
    now = {c["field"]: c["now_dong"] for c in reply["changes"]}
    assert now == {"expected_dong": 9_231_901_500, "extra_need_dong": 1_234_500_000}


def test_formula_in_an_answer_cell_is_text_never_evaluated(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: "=E9*1", EXPLANATION: '=HYPERLINK("http://x")'}},
    )
    data = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit")
    formula = next(i for i in data["issues"] if i["code"] == "REPLY-FORMULA")
    assert formula["column"] == "J" and "not evaluated" in formula["message"]
    (flag,) = [f for f in data["flags"] if f["project_code"] == FLAGGED_CODE]
    assert flag["expected_dong"] == 9_231_901_000  # the workbook's figure still stands
    assert flag["reply"]["explanation"] == '=HYPERLINK("http://x")'  # kept as text
    assert data["replies"] == []


def test_negative_and_unreadable_answers_are_located_errors(tmp_path, request_dir):
    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: -5, NEED: "khoảng 2 tỷ"}},
    )
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    (reply,) = json.loads(result.output)["replies"]
    found = {(i["code"], i["column"]) for i in reply["issues"]}
    assert {("REPLY-NEGATIVE", "J"), ("REPLY-NOT-AMOUNT", "L")} <= found
    assert reply["changes"] == []


def test_expected_above_plan_is_reported_as_a_need(tmp_path, request_dir):
    fill_reply(request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: "10.000"}})
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    (reply,) = json.loads(result.output)["replies"]
    above = next(i for i in reply["issues"] if i["code"] == "REPLY-EXPECTED-ABOVE-PLAN")
    assert "640,000,000 above the plan" in above["message"]


def test_altered_locked_cell_refuses_the_reply(tmp_path, request_dir):
    def raise_plan(book):
        sheet = book["Số liệu"]
        sheet.cell(6, 5).value = 99999

    fill_reply(
        request_dir / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360}},
        edit=raise_plan,
    )
    data = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit")
    altered = next(i for i in data["issues"] if i["code"] == "REPLY-ALTERED")
    assert (altered["row"], altered["column"]) == (6, "E")
    assert FLAGGED_CODE in flagged_codes(data) and data["replies"] == []


def test_reply_for_another_request_is_reported_not_applied(tmp_path):
    """A reply to round 2's request, given to a round-3 review."""
    out = tmp_path / "r2"
    made = run("requests", SAMPLE_0930, "--round", "2", "--out", out, "--no-audit")
    assert made.exit_code == 0, made.output
    fill_reply(out / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    data = review_json("--replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit")
    assert any(i["code"] == "REPLY-OTHER-ROUND" for i in data["issues"])
    assert FLAGGED_CODE in flagged_codes(data) and data["replies"] == []


def test_hidden_sheet_edited_against_the_store_is_refused(tmp_path, store):  # noqa: F811
    made = run("requests", SAMPLE_0930, *ROUND3, "--out", tmp_path / "yeu_cau", "--audit-db", store)
    assert made.exit_code == 0, made.output

    def forge(book):
        keys = book["_khoa"]
        for row in keys.iter_rows(min_row=14):
            if row[1].value == FLAGGED_CODE:
                row[5].value = 1  # the plan the request "said"

    fill_reply(
        tmp_path / "yeu_cau" / YEN_CHAU,
        tmp_path / "back" / YEN_CHAU,
        {FLAGGED_CODE: {EXPECTED: PLAN_9360}},
        edit=forge,
    )
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--audit-db", store, "--json")
    (reply,) = json.loads(result.output)["replies"]
    assert not reply["applicable"] and reply["status"] == "not applied"
    assert reply["issues"][0]["code"] == "REPLY-ALTERED"


def test_two_replies_later_received_wins_both_recorded(tmp_path, store):  # noqa: F811
    """On SQLite and PostgreSQL: both replies are kept with their dates; the review takes the
    dates from the store and the later reply wins."""
    made = run("requests", SAMPLE_0930, *ROUND3, "--out", tmp_path / "yeu_cau", "--audit-db", store)
    assert made.exit_code == 0, made.output
    source = tmp_path / "yeu_cau" / YEN_CHAU
    first = fill_reply(source, tmp_path / "back" / "b_first.xlsx", {FLAGGED_CODE: {EXPECTED: "9.000"}})
    second = fill_reply(source, tmp_path / "back" / "a_second.xlsx", {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    assert run("replies", first, "--received", "05/10/2022", "--audit-db", store).exit_code == 0
    assert run("replies", second, "--received", "12/10/2022", "--audit-db", store).exit_code == 0
    again = run("replies", first, "--received", "20/10/2022", "--audit-db", store, "--json")
    assert json.loads(again.output)["replies"][0]["status"] == "already recorded"
    assert fetch(store, "SELECT file_name, received FROM replies ORDER BY seq") == [
        ("b_first.xlsx", "2022-10-05"),
        ("a_second.xlsx", "2022-10-12"),
    ]
    data = review_json("--replies", tmp_path / "back", "--audit-db", store)  # dates from the store
    assert FLAGGED_CODE not in flagged_codes(data)
    assert [(c["file"], c["now_dong"]) for c in data["replies"]] == [("a_second.xlsx", 9_360_000_000)]
    assert any(n["code"] == "REPLY-SUPERSEDED" for n in data["notes"])
    history = run("audit", "project", FLAGGED_CODE, "--audit-db", store, "--json")
    answers = {(a["file_name"], a["now_dong"]) for r in json.loads(history.output) for a in r["replies"]}
    assert answers == {("b_first.xlsx", 9_000_000_000), ("a_second.xlsx", 9_360_000_000)}
    recorded = review_json("--use-recorded-replies", "--audit-db", store)
    assert recorded["replies"] == data["replies"]
    status = run(
        "requests", "--status", tmp_path / "yeu_cau", "--audit-db", store, "--on", "20/10/2022", "--json"
    )
    by_file = {r["file"]: r for r in json.loads(status.output)["requests"]}
    assert by_file[YEN_CHAU]["lines_not_answered"] == 3 and by_file[YEN_CHAU]["overdue"] is False
    assert by_file["Cong_an_tinh.xlsx"]["received"] is None


def test_same_received_date_file_name_decides(tmp_path, request_dir):
    back = tmp_path / "back"
    fill_reply(request_dir / YEN_CHAU, back / "1.xlsx", {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    fill_reply(request_dir / YEN_CHAU, back / "2.xlsx", {FLAGGED_CODE: {EXPECTED: "9.000"}})
    data = review_json("--replies", back, "--received", "10/10/2022", "--no-audit")
    assert FLAGGED_CODE in flagged_codes(data)
    assert [c["file"] for c in data["replies"]] == ["2.xlsx"]


def test_no_reply_at_all(tmp_path):
    (tmp_path / "empty").mkdir()
    data = review_json("--replies", tmp_path / "empty", "--no-audit")
    plain = review_json("--no-audit")
    assert data["flags"] == plain["flags"] and data["replies"] == []
    assert data["summary"]["replies"] == {"files": 0, "lines_answered": 0, "changes": 0}
    result = run("replies", tmp_path / "empty", "--no-audit")
    assert result.exit_code == 1 and result.output.startswith("Error: no reply workbook")


def test_a_reply_without_a_received_date_is_refused(tmp_path, request_dir):
    fill_reply(request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    result = run("review", SAMPLE_0930, *ROUND3, "--replies", tmp_path / "back", "--no-audit")
    assert result.exit_code == 1
    assert result.output.count("\n") == 1 and "pass --received" in result.output


@pytest.mark.parametrize("content", [b"", b"not a workbook", b"PK\x03\x04broken"])
def test_unreadable_reply_is_a_located_refusal(tmp_path, content):
    (tmp_path / "back").mkdir()
    (tmp_path / "back" / "x.xlsx").write_bytes(content)
    result = run("replies", tmp_path / "back", "--received", "10/10/2022", "--no-audit", "--json")
    assert result.exit_code == 0, result.output
    (reply,) = json.loads(result.output)["replies"]
    assert not reply["applicable"] and reply["issues"][0]["code"] == "REPLY-UNREADABLE"


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        (
            "vi",
            "Đến nay đã nhận được báo cáo của 1/18 chủ đầu tư (UBND huyện Yên Châu, nhận ngày 10/10/2022)",
        ),
        ("en", "Replies were received from 1 of 18 investors (UBND huyện Yên Châu, received 10/10/2022)"),
    ],
)
def test_memo_states_who_replied(tmp_path, request_dir, lang, said):
    fill_reply(request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    result = run(
        "review",
        SAMPLE_0930,
        *ROUND3,
        "--replies",
        tmp_path / "back",
        "--received",
        "10/10/2022",
        "--no-audit",
        "--out",
        tmp_path / "out",
        "--lang",
        lang,
    )
    assert result.exit_code == 0, result.output
    memo = " ".join((tmp_path / "out" / "to_trinh.md").read_text(encoding="utf-8").split())
    assert said in memo


def test_a_run_with_replies_replays_byte_identical(tmp_path, request_dir):
    """The reply files are kept with the run (like the inputs): a fresh store is created by the
    review itself, and the replay from it gives the same outputs."""
    fill_reply(request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: PLAN_9360}})
    new_store = tmp_path / "new" / "audit.sqlite"
    result = run(
        "review",
        SAMPLE_0930,
        *ROUND3,
        "--replies",
        tmp_path / "back",
        "--received",
        "10/10/2022",
        "--audit-db",
        new_store,
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    replay = run("audit", "replay", "latest", "--audit-db", new_store, "--json")
    assert replay.exit_code == 0, replay.output
    data = json.loads(replay.output)
    assert data["ok"], data
    assert fetch(new_store, "SELECT count(*) FROM inputs WHERE role = 'replies'") == [(1,)]


def test_flags_table_cites_the_reply(tmp_path, request_dir):
    fill_reply(request_dir / YEN_CHAU, tmp_path / "back" / YEN_CHAU, {FLAGGED_CODE: {EXPECTED: "9.000"}})
    result = run(
        "review",
        SAMPLE_0930,
        *ROUND3,
        "--replies",
        tmp_path / "back",
        "--received",
        "10/10/2022",
        "--no-audit",
        "--out",
        tmp_path / "out",
    )
    assert result.exit_code == 0, result.output
    text = (tmp_path / "out" / "flags.csv").read_text(encoding="utf-8-sig")
    (row,) = [r for r in text.splitlines() if FLAGGED_CODE in r]
    assert f"báo cáo của chủ đầu tư: {YEN_CHAU} / Số liệu / ô J6, nhận ngày 10/10/2022" in row
