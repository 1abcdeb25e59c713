"""A large workbook is read on two processes (ingest/split.py): the load — lines, issues in
their order, sheet reports — is the same as from one process, whatever each sheet is; a
failure of either process ends the read with an error and leaves no process behind."""

from __future__ import annotations

import datetime as dt
import os
import pickle
import random
import re
import threading
import time
import zipfile

import pandas as pd
import pytest

from disbursement.config.rules import load_rules
from disbursement.errors import DisbursementError
from disbursement.ingest import split
from disbursement.ingest.load import load_plan
from disbursement.ingest.read import ReadLimits, read_file
from disbursement.ingest.understand import Understanding
from tests.conftest import line
from tests.fixtures_builder import GridSheet, table_sheets, write_grid

AS_OF = dt.date(2022, 6, 30)
TWO_CORES = (os.cpu_count() or 1) > 1 and hasattr(os, "fork")


def _lines(prefix: str, n: int, disbursed: str = "100") -> list[dict]:
    return [line(f"{prefix}{i:03d}", f"Dự án {prefix} số {i}", disbursed=disbursed) for i in range(n)]


def _table(name, lines, **options):
    return table_sheets(lines, year=2022, as_of=AS_OF, sheet_name=name, **options)


def _workbook(tmp_path, order: list[int] | None = None):
    """Visible worksheets, by position: 0 A · 1 notes · (hidden) · 2 B · 3 A again · 4 C ·
    5 D · 6 D again · 7 a stray far cell (too large) · 8 no disbursement column; `order`
    shuffles them (each kind then lands on the other process)."""
    a, b, c, d = _lines("79A", 5), _lines("79B", 4, "900"), _lines("79C", 3), _lines("79D", 6)

    def table(name, lines, **options):
        return table_sheets(lines, year=2022, as_of=AS_OF, sheet_name=name, **options)

    far = GridSheet("Xa", [["Bảng tạm"]])
    far.rows += [[] for _ in range(600_000)] + [[None] * 20 + ["x"]]
    grids = [
        *table("Biểu 01", a),
        GridSheet("Ghi chú", [["Hướng dẫn điền biểu"], ["Số liệu đến 30/6/2022"]]),
        GridSheet("Ẩn", [["bản nháp"]], hidden=True),
        *table("Biểu 02", b),
        *table("Biểu 03", a),
        *table("Biểu 04", c, unit="dong"),
        *table("Biểu 05", d),
        *table("Biểu 06", d),
        far,
        *table("Biểu 07", c, columns="plan_only"),
    ]
    if order is not None:
        grids = [grids[i] for i in order]
    return write_grid(tmp_path / "toan_quoc.xlsx", grids, created=AS_OF)


def _load(path, monkeypatch, *, apart: bool):
    started = []
    real = split._Child.start

    def start(*args):
        child = real(*args)
        started.append(child)
        return child

    monkeypatch.setattr(split._Child, "start", start)
    monkeypatch.setattr(split, "_worth_splitting", lambda p, kind: apart and kind == "zip")
    rules = load_rules(None)
    loaded = load_plan([path], year=2022, rules=rules)
    return loaded, len(started)


def _before_understanding(monkeypatch, before) -> None:
    """Understanding a sheet first calls `before(sheet name, here)`: `here` is true in this
    process, false in the second one (forked with the patch in place)."""
    real, parent = Understanding.__call__, os.getpid()

    def hooked(self, sheet):
        before(sheet.sheet, os.getpid() == parent)
        return real(self, sheet)

    monkeypatch.setattr(Understanding, "__call__", hooked)


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_two_processes_load_what_one_loads(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)
    one, forks_one = _load(path, monkeypatch, apart=False)
    two, forks_two = _load(path, monkeypatch, apart=True)
    assert (forks_one, forks_two) == (0, 1)
    pd.testing.assert_frame_equal(one.plan, two.plan, check_exact=True)
    assert [i.to_dict() for i in two.issues] == [i.to_dict() for i in one.issues]
    assert [vars(s) for s in two.sheets] == [vars(s) for s in one.sheets]
    assert two.no_plan == one.no_plan
    codes = {(i.code, i.sheet) for i in two.issues}
    # what each kind of sheet gave, wherever it was read
    assert {("INPUT-DUPLICATE", "Biểu 03"), ("INPUT-DUPLICATE", "Biểu 06")} <= codes
    assert {("SHEET-HIDDEN", "Ẩn"), ("SHEET-UNREADABLE", "Xa"), ("SHEET-SKIPPED", "Ghi chú")} <= codes
    assert sorted(set(two.plan["sheet"])) == ["Biểu 01", "Biểu 02", "Biểu 04", "Biểu 05"]
    assert not any(t.name == "disbursement-second-reader" for t in threading.enumerate())
    with pytest.raises(ChildProcessError):  # the second process was reaped
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
@pytest.mark.parametrize("seed", [1, 2, 3])
def test_any_sheet_order_loads_the_same_on_two_processes(tmp_path, monkeypatch, seed) -> None:
    order = list(range(10))
    random.Random(seed).shuffle(order)
    path = _workbook(tmp_path, order)
    one, _ = _load(path, monkeypatch, apart=False)
    two, forks = _load(path, monkeypatch, apart=True)
    assert forks == 1
    pd.testing.assert_frame_equal(one.plan, two.plan, check_exact=True)
    assert [i.to_dict() for i in two.issues] == [i.to_dict() for i in one.issues]
    assert [vars(s) for s in two.sheets] == [vars(s) for s in one.sheets]


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_an_exception_in_the_second_process_is_raised_here(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)

    def failing(name, here):
        if name == "Biểu 05":  # position 5: read by the second process
            raise ValueError("sheet 5 is broken")

    _before_understanding(monkeypatch, failing)
    with pytest.raises(ValueError, match="sheet 5 is broken"):
        _load(path, monkeypatch, apart=True)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_a_second_process_that_dies_ends_the_read_with_an_error(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)

    def dying(name, here):
        if not here:
            os._exit(9)  # killed, as by the out-of-memory killer

    _before_understanding(monkeypatch, dying)
    with pytest.raises(DisbursementError, match="every second sheet ended before sheet 'Ghi chú'"):
        _load(path, monkeypatch, apart=True)


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_a_failure_here_stops_the_second_process(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)

    def failing_here(name, here):
        if here and name == "Biểu 04":
            raise KeyboardInterrupt

    _before_understanding(monkeypatch, failing_here)
    with pytest.raises(KeyboardInterrupt):
        _load(path, monkeypatch, apart=True)
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)
    assert not any(t.name == "disbursement-second-reader" for t in threading.enumerate())


def test_only_a_large_zip_workbook_with_no_other_thread_is_split(tmp_path, monkeypatch) -> None:
    path = tmp_path / "lon.xlsx"
    path.write_bytes(b"PK" + b"\0" * 100)
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 50)
    assert split._worth_splitting(path, "zip") is TWO_CORES
    assert not split._worth_splitting(path, "bounded")
    assert not split._worth_splitting(path, "csv")
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 10_000)
    assert not split._worth_splitting(path, "zip")
    monkeypatch.setattr(split, "SPLIT_MIN_BYTES", 50)
    stop = threading.Event()
    other = threading.Thread(target=stop.wait)
    other.start()
    try:
        assert not split._worth_splitting(path, "zip")  # never fork beside a running thread
    finally:
        stop.set()
        other.join()


def _rewrite(path, change) -> None:
    with zipfile.ZipFile(path) as src:
        items = [(i, src.read(i.filename)) for i in src.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in items:
            out.writestr(info, change(info.filename, data))


def _same(one, two) -> None:
    pd.testing.assert_frame_equal(one.plan, two.plan, check_exact=True)
    assert [(i.to_dict(), i.params) for i in two.issues] == [(i.to_dict(), i.params) for i in one.issues]
    assert [vars(s) for s in two.sheets] == [vars(s) for s in one.sheets]


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_two_sheets_of_one_name_are_each_read_by_one_process(tmp_path, monkeypatch) -> None:
    """Sheets are shared out by position: two visible sheets named alike (a hand-edited
    workbook.xml) are read once each, as by one process."""
    grids = [
        g
        for n, p in (("Biểu 01", "79A"), ("Biểu 02", "79B"), ("Biểu 03", "79C"))
        for g in _table(n, _lines(p, 3))
    ]
    path = write_grid(tmp_path / "trung_ten.xlsx", grids, created=AS_OF)
    _rewrite(
        path, lambda n, d: d.replace("Biểu 02".encode(), "Biểu 01".encode()) if n == "xl/workbook.xml" else d
    )
    one, _ = _load(path, monkeypatch, apart=False)
    two, forks = _load(path, monkeypatch, apart=True)
    assert forks == 1
    _same(one, two)
    assert [s.status for s in two.sheets] == ["read", "refused", "read"]  # the second is a duplicate


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_a_damaged_part_does_not_unguard_the_sheets_after_it(tmp_path, monkeypatch) -> None:
    """A sheet whose XML cannot be inflated is unreadable; the sheets after it are still
    scanned (max_cells, errors, formulas) — on one process and on two alike."""
    far = GridSheet("Xa", [["Bảng tạm"]])
    far.rows += [[] for _ in range(99)] + [[None] * 99 + ["xa"]]
    broken = GridSheet("Hỏng", [[f"dòng {i}", i * 1.5] for i in range(2000)])
    grids = [*_table("Biểu 01", _lines("79A", 5)), broken, far, *_table("Biểu 02", _lines("79B", 4))]
    path = write_grid(tmp_path / "hong.xlsx", grids, created=AS_OF)
    with zipfile.ZipFile(path) as archive:
        info = archive.getinfo("xl/worksheets/sheet2.xml")
    raw = bytearray(path.read_bytes())
    offset = info.header_offset
    start = offset + 30 + int.from_bytes(raw[offset + 26 : offset + 28], "little")
    start += int.from_bytes(raw[offset + 28 : offset + 30], "little")
    for k in range(8):  # corrupt the middle of the deflated data
        raw[start + info.compress_size // 2 + k] ^= 0xFF
    path.write_bytes(bytes(raw))
    monkeypatch.setattr(split, "ReadLimits", lambda: ReadLimits(max_cells=5000))
    one, _ = _load(path, monkeypatch, apart=False)
    two, _ = _load(path, monkeypatch, apart=True)
    _same(one, two)
    unreadable = [i.sheet for i in two.issues if i.code == "SHEET-UNREADABLE"]
    assert unreadable == ["Hỏng", "Xa"]  # Xa is past max_cells: refused, never parsed


def test_a_sheet_whose_name_follows_its_id_is_still_scanned(tmp_path) -> None:
    """<sheet r:id=… name=…/> is valid XML: its scan (here, max_cells) is found."""
    far = GridSheet("Xa", [["Bảng tạm"]])
    far.rows += [[] for _ in range(99)] + [[None] * 99 + ["xa"]]
    path = write_grid(tmp_path / "thu_tu.xlsx", [far], created=AS_OF)
    _rewrite(
        path,
        lambda n, d: (
            re.sub(
                rb'<sheet name="([^"]*)" sheetId="1" r:id="rId1"/>',
                rb'<sheet r:id="rId1" sheetId="1" name="\1"/>',
                d,
            )
            if n == "xl/workbook.xml"
            else d
        ),
    )
    with zipfile.ZipFile(path) as archive:
        assert b'<sheet r:id="rId1"' in archive.read("xl/workbook.xml")
    issues: list = []
    assert read_file(path, issues, ReadLimits(max_cells=5000)) == []
    assert [i.code for i in issues] == ["SHEET-UNREADABLE"] and "10,100 cells" in issues[0].message


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_a_message_cut_off_by_a_dying_child_is_an_error_not_a_crash(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)
    real = split._send

    def cut_off(pipe, message):
        payload = pickle.dumps(message)
        pipe.write(split._LENGTH.pack(len(payload)) + payload[: len(payload) // 2])
        pipe.flush()
        os._exit(9)  # killed while writing, as by the out-of-memory killer

    monkeypatch.setattr(split, "_send", cut_off)
    with pytest.raises(DisbursementError, match="ended before sheet 'Ghi chú' without finishing"):
        _load(path, monkeypatch, apart=True)
    monkeypatch.setattr(split, "_send", real)


@pytest.mark.skipif(not TWO_CORES, reason="needs fork and two cores")
def test_a_failure_here_kills_a_second_process_still_reading(tmp_path, monkeypatch) -> None:
    path = _workbook(tmp_path)

    def slow_there(name, here):
        if not here and name != "Ghi chú":  # its first sheet, then slow
            time.sleep(60)  # the child would read on for minutes
        elif name == "Biểu 02":
            raise ValueError("this process failed")

    _before_understanding(monkeypatch, slow_there)
    started = time.monotonic()
    with pytest.raises(ValueError, match="this process failed"):
        _load(path, monkeypatch, apart=True)
    assert time.monotonic() - started < 30  # killed, not waited for
    with pytest.raises(ChildProcessError):
        os.waitpid(-1, os.WNOHANG)


def test_the_second_readers_pipe_holds_a_whole_sheets_message() -> None:
    """The child's write of a sheet (~0.4 MB at 1,600 lines) must not wait on this process's
    drain thread: its pipe is widened to 1 MB where Linux allows it."""
    fcntl = pytest.importorskip("fcntl")
    if not hasattr(fcntl, "F_GETPIPE_SZ"):
        pytest.skip("pipe sizes are Linux's")
    reader, writer = os.pipe()
    try:
        assert fcntl.fcntl(writer, fcntl.F_GETPIPE_SZ) < split._PIPE_BYTES
        split._widen(writer)
        if fcntl.fcntl(writer, fcntl.F_GETPIPE_SZ) < split._PIPE_BYTES:  # best effort, as it says
            pytest.skip("this machine's pipe-max-size or pipe quota does not allow 1 MB")
        assert fcntl.fcntl(writer, fcntl.F_GETPIPE_SZ) == split._PIPE_BYTES
        payload = b"x" * (split._PIPE_BYTES // 2)
        assert os.write(writer, payload) == len(payload)  # whole, with nobody reading
    finally:
        os.close(reader)
        os.close(writer)
