"""Legacy Vietnamese text: TCVN3 / VNI-Windows ↔ Unicode, detection, folding (R-PARSE-1, T14)."""

from __future__ import annotations

import doctest
import re
import string
import unicodedata

import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from disbursement import text as encoding
from disbursement.text import (
    LOWER_LETTERS,
    UPPER_LETTERS,
    detect_legacy,
    fold,
    repair_text,
    tcvn3_to_unicode,
    unicode_to_tcvn3,
    unicode_to_vni,
    vni_to_unicode,
)

# Every letter, written out independently of the module (TCVN 5712:1993 VN3 as used by the
# ABC fonts; cross-checked with backupvietsoft/HRM ConvertTCVN.cs and khiemdoan/VBKey).
TCVN3_PAIRS = (
    "àµ á¸ ả¶ ã· ạ¹ ă¨ ằ» ắ¾ ẳ¼ ẵ½ ặÆ â© ầÇ ấÊ ẩÈ ẫÉ ậË đ® "
    "èÌ éÐ ẻÎ ẽÏ ẹÑ êª ềÒ ếÕ ểÓ ễÔ ệÖ ì× íÝ ỉØ ĩÜ ịÞ "
    "òß óã ỏá õâ ọä ô« ồå ốè ổæ ỗç ộé ơ¬ ờê ớí ởë ỡì ợî "
    "ùï úó ủñ ũò ụô ừõ ứø ửö ữ÷ ựù ỳú ýý ỷû ỹü ỵþ "
    "Ă¡ Â¢ Đ§ Ê£ Ô¤ Ơ¥ Ư¦"
)
TCVN3_EXPECTED = {pair[0]: pair[1] for pair in TCVN3_PAIRS.split()} | {"ư": "\xad"}

# VNI-Windows (cross-checked with duydev/vietnamese-conversion and khiemdoan/VBKey).
_VNI_LOWER_TEXT = (
    "aø aù aû aõ aï aê aè aé aú aü aë aâ aà aá aå aã aä ñ eø eù eû eõ eï eâ eà eá eå eã eä "
    "ì í æ ó ò oø où oû oõ oï oâ oà oá oå oã oä ô ôø ôù ôû ôõ ôï uø uù uû uõ uï "
    "ö öø öù öû öõ öï yø yù yû yõ î"
)
VNI_LOWER = _VNI_LOWER_TEXT.split()

VIETNAMESE_WORDS = [
    "Kế hoạch vốn năm 2022",
    "Giải ngân đến 30/6/2022",
    "Dự án chuyển tiếp",
    "Mường Khương",
    "Hoà Bình",
    "Hòa Bình",
    "Thuỷ lợi",
    "QUYẾT ĐỊNH",
    "TỔNG SỐ",
    "Ban QLDA ĐTXD các công trình giao thông",
    "Trường mầm non xã Chiềng Mung",
    "Khoá học",
    "Quỹ phát triển đất",
    "UBND tỉnh Sơn La",
]


# --- tables --------------------------------------------------------------------------------
def test_alphabet_has_134_letters():
    assert len(LOWER_LETTERS) == 67 == len(set(LOWER_LETTERS))
    assert len(UPPER_LETTERS) == 67 == len(set(UPPER_LETTERS))
    assert all(unicodedata.is_normalized("NFC", c) for c in LOWER_LETTERS + UPPER_LETTERS)


def test_tcvn3_table_pins_every_letter():
    assert len(TCVN3_EXPECTED) == 67 + 7
    for letter, code in TCVN3_EXPECTED.items():
        assert unicode_to_tcvn3(letter) == code, letter
        assert tcvn3_to_unicode(code) == letter, letter
    # 74 distinct codes: no two letters share one
    assert len(set(TCVN3_EXPECTED.values())) == 74


def test_tcvn3_capitals_without_a_code_use_the_vntimeh_form():
    for lower, upper in zip(LOWER_LETTERS, UPPER_LETTERS, strict=True):
        if upper in TCVN3_EXPECTED:
            continue
        assert unicode_to_tcvn3(upper) == TCVN3_EXPECTED[lower], upper


def test_vni_table_pins_every_letter():
    assert len(VNI_LOWER) == 67
    for lower, upper, code in zip(LOWER_LETTERS, UPPER_LETTERS, VNI_LOWER, strict=True):
        assert unicode_to_vni(lower) == code, lower
        assert unicode_to_vni(upper) == code.upper(), upper
        assert vni_to_unicode(code) == lower, code
        assert vni_to_unicode(code.upper()) == upper, code


@pytest.mark.parametrize(
    ("unicode_text", "vni"),
    [
        ("Hoà", "Hoaø"),
        ("Mường Khương", "Möôøng Khöông"),
        ("Việt Nam", "Vieät Nam"),
        ("Đoàn", "Ñoaøn"),
        ("Nguyễn", "Nguyeãn"),
        ("Tiến độ", "Tieán ñoä"),
        ("HỒ CHÍ MINH", "HOÀ CHÍ MINH"),
    ],
)
def test_vni_examples(unicode_text, vni):
    assert unicode_to_vni(unicode_text) == vni
    assert vni_to_unicode(vni) == unicode_text


def test_vni_is_lenient_about_the_case_of_the_diacritic():
    assert vni_to_unicode("HOAø") == "HOÀ"
    assert vni_to_unicode("hoaØ") == "hoà"


# --- T14 and TCVN3 details -----------------------------------------------------------------
@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("Ninh B×nh", "Ninh Bình"),
        ("B¶o Th¾ng", "Bảo Thắng"),
        ("Mêng Kh¬ng", "Mường Khương"),  # as published: the soft hyphen (ư) was lost
        ("M\xadêng Kh\xad¬ng", "Mường Khương"),  # as stored in the workbook
        ("B¸t X¸t", "Bát Xát"),
    ],
)
def test_t14_tcvn3_examples(legacy, expected):
    assert tcvn3_to_unicode(legacy) == expected
    assert detect_legacy([legacy]) == "tcvn3"
    assert repair_text(legacy) == expected
    assert repair_text(legacy, "tcvn3") == expected


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("n\xadíc", "nước"),
        ("níc", "nước"),
        ("®îc", "được"),
        ("r\xadîu", "rượu"),
        ("r", "r"),
        ("v\xadên", "vườn"),
        ("vên", "vờn"),  # "ơn" is a real rhyme: a lost ư cannot be told apart here
    ],
)
def test_tcvn3_restores_a_lost_u_only_where_unambiguous(legacy, expected):
    assert tcvn3_to_unicode(legacy) == expected


@pytest.mark.parametrize(
    ("legacy", "expected"),
    [
        ("TæNG Sè", "TỔNG SỐ"),
        ("KÕ HO¹CH N¡M 2022", "KẾ HOẠCH NĂM 2022"),
        ("QUYÕT §ÞNH", "QUYẾT ĐỊNH"),
        ("Dù ¸n TR¦êNG MÇM NON", "Dự án TRƯỜNG MẦM NON"),  # word by word in mixed text
        ("Tæng sè", "Tổng số"),
        ("UBND tØnh", "UBND tỉnh"),
    ],
)
def test_tcvn3_vntimeh_capitals(legacy, expected):
    assert tcvn3_to_unicode(legacy) == expected


def test_unicode_to_tcvn3_writes_the_vntimeh_form_that_reads_back():
    assert unicode_to_tcvn3("TỔNG SỐ") == "TæNG Sè"
    assert tcvn3_to_unicode(unicode_to_tcvn3("TỔNG SỐ")) == "TỔNG SỐ"
    assert unicode_to_tcvn3("Đơn vị: triệu đồng") == "§¬n vÞ: triÖu ®ång"


def test_conversions_leave_ascii_and_other_characters_alone():
    text = "Project 42 (phase 2): 1,234.5 - done; €"
    assert tcvn3_to_unicode(text) == text
    assert vni_to_unicode(text) == text
    assert unicode_to_tcvn3(text) == text
    assert unicode_to_vni(text) == text


# --- detection -----------------------------------------------------------------------------
def test_detect_tcvn3_sheet():
    sheet = ["STT", "Danh môc dù ¸n", "KÕ ho¹ch vèn n¨m 2022", "Thuû lîi", "Tæng sè", 1000]
    assert detect_legacy(sheet) == "tcvn3"


def test_detect_vni_sheet():
    sheet = ["STT", "Danh muïc döï aùn", "Keá hoaïch voán naêm 2022", "Giaûi ngaân", 12.5]
    assert detect_legacy(sheet) == "vni"


@pytest.mark.parametrize(
    "texts",
    [
        VIETNAMESE_WORDS,
        [unicodedata.normalize("NFD", t) for t in VIETNAMESE_WORDS],
        ["Total", "Project name", "Plan 2022", "Brand®", "«quoted»", "5µm", "2×3 m"],
        ["1.234.567", "12,5", "-", "", "45,2%", "#REF!"],
        [None, 12, 3.5],
        [],
        ["Thuû lîi"],  # "uû" is also VNI "uủ": too weak alone
    ],
)
def test_detect_nothing(texts):
    assert detect_legacy(texts) is None


def test_unicode_majority_wins_over_one_pasted_legacy_cell():
    assert detect_legacy([*VIETNAMESE_WORDS, "Ninh B×nh"]) is None
    # the pasted cell is still repaired on its own evidence
    assert repair_text("Ninh B×nh") == "Ninh Bình"


def test_mixed_sheet_with_unicode_title_is_still_legacy():
    sheet = ["BIỂU TỔNG HỢP", "Danh môc dù ¸n", "Ninh B×nh", "B¶o Th¾ng", "Tæng sè"]
    assert detect_legacy(sheet) == "tcvn3"


# --- repair_text and fold ------------------------------------------------------------------
def test_repair_text_normalises_nfd_to_nfc():
    nfd = unicodedata.normalize("NFD", "Kế hoạch vốn")
    assert repair_text(nfd) == "Kế hoạch vốn"
    assert unicodedata.is_normalized("NFC", repair_text(nfd))


def test_repair_text_does_not_convert_unicode_cells_of_a_legacy_sheet():
    assert repair_text("Mường Khương", "tcvn3") == "Mường Khương"
    assert repair_text("Việt Nam", "vni") == "Việt Nam"
    assert repair_text("Hoaø Bình", "vni") == "Hoà Bình"


@pytest.mark.parametrize("value", [None, 12, 3.5, b"bytes", ["list"]])
def test_repair_text_returns_non_strings_unchanged(value):
    assert repair_text(value) == value
    assert repair_text(value, "tcvn3") == value


@pytest.mark.parametrize(
    ("text", "key"),
    [
        ("  Kế hoạch   vốn ĐÃ giao ", "ke hoach von da giao"),
        ("ĐVT:\u00a0Triệu đồng", "dvt: trieu dong"),
        (unicodedata.normalize("NFD", "Tỷ lệ giải ngân"), "ty le giai ngan"),
        ("TMĐT\n(tổng số)", "tmdt (tong so)"),
        ("", ""),
    ],
)
def test_fold(text, key):
    assert fold(text) == key


def test_docstring_examples():
    assert doctest.testmod(encoding).failed == 0


# --- properties ----------------------------------------------------------------------------
_LOST_U = re.compile(r"(?<!ư)[ơờớởỡợ](?:ng|c|u)")
_PLAIN = string.digits + " .,-()/"


def _round_trips_case_fold(text: str) -> bool:
    return not _LOST_U.search(text.lower())


@settings(max_examples=150)
@given(st.text(alphabet=LOWER_LETTERS + string.ascii_lowercase + _PLAIN, max_size=40))
def test_tcvn3_round_trip_lower_case(text):
    assume(_round_trips_case_fold(text))
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text


@settings(max_examples=150)
@given(
    st.text(alphabet=string.ascii_uppercase, min_size=2, max_size=4),
    st.text(alphabet=UPPER_LETTERS + string.ascii_uppercase + _PLAIN, max_size=40),
)
def test_tcvn3_round_trip_capitals(capitals, text):
    # .VnTimeH text is recognised by its ASCII capitals; without two of them it reads lower
    text = f"{capitals} {text}"
    assume(_round_trips_case_fold(text))
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)) == text


@settings(max_examples=150)
@given(st.text(alphabet=LOWER_LETTERS + UPPER_LETTERS + string.ascii_letters + _PLAIN, max_size=40))
def test_tcvn3_round_trip_mixed_case_keeps_the_letters(text):
    assume(_round_trips_case_fold(text))
    assert tcvn3_to_unicode(unicode_to_tcvn3(text)).lower() == text.lower()


@settings(max_examples=150)
@given(st.text(alphabet=LOWER_LETTERS + UPPER_LETTERS + string.ascii_letters + _PLAIN, max_size=40))
def test_vni_round_trip(text):
    assert vni_to_unicode(unicode_to_vni(text)) == text


_VIETNAMESE_TEXT = st.text(
    alphabet=LOWER_LETTERS + UPPER_LETTERS + string.ascii_letters + string.digits + " .,:;%()-/",
    max_size=30,
)


@settings(max_examples=150)
@given(st.lists(_VIETNAMESE_TEXT, max_size=8))
def test_unicode_vietnamese_is_never_detected_as_legacy(texts):
    assert detect_legacy(texts) is None
    nfd = [unicodedata.normalize("NFD", t) for t in texts]
    assert detect_legacy(nfd) is None


@settings(max_examples=150)
@given(_VIETNAMESE_TEXT)
def test_repair_text_leaves_unicode_vietnamese_intact(text):
    assert repair_text(text) == unicodedata.normalize("NFC", text)


@settings(max_examples=150)
@given(st.text(), st.sampled_from([None, "tcvn3", "vni"]))
def test_never_raises(text, legacy):
    assert isinstance(repair_text(text, legacy), str)
    assert isinstance(fold(text), str)
    assert detect_legacy([text]) in (None, "tcvn3", "vni")
    assert isinstance(tcvn3_to_unicode(text), str)
    assert isinstance(vni_to_unicode(text), str)


_CELL_TEXT = st.one_of(
    st.none(),
    st.sampled_from(["", "  ", "Dự án", " Dự án ", "Ðuờng", "Tr\xadêng", "ABC-12", "1.1", "\u200b"]),
    st.text(alphabet=st.sampled_from("aAđĐưƯ µ¸¶\xad\u0301 .-12"), max_size=8),
)


@settings(max_examples=300, deadline=None)
@given(values=st.lists(_CELL_TEXT, max_size=12), legacy=st.sampled_from([None, "tcvn3", "vni"]))
def test_a_text_column_is_each_cell_repaired(values, legacy):
    """A column of texts (the usual case, one pass per distinct text) and one with a number
    among them (cell by cell) give every cell as `repair_text` reads it."""
    from disbursement.ingest.rows import text_column

    expected = [repair_text(v.strip(), legacy) if v else "" for v in values]
    assert text_column(values, legacy) == expected
    assert text_column([*values, 2.0], legacy) == [*expected, "2"]
