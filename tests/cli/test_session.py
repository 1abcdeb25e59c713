"""session.review: the one composition behind the CLI, replay and a notebook; counts made last."""

from __future__ import annotations

import json

from click.testing import CliRunner

from disbursement import cli as commands
from disbursement.session import AuditTarget, ReviewOptions, audit_target, review
from tests.conftest import line


def _lines():
    return [
        line("7000001", "Đường Mai Sơn - Cò Nòi", plan="1.000", disbursed="100"),
        line("7000002", "Trường THPT Chiềng Sơn", plan="2.000", disbursed="1.500"),
        line("7000003", "Kè suối Nậm La", plan="500", disbursed="0"),
    ]


def test_counts_include_issues_added_after_the_round(make_workbook):
    """The AUDIT-NOT-RECORDED warning is added after run_round: it is still counted."""
    path = make_workbook(_lines())
    outcome = review([path], ReviewOptions(round=1), audit=AuditTarget(None, unwritable_default=True))
    counts = outcome.result.summary["issues"]
    assert counts["total"] == len(outcome.result.issues)
    assert counts["by_code"]["AUDIT-NOT-RECORDED"]["count"] == 1
    assert outcome.run_id is None


def test_json_counts_equal_the_records_in_a_folder_that_cannot_be_written(
    make_workbook, tmp_path, monkeypatch
):
    path = make_workbook(_lines())
    folder = tmp_path / "readonly"
    folder.mkdir()
    monkeypatch.chdir(folder)
    monkeypatch.delenv("DISBURSEMENT_AUDIT_DB", raising=False)
    monkeypatch.setattr("disbursement.session._can_create_in", lambda folder: False)
    got = CliRunner().invoke(commands.cli, ["review", str(path), "--round", "1", "--json"])
    assert got.exit_code == 0, got.output
    payload = json.loads(got.output)
    records = payload["issues"] + payload["notes"]
    assert payload["summary"]["issues"]["total"] == len(records)
    assert any(i["code"] == "AUDIT-NOT-RECORDED" for i in payload["issues"])
    assert not (folder / "disbursement-audit.sqlite").exists()


def test_notebook_call_records_and_writes_like_the_cli(make_workbook, tmp_path):
    path = make_workbook(_lines())
    store = tmp_path / "audit.sqlite"
    outcome = review(
        [path],
        ReviewOptions(round=1),
        out_dir=tmp_path / "out",
        audit=audit_target(store),
        reviewer="notebook",
    )
    assert outcome.run_id and store.exists()
    assert {"flags.xlsx", "to_trinh.docx", "phu_luc.xlsx"} <= set(outcome.written)
    assert [f for f in outcome.result.flags["project_code"]] == ["7000001", "7000003"]


def test_recorded_options_round_trip():
    options = ReviewOptions(round=2, year=2022, lang="en")
    back, ignored = ReviewOptions.from_recorded({**options.recorded(), "retired_option": 1})
    assert back == options
    assert ignored == ["retired_option"]


def test_the_public_api_loads_on_use_and_is_the_session(make_workbook):
    import disbursement
    from disbursement import session

    assert disbursement.run_review is session.review
    assert disbursement.ReviewOptions is ReviewOptions
    assert set(disbursement.__all__) >= {"run_review", "run_round", "load_rules", "Issue", "RunResult"}
    outcome = disbursement.run_review([make_workbook(_lines())], ReviewOptions(round=1))
    assert len(outcome.result.flags) == 2


def test_all_names_every_public_name():
    import disbursement

    assert set(disbursement.__all__) == {"__version__", *disbursement._PUBLIC}


def test_recorded_options_keep_the_keys_the_audit_store_has_always_held():
    """Replay of runs recorded earlier depends on these names and this order; new options are
    only ever appended (the investor replies: folder, received date, recorded replies)."""
    assert list(ReviewOptions(round=1).recorded()) == [
        "round",
        "year",
        "unit",
        "as_of",
        "rules_path",
        "overrides",
        "lang",
        "settings",
        "templates_dir",
        "date",
        "replies",
        "received",
        "use_recorded_replies",
    ]


def test_the_review_runs_without_the_cyclic_collector_and_gives_it_back(make_workbook, monkeypatch):
    import gc

    from disbursement import session

    seen = []
    real = session.run_round

    def run_round(*args, **kwargs):
        seen.append(gc.isenabled())
        return real(*args, **kwargs)

    monkeypatch.setattr(session, "run_round", run_round)
    path = make_workbook(_lines())
    assert gc.isenabled()
    review([path], ReviewOptions(round=1))
    assert seen == [False] and gc.isenabled()
    gc.disable()  # a caller that had it off keeps it off
    try:
        review([path], ReviewOptions(round=1))
        assert not gc.isenabled()
    finally:
        gc.enable()
