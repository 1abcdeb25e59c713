"""Golden cases: each realistic input layout, built from `tests/golden/<case>/case.yaml`, must give
the flags and issues in its `expected.json` (found by glob; one small parametrised test).

`case.yaml` says how to build the input (builder, lines, options, encoding, conversion) and
how to run it (round, run options); inputs are built in tmp dirs, never committed. A case
with `xfail: <reason>` describes behaviour not implemented yet (strict: it fails once it
passes, so the marker gets removed). After a deliberate change, regenerate with
`UPDATE_GOLDEN=1 python -m pytest tests/ingest/test_read_golden.py` and review the diff.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

from disbursement.cli import cli
from disbursement.errors import DisbursementError
from disbursement.pipeline import inspect_files, run_round
from disbursement.render.records import result_json
from tests.fixtures_builder import SOFFICE_REASON, build_case, load_case, prefetch_cases, soffice

GOLDEN = Path(__file__).resolve().parents[1] / "golden"
CASE_DIRS = sorted(p.parent for p in GOLDEN.glob("**/case.yaml"))


@pytest.fixture(scope="module")
def soffice_cache(tmp_path_factory):
    """Convert every case that needs LibreOffice in one soffice call per format."""
    cases = [load_case(d) for d in CASE_DIRS]
    prefetch_cases([c for c in cases if c.get("convert")], tmp_path_factory.mktemp("prefetch"))


def run_options(case: dict) -> dict:
    options = dict(case.get("run") or {})
    if "as_of" in options:
        options["as_of"] = dt.date.fromisoformat(options["as_of"])
    return options


def understood(paths: list[Path], case: dict) -> list[dict]:
    """How each sheet was understood (`inspect`): header rows, unit, as-of date, encoding."""
    keys = ("sheet", "status", "header_rows", "unit", "as_of", "legacy_encoding")
    year = (case.get("run") or {}).get("year")
    try:
        sheets = inspect_files(paths, year=year)["sheets"]
    except DisbursementError as exc:  # the file itself cannot be read: inspect says why
        return [{"error": str(exc).replace(str(paths[0].parent), "<input>")}]
    return [
        {k: sheet[k] for k in keys} | ({"reason": sheet["reason"]} if sheet["status"] == "refused" else {})
        for sheet in sheets
    ]


def observed(payload: dict) -> dict:
    """What a golden file pins, from the `review --json` payload (library or CLI)."""
    summary = payload["summary"]
    issues: dict[str, list[str]] = {}
    for issue in payload["issues"] + payload.get("notes", []):
        where = f"{issue['sheet'] or ''}!{issue['column'] or ''}{issue['row'] or ''}"
        issues.setdefault(issue["code"], []).append(where)
    return {
        "lines": summary["lines"],
        "lines_by_source": {e["capital_source"]: e["lines"] for e in summary["by_capital_source"]},
        "flags": [
            {
                key: flag[key]
                for key in (
                    "project_code",
                    "project_name",
                    "capital_source",
                    "rule_id",
                    "plan_dong",
                    "disbursed_dong",
                )
            }
            | {"sheet": flag["source"]["sheet"], "row": flag["source"]["row"]}
            for flag in payload["flags"]
        ],
        "issues": {code: sorted(where) for code, where in sorted(issues.items())},
    }


@pytest.mark.parametrize("case_dir", CASE_DIRS, ids=[str(d.relative_to(GOLDEN)) for d in CASE_DIRS])
def test_golden(case_dir: Path, tmp_path: Path, request) -> None:
    case = load_case(case_dir)
    if case.get("convert"):
        if soffice() is None:
            pytest.skip(SOFFICE_REASON)
        request.getfixturevalue("soffice_cache")
    if case.get("xfail"):
        request.applymarker(pytest.mark.xfail(reason=case["xfail"], strict=True))
    paths = build_case(case, tmp_path / "input")
    expected_file = case_dir / "expected.json"
    if case.get("refused"):  # nothing reviewable: the run is refused with every sheet's reason
        with pytest.raises(DisbursementError) as refusal:
            run_round(paths, case.get("round", 1), propose=False, **run_options(case))
        got = {
            "sheets": understood(paths, case),
            "refused": str(refusal.value).replace(str(tmp_path / "input"), "<input>"),
        }
        if os.environ.get("UPDATE_GOLDEN"):
            expected_file.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        assert got == json.loads(expected_file.read_text(encoding="utf-8"))
        return
    result = run_round(paths, case.get("round", 1), propose=False, **run_options(case))
    got = {"sheets": understood(paths, case)}
    got |= observed(json.loads(json.dumps(result_json(result), ensure_ascii=False)))
    if os.environ.get("UPDATE_GOLDEN") and not case.get("xfail"):
        expected_file.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    expected = json.loads(expected_file.read_text(encoding="utf-8"))
    assert got == expected
    if case.get("cli"):
        args = ["review", *map(str, paths), "--round", str(case.get("round", 1)), "--json", "--no-audit"]
        outcome = CliRunner().invoke(cli, args)
        assert outcome.exit_code == 0, outcome.output
        from_cli = observed(json.loads(outcome.output))
        # The CLI also proposes a reallocation, which adds its own issues: compare the rest.
        assert {k: v for k, v in from_cli.items() if k != "issues"} == {
            k: v for k, v in expected.items() if k not in ("issues", "sheets")
        }
        assert {code: from_cli["issues"].get(code) for code in expected["issues"]} == expected["issues"]
