"""Organisation settings: issuer by plan year, strict keys naming file and key path."""

from __future__ import annotations

import pytest

from disbursement.config.settings import DEFAULT_SETTINGS, load_settings
from disbursement.errors import SettingsInvalid


@pytest.mark.parametrize("year", [2020, 2022, 2024])
def test_up_to_2024_the_memo_comes_from_so_ke_hoach_va_dau_tu(year):
    s = load_settings(year=year)
    assert (s.issuer.name.vi, s.issuer.code) == ("Sở Kế hoạch và Đầu tư", "SKHĐT")
    assert s.issuer.parent.vi == "UBND TỈNH SƠN LA"
    assert s.legal_bases[0].vi == "Luật Đầu tư công ngày 13 tháng 6 năm 2019"
    assert s.legal_bases[1].vi.startswith("Nghị định số 40/2020/NĐ-CP")


def test_2022_adds_the_plan_year_bases():
    bases = [b.vi for b in load_settings(year=2022).legal_bases]
    assert bases[2].startswith("Nghị quyết số 47/NQ-HĐND")
    assert bases[3].startswith("Quyết định số 79/QĐ-UBND ngày 12/01/2022")
    assert len(load_settings(year=2023).legal_bases) == 2


@pytest.mark.parametrize("year", [2025, 2026])
def test_from_2025_the_memo_comes_from_so_tai_chinh(year):
    s = load_settings(year=year)
    assert (s.issuer.name.vi, s.issuer.code) == ("Sở Tài chính", "STC")
    assert "58/2024/QH15" in s.legal_bases[0].vi and "90/2025/QH15" in s.legal_bases[0].vi
    assert s.legal_bases[1].vi.startswith("Nghị định số 85/2025/NĐ-CP")
    assert all(r.vi != "Sở Tài chính" for r in s.issuer.recipients)


def test_for_lang_gives_plain_strings_with_english_fallback():
    s = load_settings(year=2022)
    vi, en = s.for_lang("vi"), s.for_lang("en")
    assert vi["issuer"]["name"] == "Sở Kế hoạch và Đầu tư"
    assert en["issuer"]["name"] == "Department of Planning and Investment"
    assert en["place"] == "Sơn La"  # a plain string serves every language
    assert vi["signer"] == {"title": "Giám đốc", "deputy": True, "name": "…"}


def write(tmp_path, text: str):
    path = tmp_path / "org.yaml"
    path.write_text(DEFAULT_SETTINGS.read_text(encoding="utf-8") + text, encoding="utf-8")
    return path


def test_unknown_top_level_key_names_file_and_key(tmp_path):
    path = write(tmp_path, "\nprovinc: Sơn La\n")
    with pytest.raises(SettingsInvalid, match=r"org\.yaml: provinc: unknown key"):
        load_settings(path, year=2022)


def test_unknown_nested_key_names_the_key_path(tmp_path):
    text = DEFAULT_SETTINGS.read_text(encoding="utf-8").replace(
        '      name: "…"                     # full name', '      nmae: "…"  # typo', 1
    )
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsInvalid, match=r"issuers\[0\]\.signer\.nmae: unknown key"):
        load_settings(path, year=2022)


def test_bad_values_and_missing_file(tmp_path):
    path = write(tmp_path, "\nmemo_days_after_as_of: five\n")
    with pytest.raises(SettingsInvalid, match="memo_days_after_as_of: expected a whole number"):
        load_settings(path, year=2022)
    with pytest.raises(SettingsInvalid, match="settings file not found"):
        load_settings(tmp_path / "none.yaml", year=2022)
    bad = tmp_path / "bad.yaml"
    bad.write_text("province: [unclosed\n", encoding="utf-8")
    with pytest.raises(SettingsInvalid, match="not valid YAML"):
        load_settings(bad, year=2022)


def test_a_year_no_issuer_covers_is_an_error(tmp_path):
    text = DEFAULT_SETTINGS.read_text(encoding="utf-8").replace(
        "  - to_year: 2024", "  - from_year: 2020\n    to_year: 2024", 1
    )
    path = tmp_path / "org.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(SettingsInvalid, match="no issuer covers plan year 2019"):
        load_settings(path, year=2019)
