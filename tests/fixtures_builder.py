"""Build the input workbooks planning staff really have, from `line(...)` dicts (issue #3).

Every layout of domain brief §3/§5 is written from the same project lines so a test can say
what the engine must find in it:

* ``official``  — the official appendix (`samples.write_official_workbook`): 3-row merged
  header, ordinal row, TỔNG SỐ → source (I, II) → status (1, 2) → projects, live SUBTOTALs;
  with or without cached formula values.
* ``table``     — any other plan table: flat, abbreviated, ASCII, decoy-laden or 4-row
  (Phụ lục III) headers; source / sector / status group rows or columns; one sheet per
  capital source; letter sub-items and "-" component lines; amounts as numbers or as vi-VN /
  en-US text; typed (possibly wrong) subtotals; hidden and note sheets.
* ``csv``       — one header row, vi-VN text amounts, "Nguồn vốn" and "Tính chất dự án"
  columns instead of group rows.
* ``treasury``  — a plan-only workbook beside a KBNN export in đồng
  (`samples.write_treasury_export`).

Post-steps apply to any xlsx a builder wrote: ``encoding`` ("tcvn3", "vni": every text cell,
headers and titles included, as legacy fonts store it; "nfd": decomposed Unicode) and
``convert`` ("xls" BIFF8 or "ods", through LibreOffice headless). Conversions are slow
(seconds per soffice start), so they are cached per test session by the sha256 of the xlsx
(builds are byte-stable) and can be batched with :func:`prefetch`.

`build_case(case, out_dir)` builds the inputs a golden case (``tests/golden/<case>/case.yaml``)
describes and returns their paths. Nothing binary is committed: inputs are built in tmp dirs.
"""

from __future__ import annotations

import atexit
import datetime as dt
import hashlib
import re
import shutil
import subprocess
import tempfile
import unicodedata
import zipfile
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path
from xml.sax.saxutils import escape, unescape

import xlsxwriter
import yaml
from xlsxwriter.utility import xl_col_to_name

from devtools.samples import (
    STATUS_GROUPS,
    header_rows,
    write_official_workbook,
    write_treasury_export,
)
from disbursement.text import unicode_to_tcvn3, unicode_to_vni
from tests.conftest import SOURCES, line

SOFFICE_REASON = "LibreOffice (soffice) is not installed: apt-get install libreoffice-calc-nogui"
UNITS = {  # unit → (đồng per unit, unit line)
    "dong": (1, "ĐVT: đồng"),
    "nghin": (1_000, "Đơn vị tính: nghìn đồng"),
    "trieu": (1_000_000, "Đơn vị: triệu đồng"),
    "ty": (1_000_000_000, "Đơn vị tính: tỷ đồng"),
}
SOURCE_SHEET_NAMES = {
    "NSDP_CAN_DOI": "NSĐP",
    "NSDP_SDD": "Tiền SDĐ",
    "NSDP_XSKT": "XSKT",
    "NSTW_TRONG_NUOC": "NSTW",
}


# ------------------------------------------------------------------ LibreOffice conversion


def soffice() -> str | None:
    return shutil.which("soffice") or shutil.which("libreoffice")


class Converter:
    """xlsx → xls/ods through LibreOffice headless, cached by content for the session.

    A private user profile keeps concurrent soffice runs (other test sessions, an open
    desktop LibreOffice) from blocking each other.
    """

    def __init__(self, cache_dir: Path) -> None:
        self.cache_dir = cache_dir
        self.profile = (cache_dir / "profile").as_uri()
        self.calls = 0

    def _cached(self, digest: str, fmt: str) -> Path:
        return self.cache_dir / f"{digest}.{fmt}"

    def prefetch(self, jobs: Iterable[tuple[Path, str]]) -> None:
        """Convert many files in one soffice call per format (what makes a suite fast)."""
        by_format: dict[str, dict[str, Path]] = {}
        for path, fmt in jobs:
            digest = _sha256(path)
            if not self._cached(digest, fmt).exists():
                by_format.setdefault(fmt, {})[digest] = Path(path)
        for fmt, sources in by_format.items():
            staging = Path(tempfile.mkdtemp(dir=self.cache_dir, prefix="in-"))
            names = []
            for digest, source in sources.items():
                target = staging / f"{digest}.xlsx"
                shutil.copyfile(source, target)
                names.append(str(target))
            self._run(fmt, names)
            shutil.rmtree(staging)
            for digest in sources:
                if not self._cached(digest, fmt).exists():
                    raise RuntimeError(f"soffice did not convert {sources[digest]} to .{fmt}")

    def convert(self, path: Path, fmt: str, target: Path) -> Path:
        digest = _sha256(path)
        cached = self._cached(digest, fmt)
        if not cached.exists():
            self.prefetch([(path, fmt)])
        shutil.copyfile(cached, target)
        return target

    def _run(self, fmt: str, names: list[str]) -> None:
        exe = soffice()
        if exe is None:
            raise RuntimeError(SOFFICE_REASON)
        filters = {"xls": "xls:MS Excel 97", "ods": "ods"}
        command = [
            exe,
            f"-env:UserInstallation={self.profile}",
            "--headless",
            "--norestore",
            "--convert-to",
            filters[fmt],
            "--outdir",
            str(self.cache_dir),
            *names,
        ]
        self.calls += 1
        subprocess.run(command, check=True, capture_output=True, timeout=300)


_CONVERTER: Converter | None = None


def converter() -> Converter:
    """The session's converter (one cache folder, removed when the interpreter exits)."""
    global _CONVERTER
    if _CONVERTER is None:
        cache = Path(tempfile.mkdtemp(prefix="disbursement-soffice-"))
        atexit.register(shutil.rmtree, cache, True)
        _CONVERTER = Converter(cache)
    return _CONVERTER


def convert(xlsx: Path, fmt: str, target: Path | None = None) -> Path:
    """`xlsx` converted to .xls or .ods beside it (or at `target`); cached per session."""
    return converter().convert(xlsx, fmt, target or xlsx.with_suffix(f".{fmt}"))


def _sha256(path: Path) -> str:
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


# ------------------------------------------------------------------ xlsx post-processing

_TEXT_NODE = re.compile(rb"(<t(?: [^>]*)?>)([^<]*)(</t>)")
_CACHED_VALUE = re.compile(rb"(</f>)<v>[^<]*</v>")
_FONTS = {"tcvn3": ".VnTime", "vni": "VNI-Times"}


def transform_text(xlsx: Path, convert_text: Callable[[str], str], font: str | None = None) -> None:
    """Rewrite every text cell of `xlsx` (shared and inline strings) through `convert_text`.

    Cached numbers, formulas, merges and styles are untouched, so the file stays what Excel
    saved — only its text is in another encoding. `font` renames the workbook's fonts (a
    TCVN3 file is typed in .VnTime, its capitals in .VnTimeH).
    """

    def text_node(match: re.Match) -> bytes:
        text = unescape(match[2].decode("utf-8"))
        return match[1] + escape(convert_text(text)).encode("utf-8") + match[3]

    def fonts(data: bytes) -> bytes:
        if font is None:
            return data
        data = data.replace(b'<name val="Times New Roman"/>', f'<name val="{font}"/>'.encode())
        return data.replace(b'<name val="Calibri"/>', f'<name val="{font}"/>'.encode())

    _rewrite(
        xlsx,
        lambda name, data: (
            _TEXT_NODE.sub(text_node, data)
            if name == "xl/sharedStrings.xml" or name.startswith("xl/worksheets/sheet")
            else fonts(data)
            if name == "xl/styles.xml"
            else data
        ),
    )


def drop_cached_values(xlsx: Path, form: str = "none") -> None:
    """Remove the cached result of every formula (a file saved without recalculation):
    `form` "none" drops the <v> element, "empty" leaves `<v/>` (openpyxl, some exporters)."""
    keep = rb"\1<v/>" if form == "empty" else rb"\1"
    _rewrite(
        xlsx,
        lambda name, data: _CACHED_VALUE.sub(keep, data) if name.startswith("xl/worksheets/sheet") else data,
    )


def _rewrite(path: Path, change: Callable[[str, bytes], bytes]) -> None:
    with zipfile.ZipFile(path) as source:
        entries = [(info, change(info.filename, source.read(info))) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in entries:
            out.writestr(info, data)


ENCODINGS: dict[str, Callable[[str], str]] = {
    "tcvn3": unicode_to_tcvn3,
    "vni": unicode_to_vni,
    "nfd": lambda text: unicodedata.normalize("NFD", text),
}


# ------------------------------------------------------------------ a generic grid writer


@dataclass(frozen=True)
class Formula:
    expr: str  # "=SUM(L12:L14)"
    cached: float | int | str | None = None  # None: no cached value (never recalculated)


@dataclass
class GridSheet:
    """One worksheet as written: rows of cells from A1 and merged ranges."""

    name: str
    rows: list[list] = field(default_factory=list)
    merges: list[tuple[int, int, int, int]] = field(default_factory=list)  # r0, c0, r1, c1
    hidden: bool = False
    widths: list[float] = field(default_factory=list)
    bold_rows: set[int] = field(default_factory=set)


def write_grid(
    path: Path, sheets: Sequence[GridSheet], *, created: dt.date, number_format: str = "#,##0.000"
) -> Path:
    """Write sheets cell by cell: str → text, int/float → number, Formula, None → blank."""
    wb = xlsxwriter.Workbook(str(path))
    wb.set_properties(
        {
            "title": "Kế hoạch vốn đầu tư công",
            "author": "Sở Kế hoạch và Đầu tư",
            "created": dt.datetime.combine(created, dt.time()),
        }
    )
    base = {"font_name": "Times New Roman", "font_size": 11, "valign": "vcenter"}
    text_fmt = wb.add_format(base | {"text_wrap": True})
    bold_fmt = wb.add_format(base | {"bold": True, "text_wrap": True})
    number_fmt = wb.add_format(base | {"num_format": number_format})
    bold_number = wb.add_format(base | {"bold": True, "num_format": number_format})
    date_fmt = wb.add_format(base | {"num_format": "dd/mm/yyyy"})
    for sheet in sheets:
        ws = wb.add_worksheet(sheet.name)
        for c, width in enumerate(sheet.widths):
            ws.set_column(c, c, width)
        for r, row in enumerate(sheet.rows):
            bold = r in sheet.bold_rows
            for c, value in enumerate(row):
                if value is None or value == "":
                    continue
                if isinstance(value, Formula):
                    cached = value.cached if value.cached is not None else 0
                    ws.write_formula(r, c, value.expr, bold_number if bold else number_fmt, cached)
                elif isinstance(value, str):
                    ws.write_string(r, c, value, bold_fmt if bold else text_fmt)
                elif isinstance(value, dt.date):  # a real date cell (a dated header)
                    ws.write_datetime(r, c, dt.datetime.combine(value, dt.time()), date_fmt)
                else:
                    ws.write_number(r, c, value, bold_number if bold else number_fmt)
        for r0, c0, r1, c1 in sheet.merges:
            ws.merge.append([r0, c0, r1, c1])
        if sheet.hidden:
            ws.hide()
    wb.close()
    if any(
        isinstance(v, Formula) and v.cached is None for sheet in sheets for row in sheet.rows for v in row
    ):
        _drop_missing_cached(path, sheets)
    return path


def _drop_missing_cached(path: Path, sheets: Sequence[GridSheet]) -> None:
    """Strip the cached value only of the formulas written with `cached=None`."""
    targets: dict[int, set[str]] = {}
    for i, sheet in enumerate(sheets):
        for r, row in enumerate(sheet.rows):
            for c, value in enumerate(row):
                if isinstance(value, Formula) and value.cached is None:
                    targets.setdefault(i + 1, set()).add(f"{xl_col_to_name(c)}{r + 1}")

    def change(name: str, data: bytes) -> bytes:
        m = re.fullmatch(r"xl/worksheets/sheet(\d+)\.xml", name)
        if not m or int(m[1]) not in targets:
            return data
        cells = targets[int(m[1])]
        return re.sub(
            rb'(<c r="([A-Z]+\d+)"[^>]*><f>[^<]*</f>)<v>[^<]*</v>',
            lambda x: x[1] if x[2].decode() in cells else x[0],
            data,
        )

    _rewrite(path, change)


# ------------------------------------------------------------------ plan-table layouts

# Column sets: (key, header path) with " > " between merged header levels. Placeholders:
# {year} {prev} {next}, {as_of} (30/6/2022), {as_of2} (30/06/2022), {unit} (triệu đồng).
# Keys: canonical keys of a line, "stt", "rate" (Tỷ lệ, a formula), or decoys named for what
# they hold: "cumulative_disbursed_dong" (since the project started), "prev_disbursed_dong"
# (last year's), "month_disbursed_dong" (this month only), "volume_dong" (work done),
# "next_plan_dong" (next year's plan), "plan_recall_dong" (a "Trong đó" part of the plan).
COLUMN_SETS: dict[str, list[tuple[str, str]]] = {
    "flat": [
        ("stt", "STT"),
        ("project_name", "Tên dự án"),
        ("project_code", "Mã dự án"),
        ("investor", "Chủ đầu tư"),
        ("plan_dong", "Kế hoạch vốn năm {year}"),
        ("disbursed_dong", "Giải ngân đến {as_of}"),
        ("rate", "Tỷ lệ giải ngân (%)"),
        ("note", "Ghi chú"),
    ],
    "merged3": [
        ("stt", "STT"),
        ("project_name", "Danh mục dự án"),
        ("project_code", "Mã dự án"),
        ("investor", "Chủ đầu tư"),
        ("investment_decision", "Quyết định đầu tư > Số quyết định; ngày, tháng, năm ban hành"),
        ("tmdt_dong", "Quyết định đầu tư > TMĐT > Tổng số (tất cả các nguồn vốn)"),
        ("tmdt_nsnn_dong", "Quyết định đầu tư > TMĐT > Trong đó: vốn NSNN"),
        ("cumulative_alloc_dong", "Lũy kế vốn đã bố trí đến hết năm {prev}"),
        ("plan_dong", "Kế hoạch vốn năm {year}"),
        ("disbursed_dong", "Giải ngân đến {as_of} > Số vốn"),
        ("rate", "Giải ngân đến {as_of} > Tỷ lệ (%)"),
        ("note", "Ghi chú"),
    ],
    # Decoys before the real columns, so a first-match reader would take them.
    "decoys": [
        ("stt", "STT"),
        ("project_name", "Danh mục dự án"),
        ("project_code", "Mã dự án"),
        ("cumulative_disbursed_dong", "Lũy kế giải ngân từ khởi công đến {as_of}"),
        ("carried_over_dong", "Kế hoạch vốn năm {prev} kéo dài sang năm {year}"),
        ("prev_disbursed_dong", "Giải ngân kế hoạch vốn năm {prev} kéo dài"),
        ("rate", "Tỷ lệ %"),
        ("next_plan_dong", "Dự kiến kế hoạch vốn năm {next}"),
        ("plan_dong", "Kế hoạch vốn năm {year}"),
        ("disbursed_dong", "Giải ngân đến {as_of}"),
        ("note", "Ghi chú"),
    ],
    "abbrev": [
        ("stt", "TT"),
        ("project_name", "Tên DA"),
        ("project_code", "Mã DA"),
        ("investor", "CĐT"),
        ("tmdt_dong", "TMĐT"),
        ("plan_dong", "KH {year}"),
        ("disbursed_dong", "GN đến {as_of}"),
        ("rate", "TL GN (%)"),
        ("note", "Ghi chú"),
    ],
    "ascii": [
        ("stt", "STT"),
        ("project_name", "Ten du an"),
        ("project_code", "Ma du an"),
        ("investor", "Chu dau tu"),
        ("tmdt_dong", "Tong muc dau tu"),
        ("plan_dong", "Ke hoach von nam {year}"),
        ("disbursed_dong", "Giai ngan den {as_of}"),
        ("rate", "Ty le (%)"),
        ("note", "Ghi chu"),
    ],
    # MOF "Phụ lục III" style: 4 merged header rows, no project code column.
    "phu_luc_iii": [
        ("stt", "STT"),
        ("project_name", "Danh mục dự án"),
        ("location", "Địa điểm XD"),
        ("investment_decision", "Quyết định đầu tư > Số quyết định ngày, tháng, năm ban hành"),
        ("tmdt_dong", "Quyết định đầu tư > TMĐT > Tổng số (tất cả các nguồn vốn)"),
        ("tmdt_nsnn_dong", "Quyết định đầu tư > TMĐT > Trong đó > Vốn NSNN"),
        ("tmdt_other_dong", "Quyết định đầu tư > TMĐT > Trong đó > Vốn khác"),
        ("cumulative_alloc_dong", "Lũy kế vốn đã bố trí đến hết năm trước năm kế hoạch"),
        (
            "carried_over_dong",
            "Kế hoạch vốn năm trước được cấp có thẩm quyền cho phép kéo dài sang năm kế hoạch (nếu có)",
        ),
        ("plan_dong", "Kế hoạch năm {year} > Tổng số"),
        ("plan_recall_dong", "Kế hoạch năm {year} > Trong đó > Thu hồi vốn ứng trước"),
        ("plan_debt_dong", "Kế hoạch năm {year} > Trong đó > Thanh toán nợ đọng XDCB"),
        ("volume_dong", "Khối lượng thực hiện từ đầu năm đến ngày 15 của tháng báo cáo"),
        ("month_disbursed_dong", "Giải ngân tháng báo cáo > Số tiền"),
        ("month_rate", "Giải ngân tháng báo cáo > Tỷ lệ (%)"),
        ("disbursed_dong", "Lũy kế giải ngân từ đầu năm đến {as_of} > Số tiền"),
        ("rate", "Lũy kế giải ngân từ đầu năm đến {as_of} > Tỷ lệ (%)"),
        ("progress", "Tình hình thực hiện dự án"),
        ("note", "Ghi chú"),
    ],
    # One header row with the source and status as columns (a district's own list).
    "with_columns": [
        ("stt", "STT"),
        ("project_code", "Mã dự án"),
        ("project_name", "Tên dự án"),
        ("investor", "Chủ đầu tư"),
        ("capital_source_label", "Nguồn vốn"),
        ("status", "Tính chất dự án"),
        ("plan_dong", "Kế hoạch vốn năm {year}"),
        ("disbursed_dong", "Giải ngân đến {as_of}"),
        ("note", "Ghi chú"),
    ],
    # Disbursement split into advances and payments, the total left of its parts.
    "disbursed_parts": [
        ("stt", "STT"),
        ("project_name", "Danh mục dự án"),
        ("project_code", "Mã dự án"),
        ("plan_dong", "Kế hoạch vốn năm {year}"),
        ("disbursed_dong", "Giải ngân đến {as_of} > Tổng số"),
        ("advance_dong", "Giải ngân đến {as_of} > Trong đó > Tạm ứng"),
        ("paid_dong", "Giải ngân đến {as_of} > Trong đó > Thanh toán KLHT"),
        ("note", "Ghi chú"),
    ],
    # A plan appendix without any disbursement (joined with a KBNN export).
    "plan_only": [
        ("stt", "STT"),
        ("project_name", "Danh mục dự án"),
        ("project_code", "Mã dự án"),
        ("investor", "Chủ đầu tư"),
        ("tmdt_dong", "Tổng mức đầu tư"),
        ("plan_dong", "Kế hoạch vốn năm {year} đã giao"),
        ("note", "Ghi chú"),
    ],
}
STATUS_CELL = {"continuing": "Chuyển tiếp", "new": "KCM", "completed": "Hoàn thành"}
SOURCE_CELL = {
    "Vốn cân đối ngân sách địa phương": "Vốn cân đối NSĐP",
    "Vốn từ nguồn thu tiền sử dụng đất": "Thu tiền sử dụng đất",
    "Vốn xổ số kiến thiết": "XSKT",
    "Vốn ngân sách trung ương": "NSTW",
}
ROMAN = ("I", "II", "III", "IV", "V", "VI", "VII", "VIII", "IX", "X")
LETTERS = "abcdefgh"


def _fill(text: str, year: int, as_of: dt.date, unit: str) -> str:
    return text.format(
        year=year,
        prev=year - 1,
        next=year + 1,
        unit=unit,
        as_of=f"{as_of.day}/{as_of.month}/{as_of.year}",
        as_of2=as_of.strftime("%d/%m/%Y"),
    )


@dataclass
class _Row:
    kind: str  # total | source | sector | status | project | component
    stt: str | int | None
    name: str
    line: Mapping | None = None
    children: list[_Row] = field(default_factory=list)  # for groups: direct sub-rows
    excel_row: int = 0


def _amount(line: Mapping, key: str) -> int | None:
    """Amount (đồng) of a line for a column key, decoys derived so they differ visibly."""
    plan = line.get("plan_dong") or 0
    done = line.get("disbursed_dong")
    derived = {
        "cumulative_disbursed_dong": (line.get("cumulative_alloc_dong") or 0) + (done or 0),
        "prev_disbursed_dong": plan * 4 // 5,
        "next_plan_dong": plan * 2,
        "carried_over_dong": line.get("carried_over_dong", plan // 10),
        "tmdt_nsnn_dong": line.get("tmdt_nsnn_dong", line.get("tmdt_dong")),
        "plan_recall_dong": 0,
        "tmdt_other_dong": (line.get("tmdt_dong") or 0)
        - (line.get("tmdt_nsnn_dong", line.get("tmdt_dong")) or 0),
        "plan_debt_dong": plan // 10,
        "volume_dong": (done or 0) + plan // 20,
        "month_disbursed_dong": (done or 0) // 3,
        "plan_domestic_dong": plan * 6 // 10 // 1000 * 1000,  # two parts that sum to the plan
        "plan_foreign_dong": plan - plan * 6 // 10 // 1000 * 1000,
        "advance_dong": (done or 0) * 3 // 10 // 1000 * 1000,
        "paid_dong": (done or 0) - (done or 0) * 3 // 10 // 1000 * 1000,
    }
    if key in derived:
        return derived[key]
    return line.get(key)


class _Table:
    """One plan sheet: title block, header, ordinal row, grouped body, footnote, signatures."""

    def __init__(
        self,
        lines: Sequence[Mapping],
        *,
        year: int,
        as_of: dt.date,
        unit: str,
        columns: str | list,
        groups: Sequence[str],
        amounts: str,
        zero: str | None,
        pad: bool,
        group_values: str,
        subtotal_errors: Mapping[str, str],
        total: str,
        title: Sequence[str],
        ordinals: bool,
        status_labels: str,
        label_in_name: bool,
        status_stt: str,
        sector_stt: str,
        project_stt: str,
        footer: bool,
        unit_in_header: bool,
        sector_label: str = "upper",
        footer_text: Sequence[str] = (),
        omit_group_rows: Sequence[str] = (),
    ) -> None:
        self.footer_text, self.omit_group_rows = tuple(footer_text), set(omit_group_rows)
        self.year, self.as_of, self.unit = year, as_of, unit
        self.divisor, unit_line = UNITS[unit]
        spec = COLUMN_SETS[columns] if isinstance(columns, str) else [tuple(c) for c in columns]
        self.keys = [key for key, _ in spec]
        unit_word = unit_line.split(": ")[1]
        paths = []
        for key, header in spec:
            text = _fill(header, year, as_of, unit_word)
            if unit_in_header and key.endswith("_dong"):
                text += f" ({unit_word})"
            paths.append(tuple(text.split(" > ")))
        self.paths = paths
        self.amounts, self.zero, self.pad = amounts, zero, pad
        self.group_values, self.total = group_values, total
        self.subtotal_errors = {k: line_money(v) for k, v in subtotal_errors.items()}
        self.groups, self.status_labels, self.label_in_name = list(groups), status_labels, label_in_name
        self.status_stt, self.sector_stt, self.project_stt = status_stt, sector_stt, project_stt
        self.sector_label = sector_label
        self.title = [_fill(t, year, as_of, unit_word) for t in title]
        self.unit_line = None if unit_in_header else unit_line
        self.ordinals, self.footer = ordinals, footer
        self.body = self._tree(lines)

    # ---- grouping
    def _tree(self, lines: Sequence[Mapping]) -> list[_Row]:
        top = _Row("total", None, "TỔNG SỐ" if self.total == "top" else "Tổng cộng")
        self._group(top, list(lines), 0, "")
        return [top]

    def _label(self, level: str, value: str, number: int) -> tuple[str | None, str]:
        if level == "source":
            return ROMAN[number - 1], value
        if level == "sector":
            stt = "ABCDEFGH"[number - 1] if self.sector_stt == "upper" else str(number)
            return stt, f"LĨNH VỰC {value.upper()}" if self.sector_label == "upper" else value
        if self.status_labels == "long":
            label = {
                "continuing": f"Các dự án chuyển tiếp sang năm {self.year}",
                "new": f"Các dự án khởi công mới năm {self.year}",
                "completed": "Dự án hoàn thành, bàn giao đưa vào sử dụng",
            }.get(value, "Dự án khác")
        else:
            label = STATUS_GROUPS.get(value, "Dự án khác")
        stt = f"{LETTERS[number - 1]})" if self.status_stt == "letter" else str(number)
        return stt, label

    def _group(self, parent: _Row, lines: list[Mapping], depth: int, prefix: str) -> None:
        if depth == len(self.groups):
            for i, item in enumerate(lines, 1):
                stt = f"{prefix}{i}" if self.project_stt == "dotted" and prefix else i
                row = _Row("project", stt, item.get("project_name") or "", item)
                parent.children.append(row)
                for k, part in enumerate(item.get("components") or ()):
                    mark = "-" if item.get("component_stt", "-") == "-" else f"{LETTERS[k]})"
                    part_line = {
                        "project_name": part["name"],
                        "plan_dong": line_money(part.get("plan", "0")),
                        "disbursed_dong": line_money(part.get("disbursed", "0")),
                    }
                    row.children.append(_Row("component", mark, part["name"], part_line))
            return
        level = self.groups[depth]
        key = {"source": "capital_source_label", "sector": "sector", "status": "status"}[level]
        buckets: dict[str, list[Mapping]] = {}
        for item in lines:
            buckets.setdefault(item.get(key) or "", []).append(item)
        order = list(buckets)
        if level == "status":
            order = [s for s in STATUS_GROUPS if s in buckets]
            order += [s for s in buckets if s not in STATUS_GROUPS]
        for number, value in enumerate(order, 1):
            stt, label = self._label(level, value, number)
            child_prefix = f"{prefix}{stt}." if stt and stt.isdigit() else prefix
            if self.label_in_name:
                stt, label = None, f"{stt.rstrip(')')}. {label}" if stt else label
            group = _Row(level, stt, label)
            parent.children.append(group)
            self._group(group, buckets[value], depth + 1, child_prefix)

    # ---- cells
    def _money(self, dong: int | None):
        if dong is None:
            return None
        value = Decimal(dong) / self.divisor
        if self.amounts == "number":
            return int(value) if value == value.to_integral_value() else float(value)
        if dong == 0 and self.zero is not None:
            return self.zero
        text = _format_amount(value, self.amounts)
        return f" {text} " if self.pad else text

    def _sum(self, row: _Row, key: str) -> int:
        if row.kind in ("project", "component"):
            return _amount(row.line, key) or 0
        return sum(self._sum(child, key) for child in row.children if child.kind != "component")

    def _cells(self, row: _Row) -> list:
        cells: list = []
        plan_col = self.keys.index("plan_dong") if "plan_dong" in self.keys else None
        done_col = self.keys.index("disbursed_dong") if "disbursed_dong" in self.keys else None
        for c, key in enumerate(self.keys):
            if key == "stt":
                cells.append(row.stt)
            elif key == "project_name":
                cells.append(row.name)
            elif key in ("rate", "month_rate"):
                cells.append(self._rate(row, plan_col, done_col if key == "rate" else None))
            elif key.endswith("_dong"):
                cells.append(self._money_cell(row, key, c))
            elif row.kind == "project":
                value = row.line.get(key)
                if key == "status":
                    value = STATUS_CELL.get(value, value)
                elif key == "capital_source_label":
                    value = SOURCE_CELL.get(value, value)
                cells.append(value)
            else:
                cells.append(None)
        return cells

    def _money_cell(self, row: _Row, key: str, c: int):
        if row.kind in ("project", "component"):
            formula = (row.line.get("formulas") or {}).get(key)
            if formula is not None:  # typed as a formula; cached value = the line's amount
                expr = formula.replace("{row}", str(row.excel_row))
                return Formula(expr, self._money(_amount(row.line, key)))
            raw = (row.line.get("cell_text") or {}).get(key)
            return raw if raw is not None else self._money(_amount(row.line, key))
        if self.group_values == "blank":
            return None
        total = self._sum(row, key) + self.subtotal_errors.get(row.name, 0) * (key == "plan_dong")
        if self.group_values == "number" or self.amounts != "number" or row.name in self.subtotal_errors:
            return self._money(total)
        letter = xl_col_to_name(c)
        parts = [child.excel_row for child in row.children if child.kind != "component"]
        expr = "=SUM(" + ",".join(f"{letter}{r}" for r in parts or [row.excel_row + 1]) + ")"
        cached = self._money(total)
        return Formula(expr, None if self.group_values == "formula_uncached" else cached)

    def _rate(self, row: _Row, plan_col: int | None, done_col: int | None):
        if plan_col is None or row.kind == "component":
            return None
        if done_col is None:
            return 0
        plan, done = self._sum(row, "plan_dong"), self._sum(row, "disbursed_dong")
        p, d = xl_col_to_name(plan_col), xl_col_to_name(done_col)
        value = round(done * 100 / plan, 2) if plan else 0
        if self.amounts != "number":
            return f"{value:.2f}%".replace(".", ",")
        return Formula(f"=IFERROR({d}{row.excel_row}/{p}{row.excel_row}*100,0)", value)

    # ---- the sheet
    def sheet(self, name: str) -> GridSheet:
        width = len(self.keys)
        sheet = GridSheet(name, widths=[6, 45] + [16] * (width - 2))
        rows, merges = sheet.rows, sheet.merges
        for text in self.title:
            merges.append((len(rows), 0, len(rows), width - 1))
            rows.append([text] + [None] * (width - 1))
        if self.unit_line:
            rows.append([None] * (width - 1) + [self.unit_line])
        depth = max(len(p) for p in self.paths)
        head, head_merges = header_rows(self.paths, depth)
        top = len(rows)
        merges.extend((r0 + top, c0, r1 + top, c1) for r0, c0, r1, c1 in head_merges)
        rows.extend(head)
        if self.ordinals:
            rows.append([f"({c + 1})" if self.ordinals == "paren" else c + 1 for c in range(width)])
        flat: list[_Row] = []

        def walk(row: _Row) -> None:
            flat.append(row)
            for child in row.children:
                walk(child)

        for row in self.body:
            walk(row)
        if self.total == "bottom":
            flat = flat[1:] + flat[:1]
        flat = [
            r
            for r in flat
            if r.kind in ("project", "component", "total") or r.name not in self.omit_group_rows
        ]
        start = len(rows)
        for i, row in enumerate(flat):
            row.excel_row = start + i + 1
        for row in flat:
            if row.kind not in ("project", "component"):
                sheet.bold_rows.add(len(rows))
            rows.append(self._cells(row))
        if self.footer:
            rows.append([])
            rows.append([None, "Ghi chú: Số liệu giải ngân theo báo cáo của Kho bạc Nhà nước tỉnh."])
            rows.append([])
            rows.extend([None, text] for text in self.footer_text)
            rows.append([None, "NGƯỜI LẬP BIỂU"] + [None] * (width - 3) + ["KT. GIÁM ĐỐC"])
            rows.append([None, None] + [None] * (width - 3) + ["PHÓ GIÁM ĐỐC"])
        return sheet


def line_money(text: str | int) -> int:
    """'499,999' triệu (vi-VN) → đồng; ints pass through."""
    if isinstance(text, int):
        return text
    return int(Decimal(text.replace(".", "").replace(",", ".")) * 1_000_000)


def _format_amount(value: Decimal, style: str) -> str:
    """A typed amount: vi-VN "1.234.567,5", en-US "1,234,567.5"; negatives as "(1.234)"."""
    negative = value < 0
    text = format(abs(value).normalize(), "f")
    whole, _, frac = text.partition(".")
    groups = f"{int(whole):,}"
    thousands, decimal = (".", ",") if style == "vi" else (",", ".")
    out = groups.replace(",", thousands) + (decimal + frac if frac else "")
    return f"({out})" if negative else out


def table_sheets(
    lines: Sequence[Mapping],
    *,
    year: int = 2022,
    as_of: dt.date | None = None,
    unit: str = "trieu",
    columns: str | list = "merged3",
    groups: Sequence[str] = ("source", "status"),
    sources: str = "groups",
    amounts: str = "number",
    zero: str | None = None,
    pad: bool = False,
    group_values: str = "formula",
    subtotal_errors: Mapping[str, str] | None = None,
    total: str = "top",
    title: Sequence[str] | None = None,
    ordinals: str | bool = "plain",
    status_labels: str = "short",
    label_in_name: bool = False,
    status_stt: str = "arabic",
    sector_stt: str = "upper",
    project_stt: str = "arabic",
    footer: bool = True,
    unit_in_header: bool = False,
    sector_label: str = "upper",
    sheet_name: str = "Biểu 01",
    extra_sheets: Sequence[str] = (),
    footer_text: Sequence[str] = (),
    omit_group_rows: Sequence[str] = (),
) -> list[GridSheet]:
    """The sheets of a plan workbook (see the module docstring for what the options mean).

    `sources`: "groups" (I, II … rows), "sheets" (one sheet per source, named for it, with a
    title line "NGUỒN VỐN: …" and no source rows), or "column"/"none" (no source rows).
    `extra_sheets`: "notes" (a sheet of instructions, no table), "hidden" (a hidden copy).
    `footer_text`: lines written in the name column between the footnote and the signatures
    (a place-and-date line). `omit_group_rows`: labels of group rows left out (their lines
    stay, under the previous group); use with `group_values: number`.
    """
    as_of = as_of or dt.date(year, 6, 30)
    if title is None:
        title = [
            "UBND TỈNH SƠN LA",
            "BIỂU TỔNG HỢP TÌNH HÌNH GIẢI NGÂN KẾ HOẠCH VỐN ĐẦU TƯ CÔNG NĂM {year}",
            "(Số liệu giải ngân đến ngày {as_of})",
        ]
    levels = [g for g in groups if g != "source" or sources == "groups"]
    options = dict(
        year=year,
        as_of=as_of,
        unit=unit,
        columns=columns,
        groups=levels,
        amounts=amounts,
        zero=zero,
        pad=pad,
        group_values=group_values,
        subtotal_errors=subtotal_errors or {},
        total=total,
        ordinals=ordinals,
        status_labels=status_labels,
        label_in_name=label_in_name,
        status_stt=status_stt,
        sector_stt=sector_stt,
        project_stt=project_stt,
        footer=footer,
        unit_in_header=unit_in_header,
        sector_label=sector_label,
        footer_text=tuple(footer_text),
        omit_group_rows=tuple(omit_group_rows),
    )
    sheets = []
    if sources == "sheets":
        by_source: dict[str, list[Mapping]] = {}
        for item in lines:
            by_source.setdefault(item["capital_source_label"], []).append(item)
        for label, members in by_source.items():
            source_id = next(k for k, v in SOURCES.items() if v == label)
            heading = f"NGUỒN VỐN: {label.removeprefix('Vốn ').upper()}"
            sheets.append(
                _Table(members, title=[*title, heading], **options).sheet(
                    SOURCE_SHEET_NAMES.get(source_id, source_id)
                )
            )
    else:
        sheets.append(_Table(lines, title=title, **options).sheet(sheet_name))
    if "notes" in extra_sheets:
        notes = GridSheet(
            "Hướng dẫn",
            [
                ["Hướng dẫn lập biểu"],
                ["Số liệu nhập theo đơn vị triệu đồng; không sửa công thức."],
                ["Cột Tỷ lệ tự tính."],
            ],
        )
        sheets.append(notes)
    if "hidden" in extra_sheets:
        copy = _Table(lines, title=title, **options).sheet("Dữ liệu cũ")
        copy.hidden = True
        sheets.append(copy)
    return sheets


# ------------------------------------------------------------------ builders


def build_official(
    out: Path,
    lines: Sequence[Mapping],
    *,
    name: str = "ke_hoach.xlsx",
    year: int = 2022,
    as_of: dt.date | None = None,
    **options,
) -> list[Path]:
    """The official appendix of `samples.write_official_workbook` (options passed through)."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    write_official_workbook(path, lines, year=year, as_of=as_of or dt.date(year, 6, 30), **options)
    return [path]


def build_table(
    out: Path,
    lines: Sequence[Mapping],
    *,
    name: str = "ke_hoach.xlsx",
    year: int = 2022,
    as_of: dt.date | None = None,
    **options,
) -> list[Path]:
    out.mkdir(parents=True, exist_ok=True)
    as_of = as_of or dt.date(year, 6, 30)
    path = out / name
    write_grid(path, table_sheets(lines, year=year, as_of=as_of, **options), created=as_of)
    return [path]


def build_csv(
    out: Path,
    lines: Sequence[Mapping],
    *,
    name: str = "danh_sach.csv",
    year: int = 2022,
    as_of: dt.date | None = None,
    delimiter: str = ";",
    amounts: str = "vi",
    encoding: str = "utf-8-sig",
    zero: str = "-",
    columns: str = "with_columns",
    unit: str = "trieu",
) -> list[Path]:
    """One header row (amount headers name the unit), no group rows: source/status columns."""
    out.mkdir(parents=True, exist_ok=True)
    import csv
    import io

    as_of = as_of or dt.date(year, 6, 30)
    table = _Table(
        lines,
        year=year,
        as_of=as_of,
        unit=unit,
        columns=columns,
        groups=(),
        amounts=amounts,
        zero=zero,
        pad=False,
        group_values="number",
        subtotal_errors={},
        total="bottom",
        title=[],
        ordinals=False,
        status_labels="short",
        label_in_name=False,
        status_stt="arabic",
        sector_stt="upper",
        project_stt="arabic",
        footer=False,
        unit_in_header=True,
    )
    sheet = table.sheet("csv")
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=delimiter, lineterminator="\r\n")
    for row in sheet.rows:
        writer.writerow(["" if v is None else v for v in row])
    path = out / name
    path.write_bytes(buffer.getvalue().encode(encoding))
    return [path]


def build_treasury(
    out: Path,
    lines: Sequence[Mapping],
    *,
    year: int = 2022,
    as_of: dt.date | None = None,
    treasury_unit: str = "dong",
    treasury_only: Sequence[Mapping] = (),
    **options,
) -> list[Path]:
    """A plan-only appendix (no disbursement column) and the KBNN export beside it.

    Lines whose `disbursed_dong` is None are left out of the export (no Treasury row);
    `treasury_only` rows appear in the export but not in the plan.
    """
    out.mkdir(parents=True, exist_ok=True)
    as_of = as_of or dt.date(year, 6, 30)
    plan = build_table(
        out,
        lines,
        name="ke_hoach_giao.xlsx",
        year=year,
        as_of=as_of,
        columns=options.pop("columns", "plan_only"),
        **options,
    )[0]
    rows = [item for item in lines if item.get("disbursed_dong") is not None]
    rows += list(treasury_only)
    kbnn = out / "kbnn_giai_ngan.xlsx"
    write_treasury_export(kbnn, rows, as_of=as_of, unit=treasury_unit)
    return [plan, kbnn]


def build_sheets(
    out: Path,
    lines: Sequence[Mapping] = (),
    *,
    name: str = "ke_hoach.xlsx",
    year: int = 2022,
    as_of: dt.date | None = None,
    sheets: Sequence[Mapping] = (),
) -> list[Path]:
    """One workbook of several table sheets, each with its own options and lines
    (`{name, lines, rows, …table options}`); `rows` instead of `lines` writes the cells as given
    (a sheet of notes, an empty sheet)."""
    out.mkdir(parents=True, exist_ok=True)
    as_of = as_of or dt.date(year, 6, 30)
    grids: list[GridSheet] = []
    for spec in sheets:
        spec = dict(spec)
        sheet_name = spec.pop("name")
        if "rows" in spec:
            grids.append(GridSheet(sheet_name, [list(r) for r in spec["rows"]]))
            continue
        members = case_lines(spec.pop("lines", ())) or list(lines)
        grids += table_sheets(members, year=year, as_of=as_of, sheet_name=sheet_name, **spec)
    path = out / name
    write_grid(path, grids, created=as_of)
    return [path]


def build_bytes(
    out: Path,
    lines: Sequence[Mapping] = (),
    *,
    name: str = "danh_sach.csv",
    text: str = "",
    encoding: str = "utf-8",
    hex: str = "",
) -> list[Path]:
    """A file of exactly these bytes (`text` in `encoding`, then `hex`): undecodable CSVs."""
    out.mkdir(parents=True, exist_ok=True)
    path = out / name
    path.write_bytes(text.encode(encoding) + bytes.fromhex(hex))
    return [path]


KBNN_TITLE = (
    "KHO BẠC NHÀ NƯỚC {province}",
    "BÁO CÁO TÌNH HÌNH THANH TOÁN VỐN ĐẦU TƯ CÔNG",
    "(Từ ngày 01/01/{year} đến ngày {as_of2})",
)


def build_plan_and_kbnn(
    out: Path,
    lines: Sequence[Mapping],
    *,
    year: int = 2022,
    as_of: dt.date | None = None,
    kbnn_columns: list,
    kbnn_unit: str = "dong",
    kbnn_title: Sequence[str] = KBNN_TITLE,
    province: str = "SƠN LA",
    kbnn_sheet: str = "Báo cáo",
    kbnn_only: Sequence[Mapping] = (),
    kbnn_lines: Sequence[Mapping] = (),
    plan_columns: str | list = "plan_only",
    **options,
) -> list[Path]:
    """A plan appendix beside a Treasury export laid out as `kbnn_columns` (any header, e.g. its
    own "Kế hoạch vốn", a "Nguồn vốn" column, "Tạm ứng" / "Thanh toán KLHT" parts).

    Lines whose `disbursed_dong` is None have no Treasury row; `kbnn_only` rows are only in the
    export; `kbnn_lines` replace a line's Treasury row fields (matched by position)."""
    out.mkdir(parents=True, exist_ok=True)
    as_of = as_of or dt.date(year, 6, 30)
    plan = build_table(
        out, lines, name="ke_hoach_giao.xlsx", year=year, as_of=as_of, columns=plan_columns, **options
    )[0]
    rows = [
        dict(item, **(kbnn_lines[i] if i < len(kbnn_lines) else {}))
        for i, item in enumerate(lines)
        if item.get("disbursed_dong") is not None
    ]
    rows += list(kbnn_only)
    title = [t.replace("{province}", province) for t in kbnn_title]
    sheets = table_sheets(
        rows,
        year=year,
        as_of=as_of,
        unit=kbnn_unit,
        columns=kbnn_columns,
        groups=(),
        title=title,
        ordinals=False,
        footer=False,
        total="bottom",
        group_values="number",
        sheet_name=kbnn_sheet,
    )
    kbnn = out / "kbnn_thanh_toan.xlsx"
    write_grid(kbnn, sheets, created=as_of)
    return [plan, kbnn]


BUILDERS: dict[str, Callable[..., list[Path]]] = {
    "plan_and_kbnn": build_plan_and_kbnn,
    "official": build_official,
    "table": build_table,
    "csv": build_csv,
    "treasury": build_treasury,
    "sheets": build_sheets,
    "bytes": build_bytes,
}


# ------------------------------------------------------------------ golden cases


def case_lines(specs: Sequence[Mapping]) -> list[dict]:
    """`line(...)` dicts from case.yaml entries ({code, name, **line kwargs})."""
    out = []
    for spec in specs:
        spec = dict(spec)
        no_disbursement = "disbursed" in spec and spec["disbursed"] is None
        if no_disbursement:
            del spec["disbursed"]
        record = line(str(spec.pop("code", "")), spec.pop("name"), **spec)
        if no_disbursement:  # no figure at all (e.g. no Treasury row for the project)
            record["disbursed_dong"] = None
        out.append(record)
    return out


def load_case(case_dir: Path) -> dict:
    case = yaml.safe_load((case_dir / "case.yaml").read_text(encoding="utf-8"))
    case["name"] = case_dir.name
    return case


def _dates(options: Mapping) -> dict:
    out = dict(options)
    for key in ("as_of",):
        if isinstance(out.get(key), str):
            out[key] = dt.date.fromisoformat(out[key])
    return out


def build_case(case: Mapping, out_dir: Path) -> list[Path]:
    """Write the inputs a case describes into `out_dir`; the run order of the paths."""
    out_dir.mkdir(parents=True, exist_ok=True)
    builder = BUILDERS[case["builder"]]
    options = _dates(case.get("options") or {})
    for key in ("treasury_only", "kbnn_only"):
        if key in options:
            options[key] = case_lines(options[key])
    if "kbnn_lines" in options:  # per-line Treasury fields: amounts in triệu like `lines`
        options["kbnn_lines"] = [
            {k: line_money(v) if k.endswith("_dong") else v for k, v in item.items()}
            for item in options["kbnn_lines"]
        ]
    paths = builder(out_dir, case_lines(case.get("lines") or []), **options)
    encoding = case.get("encoding")
    if encoding:
        for path in paths:
            if path.suffix == ".xlsx":
                transform_text(path, ENCODINGS[encoding], _FONTS.get(encoding))
    if case.get("drop_cached_values"):
        form = case["drop_cached_values"] if isinstance(case["drop_cached_values"], str) else "none"
        for path in paths:
            drop_cached_values(path, form)
    if case.get("duplicate_as"):  # the first input given again under another name
        copy = out_dir / case["duplicate_as"]
        shutil.copyfile(paths[0], copy)
        paths = [*paths, copy]
    fmt = case.get("convert")
    if fmt:
        converted = []
        for path in paths:
            if path.suffix == ".xlsx":
                target = convert(path, fmt)
                path.unlink()
                converted.append(target)
            else:
                converted.append(path)
        paths = converted
    return paths


def prefetch_cases(cases: Iterable[Mapping], scratch: Path) -> None:
    """Build every case needing LibreOffice and convert them all in one soffice call per format."""
    jobs = []
    for case in cases:
        fmt = case.get("convert")
        if not fmt:
            continue
        plain = {k: v for k, v in case.items() if k != "convert"}
        for path in build_case(plain, scratch / case["name"]):
            if path.suffix == ".xlsx":
                jobs.append((path, fmt))
    if jobs:
        converter().prefetch(jobs)
