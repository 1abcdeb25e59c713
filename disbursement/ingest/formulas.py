"""Formulas saved without their results: find them, evaluate the simple ones, never read 0.

Workbooks written by scripts (or saved by tools that do not recalculate) can hold formula
cells with no cached value; python-calamine then returns an empty cell, which must not be
taken as 0. We look for such cells in the sheet XML (cheaply: only sheets whose XML holds a
formula followed directly by the end of its cell are scanned), then evaluate SUM / SUBTOTAL
over one column and plain `A1+A2-A3` sums; anything else is reported as not computable.
"""

from __future__ import annotations

import re
import zipfile
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

from disbursement.errors import column_index

SHEET_TAG = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)>")
SHEET_NAME = re.compile(rb'\bname="([^"]*)"')
SHEET_RID = re.compile(rb'\br:id="([^"]*)"')
XML_REF = re.compile(r"&(#x[0-9a-fA-F]+|#[0-9]+|lt|gt|amp|quot|apos);")
_XML_NAMED = {"lt": "<", "gt": ">", "amp": "&", "quot": '"', "apos": "'"}
REL_RE = re.compile(rb'<Relationship\b[^>]*?\bId="([^"]*)"[^>]*?\bTarget="([^"]*)"')
REL_RE2 = re.compile(rb'<Relationship\b[^>]*?\bTarget="([^"]*)"[^>]*?\bId="([^"]*)"')
# A formula cell without a stored result: no <v> at all, or an empty one (`<v/>`, `<v></v>`),
# the form openpyxl and some exporters write.
UNCACHED_CELL = re.compile(
    rb'<c\b[^>]*?\br="([A-Z]{1,3})([0-9]+)"[^>]*>\s*(?:<f\b[^>]*>([^<]*)</f>|<f\b[^>]*/>)'
    rb"\s*(?:<v\s*/>|<v>\s*</v>)?\s*</c>"
)
ERROR_CELL = re.compile(rb'<c\b([^>/]*\bt="e"[^>/]*)>(.*?)</c>', re.S)
ERROR_VALUE = re.compile(rb"<v>([^<]*)</v>")
CELL_R = re.compile(rb'\br="([A-Z]{1,3})([0-9]+)"')
ROW_R = re.compile(rb'\br="([0-9]+)"')
CELL_LETTERS = re.compile(rb'<c r="([A-Z]{1,3})')
CELL_ROW = re.compile(rb'<c r="[A-Z]{1,3}([0-9]{1,7})"')
CELL_OR_ROW = re.compile(rb"<(row|/row|c)\b([^>]*)>")
FUNCTION = re.compile(r"^(SUM|SUBTOTAL\((?:9|109)),?\(?([A-Z0-9:,]+)\)$")
REF = re.compile(r"^([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?$")
# A term of a plain sum: a cell reference or a number literal (formulas store en-US numbers).
TERM = re.compile(r"([+-]?)\s*(?:\$?([A-Z]{1,3})\$?(\d+)|(\d+(?:\.\d+)?))")


def _unescape(text: bytes) -> str:
    return _xml_unescape(text.decode("utf-8", "replace"))


def _sheet_entries(workbook_xml: bytes) -> list[tuple[str, bytes]]:
    """(name, relationship id) of each <sheet> of workbook.xml, in order, whatever the order
    of its attributes; names unescaped as XML does (&#x80; is U+0080, as python-calamine
    reads it, not the cp1252 '€' html.unescape would give)."""
    out = []
    for attrs in SHEET_TAG.findall(workbook_xml):
        name, rid = SHEET_NAME.search(attrs), SHEET_RID.search(attrs)
        if name and rid:
            out.append((_xml_unescape(name.group(1).decode("utf-8", "replace")), rid.group(1)))
    return out


def _xml_unescape(text: str) -> str:
    def one(match: re.Match[str]) -> str:
        ref = match.group(1)
        try:
            if ref.startswith("#x"):
                return chr(int(ref[2:], 16))
            if ref.startswith("#"):
                return chr(int(ref[1:]))
        except (ValueError, OverflowError):  # not a character: left as written
            return match.group(0)
        return _XML_NAMED[ref]

    return XML_REF.sub(one, text)


@dataclass
class SheetScan:
    """What the sheet XML says before any parser reads it (python-calamine hides errors).

    `rows` × `cols` is the grid python-calamine will build from A1 (an upper bound: styled
    empty cells count too), so a stray cell at XFD1048576 can be refused before
    17 billion cells are allocated. `errors` are cells whose cached value is an Excel error
    (#REF!, #DIV/0!, #N/A …), which python-calamine returns as empty cells.
    """

    uncached: dict[tuple[int, int], str] = field(default_factory=dict)
    errors: dict[tuple[int, int], str] = field(default_factory=dict)
    rows: int = 0
    cols: int = 0


def uncached_formulas(path: str | Path) -> dict[str, dict[tuple[int, int], str]]:
    """{sheet name: {(row0, col0): formula text or ""}} for formula cells with no value."""
    return {name: scan.uncached for name, scan in scan_sheets(path).items() if scan.uncached}


def scan_sheets(path: str | Path, max_cells: int | None = None) -> dict[str, SheetScan]:
    """{sheet name: SheetScan} of an .xlsx/.xlsm; {} when the parts cannot be found."""
    return dict(iter_scans(path, max_cells))


def iter_scans(
    path: str | Path, max_cells: int | None = None, wanted: set[str] | None = None
) -> Iterator[tuple[str, SheetScan]]:
    """(sheet name, SheetScan) of each sheet of an .xlsx/.xlsm in the workbook's order, each
    part inflated only when it is asked for (so the scan of one sheet can run beside the
    parse of the one before); it ends early at a damaged part (python-calamine reports it).

    With `max_cells`, a sheet whose cheap upper bound of rows × columns stays within it is
    not walked cell by cell (its extent is then that bound). With `wanted`, only the sheets
    of those names are inflated and scanned.
    """
    try:
        with zipfile.ZipFile(path) as archive:
            names = set(archive.namelist())
            if "xl/workbook.xml" not in names:
                return
            rels_xml = archive.read("xl/_rels/workbook.xml.rels")
            targets = {i: t for i, t in REL_RE.findall(rels_xml)}
            targets.update({i: t for t, i in REL_RE2.findall(rels_xml)})
            for name, rid in _sheet_entries(archive.read("xl/workbook.xml")):
                if wanted is not None and name not in wanted:
                    continue
                target = targets.get(rid, b"").decode()
                member = target.lstrip("/") if target.startswith("/") else f"xl/{target}"
                if member in names:
                    try:
                        data = archive.read(member)
                    except (zipfile.BadZipFile, zlib.error, EOFError, ValueError, NotImplementedError):
                        continue  # this part is damaged; the others are still scanned
                    yield name, _scan(data, max_cells)
    except (
        zipfile.BadZipFile,
        zlib.error,
        KeyError,
        OSError,
        ValueError,
        RuntimeError,
        NotImplementedError,
        EOFError,
    ):
        return  # damaged parts: python-calamine reports them


def _scan(data: bytes, max_cells: int | None) -> SheetScan:
    scan = SheetScan()
    bound = _extent_bound(data) if max_cells else None
    if bound is not None and max_cells and bound[0] * bound[1] <= max_cells:
        scan.rows, scan.cols = bound
    else:
        scan.rows, scan.cols = _extent(data)
    if b"</f></c>" in data or b"/></c>" in data:
        scan.uncached = {
            (int(row) - 1, column_index(col.decode())): _unescape(formula or b"")
            for col, row, formula in UNCACHED_CELL.findall(data)
        }
    if b't="e"' in data:
        for attrs, body in ERROR_CELL.findall(data):
            ref, value = CELL_R.search(attrs), ERROR_VALUE.search(body)
            if ref and value:
                key = (int(ref.group(2)) - 1, column_index(ref.group(1).decode()))
                scan.errors[key] = _unescape(value.group(1))
    return scan


UNPLACED_CELL = re.compile(rb'<c (?!r=")')


def _extent_bound(data: bytes) -> tuple[int, int] | None:
    """A cheap upper bound of (rows, cols), or None when the sheet needs the full walk.

    Rows: 10^d − 1 where d is the digit count of the last row tag, if no cell reference has
    more digits. Columns: 26 unless some reference has two or more letters (then those few
    are read). A few regex searches over the XML instead of one match per cell.
    """
    if b"<c>" in data or UNPLACED_CELL.search(data):
        return None  # cells placed by position: only the walk knows where they are
    last = data.rfind(b"<row ")
    match = ROW_R.search(data, last) if last >= 0 else None
    if match is None:
        return (0, 0) if b"<c " not in data else None
    digits = len(match.group(1))
    # One pass: references with 2–3 column letters, or with more row digits than the last row.
    found = set(re.findall(rb'<c r="(?:([A-Z]{2,3})[0-9]+|[A-Z][0-9]{%d,})"' % (digits + 1), data))
    if any(len(letters) != 2 for letters in found):
        return None  # a 3-letter column or a longer row number: walk it
    cols = max((column_index(c.decode()) + 1 for c in found), default=26)
    return 10**digits - 1, cols


def _extent(data: bytes) -> tuple[int, int]:
    """(rows, cols) from A1 to the farthest cell (an upper bound: styled empty cells count)."""
    letters = {c for c in CELL_LETTERS.findall(data)}
    cols = max((column_index(c.decode()) + 1 for c in letters), default=0)
    rows = max((int(r) for r in set(CELL_ROW.findall(data))), default=0)
    if data.count(b"<c ") + data.count(b"<c>") > data.count(b'<c r="'):
        # some cells have no r= first (placed by position, or attributes reordered):
        # walk the tags the way the parser does
        row, col = -1, 0
        for match in CELL_OR_ROW.finditer(data):
            tag, attrs = match.group(1), match.group(2) or b""
            if tag == b"/row":
                row, col = row + 1, 0
                continue
            if tag == b"row":
                ref = ROW_R.search(attrs)
                row, col = (int(ref.group(1)) - 1 if ref else row + 1), 0
                continue
            ref = CELL_R.search(attrs)
            if ref:
                row, col = int(ref.group(2)) - 1, column_index(ref.group(1).decode())
            rows, cols = max(rows, row + 1), max(cols, col + 1)
            col += 1
    return rows, cols


class Evaluator:
    """Computes uncached formula cells of one sheet from the raw cell grid (integer đồng).

    Handles SUM/SUBTOTAL(9) over a rectangular range and `A1+B1-C1` terms, recursively
    through other uncached cells; SUBTOTAL skips nested SUBTOTAL cells, as Excel does.
    Anything else (other functions, text, errors) gives None: "cannot compute".
    """

    def __init__(self, cells: list[list], uncached: dict[tuple[int, int], str], unit: int):
        self.cells, self.uncached, self.unit = cells, uncached, unit
        self.memo: dict[tuple[int, int], int | None] = {}
        self.active: set[tuple[int, int]] = set()

    def value(self, row: int, col: int) -> int | None:
        key = (row, col)
        if key in self.memo:
            return self.memo[key]
        if key in self.active:  # circular reference
            return None
        self.active.add(key)
        try:
            formula = self.uncached.get(key)
            result = self._formula(formula) if formula is not None else self._cell(row, col)
        finally:
            self.active.discard(key)
        self.memo[key] = result
        return result

    def _cell(self, row: int, col: int) -> int | None:
        from disbursement.money import parse_amount

        if row >= len(self.cells) or col >= len(self.cells[row]):
            return 0
        parsed = parse_amount(self.cells[row][col], self.unit)
        return parsed.dong

    def _formula(self, formula: str) -> int | None:
        text = formula.strip().lstrip("=").replace(" ", "").replace("$", "").upper()
        match = FUNCTION.match(text)
        if match:
            subtotal = match.group(1).startswith("SUBTOTAL")
            total = 0
            for arg in match.group(2).split(","):
                ref = REF.match(arg)
                if not ref:
                    return None
                c0, r0, c1, r1 = ref.groups()
                c1, r1 = c1 or c0, r1 or r0
                for row in range(int(r0) - 1, int(r1)):
                    for col in range(column_index(c0), column_index(c1) + 1):
                        nested = self.uncached.get((row, col), "").upper().lstrip("=")
                        if subtotal and nested.startswith("SUBTOTAL"):
                            continue
                        value = self.value(row, col)
                        if value is None:
                            return None
                        total += value
            return total
        terms = TERM.findall(text)
        if not terms or TERM.sub("", text) != "":
            return None
        total = 0
        for sign, col, row, number in terms:
            if number:  # "=1000+499.999" typed in triệu: exact via Decimal, in the sheet's unit
                value = int((Decimal(number) * self.unit).to_integral_value(ROUND_HALF_UP))
            else:
                value = self.value(int(row) - 1, column_index(col))
            if value is None:
                return None
            total += -value if sign == "-" else value
        return total
