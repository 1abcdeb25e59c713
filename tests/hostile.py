"""Builders of hostile and broken input workbooks (issue 8), made at test time, never committed.

Every builder takes a folder and returns the path it wrote. Most start from a valid
official-layout workbook (`base_workbook`: one capital source, one status group, the project
rows at Excel rows 14, 15, 16 …) and then change its zip members directly, the way a damaged
download, a crafted file or an odd exporter would. Cell letters follow
`samples.official_columns`: B name, D investor, L plan (Kế hoạch vốn năm 2022), M disbursed,
S note.

`CASES` lists every case with the outcome the user must see: ("error", text in the one
`Error:` line) or ("issues", issue codes the run must report).
"""

from __future__ import annotations

import datetime as dt
import re
import struct
import zipfile
import zlib
from collections.abc import Callable
from pathlib import Path

from devtools.samples import write_official_workbook
from disbursement.errors import column_letter
from tests.conftest import line

YEAR = 2022
AS_OF = dt.date(2022, 6, 30)
FIRST_PROJECT_ROW = 14  # Excel row of the first project line in `base_workbook`
SHEET = "xl/worksheets/sheet1.xml"

LINES = [
    line("7912345", "Đường Chiềng Lương – Nà Sản", disbursed="400"),
    line("7912346", "Trường THCS xã Mường Bú", disbursed="900"),
    line("7912347", "Kè chống sạt lở suối Nậm La", disbursed="100"),
    line("7912348", "Nhà văn hoá bản Hụm", disbursed="700"),
    line("7912349", "Cầu treo bản Pá Sóng", disbursed="300"),  # never poisoned: row 18
]


def base_workbook(path: Path, lines: list[dict] | None = None, **options) -> Path:
    write_official_workbook(path, LINES if lines is None else lines, year=YEAR, as_of=AS_OF, **options)
    return path


def rewrite(path: Path, changes: dict[str, Callable[[bytes], bytes] | bytes]) -> Path:
    """Rewrite zip members in place: a callable edits the member, bytes replace or add it."""
    with zipfile.ZipFile(path) as source:
        entries = [(info.filename, source.read(info.filename)) for info in source.infolist()]
    names = {name for name, _ in entries}
    entries += [
        (name, change) for name, change in changes.items() if name not in names and isinstance(change, bytes)
    ]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in entries:
            change = changes.get(name)
            if callable(change):
                data = change(data)
            elif isinstance(change, bytes):
                data = change
            out.writestr(name, data)
    return path


def set_cell(xml: bytes, ref: str, cell: str) -> bytes:
    """Replace cell `ref` (e.g. "L14") of a sheet's XML with the raw `<c …>` element `cell`."""
    pattern = re.compile(rb'<c r="' + ref.encode() + rb'"[^>]*?(?:/>|>.*?</c>)')
    new, count = pattern.subn(lambda _m: cell.encode(), xml, count=1)
    assert count == 1, f"cell {ref} not found"
    return new


def add_merge(xml: bytes, ref: str) -> bytes:
    """Register one more merged range (e.g. "D14:D16") in a sheet's XML."""

    def bump(m: re.Match) -> bytes:
        return b'<mergeCells count="' + str(int(m.group(1)) + 1).encode() + b'">'

    xml, count = re.subn(rb'<mergeCells count="(\d+)">', bump, xml)
    assert count == 1
    return xml.replace(b"</mergeCells>", f'<mergeCell ref="{ref}"/></mergeCells>'.encode(), 1)


# ---- the corpus ------------------------------------------------------------------------------


def truncated(folder: Path) -> Path:
    """A download cut off half way: the zip's central directory is missing."""
    path = base_workbook(folder / "cut_off.xlsx")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    return path


def text_named_xlsx(folder: Path) -> Path:
    """A CSV export someone renamed to .xlsx."""
    path = folder / "renamed_csv.xlsx"
    path.write_text("Mã dự án,Tên dự án,Kế hoạch vốn năm 2022\n7912345,Đường A,1000\n", encoding="utf-8")
    return path


def empty(folder: Path) -> Path:
    path = folder / "empty.xlsx"
    path.write_bytes(b"")
    return path


CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def cfb(streams: dict[str, bytes]) -> bytes:
    """A minimal OLE2 compound file (CFB v3, 512-byte sectors) holding `streams`.

    The container Excel writes for an encrypted .xlsx (EncryptionInfo + EncryptedPackage
    streams) and for every .xls (a Workbook stream). Streams are padded to 4096 bytes so they
    live in ordinary sectors (no mini stream); one FAT sector, one directory sector.
    """
    assert 0 < len(streams) <= 3
    data, chains, fat = b"", [], [FATSECT, ENDOFCHAIN]  # sector 0 FAT, sector 1 directory
    for payload in streams.values():
        payload = payload.ljust(4096, b"\x00")
        payload += b"\x00" * (-len(payload) % 512)
        first, count = 2 + len(data) // 512, len(payload) // 512
        fat += [first + i + 1 for i in range(count - 1)] + [ENDOFCHAIN]
        chains.append((first, len(payload)))
        data += payload
    assert len(fat) <= 128

    def entry(name: str, kind: int, child: int, right: int, start: int, size: int) -> bytes:
        encoded = (name + "\x00").encode("utf-16-le")
        return (
            encoded.ljust(64, b"\x00")
            + struct.pack("<HBB", len(encoded), kind, 1)
            + struct.pack("<III", NOSTREAM, right, child)
            + bytes(16 + 4 + 16)
            + struct.pack("<II", start, size)
            + bytes(4)
        )

    names = list(streams)
    directory = entry("Root Entry", 5, 1, NOSTREAM, ENDOFCHAIN, 0)
    for i, (name, (first, size)) in enumerate(zip(names, chains, strict=True), start=1):
        right = i + 1 if i < len(names) else NOSTREAM
        directory += entry(name, 2, NOSTREAM, right, first, size)
    directory = directory.ljust(512, b"\x00")
    header = (
        CFB_MAGIC
        + bytes(16)
        + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6)
        + bytes(6)
        + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
        + struct.pack("<I", 0)
        + struct.pack("<I", FREESECT) * 108
    )
    assert len(header) == 512
    fat_sector = b"".join(struct.pack("<I", x) for x in fat).ljust(512, b"\xff")
    return header + fat_sector + directory + data


def encrypted_header_only(folder: Path, name: str = "protected.xlsx") -> Path:
    """What Excel writes for a password-protected .xlsx: an OLE2/CFB container, not a zip."""
    path = folder / name
    path.write_bytes(
        cfb(
            {
                "EncryptionInfo": b"\x04\x00\x04\x00\x40\x00\x00\x00",
                "EncryptedPackage": struct.pack("<Q", 8000) + bytes(64),
            }
        )
    )
    return path


def _biff(kind: int, data: bytes) -> bytes:
    return struct.pack("<HH", kind, len(data)) + data


BOF_GLOBALS = _biff(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0x0DBB, 0x07CC, 0, 0x06))
EOF_RECORD = _biff(0x000A, b"")


def encrypted_xls(folder: Path) -> Path:
    """A .xls whose workbook stream starts with FILEPASS (RC4 encryption), as Excel writes it."""
    path = folder / "protected.xls"
    filepass = _biff(0x002F, struct.pack("<HHH", 1, 1, 1) + bytes(48))
    path.write_bytes(cfb({"Workbook": BOF_GLOBALS + filepass + EOF_RECORD}))
    return path


def damaged_xls(folder: Path) -> Path:
    """A .xls with a CODEPAGE record one byte long: python-calamine panics reading it."""
    path = folder / "damaged.xls"
    path.write_bytes(cfb({"Workbook": BOF_GLOBALS + _biff(0x0042, b"\x01") + EOF_RECORD}))
    return path


def billion_laughs(folder: Path) -> Path:
    """sharedStrings.xml declares nested entities that would expand to ~3 GB if expanded."""
    path = base_workbook(folder / "laughs.xlsx")
    entities = ['<!ENTITY lol "lollollollollollollollollollol">']
    entities += [f'<!ENTITY lol{i} "{("&lol" + str(i - 1) + ";") * 10}">' for i in range(2, 10)]
    entities[1] = '<!ENTITY lol2 "' + "&lol;" * 10 + '">'
    doctype = "<!DOCTYPE sst [" + "".join(entities) + "]>"

    def poison(xml: bytes) -> bytes:
        xml = xml.replace(b"?>", b"?>" + doctype.encode(), 1)
        return xml.replace("Đường Chiềng Lương – Nà Sản".encode(), b"&lol9;", 1)

    return rewrite(path, {"xl/sharedStrings.xml": poison})


def _deflate_repeated(head: bytes, unit: bytes, count: int, tail: bytes) -> tuple[bytes, int, int]:
    """(raw deflate stream, crc32, size) of head + unit × count + tail, built in about a second.

    After a full flush the compressor forgets its history, so every further copy of `unit`
    compresses to the same bytes: compress it twice and repeat the second output.
    """
    compressor = zlib.compressobj(9, zlib.DEFLATED, -15)
    start = compressor.compress(head) + compressor.flush(zlib.Z_FULL_FLUSH)
    first = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    again = compressor.compress(unit) + compressor.flush(zlib.Z_FULL_FLUSH)
    stream = start + first + again * (count - 1) + compressor.compress(tail) + compressor.flush()
    crc = zlib.crc32(head)
    for _ in range(count):
        crc = zlib.crc32(unit, crc)
    return stream, zlib.crc32(tail, crc), len(head) + len(unit) * count + len(tail)


def zip_bomb(folder: Path, gigabytes: float = 3.0) -> Path:
    """A valid workbook plus a worksheet part that inflates to `gigabytes` of zeros.

    The file stays a few MB; the bomb is honest (sizes and CRC in the directory are true),
    so only a guard on the directory sizes, checked before any parsing, stops it.
    """
    path = base_workbook(folder / "bomb.xlsx")
    stream, crc, size = _deflate_repeated(b"", bytes(1 << 24), int(gigabytes * 64), b"")
    assert size < 1 << 32  # stay below ZIP64
    _append_raw_member(path, "xl/worksheets/sheet2.xml", stream, crc, size)
    return path


def lying_bomb(folder: Path) -> Path:
    """The worksheet part inflates to 2.5 GB of valid cells while the directory says 184 bytes.

    Guards that trust the directory pass it; parsers inflate until the compressed data ends.
    """
    path = base_workbook(folder / "lying_bomb.xlsx")
    head = (
        b'<?xml version="1.0" encoding="UTF-8" standalone="yes"?><worksheet xmlns="http://'
        b'schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData><row r="1">'
    )
    tail = b"</row></sheetData></worksheet>"
    cell = b'<c r="A1"><v>1</v></c>'
    stream, _crc, _size = _deflate_repeated(head, cell * ((1 << 24) // len(cell)), 150, tail)
    declared = head + tail
    with zipfile.ZipFile(path) as source:
        kept = [(i.filename, source.read(i.filename)) for i in source.infolist() if i.filename != SHEET]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for name, data in kept:
            out.writestr(name, data)
    _append_raw_member(path, SHEET, stream, zlib.crc32(declared), len(declared))
    return path


def _append_raw_member(path: Path, name: str, stream: bytes, crc: int, size: int) -> None:
    """Add an already-deflated member to a zip (zipfile cannot write precompressed data)."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info.filename)) for info in source.infolist()]
    body, central = bytearray(), bytearray()

    def add(filename: bytes, data: bytes, crc_: int, usize: int, method: int) -> None:
        offset = len(body)
        fields = struct.pack(
            "<HHHHHIIIHH", 20, 0x800, method, 0, 0x21, crc_, len(data), usize, len(filename), 0
        )
        body.extend(b"PK\x03\x04" + fields + filename + data)
        central.extend(
            b"PK\x01\x02"
            + struct.pack("<H", 20)
            + fields
            + struct.pack("<HHHII", 0, 0, 0, 0, offset)
            + filename
        )

    for info, data in entries:
        compressor = zlib.compressobj(6, zlib.DEFLATED, -15)
        add(
            info.filename.encode(),
            compressor.compress(data) + compressor.flush(),
            zlib.crc32(data),
            len(data),
            8,
        )
    add(name.encode(), stream, crc, size, 8)
    count = len(entries) + 1
    end = struct.pack("<4sHHHHIIH", b"PK\x05\x06", 0, 0, count, count, len(central), len(body), 0)
    path.write_bytes(bytes(body) + bytes(central) + end)


def error_values(folder: Path) -> Path:
    """Amount cells holding Excel errors: cached #REF!, #DIV/0!, #N/A and "#N/A" typed as text."""
    path = base_workbook(folder / "errors.xlsx")
    r = FIRST_PROJECT_ROW

    def poison(xml: bytes) -> bytes:
        xml = set_cell(xml, f"L{r}", f'<c r="L{r}" t="e"><f>#REF!*1000</f><v>#REF!</v></c>')
        xml = set_cell(xml, f"M{r + 1}", f'<c r="M{r + 1}" t="e"><f>1/0</f><v>#DIV/0!</v></c>')
        xml = set_cell(
            xml, f"L{r + 2}", f'<c r="L{r + 2}" t="e"><f>VLOOKUP(C{r + 2},X:Y,2,0)</f><v>#N/A</v></c>'
        )
        return set_cell(xml, f"M{r + 3}", f'<c r="M{r + 3}" t="inlineStr"><is><t>#N/A</t></is></c>')

    return rewrite(path, {SHEET: poison})


def dates_as_text(folder: Path) -> Path:
    """Dates where amounts belong: "30/06/2022" typed as text, and a real date cell."""
    path = base_workbook(folder / "dates_text.xlsx")
    r = FIRST_PROJECT_ROW
    style, styles = _date_style(path)

    def poison(xml: bytes) -> bytes:
        xml = set_cell(xml, f"M{r}", f'<c r="M{r}" t="inlineStr"><is><t>30/06/2022</t></is></c>')
        xml = set_cell(xml, f"M{r + 1}", f'<c r="M{r + 1}" t="inlineStr"><is><t>2022-06-30</t></is></c>')
        # 44742 is 30/06/2022 in the 1900 system, shown as a date by its style.
        return set_cell(xml, f"M{r + 2}", f'<c r="M{r + 2}" s="{style}"><v>44742</v></c>')

    return rewrite(path, {SHEET: poison, "xl/styles.xml": styles})


def _date_style(path: Path) -> tuple[int, Callable[[bytes], bytes]]:
    """(index, styles.xml editor) of a new cell style with built-in date format 14 (d/m/yyyy)."""
    with zipfile.ZipFile(path) as archive:
        match = re.search(rb'<cellXfs count="(\d+)">', archive.read("xl/styles.xml"))
    assert match
    index = int(match.group(1))

    def edit(xml: bytes) -> bytes:
        xml = xml.replace(match.group(0), f'<cellXfs count="{index + 1}">'.encode(), 1)
        date_xf = b'<xf numFmtId="14" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
        return xml.replace(b"</cellXfs>", date_xf + b"</cellXfs>", 1)

    return index, edit


def date_1904(folder: Path) -> Path:
    """A workbook saved in the 1904 date system (old Mac Excel), with a date cell in an amount."""
    path = base_workbook(folder / "mac_1904.xlsx")
    r = FIRST_PROJECT_ROW
    style, styles = _date_style(path)

    def workbook(xml: bytes) -> bytes:
        return re.sub(rb"<workbookPr ", b'<workbookPr date1904="1" ', xml, count=1)

    def sheet(xml: bytes) -> bytes:
        # 43280 is 30/06/2022 in the 1904 system (1462 days fewer than 1900).
        return set_cell(xml, f"M{r + 3}", f'<c r="M{r + 3}" s="{style}"><v>43280</v></c>')

    return rewrite(path, {"xl/workbook.xml": workbook, SHEET: sheet, "xl/styles.xml": styles})


def wide_16k(folder: Path) -> Path:
    """A sheet 16,384 columns wide (XFD): a stray note in the last column of a project row,
    and a second sheet whose header row fills every column."""
    path = base_workbook(folder / "wide.xlsx")
    r = FIRST_PROJECT_ROW

    def sheet(xml: bytes) -> bytes:
        stray = f'<c r="XFD{r}" t="inlineStr"><is><t>ghi chú lạc</t></is></c>'.encode()
        return re.sub(
            rb'(<row r="' + str(r).encode() + rb'"[^>]*>.*?)</row>',
            lambda m: m.group(1) + stray + b"</row>",
            xml,
            count=1,
            flags=re.S,
        )

    return rewrite(path, {SHEET: sheet, **_wide_sheet_parts(path)})


def _wide_sheet_parts(path: Path) -> dict[str, Callable[[bytes], bytes] | bytes]:
    cells = "".join(
        f'<c r="{column_letter(c)}1" t="inlineStr"><is><t>Kế hoạch vốn năm 2022 ({c})</t></is></c>'
        for c in range(16384)
    )
    numbers = "".join(f'<c r="{column_letter(c)}2"><v>{c}</v></c>' for c in range(16384))
    xml = (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>'
        '<worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        f'<sheetData><row r="1">{cells}</row><row r="2">{numbers}</row></sheetData>'
        "</worksheet>"
    ).encode()

    def workbook(data: bytes) -> bytes:
        return data.replace(b"</sheets>", b'<sheet name="Rong" sheetId="2" r:id="rId99"/></sheets>')

    def rels(data: bytes) -> bytes:
        return data.replace(
            b"</Relationships>",
            (
                b'<Relationship Id="rId99" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
                b'relationships/worksheet" Target="worksheets/sheet2.xml"/></Relationships>'
            ),
        )

    def types(data: bytes) -> bytes:
        return data.replace(
            b"</Types>",
            (
                b'<Override PartName="/xl/worksheets/sheet2.xml" ContentType="application/'
                b'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>'
            ),
        )

    return {
        "xl/worksheets/sheet2.xml": xml,
        "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": rels,
        "[Content_Types].xml": types,
    }


def far_corner(folder: Path) -> Path:
    """A sheet with one extra cell at XFD1048576: read densely, 17 billion empty cells."""
    path = base_workbook(folder / "far_corner.xlsx")

    def sheet(xml: bytes) -> bytes:
        last = b'<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace(b"</sheetData>", last + b"</sheetData>", 1)

    return rewrite(path, {SHEET: sheet})


def far_row(folder: Path) -> Path:
    """A value typed in the sheet's last row (S1048576): a million rows of nothing in between."""
    path = base_workbook(folder / "far_row.xlsx")

    def sheet(xml: bytes) -> bytes:
        last = b'<row r="1048576"><c r="S1048576" t="inlineStr"><is><t>x</t></is></c></row>'
        return xml.replace(b"</sheetData>", last + b"</sheetData>", 1)

    return rewrite(path, {SHEET: sheet})


def header_only(folder: Path) -> Path:
    """An empty template: a header merged over two rows and nothing below it."""
    import xlsxwriter

    path = folder / "template.xlsx"
    book = xlsxwriter.Workbook(str(path))
    sheet = book.add_worksheet("Biểu 01")
    sheet.write_string(0, 0, "UBND TỈNH SƠN LA")
    sheet.write_string(2, 4, "Đơn vị: triệu đồng")
    for c, text in enumerate(
        ["STT", "Danh mục dự án", "Mã dự án", "Kế hoạch vốn năm 2022", "Giải ngân đến 30/6/2022"]
    ):
        sheet.merge_range(4, c, 5, c, text)
    book.close()
    return path


LONG = 100_000


def long_cells(folder: Path) -> Path:
    """Cells of 100,000 characters (Excel stops at 32,767): a project name and a note."""
    path = base_workbook(folder / "long_cells.xlsx")
    name = ("Đường Chiềng Lương – Nà Sản " * (LONG // 28 + 1))[:LONG]
    note = "x" * LONG

    def strings(xml: bytes) -> bytes:
        return xml.replace("Đường Chiềng Lương – Nà Sản".encode(), name.encode(), 1)

    def sheet(xml: bytes) -> bytes:
        r = FIRST_PROJECT_ROW + 1
        return set_cell(xml, f"S{r}", f'<c r="S{r}" t="inlineStr"><is><t>{note}</t></is></c>')

    return rewrite(path, {"xl/sharedStrings.xml": strings, SHEET: sheet})


def merged_data_rows(folder: Path) -> Path:
    """Merges across project rows: the investor over rows 14–16 and one plan figure over 15–16."""
    path = base_workbook(folder / "merged.xlsx")
    r = FIRST_PROJECT_ROW

    def sheet(xml: bytes) -> bytes:
        for ref in (f"D{r + 1}", f"D{r + 2}"):
            xml = set_cell(xml, ref, f'<c r="{ref}"/>')
        xml = set_cell(xml, f"L{r + 2}", f'<c r="L{r + 2}"/>')
        xml = add_merge(xml, f"D{r}:D{r + 2}")
        return add_merge(xml, f"L{r + 1}:L{r + 2}")

    return rewrite(path, {SHEET: sheet})


#: name → (builder, expected): ("error", words of the Error line) or ("issues", codes).
CASES: dict[str, tuple[Callable[[Path], Path], tuple[str, tuple[str, ...]]]] = {
    "truncated": (truncated, ("error", ("damaged or truncated", "save it again"))),
    "text_named_xlsx": (
        text_named_xlsx,
        ("error", ("this is a text file", "named .xlsx, not a", "save it as .xlsx")),
    ),
    "empty": (empty, ("error", ("the file is empty", "export it again"))),
    "encrypted": (encrypted_header_only, ("error", ("password-protected", "unprotected copy"))),
    "encrypted_xls": (encrypted_xls, ("error", ("password-protected", "unprotected copy"))),
    "damaged_xls": (damaged_xls, ("error", ("cannot read the workbook", "save it again"))),
    "billion_laughs": (billion_laughs, ("error", ("entity", "save it again"))),
    "zip_bomb": (zip_bomb, ("error", ("would unpack to 3,2", "possible zip bomb"))),
    "lying_bomb": (lying_bomb, ("error", ("xl/worksheets/sheet1.xml unpacks to more than",))),
    "error_values": (error_values, ("issues", ("AMOUNT-UNREADABLE",))),
    "dates_as_text": (dates_as_text, ("issues", ("AMOUNT-UNREADABLE",))),
    "date_1904": (date_1904, ("issues", ("AMOUNT-UNREADABLE",))),
    "wide_16k": (wide_16k, ("issues", ())),
    # The only sheet is unreadable: nothing to review, refused with the sheet's reason.
    "far_corner": (far_corner, ("error", ("nothing to review", "delete the stray cells"))),
    "far_row": (far_row, ("error", ("nothing to review", "delete the stray cells"))),
    "long_cells": (long_cells, ("issues", ())),
    "header_only": (header_only, ("error", ("nothing to review", "no project line found"))),
    "merged_data_rows": (merged_data_rows, ("issues", ())),
}
