"""Header matching as properties (issue 8): the same headers map to the same columns however
they are ordered, cased, accented or normalised, and nothing a sheet holds makes it raise.

Each alias below is a header the vocabulary (`rules/columns.yaml`) knows; the tests build a
sheet whose header row holds some of them in a random order, between junk columns, each
written a random way, and check `layout.find_layout` maps every alias to its own column.
"""

from __future__ import annotations

import datetime as dt
import unicodedata

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from disbursement.ingest.header import _map_columns, find_layout, load_vocabulary
from disbursement.ingest.read import RawSheet
from disbursement.text import fold

YEAR = 2022
ALIASES = {
    "stt": ["STT", "TT", "Số TT"],
    "project_name": ["Danh mục dự án", "Tên dự án", "Tên công trình", "Danh mục công trình"],
    "project_code": ["Mã dự án", "Mã số dự án", "Mã DA"],
    "investor": ["Chủ đầu tư", "CĐT"],
    "location": ["Địa điểm XD", "Địa điểm xây dựng"],
    "capital_source_label": ["Nguồn vốn"],
    "status": ["Tính chất dự án", "Loại dự án"],
    "note": ["Ghi chú"],
    "tmdt_dong": ["Tổng mức đầu tư", "TMĐT"],
    "plan_dong": ["Kế hoạch vốn năm 2022", "Kế hoạch năm 2022", "KH vốn năm 2022"],
    "disbursed_dong": [
        "Giải ngân đến 30/6/2022",
        "Số vốn đã giải ngân năm 2022",
        "Lũy kế giải ngân từ 01/01/2022 đến 30/6/2022",
    ],
    "carried_over_dong": ["Kế hoạch vốn năm 2021 kéo dài sang năm 2022"],
    "medium_term_dong": ["Kế hoạch trung hạn 5 năm 2021-2025"],
    "expected_dong": ["Dự kiến giải ngân đến 31/01/2023"],
    "extra_need_dong": ["Nhu cầu bổ sung"],
    "completed_volume_dong": ["Khối lượng hoàn thành chưa thanh toán"],
    "cumulative_alloc_dong": ["Lũy kế vốn đã bố trí đến hết năm 2021"],
}
ALWAYS = ("stt", "project_name", "plan_dong", "disbursed_dong")  # what makes a header row
OPTIONAL = [c for c in ALIASES if c not in ALWAYS]


def _strip_marks(text: str) -> str:
    text = text.replace("đ", "d").replace("Đ", "D")
    return "".join(c for c in unicodedata.normalize("NFD", text) if not unicodedata.combining(c))


WAYS = {
    "as written": lambda t: t,
    "upper": str.upper,
    "lower": str.lower,
    "no diacritics": _strip_marks,
    "NFD": lambda t: unicodedata.normalize("NFD", t),
    "NFKD upper": lambda t: unicodedata.normalize("NFKD", t.upper()),
    "wrapped": lambda t: "  " + t.replace(" ", "\n", 1) + " ",
    "double spaced": lambda t: t.replace(" ", "  "),
}
JUNK = st.one_of(st.just(""), st.text(alphabet="0123456789 .,;:-()#/*", max_size=10))


@pytest.mark.parametrize(("canonical", "alias"), [(c, a) for c, aliases in ALIASES.items() for a in aliases])
def test_each_alias_alone_maps_to_its_column(canonical, alias):
    assert _map_columns([alias], load_vocabulary(YEAR)) == {canonical: 0}


@st.composite
def header_rows(draw):
    chosen = list(ALWAYS) + draw(st.lists(st.sampled_from(OPTIONAL), unique=True, max_size=8))
    columns = [(c, draw(st.sampled_from(ALIASES[c])), draw(st.sampled_from(sorted(WAYS)))) for c in chosen]
    columns += [(None, draw(JUNK), "as written") for _ in range(draw(st.integers(0, 4)))]
    return draw(st.permutations(columns))


def _sheet(columns) -> RawSheet:
    header = [WAYS[way](alias) for _canonical, alias, way in columns]
    data = []
    for canonical, _alias, _way in columns:
        if canonical == "stt":
            data.append(1.0)
        elif canonical is not None and canonical.endswith("_dong"):
            data.append(1000.0)
        elif canonical is not None:
            data.append("Đường Chiềng Lương – Nà Sản")
        else:
            data.append("")
    title = [["UBND TỈNH SƠN LA"], ["Đơn vị: triệu đồng"]]
    width = len(columns)
    cells = [row + [""] * (width - len(row)) for row in title] + [header, data, data]
    return RawSheet("ke_hoach.xlsx", "Biểu 01", cells, [])


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(header_rows())
def test_headers_map_the_same_in_any_order_case_accents_or_normal_form(columns):
    layout, reason = find_layout(_sheet(columns), load_vocabulary(YEAR))
    assert layout is not None, (reason, columns)
    expected = {canonical: i for i, (canonical, _a, _w) in enumerate(columns) if canonical}
    assert layout.columns == expected, columns
    assert (layout.header_top, layout.header_bottom) == (2, 2)


@settings(max_examples=100, deadline=None)
@given(
    st.lists(st.sampled_from(sorted(WAYS)), min_size=2, max_size=2),
    st.sampled_from([a for aliases in ALIASES.values() for a in aliases]),
)
def test_fold_is_the_same_key_whatever_the_spelling(ways, alias):
    first, second = (WAYS[w](alias) for w in ways)
    assert fold(first) == fold(second)


CELL = st.one_of(
    st.text(max_size=30),
    st.sampled_from(
        [
            "STT",
            "Kế hoạch vốn năm 2022",
            "Giải ngân",
            "Tên dự án",
            "(1)",
            "I",
            "TỔNG SỐ",
            "Đơn vị: triệu đồng",
            "đến ngày 31/02/2022",
            "=SUM(A1:A3)",
        ]
    ),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(10**20), 10**20),
    st.booleans(),
    st.none(),
    st.dates(),
    st.datetimes(min_value=dt.datetime(1900, 1, 1)),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(st.lists(CELL, max_size=12), max_size=45),
    st.lists(
        st.tuples(st.integers(0, 50), st.integers(0, 15), st.integers(0, 50), st.integers(0, 15)), max_size=4
    ),
)
def test_random_sheets_never_raise(rows, merges):
    width = max((len(r) for r in rows), default=0)
    cells = [r + [""] * (width - len(r)) for r in rows]
    merged = [((min(a, c), min(b, d)), (max(a, c), max(b, d))) for a, b, c, d in merges]
    layout, reason = find_layout(RawSheet("x.xlsx", "S", cells, merged), load_vocabulary(YEAR))
    assert (layout is None) == bool(reason)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.text(max_size=60), max_size=20))
def test_random_header_text_never_raises(paths):
    columns = _map_columns(paths, load_vocabulary(YEAR))
    assert len(set(columns.values())) == len(columns)  # one canonical per column
    assert all(0 <= i < len(paths) for i in columns.values())
