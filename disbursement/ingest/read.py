"""Open .xlsx/.xlsm/.xls/.ods/.csv read-only and return each sheet's cells with positions.

Cells come back row-major from A1 (python-calamine, cached formula values), so list index
`i` is Excel row `i + 1` everywhere downstream. Nothing here interprets the table; that is
`layout.py`. Hidden sheets are reported and skipped. Input files are only ever opened for
reading.

`iter_file` gives the sheets one by one while a thread reads the next ones: python-calamine
parses without holding the GIL, so a 63-sheet workbook is parsed beside the normalisation of
the sheets already read instead of before it.
"""

from __future__ import annotations

import csv
import io
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from disbursement.config.issues import issue
from disbursement.errors import InputUnreadable, Issue
from disbursement.ingest.bounded import run_bounded
from disbursement.ingest.csv_text import read_csv
from disbursement.ingest.sheet import RawSheet, ReadLimits
from disbursement.ingest.zip_guard import ZIP_SUFFIXES, check_zip

__all__ = [
    "RawSheet",
    "ReadLimits",
    "SheetItem",
    "check_file",
    "iter_checked",
    "iter_file",
    "read_file",
    "read_small_table",
]

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
# Legacy BIFF (.xls): parsed in a forked child with a memory cap and a timeout (bounded.py).
BOUNDED_SUFFIXES = WORKBOOK_SUFFIXES - ZIP_SUFFIXES
READ_AHEAD = 2  # sheets parsed ahead of the one being normalised (bounds the memory held)


def read_file(path: str | Path, issues: list[Issue], limits: ReadLimits | None = None) -> list[RawSheet]:
    """Every visible sheet of `path`; raises InputUnreadable when the file cannot be read."""
    return list(iter_file(path, issues, limits))


def iter_file(path: str | Path, issues: list[Issue], limits: ReadLimits | None = None) -> Iterator[RawSheet]:
    """The visible sheets of `path` one by one, the next ones parsed on a thread meanwhile.

    Everything that can refuse the whole file (missing, empty, not a workbook, a zip bomb,
    password, unreadable) is decided before the first sheet is given, so InputUnreadable is
    raised by the first `next()`, as `read_file` raises it. Issues of the read (hidden or
    unreadable sheets) are appended in sheet order as the sheets are given."""
    path = Path(path)
    limits = limits or ReadLimits()
    kind = check_file(path, limits)
    for item in iter_checked(path, kind, limits):
        issues.extend(item.issues)
        if item.sheet is not None:
            yield item.sheet


@dataclass
class SheetItem:
    """One step of a checked file's read: a hidden sheet (its issue), or the worksheet at
    `position` among the visible ones — read (`sheet`, or None with the issue saying why it
    could not be), or left to another process (`theirs`)."""

    name: str
    position: int | None = None
    sheet: RawSheet | None = None
    issues: list[Issue] = field(default_factory=list)
    theirs: bool = False


def check_file(path: Path, limits: ReadLimits) -> str:
    """What refuses the whole file, before any parser runs (InputUnreadable); its kind:
    "csv", "zip" (a zip workbook, guards passed) or "bounded" (legacy BIFF)."""
    name = str(path)
    if not path.exists():
        raise InputUnreadable(f"{name}: no such file")
    if not path.is_file():
        raise InputUnreadable(f"{name}: not a file")
    if path.stat().st_size == 0:
        raise InputUnreadable(f"{name}: the file is empty (0 bytes); export it again from Excel")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return "csv"
    if suffix not in WORKBOOK_SUFFIXES:
        raise InputUnreadable(
            f"{name}: unsupported file type {suffix or '(none)'!r}; use .xlsx, .xlsm, .xls, .ods or .csv"
        )
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head.startswith((b"PK", b"\xd0\xcf\x11\xe0")) and _looks_like_text(head):
        raise InputUnreadable(
            f"{name}: this is a text file (a CSV or HTML export?) named {suffix}, not a "
            "workbook; open it in Excel and save it as .xlsx (or rename a CSV file to .csv)"
        )
    if suffix in ZIP_SUFFIXES:
        check_zip(path, limits)
        return "zip"
    return "bounded"


def iter_checked(
    path: Path, kind: str, limits: ReadLimits, mine: Callable[[int], bool] | None = None
) -> Iterator[SheetItem]:
    """The read of a file `check_file` passed, step by step; with `mine`, only the visible
    worksheets at the positions it accepts are parsed (the others are `theirs`)."""
    if kind == "csv":
        yield SheetItem("", 0, read_csv(path))
        return
    if kind == "zip":
        yield from _read_ahead(_iter_workbook(path, _open_workbook(path), limits, mine))
        return
    # Legacy BIFF (.xls): no zip directory to bound it beforehand, so the parse runs in a
    # child with a memory cap and a timeout (ingest/bounded.py).
    sheets, found = run_bounded(str(path), _read_workbook_alone, path, limits)
    yield SheetItem("", None, None, found)
    for position, sheet in enumerate(sheets):
        yield SheetItem(sheet.sheet, position, sheet)


def _read_workbook_alone(path: Path, limits: ReadLimits) -> tuple[list[RawSheet], list[Issue]]:
    sheets: list[RawSheet] = []
    issues: list[Issue] = []
    for item in _iter_workbook(path, _open_workbook(path), limits):
        issues.extend(item.issues)
        if item.sheet is not None:
            sheets.append(item.sheet)
    return sheets, issues


_ITEM, _END, _FAILED = range(3)  # what the thread puts: (kind, value)


def _read_ahead(items: Iterator[Any]) -> Iterator[Any]:
    """`items`, produced on a thread up to READ_AHEAD ahead; an exception raised there is
    raised here, at the same item. Leaving early stops the thread at its next sheet."""
    ahead: queue.Queue = queue.Queue(READ_AHEAD)
    stop = threading.Event()

    def offer(item) -> bool:
        """Put `item` unless the reader has left; False when it has."""
        while not stop.is_set():
            try:
                ahead.put(item, timeout=0.1)
                return True
            except queue.Full:
                continue
        return False

    def produce() -> None:
        try:
            for item in items:
                if not offer((_ITEM, item)):
                    return
            offer((_END, None))
        except BaseException as exc:  # given to the reader: it decides what is fatal
            offer((_FAILED, exc))

    thread = threading.Thread(target=produce, name="disbursement-read-ahead", daemon=True)
    thread.start()
    try:
        while True:
            kind, value = ahead.get()
            if kind == _FAILED:
                raise value
            if kind == _END:
                return
            yield value
    finally:
        stop.set()
        thread.join()


def _looks_like_text(head: bytes) -> bool:
    """No control bytes besides tab and line ends: a text export (UTF-8 or a legacy code page)."""
    return bool(head) and all(b >= 0x20 or b in b"\t\r\n\f" for b in head)


def _parser_failed(exc: BaseException) -> bool:
    """python-calamine raises many types for broken files, and a Rust panic on some
    (pyo3's PanicException derives from BaseException, so `except Exception` misses it)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _open_workbook(path: Path):
    """The python-calamine workbook, or InputUnreadable saying why it cannot be opened."""
    import python_calamine as calamine

    name = str(path)
    try:
        return calamine.load_workbook(str(path))
    except calamine.PasswordError:
        raise InputUnreadable(
            f"{name}: the workbook is password-protected; save an unprotected copy and retry"
        ) from None
    except BaseException as exc:
        if not _parser_failed(exc):
            raise
        raise InputUnreadable(
            f"{name}: cannot read the workbook ({type(exc).__name__}: {_short(exc)}); "
            "open it in Excel and save it again as .xlsx"
        ) from None


def _iter_workbook(
    path: Path, workbook, limits: ReadLimits, mine: Callable[[int], bool] | None = None
) -> Iterator[SheetItem]:
    """The read of each sheet in the workbook's order; each sheet's XML is scanned (extent,
    errors, formulas without results) just before it is parsed — only the sheets `mine`
    accepts (by position among the visible worksheets) are scanned and parsed."""
    from disbursement.ingest.formulas import SheetScan, iter_scans

    name = str(path)
    steps: list[tuple[Any, int | None]] = []  # (metadata, position among visible worksheets)
    visible = 0
    for meta in workbook.sheets_metadata:
        if str(meta.visible).split(".")[-1] != "Visible":
            steps.append((meta, None))
        elif str(meta.typ).split(".")[-1] == "WorkSheet":
            steps.append((meta, visible))
            visible += 1
    owned = {p for _, p in steps if p is not None and (mine is None or mine(p))}
    wanted = {m.name for m, p in steps if p in owned}
    # The scans run on their own thread too: inflating the XML does not hold the GIL either.
    xml = path.suffix.lower() in {".xlsx", ".xlsm"}
    scanned = _read_ahead(iter_scans(path, limits.max_cells, wanted)) if xml else iter(())
    scans: dict[str, SheetScan] = {}

    def scan_of(sheet_name: str) -> SheetScan | None:
        while sheet_name not in scans:
            found = next(scanned, None)
            if found is None:
                return None
            scans[found[0]] = found[1]
        return scans.pop(sheet_name)

    for meta, position in steps:
        sheet_name = str(meta.name)
        if position is None:
            yield SheetItem(
                sheet_name,
                None,
                None,
                [issue("SHEET-HIDDEN", name, sheet_name, None, None, "hidden sheet skipped")],
            )
            continue
        if position not in owned:
            yield SheetItem(sheet_name, position, theirs=True)
            continue
        scan = scan_of(sheet_name)
        if xml and scan is None:  # its XML could not be checked: never parsed unchecked
            why = (
                "sheet skipped: its XML part could not be found or inflated before reading "
                "(damaged, or named differently in the workbook's index); save the workbook "
                "again in Excel"
            )
            yield SheetItem(
                sheet_name, position, None, [issue("SHEET-UNREADABLE", name, sheet_name, None, None, why)]
            )
            continue
        if scan is not None and scan.rows * scan.cols > limits.max_cells:
            yield SheetItem(sheet_name, position, None, [_too_large(name, sheet_name, scan, limits)])
            continue
        try:
            sheet = workbook.get_sheet_by_name(sheet_name)
            cells = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
        except BaseException as exc:
            if not _parser_failed(exc):
                raise
            why = f"sheet cannot be read ({_short(exc)}); it was skipped"
            yield SheetItem(
                sheet_name, position, None, [issue("SHEET-UNREADABLE", name, sheet_name, None, None, why)]
            )
            continue
        if scan is not None:
            for (row, col), error in scan.errors.items():  # calamine reads #REF! as empty
                if row < len(cells) and col < len(cells[row]) and cells[row][col] == "":
                    cells[row][col] = error
        raw = RawSheet(name, sheet_name, cells, merged, scan.uncached if scan else {})
        yield SheetItem(sheet_name, position, raw)


def _too_large(name: str, sheet: str, scan, limits: ReadLimits) -> Issue:
    from disbursement.errors import column_letter

    last = column_letter(scan.cols - 1)
    return issue(
        "SHEET-UNREADABLE",
        name,
        sheet,
        scan.rows,
        last,
        f"the sheet's cells reach row {scan.rows:,} and column {last} "
        f"({scan.rows * scan.cols:,} cells, above the limit of {limits.max_cells:,}); it was "
        "skipped — delete the stray cells beyond the table (Ctrl+End finds the last one) "
        "and save again",
    )


def _short(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]


def read_small_table(path: str | Path, what: str) -> tuple[str | None, list[list]]:
    """(sheet name or None, rows) of a small hand-made table such as an overrides or an
    approved-figures file: the first visible sheet of an .xlsx/.xlsm, or a .csv (UTF-8, with
    its delimiter sniffed). `what` names the file in errors ("the overrides file")."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix in (".xlsx", ".xlsm", ".csv") and not path.is_file():
        raise InputUnreadable(f"{path}: no such file ({what})")
    if suffix in (".xlsx", ".xlsm"):
        import openpyxl

        try:
            book = openpyxl.load_workbook(path, read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a bad file
            raise InputUnreadable(f"{path}: cannot open {what} ({_short(exc)})") from None
        try:
            sheet = next((ws for ws in book.worksheets if ws.sheet_state == "visible"), book.worksheets[0])
            return sheet.title, [list(r) for r in sheet.iter_rows(values_only=True)]
        finally:
            book.close()
    if suffix == ".csv":
        try:
            text = path.read_text(encoding="utf-8-sig")
        except (OSError, UnicodeDecodeError) as exc:
            raise InputUnreadable(f"{path}: cannot read {what} as UTF-8 text ({exc})") from None
        try:
            dialect = csv.Sniffer().sniff(text[:4096], delimiters=",;\t")
        except csv.Error:
            dialect = csv.excel
        return None, [list(r) for r in csv.reader(io.StringIO(text), dialect)]
    raise InputUnreadable(f"{path}: {what} must be an .xlsx or .csv file")
