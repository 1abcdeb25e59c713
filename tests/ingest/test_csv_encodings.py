"""One CSV text saved in every encoding Vietnamese offices produce reads to the same plan.

UTF-8 with and without BOM, UTF-16 with either byte order (with a BOM, and LE without one),
tab or comma separated, cp1258 with tones as combining bytes (Excel "CSV" on Vietnamese
Windows), and TCVN3 / VNI text typed in a legacy font. Each file is built from the same text.
"""

from __future__ import annotations

import unicodedata

import pytest
from click.testing import CliRunner

from disbursement.cli import cli
from disbursement.config.rules import load_rules
from disbursement.ingest.load import load_plan
from disbursement.text import unicode_to_tcvn3, unicode_to_vni
from tests.conftest import line
from tests.fixtures_builder import build_csv

TONES = {"\u0300", "\u0301", "\u0303", "\u0309", "\u0323"}
COLUMNS = [
    "project_code",
    "project_name",
    "investor",
    "capital_source",
    "status",
    "plan_dong",
    "disbursed_dong",
]
LINES = [
    line(
        "7902001",
        "Đường Mường Chiên - Cà Nàng, huyện Quỳnh Nhai",
        disbursed="310,5",
        investor="Ban QLDA ĐTXD các công trình giao thông tỉnh",
    ),
    line(
        "7902002",
        "Trường Mầm non xã Chiềng Ơn, huyện Quỳnh Nhai",
        source="NSDP_XSKT",
        plan="2.400",
        disbursed="1.200",
        status="new",
        investor="UBND huyện Quỳnh Nhai",
    ),
    line(
        "7902003",
        "Kè chống sạt lở bờ suối Nậm Giôn đoạn qua bản Huổi Lếch",
        source="NSTW_TRONG_NUOC",
        plan="5.000",
        disbursed="2.499,999",
        investor="Ban QLDA ĐTXD các công trình nông nghiệp",
    ),
]


def cp1258_bytes(text: str) -> bytes:
    """cp1258 as Windows writes it: base letters precomposed (â ê ô ơ ư ă đ), tones combining."""
    out = []
    for ch in unicodedata.normalize("NFC", text):
        parts = unicodedata.normalize("NFD", ch)
        tone = "".join(c for c in parts if c in TONES)
        base = unicodedata.normalize("NFC", "".join(c for c in parts if c not in TONES))
        out.append(base + tone)
    return "".join(out).encode("cp1258")


def legacy_bytes(text: str, convert) -> bytes:
    return convert(text).encode("cp1252", errors="strict")


ENCODINGS = {
    "utf-8": lambda t: t.encode("utf-8"),
    "utf-8-bom": lambda t: t.encode("utf-8-sig"),
    "utf-16-le-bom": lambda t: t.encode("utf-16"),  # Python writes LE with a BOM
    "utf-16-be-bom": lambda t: b"\xfe\xff" + t.encode("utf-16-be"),
    "utf-16-le-no-bom": lambda t: t.encode("utf-16-le"),
    "cp1258-combining": cp1258_bytes,
    "tcvn3": lambda t: legacy_bytes(t, unicode_to_tcvn3),
    "vni": lambda t: legacy_bytes(t, unicode_to_vni),
}


@pytest.fixture(scope="module")
def source_text(tmp_path_factory) -> dict[str, str]:
    folder = tmp_path_factory.mktemp("csv")
    texts = {}
    for delimiter in (";", ",", "\t"):
        (path,) = build_csv(
            folder / repr(delimiter),
            LINES,
            delimiter=delimiter,
            amounts="vi" if delimiter != "," else "en",
            encoding="utf-8",
        )
        texts[delimiter] = path.read_text(encoding="utf-8")
    return texts


def load(path):
    return load_plan([path], year=2022, rules=load_rules(None))


@pytest.mark.parametrize("delimiter", [";", ",", "\t"], ids=["semicolon", "comma", "tab"])
@pytest.mark.parametrize("encoding", list(ENCODINGS))
def test_every_encoding_reads_the_same_plan(source_text, tmp_path, encoding, delimiter) -> None:
    text = source_text[delimiter]
    expected = load(_write(tmp_path / "utf8.csv", text.encode("utf-8"))).plan
    got = load(_write(tmp_path / "converted.csv", ENCODINGS[encoding](text)))
    assert len(expected) == 3
    assert got.plan[COLUMNS].to_dict("records") == expected[COLUMNS].to_dict("records")
    assert expected["project_name"].tolist()[0] == "Đường Mường Chiên - Cà Nàng, huyện Quỳnh Nhai"


def _write(path, data: bytes):
    path.write_bytes(data)
    return path


def test_cp1258_is_not_mistaken_for_tcvn3(tmp_path) -> None:
    text = (
        "STT;Tên dự án;Kế hoạch vốn năm 2022;Giải ngân đến 30/6/2022\r\n"
        "1;Trường Tiểu học Phiêng Luông;1.000;499\r\n"
    )
    path = _write(tmp_path / "x.csv", cp1258_bytes(text))
    sheet = load(path)
    assert sheet.plan["project_name"].tolist() == ["Trường Tiểu học Phiêng Luông"]


@pytest.mark.parametrize(
    "data",
    [
        b"\xff\xfe" + "STT\tTên\n".encode("utf-16-le")[:-1],  # odd length: broken UTF-16
        b"STT;T\x00n\x00;\x00\x00\x00\n1;a;b\n",  # NUL bytes in a file that is not UTF-16
        bytes(range(256)) * 4,
    ],
    ids=["broken-utf16", "nul-bytes", "binary"],
)
def test_undecodable_csv_is_one_error_line_never_internal_error(tmp_path, data) -> None:
    path = _write(tmp_path / "hong.csv", data)
    outcome = CliRunner().invoke(cli, ["review", str(path), "--round", "1", "--no-audit"])
    assert outcome.exit_code == 1, outcome.output
    assert "internal error" not in outcome.output
    assert outcome.output.strip().startswith("Error:") or "Error:" in outcome.output
