"""Synthetic capital-plan workbooks in the official provincial layout (domain brief §3, §5).

`generate_projects` makes seeded, realistic Sơn La project lines (canonical keys, int đồng);
`write_official_workbook` writes them as the Sở KH&ĐT disbursement summary ("Biểu 01"): title
block, a 3-row merged header, an ordinal row, TỔNG SỐ → capital source (I, II…) → status
(1, 2…) → project rows with live SUBTOTAL/SUM formulas, then a footnote and signature block.
`write_treasury_export` writes a KBNN disbursement-only export. All output is byte-stable.

Sheet rows (1-based): 1–2 issuer, 4 title, 5 as-of line, 6 unit line (merged over the last three
columns), 7–9 header (HEADER_ROW), 10 ordinals (ORDINAL_ROW), 11 TỔNG SỐ (TOTAL_ROW), then groups.
`official_columns` gives each column's letter, canonical key and header path.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import re
import unicodedata
import zipfile
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal

import xlsxwriter
from xlsxwriter.utility import xl_col_to_name

from disbursement.files import atomic_path
from disbursement.model import STATUS_COMPLETED, STATUS_CONTINUING, STATUS_NEW

SOURCE_LABELS = (
    "Vốn cân đối ngân sách địa phương",
    "Vốn từ nguồn thu tiền sử dụng đất",
    "Vốn xổ số kiến thiết",
    "Vốn ngân sách trung ương",
)
STATUS_GROUPS = {  # status → sub-group label, in sheet order
    STATUS_CONTINUING: "Dự án chuyển tiếp",
    STATUS_NEW: "Dự án khởi công mới",
    STATUS_COMPLETED: "Dự án hoàn thành, bàn giao đưa vào sử dụng",
}


def _table(text: str, sep: str | None = ", ") -> dict[str, tuple[str, ...]]:
    """Parse "key: a, b" lines into {key: (a, b)}; a repeated key adds to its tuple."""
    table: dict[str, tuple[str, ...]] = {}
    for line in text.strip().splitlines():
        key, value = line.split(": ", 1)
        table[key] = table.get(key, ()) + (tuple(value.split(sep)) if sep else (value,))
    return table


DISTRICTS = _table("""
Thành phố Sơn La: phường Chiềng Lề, phường Quyết Thắng, phường Chiềng Sinh, phường Tô Hiệu
Thành phố Sơn La: xã Chiềng Ngần, xã Hua La, xã Chiềng Đen
Quỳnh Nhai: xã Mường Giàng, xã Chiềng Bằng, xã Mường Chiên, xã Cà Nàng, xã Nậm Ét
Quỳnh Nhai: xã Pá Ma Pha Khinh
Mường La: xã Mường Bú, xã Chiềng Lao, xã Mường Chùm, xã Ngọc Chiến, xã Nậm Păm, xã Chiềng Hoa
Thuận Châu: xã Phổng Lái, xã Chiềng Pha, xã Bó Mười, xã Co Mạ, xã Long Hẹ, xã Tông Lạnh, xã É Tòng
Phù Yên: xã Gia Phù, xã Tường Phù, xã Huy Bắc, xã Mường Cơi, xã Suối Tọ, xã Kim Bon
Bắc Yên: xã Hồng Ngài, xã Phiêng Ban, xã Tà Xùa, xã Song Pe, xã Chim Vàn, xã Làng Chếu
Mai Sơn: xã Chiềng Lương, xã Cò Nòi, xã Chiềng Mung, xã Hát Lót, xã Nà Bó, xã Mường Bằng
Sông Mã: xã Chiềng Khương, xã Nà Nghịu, xã Mường Lầm, xã Chiềng Cang, xã Bó Sinh, xã Huổi Một
Yên Châu: xã Chiềng Hặc, xã Sặp Vạt, xã Chiềng Đông, xã Phiêng Khoài, xã Lóng Phiêng, xã Chiềng On
Mộc Châu: xã Tân Lập, xã Đông Sang, xã Chiềng Sơn, xã Tà Lai, xã Phiêng Luông, xã Nà Mường
Sốp Cộp: xã Mường Và, xã Sam Kha, xã Mường Lạn, xã Púng Bánh, xã Dồm Cang, xã Nậm Lạnh
Vân Hồ: xã Lóng Luông, xã Chiềng Khoa, xã Mường Men, xã Quang Minh, xã Tô Múa, xã Xuân Nha
""")
VILLAGES = ("Nà Sản", "Huổi Hẹ", "Co Phương", "Pá Khoang", "Nà Tòng", "Huổi Lìu", "Phiêng Ngòi")
VILLAGES += ("Ta Lúc", "Bó Ẩn", "Nong Lay", "Hua Tạt", "Pha Khuông")
STREAMS = ("Nậm La", "Nậm Pàn", "Nậm Công", "Nậm Giôn", "Nậm Lạnh", "Nậm Ty")
# One name template a line: {c} commune with prefix ("xã Mường Bú"), {cn} bare commune name,
# {c2} another commune, {d} district ("huyện Mai Sơn"), {ban} village, {suoi} stream.
NAME_TEMPLATES = _table(
    """
Giao thông: Đường giao thông từ trung tâm {c} đi bản {ban}, {d}
Giao thông: Cầu bản {ban}, {c}, {d}
Giao thông: Cải tạo, nâng cấp đường từ {c} đi {c2}, {d}
Giao thông: Đường nội bản {ban}, {c}, {d}
Nông nghiệp: Kè chống sạt lở bờ suối {suoi} đoạn qua {c}, {d}
Nông nghiệp: Công trình thủy lợi bản {ban}, {c}, {d}
Nông nghiệp: Cấp nước sinh hoạt tập trung bản {ban}, {c}, {d}
Nông nghiệp: Hồ chứa nước bản {ban}, {c}, {d}
Giáo dục và đào tạo: Trường THCS {c}, {d}
Giáo dục và đào tạo: Trường Mầm non {cn}, {d}
Giáo dục và đào tạo: Trường Tiểu học {cn}, {d}
Giáo dục và đào tạo: Trường PTDT bán trú THCS {cn}, {d}
Y tế: Nâng cấp Bệnh viện đa khoa {d}
Y tế: Trạm y tế {c}, {d}
Y tế: Cải tạo, mở rộng Trung tâm Y tế {d}
Văn hóa, thể thao: Nhà văn hóa trung tâm {c}, {d}
Văn hóa, thể thao: Sân vận động trung tâm {d}
Quản lý nhà nước: Trụ sở làm việc Đảng ủy, HĐND, UBND {c}, {d}
Quốc phòng, an ninh: Trụ sở Công an {c}, {d}
""",
    sep=None,
)
_CIVIL = "Ban QLDA ĐTXD các công trình dân dụng và công nghiệp tỉnh"
INVESTORS = {
    "Giao thông": ("Ban QLDA ĐTXD các công trình giao thông tỉnh",),
    "Nông nghiệp": ("Ban QLDA ĐTXD các công trình nông nghiệp và PTNT tỉnh",),
    "Giáo dục và đào tạo": (_CIVIL, "Sở Giáo dục và Đào tạo"),
    "Y tế": (_CIVIL, "Sở Y tế"),
    "Văn hóa, thể thao": (_CIVIL, "Sở Văn hóa, Thể thao và Du lịch"),
    "Quản lý nhà nước": (_CIVIL,),
    "Quốc phòng, an ninh": ("Công an tỉnh",),
}
_PROVINCE_NAMES = """Sơn La, Hà Nội, Hà Giang, Cao Bằng, Bắc Kạn, Tuyên Quang, Lào Cai, Điện Biên,
    Lai Châu, Yên Bái, Hòa Bình, Thái Nguyên, Lạng Sơn, Quảng Ninh, Bắc Giang, Phú Thọ, Vĩnh Phúc,
    Bắc Ninh, Hải Dương, Hải Phòng, Hưng Yên, Thái Bình, Hà Nam, Nam Định, Ninh Bình, Thanh Hóa,
    Nghệ An, Hà Tĩnh, Quảng Bình, Quảng Trị, Thừa Thiên Huế, Đà Nẵng, Quảng Nam, Quảng Ngãi,
    Bình Định, Phú Yên, Khánh Hòa, Ninh Thuận, Bình Thuận, Kon Tum, Gia Lai, Đắk Lắk, Đắk Nông,
    Lâm Đồng, Bình Phước, Tây Ninh, Bình Dương, Đồng Nai, Bà Rịa - Vũng Tàu, TP. Hồ Chí Minh,
    Long An, Tiền Giang, Bến Tre, Trà Vinh, Vĩnh Long, Đồng Tháp, An Giang, Kiên Giang, Cần Thơ,
    Hậu Giang, Sóc Trăng, Bạc Liêu, Cà Mau"""
PROVINCES = tuple(name.strip() for name in _PROVINCE_NAMES.split(","))  # the 63 of 2008–2025

TITLE_ROW, SUBTITLE_ROW, UNIT_ROW, HEADER_ROW, ORDINAL_ROW, TOTAL_ROW = 4, 5, 6, 7, 10, 11
HEADER_DEPTH = 3
TREASURY_HEADER_ROW = 6
UNITS = {  # unit → (đồng per unit, unit line, number format)
    "dong": (1, "ĐVT: đồng", "#,##0"),
    "trieu": (10**6, "Đơn vị: triệu đồng", "#,##0.000"),
    "ty": (10**9, "Đơn vị tính: tỷ đồng", "#,##0.000"),
}
# Columns of the official sheet: key | kind | width | header path (" > " joins merged levels).
_COLUMN_SPEC = [
    tuple(part.strip() for part in line.split("|"))
    for line in """
stt | stt | 6 | STT
project_name | text | 45 | Danh mục dự án
project_code | text | 10 | Mã dự án
investor | text | 24 | Chủ đầu tư
location | text | 20 | Địa điểm XD
investment_decision | text | 18 | Quyết định đầu tư > Số quyết định; ngày, tháng, năm ban hành
tmdt_dong | money | 14 | Quyết định đầu tư > TMĐT > Tổng số (tất cả các nguồn vốn)
tmdt_nsnn_dong | money | 14 | Quyết định đầu tư > TMĐT > Trong đó: vốn NSNN
medium_term_dong | money | 14 | Kế hoạch trung hạn 5 năm {period}
cumulative_alloc_dong | money | 14 | Lũy kế vốn đã bố trí đến hết năm {prev}
carried_over_dong | money | 14 | Kế hoạch vốn năm {prev} kéo dài sang năm {year}
plan_dong | money | 14 | Kế hoạch vốn năm {year}
disbursed_dong | money | 14 | Giải ngân đến {as_of} > Số vốn
rate_pct | rate | 8 | Giải ngân đến {as_of} > Tỷ lệ (%)
cumulative_disbursed_dong | money | 14 | Lũy kế giải ngân từ khởi công
completed_volume_dong | money | 14 | Khối lượng hoàn thành chưa thanh toán
extra_need_dong | money | 14 | Nhu cầu bổ sung
expected_dong | money | 14 | Dự kiến giải ngân đến 31/01/{next}
note | text | 20 | Ghi chú
""".strip().splitlines()
]
MONEY_KEYS = tuple(key for key, kind, _, _ in _COLUMN_SPEC if kind == "money")
# Receiver-side columns that `extra_columns=False` leaves out.
EXTRA_COLUMNS = ("medium_term_dong", "completed_volume_dong", "extra_need_dong")
_M = 10**6


# ---------------------------------------------------------------- project generation


def generate_projects(seed: int, n: int = 150, year: int = 2022) -> list[dict]:
    """Seeded Sơn La-style project lines; amounts are int đồng, multiples of 1.000 đồng.

    n // 40 continuing projects appear twice (same code, name and TMĐT; another capital
    source). Continuing lines cycle through rate buckets (see `_amounts`), so once there are ten
    of them some sit at exactly 50%, at 49,999% and 1.000 đồng short of 50% at 30/6, and at
    exactly 60% and 59,999% at 30/9. The 4th and 18th new-start lines have plan 0.
    """
    rng = random.Random(seed)
    n_shared = n // 40
    codes = iter(rng.sample(range(7_000_000, 8_000_000), n))
    counters = dict.fromkeys(STATUS_GROUPS, 0)
    used: set[str] = set()
    lines = []
    for _ in range(n - n_shared):
        line = _identity(rng, year, used) | {"project_code": str(next(codes))}
        lines.append(line | _amounts(rng, line["status"], counters, year))
    # A continuing project funded from two sources: a second line with the same identity.
    bases = [line for line in lines if line["plan_dong"] and line["status"] == STATUS_CONTINUING]
    for i in range(n_shared if bases else 0):
        base = bases[(i * len(bases)) // n_shared]
        twin = {key: base[key] for key in _IDENTITY_KEYS}
        others = [s for s in SOURCE_LABELS if s != base["capital_source_label"]]
        twin["capital_source_label"] = others[i % len(others)]
        twin |= _amounts(rng, base["status"], counters, year)
        nsnn = max(base["tmdt_nsnn_dong"], twin["tmdt_nsnn_dong"])
        nsnn = max(nsnn, base["medium_term_dong"] + twin["medium_term_dong"])
        tmdt = max(base["tmdt_dong"], twin["tmdt_dong"], nsnn)
        for line in (base, twin):
            line.update(tmdt_nsnn_dong=nsnn, tmdt_dong=tmdt)
        lines.append(twin)
    return lines


_IDENTITY_KEYS = ("project_code", "project_name", "investor", "location", "sector", "status")
_IDENTITY_KEYS += ("investment_decision",)


def _identity(rng: random.Random, year: int, used: set[str]) -> dict:
    source = rng.choices(SOURCE_LABELS, weights=(35, 25, 15, 25))[0]
    if source == "Vốn xổ số kiến thiết":  # lottery money goes to schools and health
        sector = rng.choice(("Giáo dục và đào tạo", "Y tế"))
    else:
        sector = rng.choices(list(NAME_TEMPLATES), weights=(30, 22, 20, 10, 7, 6, 5))[0]
    district = rng.choice(list(DISTRICTS))
    commune = rng.choice(DISTRICTS[district])
    where = "thành phố Sơn La" if district.startswith("Thành phố") else f"huyện {district}"
    template = rng.choice(NAME_TEMPLATES[sector])
    name = template.format(
        c=commune,
        cn=commune.split(" ", 1)[1],
        c2=rng.choice(DISTRICTS[district]),
        d=where,
        ban=rng.choice(VILLAGES),
        suoi=rng.choice(STREAMS),
    )
    name, stage = unicodedata.normalize("NFC", name), 2
    while name in used:
        name, stage = f"{name.split(' (giai đoạn')[0]} (giai đoạn {stage})", stage + 1
    used.add(name)
    status = rng.choices(tuple(STATUS_GROUPS), weights=(55, 30, 15))[0]
    investor = rng.choice(INVESTORS[sector])
    if sector != "Quốc phòng, an ninh" and rng.random() < 0.35:
        investor = f"UBND {where}"
    ages = {STATUS_CONTINUING: (4, 1), STATUS_NEW: (1, 0), STATUS_COMPLETED: (5, 2)}
    oldest, newest = ages[status]  # years since the investment decision
    decided = year - rng.randint(newest, oldest)
    month = rng.randint(1, 10 if decided == year else 12)
    return {
        "project_name": name,
        "investor": investor,
        "location": f"{commune}, {where}" if "{c}" in template else where,
        "sector": sector,
        "capital_source_label": source,
        "status": status,
        "investment_decision": f"Số {rng.randint(105, 3280)}/QĐ-UBND ngày "
        f"{rng.randint(1, 28)}/{month}/{decided}",
    }


def _k(value: float) -> int:
    """Round down to whole thousand đồng."""
    return int(value) // 1000 * 1000


def _amounts(rng: random.Random, status: str, counters: dict[str, int], year: int) -> dict:
    """Money of one line; the k-th continuing line takes bucket k % 10 (rate at 30/6 → 30/9).

    0, 3, 7, 9: above 50% · 1: under 50% → exactly 60% · 2: exactly 50% · 4: under 50% →
    59,999% · 5: 49,999% · 6: under 50% · 8: 50% less 1.000 đồng.
    """
    k = counters[status]
    counters[status] += 1
    bucket = k % 10 if status == STATUS_CONTINUING else None
    plan = rng.randint(30, 3000) * 10 * _M
    if bucket in (4, 5):  # the 49,999% / 59,999% lines need a plan in whole 100 triệu
        plan = -(-plan // (100 * _M)) * 100 * _M
    if status == STATUS_NEW and k in (3, 17):
        plan = 0
    if status == STATUS_NEW:
        rate = 0 if rng.random() < 0.3 else rng.uniform(0.02, 0.35 if rng.random() < 0.85 else 0.6)
    elif status == STATUS_COMPLETED:
        rate = rng.uniform(0.55, 1.0)
    else:
        rate = rng.uniform(0.05, 0.45) if bucket in (1, 4, 6) else rng.uniform(0.51, 0.95)
    june = {2: plan // 2, 5: plan * 49999 // 100000, 8: plan // 2 - 1000}.get(bucket)
    june = _k(plan * rate) if june is None else june
    sept = june + _k((plan - june) * rng.uniform(0 if status == STATUS_NEW else 0.1, 0.6))
    sept = {1: plan * 6 // 10, 4: plan * 59999 // 100000}.get(bucket, sept)
    slow = june * 2 < plan
    expected = plan
    if slow and rng.random() < 0.35:  # clearly below plan: a round-3 candidate
        expected = sept + _k((plan - sept) * rng.uniform(0.1, 0.6))
    elif rng.random() < 0.2:
        expected = max(sept, plan - _k(plan * rng.uniform(0.01, 0.05)))
    extra = rng.randint(5, 300) * 10 * _M if plan and not slow and rng.random() < 0.13 else 0
    volume = extra + _k(extra * rng.uniform(0, 0.3)) if extra else None
    if volume is None and rng.random() < 0.25:
        volume = _k(plan * rng.uniform(0.02, 0.3))
    factors = {STATUS_CONTINUING: (0.4, 3.0), STATUS_NEW: (0, 0), STATUS_COMPLETED: (3, 9)}
    low, high = factors[status]  # allocations before this year, as multiples of the plan
    cumulative = int(plan * rng.uniform(low, high)) // _M * _M
    slack = 0 if status == STATUS_COMPLETED or rng.random() < 0.2 else rng.randint(1, 300) * 10 * _M
    medium = cumulative + plan + extra + slack
    nsnn = medium + (0 if status == STATUS_COMPLETED else rng.randint(0, 100) * 10 * _M)
    tmdt = nsnn if rng.random() < 0.8 else int(nsnn * rng.uniform(1.05, 1.3)) // _M * _M
    carried = None
    if status == STATUS_CONTINUING and rng.random() < 0.15:
        carried = int(plan * rng.uniform(0.05, 0.3)) // _M * _M
    note = ""
    if not plan:
        note = f"Chưa đủ điều kiện giao kế hoạch vốn năm {year}"
    elif extra:
        note = "Đề nghị bổ sung vốn để thanh toán khối lượng hoàn thành"
    elif slow and expected < plan:
        note = rng.choice(_SLOW_REASONS)
    return {
        "tmdt_dong": tmdt,
        "tmdt_nsnn_dong": nsnn,
        "medium_term_dong": medium,
        "cumulative_alloc_dong": cumulative,
        "carried_over_dong": carried,
        "plan_dong": plan,
        "disbursed_0630_dong": june,
        "disbursed_0930_dong": sept,
        "expected_dong": expected,
        "extra_need_dong": extra or None,
        "completed_volume_dong": volume,
        "disbursed_prior_dong": _k(cumulative * rng.uniform(0.9, 1.0)),
        "note": note,
    }


_SLOW_REASONS = ("Vướng mắc giải phóng mặt bằng", "Chậm lựa chọn nhà thầu")
_SLOW_REASONS += ("Đang điều chỉnh thiết kế, dự toán",)


def generate_national(
    seed: int, n_lines: int = 100_000, n_sheets: int = 63, year: int = 2022
) -> dict[str, list[dict]]:
    """{province name: project lines} for benchmarks: n_lines spread over n_sheets provinces."""
    if not 1 <= n_sheets <= len(PROVINCES):
        raise ValueError(f"n_sheets must be between 1 and {len(PROVINCES)}, got {n_sheets}")
    per, extra = divmod(n_lines, n_sheets)
    return {
        name: generate_projects(seed * 1000 + i, per + (i < extra), year)
        for i, name in enumerate(PROVINCES[:n_sheets])
    }


# ---------------------------------------------------------------- official workbook


@dataclass(frozen=True, slots=True)
class _Col:
    key: str
    kind: str  # "stt" | "text" | "money" | "rate"
    width: float
    header: tuple[str, ...]


def _columns(year: int, as_of: dt.date, with_expected: bool, extra_columns: bool) -> list[_Col]:
    start = 2021 + 5 * ((year - 2021) // 5)
    names = {
        "year": year,
        "prev": year - 1,
        "next": year + 1,
        "period": f"{start}-{start + 4}",
        "as_of": f"{as_of.day}/{as_of.month}/{as_of.year}",
    }
    dropped = set() if with_expected else {"expected_dong"}
    dropped |= set() if extra_columns else set(EXTRA_COLUMNS)
    return [
        _Col(key, kind, float(width), tuple(header.format(**names).split(" > ")))
        for key, kind, width, header in _COLUMN_SPEC
        if key not in dropped
    ]


def official_columns(
    year: int, as_of: dt.date, *, with_expected: bool = True, extra_columns: bool = True
) -> list[tuple[str, str, tuple[str, ...]]]:
    """(column letter, canonical key, header path) of each column `write_official_workbook` writes.

    The disbursement column's key is "disbursed_dong" whatever `disbursed_key` was used.
    """
    cols = _columns(year, as_of, with_expected, extra_columns)
    return [(xl_col_to_name(i), col.key, col.header) for i, col in enumerate(cols)]


@dataclass(slots=True)
class _Row:
    level: str  # "total" | "source" | "status" | "project"
    stt: str | int | None
    name: str
    project: Mapping | None = None
    sums: dict[str, int | None] = field(default_factory=lambda: dict.fromkeys(MONEY_KEYS, 0))
    span: tuple[int, int] | None = None  # Excel rows a SUBTOTAL covers
    parts: list[int] = field(default_factory=list)  # Excel rows the TỔNG SỐ SUM adds


def _line_amounts(project: Mapping, disbursed_key: str) -> dict[str, int | None]:
    amounts = {key: project.get(key) for key in MONEY_KEYS}
    amounts["tmdt_nsnn_dong"] = project.get("tmdt_nsnn_dong", project.get("tmdt_dong"))
    done = amounts["disbursed_dong"] = project.get(disbursed_key)
    prior = project.get("disbursed_prior_dong", project.get("cumulative_alloc_dong"))
    if done is not None or prior is not None:  # a decoy: not this year's disbursement
        amounts["cumulative_disbursed_dong"] = (prior or 0) + (done or 0)
    return amounts


def _roman(number: int) -> str:
    out = ""
    for value, digits in zip(
        (1000, 900, 500, 400, 100, 90, 50, 40, 10, 9, 5, 4, 1),
        ("M", "CM", "D", "CD", "C", "XC", "L", "XL", "X", "IX", "V", "IV", "I"),
        strict=True,
    ):
        count, number = divmod(number, value)
        out += digits * count
    return out


def _layout(projects: Sequence[Mapping], disbursed_key: str) -> list[_Row]:
    """TỔNG SỐ → capital source → status → project rows, with their Excel rows and đồng sums."""
    by_source: dict[str, list[Mapping]] = {}
    for project in projects:
        label = project.get("capital_source_label") or SOURCE_LABELS[0]
        by_source.setdefault(label, []).append(project)
    order = [s for s in SOURCE_LABELS if s in by_source]
    order += [s for s in by_source if s not in SOURCE_LABELS]
    statuses = [*STATUS_GROUPS, None]
    total = _Row("total", None, "TỔNG SỐ")
    rows = [total]
    for number, label in enumerate(order, 1):
        source = _Row("source", _roman(number), label)
        total.parts.append(TOTAL_ROW + len(rows))
        rows.append(source)
        by_status: dict[str | None, list[Mapping]] = {}
        for project in by_source[label]:
            status = project.get("status")
            by_status.setdefault(status if status in STATUS_GROUPS else None, []).append(project)
        for sub_number, status in enumerate((s for s in statuses if s in by_status), 1):
            members = by_status[status]
            sub = _Row("status", str(sub_number), STATUS_GROUPS.get(status, "Dự án khác"))
            rows.append(sub)
            sub.span = (TOTAL_ROW + len(rows), TOTAL_ROW + len(rows) + len(members) - 1)
            for i, project in enumerate(members, 1):
                amounts = _line_amounts(project, disbursed_key)
                rows.append(_Row("project", i, project.get("project_name") or "", project, amounts))
                for group in (sub, source, total):
                    for key, value in amounts.items():
                        group.sums[key] += value or 0
        source.span = (total.parts[-1] + 1, TOTAL_ROW + len(rows) - 1)
    return rows


_FORMATS = {
    "org": {"bold": True, "align": "center"},
    "corner": {"bold": True, "align": "right"},
    "title": {"bold": True, "font_size": 13, "align": "center"},
    "subtitle": {"italic": True, "align": "center"},
    "unit": {"italic": True, "align": "right"},
    "note": {"italic": True},
    "sign": {"bold": True, "align": "center"},
    "head": {"bold": True, "align": "center", "text_wrap": True, "border": 1},
    "ordinal": {"italic": True, "align": "center", "border": 1},
}
_LEVEL_STYLES = {
    "total": {"bold": True},
    "source": {"bold": True},
    "status": {"bold": True, "italic": True},
    "project": {},
}
_KIND_STYLES = {"stt": {"align": "center"}, "text": {"text_wrap": True}, "rate": {}, "money": {}}


def header_rows(paths: Sequence[tuple[str, ...]], depth: int) -> tuple[list[list], list[tuple]]:
    """Header cells and merges (row0, col0, row1, col1 from the header's top) of `depth` rows
    from column paths, merged as Excel appendices merge them: a parent over its children, a
    leaf down to the last header row."""
    rows: list[list] = [[None] * len(paths) for _ in range(depth)]
    merges = []
    for level in range(depth):
        c = 0
        while c < len(paths):
            end = c
            if len(paths[c]) > level:
                prefix = paths[c][: level + 1]
                while end + 1 < len(paths) and paths[end + 1][: level + 1] == prefix:
                    end += 1
                bottom = depth - 1 if len(paths[c]) == level + 1 else level
                rows[level][c] = paths[c][level]
                if end > c or bottom > level:
                    merges.append((level, c, bottom, end))
            c = end + 1
    return rows, merges


class _Writer:
    """Formats and cell writing shared by the sheets of one workbook."""

    def __init__(self, wb, unit: str, cols: list[_Col]) -> None:
        if unit not in UNITS:
            raise ValueError(f"unit must be one of {', '.join(UNITS)}, got {unit!r}")
        self.divisor, self.unit_text, number_format = UNITS[unit]
        self.cols = cols
        base = {"font_name": "Times New Roman", "font_size": 11, "valign": "vcenter"}
        self.fmt = {name: wb.add_format(base | props) for name, props in _FORMATS.items()}
        numbers = {"money": number_format, "rate": "0.00"}
        for level, style in _LEVEL_STYLES.items():
            for kind, props in _KIND_STYLES.items():
                props = base | style | props | {"border": 1}
                if kind in numbers:
                    props["num_format"] = numbers[kind]
                self.fmt[f"{level}:{kind}"] = wb.add_format(props)
        kinds = [col.kind for col in cols]
        self.by_level = {lv: [self.fmt[f"{lv}:{k}"] for k in kinds] for lv in _LEVEL_STYLES}
        self.letter = {col.key: xl_col_to_name(i) for i, col in enumerate(cols)}

    def convert(self, dong: int) -> int | float:
        """đồng → the sheet's unit, as the float nearest the exact decimal."""
        return dong if self.divisor == 1 else float(Decimal(dong) / self.divisor)

    def header(self, ws, top: int) -> None:
        """The merged 3-row header from the column paths, written row by row.

        Cells go in row order and the merged ranges are registered afterwards, which also works
        in constant_memory mode (merge_range would write blanks into rows below first).
        """
        rows, merges = header_rows([col.header for col in self.cols], HEADER_DEPTH)
        for r0, c0, r1, c1 in merges:
            ws.merge.append([top + r0, c0, top + r1, c1])
        for level, cells in enumerate(rows):
            for c, text in enumerate(cells):
                self.text(ws, top + level, c, text, self.fmt["head"])

    def line(self, ws, r: int, row: _Row) -> None:
        excel_row, formats, sums = r + 1, self.by_level[row.level], row.sums
        for c, col in enumerate(self.cols):
            if col.kind == "money":
                value = sums[col.key]
                if row.level != "project":
                    formula = self._group_formula(col.key, row)
                    ws.write_formula(r, c, formula, formats[c], self.convert(value or 0))
                elif value is None:
                    ws.write_blank(r, c, None, formats[c])
                else:
                    ws.write_number(r, c, self.convert(value), formats[c])
            elif col.kind == "rate":
                plan, done = sums["plan_dong"] or 0, sums["disbursed_dong"] or 0
                d, p = self.letter["disbursed_dong"], self.letter["plan_dong"]
                formula = f"=IFERROR({d}{excel_row}/{p}{excel_row}*100,0)"
                ws.write_formula(r, c, formula, formats[c], done * 100 / plan if plan else 0)
            elif col.kind == "stt" and isinstance(row.stt, int):
                ws.write_number(r, c, row.stt, formats[c])
            else:
                text = row.stt if col.kind == "stt" else row.name
                if col.kind == "text" and col.key != "project_name":
                    text = row.project.get(col.key) if row.project else None
                self.text(ws, r, c, text, formats[c])

    @staticmethod
    def text(ws, r: int, c: int, value: object, cell_format) -> None:
        """A text cell; None or "" gives a formatted blank, never an empty string cell."""
        if value is None or value == "":
            ws.write_blank(r, c, None, cell_format)
        else:
            ws.write_string(r, c, str(value), cell_format)

    def _group_formula(self, key: str, row: _Row) -> str:
        letter = self.letter[key]
        if row.span is not None:
            return f"=SUBTOTAL(9,{letter}{row.span[0]}:{letter}{row.span[1]})"
        return "=SUM(" + ",".join(f"{letter}{part}" for part in row.parts or [0]) + ")"


def write_official_workbook(
    path: str | os.PathLike,
    projects: Sequence[Mapping] | None,
    *,
    year: int,
    as_of: dt.date,
    disbursed_key: str = "disbursed_dong",
    unit: str = "trieu",
    sheet_title: str = "Biểu 01",
    cached_values: bool = True,
    province: str = "SƠN LA",
    with_expected: bool = True,
    extra_columns: bool = True,
    sheets: Mapping[str, Sequence[Mapping]] | None = None,
    ordinals: str = "plain",
) -> None:
    """Write project lines as the official disbursement summary workbook.

    Projects are dicts with the keys of `generate_projects`; a missing amount is a blank cell,
    a missing `capital_source_label` means the first source, a status outside
    continuing/new/completed goes to a "Dự án khác" group. This year's disbursement is read
    from `disbursed_key`. `unit` is "trieu", "dong" or "ty". One sheet named `sheet_title`, or
    one sheet per key of `sheets`. `cached_values=False` leaves formula cells without a cached
    result (as a file saved without recalculation). `ordinals`: "plain" (1, 2…) or "paren"
    ((1), (2)…). Same arguments give the same bytes; the write is atomic.
    """
    if sheets is not None and projects:
        raise ValueError("pass project lines either as `projects` or as `sheets`, not both")
    if ordinals not in ("plain", "paren"):
        raise ValueError(f"ordinals must be 'plain' or 'paren', got {ordinals!r}")
    cols = _columns(year, as_of, with_expected, extra_columns)
    plan = {sheet_title: projects or []} if sheets is None else dict(sheets)
    constant_memory = sum(len(lines) for lines in plan.values()) > 2000
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": constant_memory})
        wb.set_properties(
            {
                "title": f"Tình hình giải ngân kế hoạch vốn đầu tư công năm {year}",
                "author": f"UBND tỉnh {province.title()}",
                "created": dt.datetime.combine(as_of, dt.time()),
            }
        )
        writer = _Writer(wb, unit, cols)
        for name, lines in plan.items():
            ws = wb.add_worksheet(name)
            corner = sheet_title if sheets is None else ""
            sheet = (year, as_of, province, corner, ordinals)
            _official_sheet(ws, writer, _layout(lines, disbursed_key), *sheet)
        wb.close()
        if not cached_values:
            _drop_cached_values(tmp)


def _official_sheet(
    ws,
    writer: _Writer,
    rows: list[_Row],
    year: int,
    as_of: dt.date,
    province: str,
    corner: str,
    ordinals: str,
) -> None:
    """One sheet, strictly top to bottom (constant_memory mode drops writes to earlier rows)."""
    fmt, last = writer.fmt, len(writer.cols) - 1
    for c, col in enumerate(writer.cols):
        ws.set_column(c, c, col.width)
    ws.merge_range(0, 0, 0, 2, f"UBND TỈNH {province}", fmt["org"])
    if corner:
        ws.write_string(0, last, corner, fmt["corner"])
    issuer = "SỞ KẾ HOẠCH VÀ ĐẦU TƯ" if year <= 2024 else "SỞ TÀI CHÍNH"  # merged in 2025
    ws.merge_range(1, 0, 1, 2, issuer, fmt["org"])
    title = f"BIỂU TỔNG HỢP TÌNH HÌNH GIẢI NGÂN KẾ HOẠCH VỐN ĐẦU TƯ CÔNG NĂM {year}"
    ws.merge_range(TITLE_ROW - 1, 0, TITLE_ROW - 1, last, title, fmt["title"])
    subtitle = f"(Số liệu giải ngân đến ngày {as_of.day}/{as_of.month}/{as_of.year})"
    ws.merge_range(SUBTITLE_ROW - 1, 0, SUBTITLE_ROW - 1, last, subtitle, fmt["subtitle"])
    ws.merge_range(UNIT_ROW - 1, last - 2, UNIT_ROW - 1, last, writer.unit_text, fmt["unit"])
    writer.header(ws, HEADER_ROW - 1)
    for c in range(last + 1):
        if ordinals == "paren":
            ws.write_string(ORDINAL_ROW - 1, c, f"({c + 1})", fmt["ordinal"])
        else:
            ws.write_number(ORDINAL_ROW - 1, c, c + 1, fmt["ordinal"])
    for i, row in enumerate(rows):
        writer.line(ws, TOTAL_ROW - 1 + i, row)
    foot = TOTAL_ROW + len(rows)
    note = "Ghi chú: Số liệu giải ngân theo báo cáo của Kho bạc Nhà nước tỉnh."
    ws.write_string(foot, 1, note, fmt["note"])
    for offset, left, right in _SIGNATURE:
        writer.text(ws, foot + offset, 1, left, fmt["sign"])
        ws.merge_range(foot + offset, last - 3, foot + offset, last, right, fmt["sign"])
    ws.freeze_panes(ORDINAL_ROW, 2)
    ws.repeat_rows(HEADER_ROW - 1, ORDINAL_ROW - 1)
    ws.set_landscape()
    ws.set_paper(9)
    ws.fit_to_pages(1, 0)


# (rows below the footnote, preparer column, signer block); the names are invented.
_SIGNATURE = ((2, "NGƯỜI LẬP BIỂU", "KT. GIÁM ĐỐC"), (3, "", "PHÓ GIÁM ĐỐC"))
_SIGNATURE += ((7, "Cầm Thị Hoa", "Lò Văn Thành"),)
_CACHED_VALUE = re.compile(rb"(</f>)<v>[^<]*</v>")


def _drop_cached_values(path: os.PathLike) -> None:
    """Remove the cached result of every formula cell; entry order and times are kept."""
    with zipfile.ZipFile(path) as source:
        entries = [(info, source.read(info)) for info in source.infolist()]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as out:
        for info, data in entries:
            if info.filename.startswith("xl/worksheets/sheet"):
                data = _CACHED_VALUE.sub(rb"\1", data)
            out.writestr(info, data)


# ---------------------------------------------------------------- treasury export


def write_treasury_export(
    path: str | os.PathLike,
    rows: Sequence[Mapping],
    *,
    as_of: dt.date,
    unit: str = "dong",
    disbursed_key: str = "disbursed_dong",
    province: str = "SƠN LA",
) -> None:
    """A KBNN (State Treasury) disbursement export: one header row, a "Tổng cộng" row at the end.

    Header at TREASURY_HEADER_ROW: STT | Mã dự án | Tên dự án | Chủ đầu tư | Lũy kế thanh toán
    từ đầu năm (`paid_dong`, default the disbursement) | Số giải ngân đến dd/mm/yyyy (from
    `disbursed_key`). Codes divisible by 3 are written as numbers, the rest as text.
    """
    date_text = as_of.strftime("%d/%m/%Y")
    headers = ("STT", "Mã dự án", "Tên dự án", "Chủ đầu tư", "Lũy kế thanh toán từ đầu năm")
    headers += (f"Số giải ngân đến {date_text}",)
    with atomic_path(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": len(rows) > 2000})
        wb.set_properties(
            {
                "title": "Báo cáo tình hình giải ngân vốn đầu tư công",
                "author": f"Kho bạc Nhà nước {province.title()}",
                "created": dt.datetime.combine(as_of, dt.time()),
            }
        )
        writer = _Writer(wb, unit, [])
        fmt = writer.fmt
        ws = wb.add_worksheet("KBNN")
        for c, width in enumerate((6, 12, 50, 30, 20, 20)):
            ws.set_column(c, c, width)
        ws.merge_range(0, 0, 0, 2, f"KHO BẠC NHÀ NƯỚC {province}", fmt["org"])
        ws.merge_range(2, 0, 2, 5, "BÁO CÁO TÌNH HÌNH GIẢI NGÂN VỐN ĐẦU TƯ CÔNG", fmt["title"])
        period = f"(Từ ngày 01/01/{as_of.year} đến ngày {date_text})"
        ws.merge_range(3, 0, 3, 5, period, fmt["subtitle"])
        ws.merge_range(4, 4, 4, 5, writer.unit_text, fmt["unit"])
        for c, text in enumerate(headers):
            ws.write_string(TREASURY_HEADER_ROW - 1, c, text, fmt["head"])
        totals = [0, 0]
        for i, row in enumerate(rows):
            r = TREASURY_HEADER_ROW + i
            code = str(row.get("project_code") or "")
            ws.write_number(r, 0, i + 1, fmt["project:stt"])
            if code.isdigit() and int(code) % 3 == 0:
                ws.write_number(r, 1, int(code), fmt["project:stt"])
            else:
                writer.text(ws, r, 1, code, fmt["project:stt"])
            writer.text(ws, r, 2, row.get("project_name"), fmt["project:text"])
            writer.text(ws, r, 3, row.get("investor"), fmt["project:text"])
            done = row.get(disbursed_key) or 0
            for c, value in ((4, row.get("paid_dong", done) or 0), (5, done)):
                totals[c - 4] += value
                ws.write_number(r, c, writer.convert(value), fmt["project:money"])
        r = TREASURY_HEADER_ROW + len(rows)
        for c in range(4):
            writer.text(ws, r, c, "Tổng cộng" if c == 2 else None, fmt["total:text"])
        for c, letter in ((4, "E"), (5, "F")):
            first, last = TREASURY_HEADER_ROW + 1, max(r, TREASURY_HEADER_ROW + 1)
            formula = f"=SUM({letter}{first}:{letter}{last})"
            ws.write_formula(r, c, formula, fmt["total:money"], writer.convert(totals[c - 4]))
        wb.close()
