"""Open .xlsx/.xlsm/.xls/.ods/.csv read-only and return each sheet's cells with positions.

Cells come back row-major from A1 (python-calamine, cached formula values), so list index
`i` is Excel row `i + 1` everywhere downstream. Nothing here interprets the table; that is
`layout.py`. Hidden sheets are reported and skipped. Input files are only ever opened for
reading.
"""

from __future__ import annotations

import csv
import io
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from disbursement.errors import InputUnreadable, Issue

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
ZIP_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xlsb"}


@dataclass(frozen=True)
class ReadLimits:
    """Guards against hostile files: checked on the zip directory before any parsing."""

    max_uncompressed_bytes: int = 1_000_000_000
    max_ratio: int = 200  # uncompressed/compressed of any one member above 1 MB
    max_members: int = 10_000


@dataclass
class RawSheet:
    file: str
    sheet: str
    cells: list[list]  # row-major from A1; '' for empty cells
    merged: list = field(default_factory=list)  # [((r0, c0), (r1, c1)), ...] 0-based inclusive
    uncached: dict = field(default_factory=dict)  # {(row0, col0): formula} saved without a result


def read_file(path: str | Path, issues: list[Issue], limits: ReadLimits | None = None) -> list[RawSheet]:
    """Every visible sheet of `path`; raises InputUnreadable when the file cannot be read."""
    path = Path(path)
    name = str(path)
    if not path.exists():
        raise InputUnreadable(f"{name}: no such file")
    if not path.is_file():
        raise InputUnreadable(f"{name}: not a file")
    if path.stat().st_size == 0:
        raise InputUnreadable(f"{name}: the file is empty (0 bytes); export it again from Excel")
    suffix = path.suffix.lower()
    if suffix == ".csv":
        return [_read_csv(path)]
    if suffix not in WORKBOOK_SUFFIXES:
        raise InputUnreadable(
            f"{name}: unsupported file type {suffix or '(none)'!r}; "
            "use .xlsx, .xlsm, .xls, .ods or .csv"
        )
    if suffix in ZIP_SUFFIXES:
        _check_zip(path, limits or ReadLimits())
    return _read_workbook(path, issues)


def _check_zip(path: Path, limits: ReadLimits) -> None:
    name = str(path)
    head = path.read_bytes()[:8]
    if head.startswith(b"\xd0\xcf\x11\xe0"):
        raise InputUnreadable(
            f"{name}: the workbook is password-protected or an old-format file renamed to "
            f"{path.suffix}; save an unprotected copy as .xlsx"
        )
    try:
        with zipfile.ZipFile(path) as archive:
            members = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise InputUnreadable(
            f"{name}: not a valid {path.suffix} workbook (damaged or truncated: {exc}); "
            "open it in Excel and save it again"
        ) from None
    if len(members) > limits.max_members:
        raise InputUnreadable(f"{name}: too many parts in the workbook ({len(members)})")
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise InputUnreadable(
            f"{name}: the workbook would unpack to {total:,} bytes, above the limit of "
            f"{limits.max_uncompressed_bytes:,}; refusing to open it (possible zip bomb)"
        )
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > limits.max_ratio * max(
            member.compress_size, 1
        ):
            raise InputUnreadable(
                f"{name}: part {member.filename} is compressed "
                f"{member.file_size // max(member.compress_size, 1)}:1, "
                "which no real workbook is; refusing to open it (possible zip bomb)"
            )


def _read_workbook(path: Path, issues: list[Issue]) -> list[RawSheet]:
    import python_calamine as calamine

    name = str(path)
    try:
        workbook = calamine.load_workbook(str(path))
    except calamine.PasswordError:
        raise InputUnreadable(
            f"{name}: the workbook is password-protected; save an unprotected copy and retry"
        ) from None
    except Exception as exc:  # calamine raises several unrelated types for broken files
        raise InputUnreadable(
            f"{name}: cannot read the workbook ({type(exc).__name__}: {_short(exc)}); "
            "open it in Excel and save it again as .xlsx"
        ) from None
    uncached: dict = {}
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from disbursement.formulas import uncached_formulas

        uncached = uncached_formulas(path)
    sheets = []
    for meta in workbook.sheets_metadata:
        if str(meta.visible).split(".")[-1] != "Visible":
            issues.append(Issue("SHEET-HIDDEN", "info", name, meta.name, None, None,
                                "hidden sheet skipped"))
            continue
        if str(meta.typ).split(".")[-1] != "WorkSheet":
            continue
        try:
            sheet = workbook.get_sheet_by_name(meta.name)
            cells = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
        except Exception as exc:
            issues.append(Issue("SHEET-UNREADABLE", "error", name, meta.name, None, None,
                                f"sheet cannot be read ({_short(exc)}); it was skipped"))
            continue
        sheets.append(RawSheet(name, meta.name, cells, merged, uncached.get(meta.name, {})))
    return sheets


def _read_csv(path: Path) -> RawSheet:
    raw = path.read_bytes()
    for encoding in ("utf-8-sig", "cp1258", "latin-1"):
        try:
            text = raw.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    width = max((len(r) for r in rows), default=0)
    cells = [r + [""] * (width - len(r)) for r in rows]
    return RawSheet(str(path), path.stem, cells, [])


def _short(exc: Exception) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
    return text[:200]
