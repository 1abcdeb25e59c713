"""Open .xlsx/.xlsm/.xls/.ods/.csv read-only and return each sheet's cells with positions.

Cells come back row-major from A1 (python-calamine, cached formula values), so list index
`i` is Excel row `i + 1` everywhere downstream. Nothing here interprets the table; that is
`layout.py`. Hidden sheets are reported and skipped. Input files are only ever opened for
reading.
"""

from __future__ import annotations

import csv
import io
import struct
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from pathlib import Path

from disbursement.config.issues import issue
from disbursement.errors import InputUnreadable, Issue
from disbursement.ingest.bounded import run_bounded

WORKBOOK_SUFFIXES = {".xlsx", ".xlsm", ".xls", ".ods", ".xlsb"}
ZIP_SUFFIXES = {".xlsx", ".xlsm", ".ods", ".xlsb"}


@dataclass(frozen=True)
class ReadLimits:
    """Guards against hostile files: checked on the zip directory before any parsing."""

    max_uncompressed_bytes: int = 1_000_000_000
    max_ratio: int = 200  # uncompressed/compressed of any one member above 1 MB
    max_members: int = 10_000
    # rows × columns from A1 to a sheet's farthest cell: python-calamine builds that grid
    # densely (32 bytes a cell), so one stray cell at XFD1048576 would ask for 550 GB.
    max_cells: int = 10_000_000


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
            f"{name}: unsupported file type {suffix or '(none)'!r}; use .xlsx, .xlsm, .xls, .ods or .csv"
        )
    limits = limits or ReadLimits()
    with open(path, "rb") as handle:
        head = handle.read(512)
    if not head.startswith((b"PK", b"\xd0\xcf\x11\xe0")) and _looks_like_text(head):
        raise InputUnreadable(
            f"{name}: this is a text file (a CSV or HTML export?) named {suffix}, not a "
            "workbook; open it in Excel and save it as .xlsx (or rename a CSV file to .csv)"
        )
    if suffix in ZIP_SUFFIXES:
        _check_zip(path, limits)
        return _read_workbook(path, issues, limits)
    # Legacy BIFF (.xls): no zip directory to bound it beforehand, so the parse runs in a
    # child with a memory cap and a timeout (ingest/bounded.py).
    sheets, found = run_bounded(name, _read_workbook_alone, path, limits)
    issues.extend(found)
    return sheets


def _read_workbook_alone(path: Path, limits: ReadLimits) -> tuple[list[RawSheet], list[Issue]]:
    issues: list[Issue] = []
    return _read_workbook(path, issues, limits), issues


def _check_zip(path: Path, limits: ReadLimits) -> None:
    name = str(path)
    with open(path, "rb") as handle:
        head = handle.read(8)
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
        raise InputUnreadable(
            f"{name}: too many parts in the workbook ({len(members):,}, above the limit of "
            f"{limits.max_members:,}); refusing to open it — open it in Excel and save it again"
        )
    total = sum(m.file_size for m in members)
    if total > limits.max_uncompressed_bytes:
        raise InputUnreadable(
            f"{name}: the workbook would unpack to {total:,} bytes, above the limit of "
            f"{limits.max_uncompressed_bytes:,}; refusing to open it (possible zip bomb) — "
            "ask the sender for the workbook as Excel saved it"
        )
    for member in members:
        if member.file_size > 1_000_000 and member.file_size > limits.max_ratio * max(
            member.compress_size, 1
        ):
            raise InputUnreadable(
                f"{name}: part {member.filename} is compressed "
                f"{member.file_size // max(member.compress_size, 1)}:1, "
                "which no real workbook is; refusing to open it (possible zip bomb) — "
                "ask the sender for the workbook as Excel saved it"
            )
    with open(path, "rb") as handle:  # the sizes above are only what the directory claims
        for member in members:
            if _inflates_beyond(handle, member):
                raise InputUnreadable(
                    f"{name}: part {member.filename} unpacks to more than the "
                    f"{member.file_size:,} bytes the workbook's directory states; refusing to "
                    "open it (damaged or crafted) — ask the sender for the workbook as Excel "
                    "saved it"
                )


def _inflates_beyond(handle, member: zipfile.ZipInfo) -> bool:
    """Inflate one deflated part in bounded steps; True if it yields more than it declares.

    Parsers stop at the end of the compressed data, not at the declared size, so a part whose
    directory entry lies about its size would otherwise slip past the limits above.
    """
    if member.compress_type != zipfile.ZIP_DEFLATED or member.flag_bits & 0x1:
        return False
    handle.seek(member.header_offset)
    local = handle.read(30)
    if len(local) < 30 or local[:4] != b"PK\x03\x04":
        return False  # damaged: the parser reports it
    name_len, extra_len = struct.unpack("<HH", local[26:30])
    handle.seek(member.header_offset + 30 + name_len + extra_len)
    inflater = zlib.decompressobj(-15)
    left, produced = member.compress_size, 0
    try:
        while left > 0 and not inflater.eof:
            chunk = handle.read(min(1 << 20, left))
            if not chunk:
                break
            left -= len(chunk)
            while chunk and not inflater.eof:
                produced += len(inflater.decompress(chunk, 1 << 22))
                if produced > member.file_size:
                    return True
                chunk = inflater.unconsumed_tail
    except zlib.error:
        return False  # damaged: the parser reports it
    return False


def _looks_like_text(head: bytes) -> bool:
    """No control bytes besides tab and line ends: a text export (UTF-8 or a legacy code page)."""
    return bool(head) and all(b >= 0x20 or b in b"\t\r\n\f" for b in head)


def _parser_failed(exc: BaseException) -> bool:
    """python-calamine raises many types for broken files, and a Rust panic on some
    (pyo3's PanicException derives from BaseException, so `except Exception` misses it)."""
    return isinstance(exc, Exception) or type(exc).__name__ == "PanicException"


def _read_workbook(path: Path, issues: list[Issue], limits: ReadLimits) -> list[RawSheet]:
    import python_calamine as calamine

    name = str(path)
    try:
        workbook = calamine.load_workbook(str(path))
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
    scans: dict = {}
    if path.suffix.lower() in {".xlsx", ".xlsm"}:
        from disbursement.ingest.formulas import scan_sheets

        scans = scan_sheets(path, limits.max_cells)
    sheets = []
    for meta in workbook.sheets_metadata:
        if str(meta.visible).split(".")[-1] != "Visible":
            issues.append(issue("SHEET-HIDDEN", name, meta.name, None, None, "hidden sheet skipped"))
            continue
        if str(meta.typ).split(".")[-1] != "WorkSheet":
            continue
        scan = scans.get(meta.name)
        if scan is not None and scan.rows * scan.cols > limits.max_cells:
            from disbursement.errors import column_letter

            issues.append(
                issue(
                    "SHEET-UNREADABLE",
                    name,
                    meta.name,
                    scan.rows,
                    column_letter(scan.cols - 1),
                    f"the sheet's cells reach row {scan.rows:,} and column {column_letter(scan.cols - 1)} "
                    f"({scan.rows * scan.cols:,} cells, above the limit of {limits.max_cells:,}); it was "
                    "skipped — delete the stray cells beyond the table (Ctrl+End finds the last one) "
                    "and save again",
                )
            )
            continue
        try:
            sheet = workbook.get_sheet_by_name(meta.name)
            cells = sheet.to_python(skip_empty_area=False)
            merged = list(sheet.merged_cell_ranges or [])
        except BaseException as exc:
            if not _parser_failed(exc):
                raise
            issues.append(
                issue(
                    "SHEET-UNREADABLE",
                    name,
                    meta.name,
                    None,
                    None,
                    f"sheet cannot be read ({_short(exc)}); it was skipped",
                )
            )
            continue
        if scan is not None:
            for (row, col), error in scan.errors.items():  # calamine reads #REF! as empty
                if row < len(cells) and col < len(cells[row]) and cells[row][col] == "":
                    cells[row][col] = error
        sheets.append(RawSheet(name, meta.name, cells, merged, scan.uncached if scan else {}))
    return sheets


# cp1258 (Vietnamese Windows) writes most tones as a combining byte after the vowel:
# grave 0xCC, hook 0xD2, tilde 0xDE, acute 0xEC, dot below 0xF2.
_CP1258_TONES = frozenset(b"\xcc\xd2\xde\xec\xf2")
_CP1258_VOWELS = frozenset(b"aeiouyAEIOUY\xe2\xea\xf4\xf5\xfd\xe3\xc2\xca\xd4\xd5\xdd\xc3")


def _cp1258_tones(raw: bytes) -> bool:
    """Combining tone bytes, nearly all right after a vowel: cp1258 text, not TCVN3/VNI
    (whose tone-bearing letters are single bytes that replace the vowel)."""
    after_vowel = total = 0
    for i, byte in enumerate(raw[:200_000]):
        if byte in _CP1258_TONES:
            total += 1
            after_vowel += i > 0 and raw[i - 1] in _CP1258_VOWELS
    return total >= 3 and after_vowel >= 0.9 * total


def _utf16(raw: bytes) -> str | None:
    """UTF-16 with a byte-order mark, or without one when every other byte of ASCII text is 0."""
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        return raw.decode("utf-16")
    sample = raw[:4000]
    if len(sample) >= 4 and len(sample) % 2 == 0:
        odd, even = sample[1::2].count(0), sample[0::2].count(0)
        if odd >= 0.3 * len(sample) // 2 and even == 0:
            return raw.decode("utf-16-le")
        if even >= 0.3 * len(sample) // 2 and odd == 0:
            return raw.decode("utf-16-be")
    return None


def _decode_csv(raw: bytes, name: str = "") -> str:
    """UTF-8 (with or without BOM) or UTF-16 (either byte order) first; else ANSI bytes:
    cp1258 when its combining tone bytes follow vowels, kept as cp1252 when they are TCVN3/VNI
    text typed in a legacy font (repaired later, per sheet), otherwise cp1258. NFC always."""
    from disbursement.text import detect_legacy

    try:
        text = _utf16(raw)
    except UnicodeDecodeError:
        raise InputUnreadable(
            f"{name}: looks like UTF-16 text but does not decode as UTF-16; save it again as CSV UTF-8"
        ) from None
    if text is None:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = None
    if text is None and _cp1258_tones(raw):
        text = raw.decode("cp1258", errors="replace")
    if text is None:
        try:
            ansi = raw.decode("cp1252")
        except UnicodeDecodeError:
            ansi = raw.decode("latin-1")
        if detect_legacy(ansi.splitlines()[:200]):
            return ansi
        try:
            text = raw.decode("cp1258")
        except UnicodeDecodeError:
            return ansi
    return unicodedata.normalize("NFC", text)


def _read_csv(path: Path) -> RawSheet:
    text = _decode_csv(path.read_bytes(), str(path))
    if "\x00" in text:
        raise InputUnreadable(
            f"{path}: holds NUL characters, so it is not a text CSV; save it again as CSV UTF-8"
        )
    sample = text[:20_000]
    try:
        dialect = csv.Sniffer().sniff(sample, delimiters=",;\t")
        delimiter = dialect.delimiter
    except csv.Error:
        delimiter = ","
    try:
        rows = list(csv.reader(io.StringIO(text), delimiter=delimiter))
    except csv.Error as exc:
        raise InputUnreadable(f"{path}: not a readable CSV ({exc})") from None
    width = max((len(r) for r in rows), default=0)
    cells = [r + [""] * (width - len(r)) for r in rows]
    return RawSheet(str(path), path.stem, cells, [])


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
