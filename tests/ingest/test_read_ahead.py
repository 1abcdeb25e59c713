"""The sheets are parsed on a thread ahead of the one being normalised (ingest.read): the same
sheets and issues in the same order as a read of the whole file, the thread's exception
raised at the item where it happened, and a reader that leaves early stops the thread."""

from __future__ import annotations

import itertools
import threading

import openpyxl
import pytest

from disbursement.ingest.read import _read_ahead, iter_file, read_file


def _threads() -> set[str]:
    return {t.name for t in threading.enumerate() if t.name == "disbursement-read-ahead"}


def test_an_exception_on_the_thread_is_raised_at_its_item() -> None:
    def items():
        yield 1
        yield 2
        raise ValueError("sheet 3 is broken")

    got = []
    with pytest.raises(ValueError, match="sheet 3 is broken"):
        for item in _read_ahead(items()):
            got.append(item)
    assert got == [1, 2] and not _threads()


def test_leaving_early_stops_the_thread() -> None:
    reader = _read_ahead(iter(itertools.count()))
    assert [next(reader) for _ in range(3)] == [0, 1, 2]
    reader.close()
    assert not _threads()


def test_sheets_and_issues_come_in_workbook_order(tmp_path) -> None:
    path = tmp_path / "ke_hoach.xlsx"
    book = openpyxl.Workbook()
    book.active.title = "Biểu 01"
    book.active.append(["STT", "Tên dự án"])
    hidden = book.create_sheet("Ẩn")
    hidden.sheet_state = "hidden"
    for n in range(2, 6):
        book.create_sheet(f"Biểu 0{n}").append([str(n), f"Dự án {n}"])
    book.save(path)
    whole: list = []
    sheets = read_file(path, whole)
    streamed: list = []
    names = []
    for sheet in iter_file(path, streamed):
        names.append(sheet.sheet)
        assert len(streamed) == (0 if sheet.sheet == "Biểu 01" else 1)  # the hidden one, in order
    assert names == [s.sheet for s in sheets] == ["Biểu 01", "Biểu 02", "Biểu 03", "Biểu 04", "Biểu 05"]
    assert (
        [(i.code, i.sheet) for i in streamed]
        == [(i.code, i.sheet) for i in whole]
        == [("SHEET-HIDDEN", "Ẩn")]
    )
    assert sheets[1].cells == [["2", "Dự án 2"]]
