"""Refuse rather than guess (#11 part A): code-less lines, required columns, the exit-1 contract."""

from __future__ import annotations

import json
from pathlib import Path

from click.testing import CliRunner

from disbursement.cli.commands import cli
from tests.fixtures_builder import build_table, case_lines

CODELESS = [{"code": "", "name": "Đường giao thông bản Nà Sản", "plan": "1.000", "disbursed": "100"},
            {"code": "7900002", "name": "Trường THCS Mường Bú", "plan": "2.000",
             "disbursed": "1.500"},
            {"code": "", "name": "Nhà văn hóa xã Chiềng Đen", "plan": "500", "disbursed": "10"}]


def test_lines_without_a_code_go_through_review_history_and_outputs(tmp_path: Path) -> None:
    """A default review (audit on) of code-less lines, twice: no internal error, and the second
    round sees the first round's flags of those lines as persisting (identity: name + source +
    investor)."""
    (path,) = build_table(tmp_path / "in", case_lines(CODELESS))
    store = tmp_path / "audit.sqlite"
    runner = CliRunner()
    first = runner.invoke(cli, ["review", str(path), "--round", "1", "--json",
                                "--audit-db", str(store)])
    assert first.exit_code == 0, first.output
    flags = json.loads(first.output)["flags"]
    assert sorted(f["project_name"] for f in flags) == ["Nhà văn hóa xã Chiềng Đen",
                                                        "Đường giao thông bản Nà Sản"]
    assert all(f["project_code"] is None for f in flags)
    second = runner.invoke(cli, ["review", str(path), "--round", "2", "--json", "--audit-db",
                                 str(store), "--out", str(tmp_path / "out")])
    assert second.exit_code == 0, second.output
    payload = json.loads(second.output)
    assert payload["summary"]["lifecycle"]["persisting"] == 2
