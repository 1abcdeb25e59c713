"""Atomic outputs (issue 8): `review --out` writes all its files or none.

Each test injects a failure at one writer after that writer has already put bytes into its
temp file, then checks the folder: an older output of the same name is byte-identical, a
file that did not exist still does not, and no temp or staging file is left behind.
"""

from __future__ import annotations

import datetime as dt
import os
from pathlib import Path

import pytest
from click.testing import CliRunner

import disbursement.render.annotate
import disbursement.render.appendix
import disbursement.render.docx
import disbursement.render.register
import disbursement.render.tables
from devtools.samples import write_official_workbook
from disbursement.cli import cli
from disbursement.errors import OutputError
from disbursement.pipeline import run_round
from disbursement.render.outputs import write_outputs
from tests.conftest import line

EXPECTED = {
    "flags.xlsx",
    "flags.csv",
    "issues.xlsx",
    "proposal.xlsx",
    "to_trinh.docx",
    "to_trinh.html",
    "to_trinh.md",
    "phu_luc.xlsx",
    "bieu_do.png",
    "so_theo_doi.xlsx",
    "report.html",
    "ke_hoach.annotated.xlsx",
}


def _workbook(path: Path, disbursed: str) -> Path:
    write_official_workbook(
        path,
        [
            line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed=disbursed),
            line("7912346", "Trường THCS xã Mường Bú", disbursed="900"),
            line("7920001", "Kè suối Nậm La", status="new", disbursed="0", extra_need_dong="3.000"),
        ],
        year=2022,
        as_of=dt.date(2022, 6, 30),
    )
    return path


def snapshot(folder: Path) -> dict[str, bytes]:
    """Every entry of the folder, hidden ones included (a left-over temp file shows here)."""
    return {p.name: p.read_bytes() if p.is_file() else b"<dir>" for p in sorted(folder.iterdir())}


def review(source: Path, out: Path, *extra: str):
    return CliRunner().invoke(
        cli, ["review", str(source), "--round", "1", "--no-audit", "--out", str(out), *extra]
    )


def _partial_then_fail(target_arg: int):
    """A writer that starts writing its target (argument `target_arg`), then fails like a
    full disk."""

    def writer(*args, **kwargs):
        Path(args[target_arg]).write_bytes(b"PK\x03\x04 half a file")
        raise OSError(28, "No space left on device")

    return writer


# file → (module, writer, position of the target path among the writer's arguments)
STAGES = {
    "flags.csv": (disbursement.render.tables, "write_flags_csv", 1),
    "issues.xlsx": (disbursement.render.tables, "write_issues_xlsx", 1),
    "proposal.xlsx": (disbursement.render.tables, "write_proposal_xlsx", 1),
    "to_trinh.docx": (disbursement.render.docx, "write_docx", 1),
    "phu_luc.xlsx": (disbursement.render.appendix, "write_appendix", 1),
    "ke_hoach.annotated.xlsx": (disbursement.render.annotate, "annotate_copy", 1),  # the last one
}


@pytest.fixture(scope="module")
def older_set(tmp_path_factory) -> tuple[Path, dict[str, bytes]]:
    """A complete output set from an earlier run on other figures."""
    folder = tmp_path_factory.mktemp("older")
    out = folder / "out"
    result = review(_workbook(folder / "ke_hoach.xlsx", disbursed="100"), out)
    assert result.exit_code == 0, result.output
    return out, snapshot(out)


@pytest.mark.parametrize("stage", STAGES)
def test_failure_mid_write_leaves_the_older_set_untouched(stage, older_set, tmp_path, monkeypatch):
    _old_out, before = older_set
    out = tmp_path / "out"
    out.mkdir()
    for name, data in before.items():
        (out / name).write_bytes(data)
    module, attribute, target = STAGES[stage]
    monkeypatch.setattr(module, attribute, _partial_then_fail(target))
    source = _workbook(tmp_path / "ke_hoach.xlsx", disbursed="400")
    result = review(source, out)
    assert result.exit_code == 1
    assert result.output.startswith("Error: internal error (OSError: [Errno 28] No space left")
    assert "Traceback" not in result.output
    assert snapshot(out) == before  # same names, same bytes, nothing hidden left over


@pytest.mark.parametrize("stage", ["flags.csv", "phu_luc.xlsx"])
def test_failure_in_a_fresh_folder_leaves_no_file(stage, tmp_path, monkeypatch):
    module, attribute, target = STAGES[stage]
    monkeypatch.setattr(module, attribute, _partial_then_fail(target))
    out = tmp_path / "out"
    result = review(_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400"), out)
    assert result.exit_code == 1
    assert not out.exists() or snapshot(out) == {}


def test_success_replaces_the_whole_set_and_leaves_no_temp_file(older_set, tmp_path):
    _old_out, before = older_set
    out = tmp_path / "out"
    out.mkdir()
    for name, data in before.items():
        (out / name).write_bytes(data)
    result = review(_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400"), out)
    assert result.exit_code == 0, result.output
    after = snapshot(out)
    assert set(after) == EXPECTED == set(before)
    assert after["flags.csv"] != before["flags.csv"]  # new figures, every file renamed in


def test_every_file_is_renamed_in_from_a_temp_file_beside_it(tmp_path, monkeypatch):
    moves = []
    real_replace = os.replace

    def replace(src, dst):
        moves.append((Path(src), Path(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", replace)
    out = tmp_path / "out"
    result = review(_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400"), out)
    assert result.exit_code == 0, result.output
    final = {dst.name: src for src, dst in moves if dst.parent == out.resolve()}
    assert set(final) == EXPECTED
    for name, src in final.items():  # staged inside --out: same file system, atomic rename
        assert out.resolve() in src.parents and src.name == name


def test_an_output_never_replaces_an_input(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    source = _workbook(out / "flags.xlsx", disbursed="400")  # an input named like an output
    data = source.read_bytes()
    result = run_round([source], 1)
    with pytest.raises(OutputError, match="would replace the input"):
        write_outputs(result, out)
    assert source.read_bytes() == data
    assert sorted(p.name for p in out.iterdir()) == ["flags.xlsx"]


def test_large_inputs_get_no_annotated_copy_and_say_so(make_workbook, tmp_path, monkeypatch):
    from disbursement.pipeline import run_round
    from disbursement.render import outputs
    from tests.conftest import line

    monkeypatch.setattr(outputs, "ANNOTATE_MAX_LINES", 1)
    path = make_workbook(
        [line("7900001", "Đường bản Mòn", disbursed="1"), line("7900002", "Cầu bản Lếch", disbursed="900")]
    )
    result = run_round([path], 1)
    written = outputs.write_outputs(result, tmp_path / "out")
    assert not [name for name in written if "annotated" in name]
    (note,) = [i for i in result.issues if i.code == "ANNOTATION-SKIPPED"]
    assert note.file == str(path) and "2 lines is above 1" in note.message
    import openpyxl

    sheet = openpyxl.load_workbook(written["issues.xlsx"]).active
    assert "ANNOTATION-SKIPPED" in [c.value for c in sheet["C"]]


# A large result has flags.xlsx written by the second (forked) process, and the register
# too unless that process also makes the annotated copies (then the register is written here).
SPLIT_STAGES = {
    "flags.xlsx": (disbursement.render.tables, "write_flags_xlsx", 1),
    "so_theo_doi.xlsx": (disbursement.render.register, "write_register", 1),
}
FORKS = hasattr(os, "fork") and (os.cpu_count() or 1) > 1


def test_the_second_process_writes_the_same_set_in_the_same_order(tmp_path, monkeypatch):
    from disbursement.render import outputs

    result = run_round([_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400")], 1)
    monkeypatch.setattr(outputs, "SECOND_WRITER_MIN_LINES", 10**9)
    alone = outputs.write_outputs(result, tmp_path / "alone")
    monkeypatch.setattr(outputs, "SECOND_WRITER_MIN_LINES", 0)
    split = outputs.write_outputs(result, tmp_path / "split")
    assert list(split) == list(alone) and set(split) == EXPECTED
    assert snapshot(tmp_path / "split") == snapshot(tmp_path / "alone")


@pytest.mark.parametrize("stage", SPLIT_STAGES)
def test_a_failure_in_the_second_process_leaves_the_older_set_untouched(
    stage, older_set, tmp_path, monkeypatch
):
    from disbursement.render import outputs

    _old_out, before = older_set
    out = tmp_path / "out"
    out.mkdir()
    for name, data in before.items():
        (out / name).write_bytes(data)
    monkeypatch.setattr(outputs, "SECOND_WRITER_MIN_LINES", 0)
    module, attribute, target = SPLIT_STAGES[stage]
    monkeypatch.setattr(module, attribute, _partial_then_fail(target))
    result = review(_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400"), out)
    assert result.exit_code == 1
    assert result.output.startswith("Error: internal error (OSError: [Errno 28] No space left")
    assert snapshot(out) == before


@pytest.mark.skipif(not FORKS, reason="needs fork and two cores (the writers run here otherwise)")
@pytest.mark.parametrize(
    ("annotated", "dies"),
    [
        (True, (disbursement.render.tables, "write_flags_xlsx")),  # beside the annotated copy
        (False, (disbursement.render.register, "write_register")),  # no copy: the register too
    ],
)
def test_a_second_process_that_dies_is_an_error_not_a_half_set(tmp_path, monkeypatch, annotated, dies):
    from disbursement.render import outputs

    monkeypatch.setattr(outputs, "SECOND_WRITER_MIN_LINES", 0)
    if not annotated:
        monkeypatch.setattr(outputs, "ANNOTATE_MAX_LINES", 0)
    monkeypatch.setattr(*dies, lambda *a, **k: os._exit(9))
    out = tmp_path / "out"
    result = review(_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400"), out)
    assert result.exit_code == 1
    assert "ended without finishing" in result.output and "Traceback" not in result.output
    assert not out.exists() or snapshot(out) == {}


def test_no_process_to_fork_writes_the_same_set_here(tmp_path, monkeypatch):
    """os.fork failing (no memory or processes left) is no error: the child's share is
    written by this process, and the set is the same."""
    from disbursement.render import outputs

    result = run_round([_workbook(tmp_path / "ke_hoach.xlsx", disbursed="400")], 1)
    monkeypatch.setattr(outputs, "SECOND_WRITER_MIN_LINES", 0)
    forked = outputs.write_outputs(result, tmp_path / "forked")

    def no_fork():
        raise OSError(11, "Resource temporarily unavailable")

    monkeypatch.setattr(os, "fork", no_fork)
    here = outputs.write_outputs(result, tmp_path / "here")
    assert list(here) == list(forked)
    assert snapshot(tmp_path / "here") == snapshot(tmp_path / "forked")
