"""Outputs never state a data date the data does not have (issue #11, 'Plan year and data date')."""

from __future__ import annotations

import datetime as dt
import json

from click.testing import CliRunner

from disbursement.cli import cli
from tests.conftest import line

LINES = [
    line("7900001", "Đường giao thông bản Nà Sản", disbursed="499,999"),
    line("7900002", "Trường mầm non xã Chiềng Mung", disbursed="900"),
]


def review(*args):
    result = CliRunner().invoke(cli, [str(a) for a in args])
    assert result.exit_code == 0, result.output
    return result


def test_workbook_date_is_stated_when_it_is_not_the_rounds(make_workbook, tmp_path):
    path = make_workbook(LINES, as_of=dt.date(2022, 5, 31))
    data = json.loads(review("review", path, "--round", 1, "--json", "--no-audit").output)
    assert data["summary"]["as_of"] == "2022-05-31"
    assert data["summary"]["round_as_of"] == "2022-06-30"
    (flag,) = data["flags"]
    assert flag["as_of"] == "2022-05-31" and "31/5/2022" in flag["reason_text"]
    mismatch = next(i for i in data["issues"] if i["code"] == "ASOF-MISMATCH")
    assert "the outputs state the workbook's date" in mismatch["message"]
    review("review", path, "--round", 1, "--no-audit", "--out", tmp_path / "out")
    memo = " ".join((tmp_path / "out" / "to_trinh.md").read_text(encoding="utf-8").split())
    assert (
        "là số liệu đến ngày 31/5/2022, không phải ngày 30/6/2022" in memo
        or "là số liệu đến ngày 31/05/2022, không phải ngày 30/06/2022" in memo
    )
    assert "đến ngày 30/6/2022 đạt" not in memo and "đến ngày 30/06/2022 đạt" not in memo


def test_as_of_option_confirms_the_users_date(make_workbook):
    path = make_workbook(LINES, as_of=dt.date(2022, 5, 31))
    data = json.loads(
        review("review", path, "--round", 1, "--as-of", "30/06/2022", "--json", "--no-audit").output
    )
    assert data["summary"]["as_of"] == "2022-06-30" and "round_as_of" not in data["summary"]
    mismatch = next(i for i in data["issues"] if i["code"] == "ASOF-MISMATCH")
    assert "--as-of stands as you gave it" in mismatch["message"]


def test_matching_date_says_nothing_more(make_workbook):
    path = make_workbook(LINES, as_of=dt.date(2022, 6, 30))
    data = json.loads(review("review", path, "--round", 1, "--json", "--no-audit").output)
    assert data["summary"]["as_of"] == "2022-06-30" and "round_as_of" not in data["summary"]
