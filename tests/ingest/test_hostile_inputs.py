"""Hostile and broken inputs (issue 8), through the real console entry.

Every case of `tests/hostile.py` runs as `python -m disbursement review FILE --round 1` in a
child process limited to 2 GB of address space and 30 s; with `--out DIR` when the run is
expected to fail (nothing may be written) or when hostile values reach the outputs. The user
must see either exit 1 with exactly one `Error: <file>: … <what to do>` line (and no output
written), or exit 0 with the problem reported as located issues — never a traceback — and
the input must be byte-identical afterwards. The library tests below then check where each issue points.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import resource
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import openpyxl
import pytest

from devtools.samples import write_official_workbook
from disbursement.errors import InputUnreadable, NothingToReview
from disbursement.ingest.read import ReadLimits, read_file
from disbursement.pipeline import inspect_files, run_round
from tests import hostile
from tests.conftest import line

TIMEOUT = 30  # seconds, per run
MEMORY = 2 << 30  # bytes of address space, per run
# Cases whose parser (python-calamine, Rust) prints its own panic note before our Error line.
RUST_NOTE: set[str] = set()  # the CLI drops what calamine prints to fd 2
# Runs that complete and are also rendered (the memo set takes ~2 s a run): hostile values
# (100k-character names, error cells, merged ranges, 16k columns) reach these outputs.
RENDERED = {"error_values", "wide_16k", "long_cells", "merged_data_rows"}


@dataclass
class Run:
    path: Path
    out: Path
    returncode: int | None
    stdout: str
    stderr: str
    seconds: float
    sha_before: str
    sha_after: str


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def _limit_memory() -> None:
    resource.setrlimit(resource.RLIMIT_AS, (MEMORY, MEMORY))


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """Build every case and run them all, a few child processes at a time."""
    root = tmp_path_factory.mktemp("hostile")
    env = {k: v for k, v in os.environ.items() if not k.startswith("RUST_")}
    pending = []
    for name, (build, expected) in hostile.CASES.items():
        folder = root / name
        folder.mkdir()
        path = build(folder)
        argv = [sys.executable, "-m", "disbursement", "review", str(path), "--round", "1", "--no-audit"]
        if expected[0] == "error" or name in RENDERED:
            argv += ["--out", str(folder / "out")]
        pending.append((name, path, argv))
    width = max(1, min(4, os.cpu_count() or 1))
    running: dict[str, tuple] = {}
    done: dict[str, Run] = {}
    while pending or running:
        _step(pending, running, done, width, env)
        time.sleep(0.05)
    return done


def _step(pending, running, done, width, env) -> None:
    """Start children up to `width`, collect the finished ones, kill the overdue ones."""
    while pending and len(running) < width:
        name, path, argv = pending.pop(0)
        out, err = path.parent / "stdout.txt", path.parent / "stderr.txt"
        before = _sha(path)
        fds = [os.open(p, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600) for p in (out, err)]
        try:
            proc = subprocess.Popen(
                argv, stdout=fds[0], stderr=fds[1], cwd=path.parent, env=env, preexec_fn=_limit_memory
            )
        finally:
            for fd in fds:
                os.close(fd)
        running[name] = (proc, time.monotonic(), out, err, path, before)
    for name, (proc, start, out, err, path, before) in list(running.items()):
        seconds = time.monotonic() - start
        if proc.poll() is None and seconds > TIMEOUT:
            proc.kill()
            proc.wait()
        if proc.poll() is None:
            continue
        del running[name]
        texts = [p.read_bytes().decode("utf-8", "replace") for p in (out, err)]
        killed = seconds > TIMEOUT
        done[name] = Run(
            path,
            path.parent / "out",
            None if killed else proc.returncode,
            texts[0],
            texts[1],
            seconds,
            before,
            _sha(path),
        )


@pytest.mark.parametrize("case", list(hostile.CASES))
def test_bad_input_gives_one_error_line_or_located_issues(runs, case):
    run = runs[case]
    kind, words = hostile.CASES[case][1]
    assert run.returncode is not None, f"{case}: still running after {TIMEOUT} s"
    assert run.seconds < TIMEOUT
    assert "Traceback" not in run.stdout and "Traceback" not in run.stderr, run.stderr
    assert run.sha_after == run.sha_before, f"{case}: the input was modified"
    if kind == "error":
        assert run.returncode == 1, (run.returncode, run.stdout[-2000:], run.stderr[-2000:])
        lines = run.stderr.strip().splitlines()
        errors = [text for text in lines if text.startswith("Error:")]
        assert len(errors) == 1 and errors[0] == lines[-1], run.stderr
        if case not in RUST_NOTE:
            assert len(lines) == 1, run.stderr
        assert errors[0].startswith(f"Error: {run.path}: ")
        for word in words:
            assert word in errors[0], (word, errors[0])
        assert run.stdout == ""
        assert not run.out.exists() or not any(run.out.iterdir())  # nothing written
    else:
        assert run.returncode == 0, (run.returncode, run.stderr[-3000:])
        assert run.stderr == ""
        assert "Số dòng dự án đã đọc:" in run.stdout
        for code in words:
            assert code in run.stdout, (code, run.stdout[-3000:])
        if case not in RENDERED:
            return
        written = sorted(run.out.iterdir())
        assert {"flags.xlsx", "issues.xlsx", "flags.csv", "phu_luc.xlsx"} <= {p.name for p in written}
        for path in written:
            if path.suffix == ".xlsx":
                openpyxl.load_workbook(path, read_only=True).close()  # a whole, valid file


# ---- where the issues point (library) --------------------------------------------------------


def _issues(path: Path, code: str) -> dict[str, str]:
    result = run_round([path], 1)
    return {f"{i.column}{i.row}": i.message for i in result.issues if i.code == code}


def test_error_values_are_reported_at_their_cells_not_read_as_zero(tmp_path):
    result = run_round([hostile.error_values(tmp_path)], 1)
    found = {f"{i.column}{i.row}": i.message for i in result.issues if i.code == "AMOUNT-UNREADABLE"}
    assert set(found) == {"L14", "M15", "L16", "M17"}
    assert "'#REF!' (Excel error value)" in found["L14"]
    assert "'#DIV/0!' (Excel error value)" in found["M15"]
    assert "'#N/A' (Excel error value)" in found["L16"] and "'#N/A'" in found["M17"]
    assert result.summary["lines"] == 1  # only the clean line 18 is reviewed
    assert result.flags["row"].tolist() == [18]  # #DIV/0! disbursed is not "0 % disbursed"
    assert not [i for i in result.issues if i.code == "CHECK-DISBURSED-WITHIN-PLAN"]


def test_dates_in_amount_cells_are_reported(tmp_path):
    found = _issues(hostile.dates_as_text(tmp_path), "AMOUNT-UNREADABLE")
    assert "not an amount: '30/06/2022'" in found["M14"]
    assert "not an amount: '2022-06-30'" in found["M15"]
    assert "'2022-06-30' (a date; check the cell's number format)" in found["M16"]


def test_the_1904_date_system_is_honoured(tmp_path):
    # 43280 is 30/06/2022 counted from 1904; from 1900 it would be 29/06/2018.
    found = _issues(hostile.date_1904(tmp_path), "AMOUNT-UNREADABLE")
    assert "'2022-06-30' (a date" in found["M17"]


def test_a_merged_investor_applies_to_each_line_and_a_merged_amount_is_reported(tmp_path):
    result = run_round([hostile.merged_data_rows(tmp_path)], 1)
    plan = result.plan.set_index("row")
    assert plan.loc[15, "investor"] == plan.loc[16, "investor"] == plan.loc[14, "investor"]
    assert plan.loc[15, "plan_dong"] == 1_000_000_000 and plan.loc[16, "plan_dong"] == 0
    (merged,) = [i for i in result.issues if i.code == "AMOUNT-MERGED"]
    assert (merged.row, merged.column) == (15, "L")
    assert "merged over rows 15–16 (L15:L16)" in merged.message
    assert "row 16 reads as blank" in merged.message


def test_cells_of_100k_characters_are_read_whole(tmp_path):
    result = run_round([hostile.long_cells(tmp_path)], 1)
    names = result.plan.set_index("row")["project_name"]
    assert len(names[14]) == hostile.LONG
    assert result.plan.set_index("row").loc[15, "note"] == "x" * hostile.LONG


def test_a_16k_column_sheet_is_read(tmp_path):
    result = run_round([hostile.wide_16k(tmp_path)], 1)
    assert result.plan["row"].tolist() == [14, 15, 16, 17, 18]
    assert ("wide.xlsx", "Rong") in {(Path(s["file"]).name, s["sheet"]) for s in result.summary["sheets"]}


def test_a_stray_cell_far_away_skips_the_sheet_with_directions(tmp_path):
    issues: list = []
    sheets = read_file(hostile.far_corner(tmp_path), issues)
    assert sheets == []
    (issue,) = issues
    assert (issue.code, issue.severity, issue.row, issue.column) == (
        "SHEET-UNREADABLE",
        "error",
        1_048_576,
        "XFD",
    )
    assert "17,179,869,184 cells" in issue.message and "Ctrl+End" in issue.message


def test_guards_trip_before_any_parser_runs(tmp_path, monkeypatch):
    import python_calamine

    def parser_called(*args, **kwargs):
        raise AssertionError("the parser ran on a hostile file")

    monkeypatch.setattr(python_calamine, "load_workbook", parser_called)
    for build, words in (
        (hostile.zip_bomb, "possible zip bomb"),
        (hostile.lying_bomb, "unpacks to more than"),
        (hostile.encrypted_header_only, "password-protected"),
        (hostile.text_named_xlsx, "text file"),
        (hostile.empty, "empty"),
    ):
        folder = tmp_path / build.__name__
        folder.mkdir()
        with pytest.raises(InputUnreadable, match=words):
            read_file(build(folder), [])


def test_read_limits_are_configurable(tmp_path):
    path = hostile.base_workbook(tmp_path / "ok.xlsx")
    assert read_file(path, [])  # the defaults accept a normal workbook
    with pytest.raises(InputUnreadable, match=r"would unpack to .* above the limit of 10,000"):
        read_file(path, [], ReadLimits(max_uncompressed_bytes=10_000))
    with pytest.raises(InputUnreadable, match=r"too many parts .* above the limit of 3"):
        read_file(path, [], ReadLimits(max_members=3))
    issues: list = []
    assert read_file(path, issues, ReadLimits(max_cells=100)) == []
    assert [i.code for i in issues] == ["SHEET-UNREADABLE"]


def test_a_highly_compressed_part_trips_the_ratio_guard(tmp_path):
    path = hostile.zip_bomb(tmp_path, gigabytes=1 / 16)  # 64 MB of zeros: below the size limit
    with pytest.raises(InputUnreadable, match=r"sheet2.xml is compressed \d+:1"):
        read_file(path, [])
    read_file(path, [], ReadLimits(max_ratio=10**6))  # a looser limit lets it through


def test_a_parser_panic_is_an_unreadable_file(tmp_path):
    with pytest.raises(InputUnreadable, match=r"cannot read the workbook \(PanicException"):
        read_file(hostile.damaged_xls(tmp_path), [])


def test_a_line_over_its_plan_is_reported_once(tmp_path):
    path = tmp_path / "ke_hoach.xlsx"
    write_official_workbook(
        path, [line("7912345", "Đường A", plan="100", disbursed="150")], year=2022, as_of=dt.date(2022, 6, 30)
    )
    result = run_round([path], 1)
    over = [i for i in result.issues if i.code == "CHECK-DISBURSED-WITHIN-PLAN"]
    assert len(over) == 1 and over[0].row == 14


def test_merged_ranges_below_the_table_are_harmless(tmp_path):
    path = hostile.base_workbook(tmp_path / "ke_hoach.xlsx")  # its last cell is in row ~27
    hostile.rewrite(
        path, {hostile.SHEET: lambda xml: hostile.add_merge(hostile.add_merge(xml, "D60:D62"), "L60:M64")}
    )
    result = run_round([path], 1)
    assert result.summary["lines"] == 5
    assert not [i for i in result.issues if i.code in ("AMOUNT-MERGED", "SHEET-UNREADABLE")]


def test_a_header_merged_below_the_last_row_is_an_empty_table(tmp_path):
    """An empty template is understood (header rows found) but has nothing to review."""
    path = hostile.header_only(tmp_path)
    assert [s["status"] for s in inspect_files([path])["sheets"]] == ["read"]
    with pytest.raises(NothingToReview, match="no project line found under the header"):
        run_round([path], 1)
