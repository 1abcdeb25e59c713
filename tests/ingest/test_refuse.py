"""Refuse rather than guess (#11 part A): code-less lines, required columns, the exit-1 contract."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from click.testing import CliRunner

from disbursement.cli import cli
from tests.fixtures_builder import build_case, build_table, case_lines, load_case

CODELESS = [
    {"code": "", "name": "Đường giao thông bản Nà Sản", "plan": "1.000", "disbursed": "100"},
    {"code": "7900002", "name": "Trường THCS Mường Bú", "plan": "2.000", "disbursed": "1.500"},
    {"code": "", "name": "Nhà văn hóa xã Chiềng Đen", "plan": "500", "disbursed": "10"},
]


def test_lines_without_a_code_go_through_review_history_and_outputs(tmp_path: Path) -> None:
    """A default review (audit on) of code-less lines, twice: no internal error, and the second
    round sees the first round's flags of those lines as persisting (identity: name + source +
    investor)."""
    (path,) = build_table(tmp_path / "in", case_lines(CODELESS))
    store = tmp_path / "audit.sqlite"
    runner = CliRunner()
    first = runner.invoke(cli, ["review", str(path), "--round", "1", "--json", "--audit-db", str(store)])
    assert first.exit_code == 0, first.output
    flags = json.loads(first.output)["flags"]
    assert sorted(f["project_name"] for f in flags) == [
        "Nhà văn hóa xã Chiềng Đen",
        "Đường giao thông bản Nà Sản",
    ]
    assert all(f["project_code"] is None for f in flags)
    second = runner.invoke(
        cli,
        [
            "review",
            str(path),
            "--round",
            "2",
            "--json",
            "--audit-db",
            str(store),
            "--out",
            str(tmp_path / "out"),
        ],
    )
    assert second.exit_code == 0, second.output
    payload = json.loads(second.output)
    assert payload["summary"]["lifecycle"]["persisting"] == 2


GOLDEN = Path(__file__).resolve().parents[1] / "golden" / "refuse"
REFUSE_CASES = sorted(p.parent for p in GOLDEN.glob("*/case.yaml"))


def _dong_values(payload, path=""):
    """Every (key path, value) of a `*_dong` key in a JSON payload (`cells` maps the same
    names to cell references such as "E10", not amounts)."""
    if isinstance(payload, dict):
        for key, value in payload.items():
            if key == "cells":
                continue
            if key.endswith("_dong"):
                yield f"{path}.{key}", value
            yield from _dong_values(value, f"{path}.{key}")
    elif isinstance(payload, list):
        for i, value in enumerate(payload):
            yield from _dong_values(value, f"{path}[{i}]")


@pytest.mark.parametrize("case_dir", REFUSE_CASES, ids=[d.name for d in REFUSE_CASES])
def test_exit_contract_through_the_cli(case_dir: Path, tmp_path: Path) -> None:
    """Refused: exit 1, stderr exactly one `Error:` line, stdout empty, nothing in --out, no
    audit record, inputs unchanged. Reviewed: exit 0, every *_dong an int."""
    case = load_case(case_dir)
    paths = build_case(case, tmp_path / "input")
    before = {p: p.read_bytes() for p in paths}
    out, store = tmp_path / "out", tmp_path / "audit.sqlite"
    args = [
        "review",
        *map(str, paths),
        "--round",
        str(case.get("round", 1)),
        "--json",
        "--out",
        str(out),
        "--audit-db",
        str(store),
    ]
    if (case.get("run") or {}).get("year"):
        args += ["--year", str(case["run"]["year"])]
    outcome = CliRunner().invoke(cli, args)
    assert {p: p.read_bytes() for p in paths} == before
    assert sorted(p.name for p in (tmp_path / "input").iterdir()) == sorted(p.name for p in paths)
    if case.get("refused"):
        assert outcome.exit_code == 1, outcome.output
        assert outcome.stdout == ""
        lines = outcome.stderr.splitlines()
        assert len(lines) == 1 and lines[0].startswith("Error: "), outcome.stderr
        assert not out.exists() or not any(out.iterdir())
        assert not store.exists()  # a refused run is not recorded (docs/reliability.md)
        return
    assert outcome.exit_code == 0, outcome.stderr
    payload = json.loads(outcome.stdout)
    bad = [(k, v) for k, v in _dong_values(payload) if v is not None and type(v) is not int]
    assert bad == []


def test_a_file_name_with_a_newline_is_shown_escaped(tmp_path: Path) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    path = folder / "ke\nhoach\r.csv"
    path.write_bytes(b"\x00\xff" * 50)
    outcome = CliRunner().invoke(cli, ["review", str(path), "--round", "1", "--no-audit"])
    assert outcome.exit_code == 1
    assert outcome.stderr.count("\n") == 1 and outcome.stderr.startswith("Error: ")
    assert "ke\\nhoach\\r.csv" in outcome.stderr


def test_inspect_reads_the_sheets_as_the_round_does(tmp_path: Path) -> None:
    """`inspect --round N --as-of D` ranks dated disbursement columns against D, as review does."""
    import json

    from click.testing import CliRunner

    from disbursement.cli import cli

    paths = build_case(load_case(GOLDEN / "disbursed_dated_text"), tmp_path / "in")

    def chosen(*args: str) -> tuple[str | None, str]:
        result = CliRunner().invoke(cli, ["inspect", *map(str, paths), "--json", *args])
        assert result.exit_code == 0, result.output
        data = json.loads(result.output)
        return data.get("as_of"), data["sheets"][0]["columns"]["disbursed_dong"]["header"]

    assert chosen("--round", "1") == ("2022-06-30", "Giải ngân đến 30/6/2022")
    assert chosen("--round", "1", "--as-of", "31/05/2022") == ("2022-05-31", "Giải ngân đến 31/5/2022")
    refused = CliRunner().invoke(cli, ["inspect", *map(str, paths), "--as-of", "31/05/2022"])
    assert refused.exit_code == 2 and "--as-of needs --round" in refused.output
