"""Reading behaviour the golden cases do not pin one by one: every format gives the same plan
table, legacy text decodes to the oracle names, typed amounts, stray rows inside a table."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pandas as pd
import pytest

from devtools.samples import generate_projects
from disbursement.config.rules import load_rules
from disbursement.ingest.load import load_plan
from tests.conftest import line
from tests.fixtures_builder import (
    ENCODINGS,
    SOFFICE_REASON,
    GridSheet,
    build_official,
    build_table,
    converter,
    soffice,
    transform_text,
    write_grid,
)

COLUMNS = [
    "project_code",
    "project_name",
    "capital_source",
    "status",
    "plan_dong",
    "disbursed_dong",
    "tmdt_dong",
    "cumulative_alloc_dong",
    "expected_dong",
    "row",
]


def load(paths, **options):
    return load_plan([*paths], year=2022, rules=load_rules(None), **options)


@pytest.fixture(scope="module")
def generated(tmp_path_factory) -> dict[str, Path]:
    """60 generated Sơn La lines in the official layout as .xlsx, .xls and .ods."""
    folder = tmp_path_factory.mktemp("formats")
    lines = generate_projects(seed=11, n=60)
    (xlsx,) = build_official(folder, lines, disbursed_key="disbursed_0630_dong")
    paths = {"xlsx": xlsx}
    if soffice() is not None:
        for fmt in ("xls", "ods"):
            converter().prefetch([(xlsx, fmt)])
            paths[fmt] = converter().convert(xlsx, fmt, folder / f"ke_hoach.{fmt}")
    return paths


@pytest.mark.skipif(soffice() is None, reason=SOFFICE_REASON)
@pytest.mark.parametrize("fmt", ["xls", "ods"])
def test_every_format_reads_to_the_same_plan_table(generated, fmt):
    expected = load([generated["xlsx"]])
    got = load([generated[fmt]])
    assert len(expected.plan) == 60
    pd.testing.assert_frame_equal(got.plan[COLUMNS], expected.plan[COLUMNS])
    assert [i.code for i in got.issues] == [i.code for i in expected.issues]
    assert got.sheets[0].columns == expected.sheets[0].columns


@pytest.mark.parametrize("encoding", ["tcvn3", "vni"])
def test_legacy_text_decodes_to_the_oracle_names(tmp_path, encoding):
    # T14: "Ninh B×nh" = "Ninh Bình", "B¶o Th¾ng" = "Bảo Thắng", "Mêng Kh¬ng" = "Mường Khương".
    names = [
        "Đường nội thị Ninh Bình",
        "Cầu Bảo Thắng",
        "Trường Mầm non Mường Khương",
        "Kè suối Bát Xát, TỈNH LÀO CAI",
    ]
    lines = [
        line(f"79000{i}", name, disbursed="10", investor="Ban QLDA huyện Mường Khương")
        for i, name in enumerate(names)
    ]
    (src,) = build_official(tmp_path, lines)
    transform_text(src, ENCODINGS[encoding])
    if encoding == "tcvn3":
        import zipfile

        stored = zipfile.ZipFile(src).read("xl/sharedStrings.xml").decode("utf-8")
        assert "Ninh B×nh" in stored and "B¶o Th¾ng" in stored
    loaded = load([src])
    assert loaded.sheets[0].legacy_encoding == encoding
    assert list(loaded.plan["project_name"]) == names
    assert set(loaded.plan["investor"]) == {"Ban QLDA huyện Mường Khương"}
    assert set(loaded.plan["capital_source"]) == {"NSDP_CAN_DOI"}


@pytest.mark.parametrize(
    ("typed", "dong"),
    [
        (" 17.410,437 ", 17_410_437_000),
        ("17.410,437", 17_410_437_000),
        ("1.234.567,5", 1_234_567_500_000),
        ("(1.234)", -1_234_000_000),
        ("-", 0),
        ("–", 0),
        ("", 0),
        ("17,410.437", 17_410_437_000),
    ],
)
def test_typed_disbursement_amounts(tmp_path, typed, dong):
    # The plan column holds vi-VN evidence, the disbursement column only the typed cell.
    lines = [
        line(
            "7900001",
            "Đường bản Co Mạ",
            plan="20.000",
            disbursed="0",
            cell_text={"disbursed_dong": typed, "plan_dong": "20.000,5"},
        )
    ]
    (src,) = build_table(tmp_path, lines, columns="flat", amounts="vi")
    plan = load([src]).plan
    assert plan["plan_dong"].tolist() == [20_000_500_000]
    assert plan["disbursed_dong"].tolist() == [dong]


def test_units_ty_dong_nghin_are_exact(tmp_path):
    lines = [line("7900001", "Đường bản Co Mạ", plan="17.410,437", disbursed="8.705,218")]
    for unit in ("ty", "dong", "nghin"):
        (src,) = build_table(tmp_path / unit, lines, columns="flat", unit=unit)
        loaded = load([src])
        assert loaded.sheets[0].unit == unit
        assert loaded.plan[["plan_dong", "disbursed_dong"]].values.tolist() == [
            [17_410_437_000, 8_705_218_000]
        ]


def test_page_headers_and_ordinal_rows_repeated_inside_the_table_are_not_lines(tmp_path):
    (built,) = build_table(
        tmp_path,
        [
            line("7900001", "Đường bản Co Mạ", disbursed="10"),
            line("7900002", "Đường bản Hụm", disbursed="900"),
        ],
        columns="flat",
        name="tmp.xlsx",
    )
    import openpyxl

    rows = [list(r) for r in openpyxl.load_workbook(built).active.iter_rows(values_only=True)]
    header, ordinals = rows[4], rows[5]
    rows = [*rows[:10], header, ordinals, *rows[10:]]  # a second page starts before row 11
    src = write_grid(tmp_path / "trang.xlsx", [GridSheet("Biểu 01", rows)], created=dt.date(2022, 6, 30))
    loaded = load([src])
    assert loaded.plan["project_code"].tolist() == ["7900001", "7900002"]
    assert loaded.sheets[0].row_classes.get("ordinal") == 2
    assert not [i for i in loaded.issues if i.code.startswith("AMOUNT")]


@pytest.mark.parametrize(
    ("label", "status"),
    [
        ("Dự án chuyển tiếp", "continuing"),
        ("Các dự án chuyển tiếp sang năm 2022", "continuing"),
        ("Dự án khởi công mới năm 2022", "new"),
        ("KCM", "new"),
        ("Dự án hoàn thành, bàn giao đưa vào sử dụng", "completed"),
        ("Các dự án dự kiến hoàn thành năm 2022", "completed"),
        ("Dự án đã quyết toán", "completed"),
        ("Dự án chuẩn bị đầu tư", "other"),
    ],
)
def test_codeless_status_group_rows_set_the_status(tmp_path, label, status):
    rows = [
        ["STT", "Tên dự án", "Mã dự án", "Kế hoạch vốn năm 2022", "Giải ngân đến 30/6/2022"],
        ["I", "Vốn cân đối ngân sách địa phương", None, 1000, 100],
        ["1", label, None, 1000, 100],
        ["1.1", "Đường bản Co Mạ", "7900001", 1000, 100],
    ]
    src = write_grid(tmp_path / "nhom.xlsx", [GridSheet("Biểu 01", rows)], created=dt.date(2022, 6, 30))
    plan = load([src], unit="trieu").plan
    assert plan["project_code"].tolist() == ["7900001"]
    assert plan["status"].tolist() == [status]


@pytest.mark.parametrize("name_header", ["Nguồn vốn", "Nội dung"])
def test_a_summary_sheet_by_source_adds_no_lines(tmp_path, name_header):
    (built,) = build_table(
        tmp_path,
        [
            line("7900001", "Đường bản Co Mạ", disbursed="10"),
            line("7900002", "Trường Mầm non Hua La", source="NSDP_XSKT", disbursed="900"),
        ],
        columns="flat",
        name="tmp.xlsx",
    )
    import openpyxl

    plan_rows = [list(r) for r in openpyxl.load_workbook(built).active.iter_rows(values_only=True)]
    summary = [
        ["BIỂU TỔNG HỢP THEO NGUỒN VỐN"],
        [None, None, None, "Đơn vị: triệu đồng"],
        ["STT", name_header, "Kế hoạch vốn năm 2022", "Giải ngân đến 30/6/2022"],
        [1, "Vốn cân đối ngân sách địa phương", 1000, 10],
        [2, "Xổ số kiến thiết", 1000, 900],
        [3, "Tiền sử dụng đất", 0, 0],
        [None, "Tổng cộng", 2000, 910],
    ]
    src = write_grid(
        tmp_path / "hai_bieu.xlsx",
        [GridSheet("Tổng hợp", summary), GridSheet("Biểu 01", plan_rows)],
        created=dt.date(2022, 6, 30),
    )
    loaded = load([src])
    assert loaded.plan["project_code"].tolist() == ["7900001", "7900002"]
    assert set(loaded.plan["sheet"]) == {"Biểu 01"}


def test_a_tcvn3_csv_saved_as_ansi_is_decoded(tmp_path):
    from disbursement.text import unicode_to_tcvn3
    from tests.fixtures_builder import build_csv

    names = ["Đường Mường Khương – Bảo Thắng", "Trường Mầm non Hua La"]
    (utf8,) = build_csv(
        tmp_path,
        [
            line("7900001", names[0], disbursed="10"),
            line("7900002", names[1], source="NSDP_XSKT", disbursed="900"),
        ],
    )
    src = tmp_path / "ansi.csv"
    src.write_bytes(unicode_to_tcvn3(utf8.read_text(encoding="utf-8-sig")).encode("cp1252"))
    loaded = load([src])
    assert loaded.sheets[0].legacy_encoding == "tcvn3"
    assert loaded.plan["project_name"].tolist() == names
    assert loaded.plan["capital_source"].tolist() == ["NSDP_CAN_DOI", "NSDP_XSKT"]
