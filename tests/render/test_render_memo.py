"""The Tờ trình as python-docx reads it: every Decree 30 block, the figures, the wording rules."""

from __future__ import annotations

import dataclasses
import datetime as dt
import re

import docx
import jinja2
import pytest
from docx.oxml.ns import qn
from docx.shared import Mm, Pt
from test_render_fixtures import ROUND, make_result

from disbursement.config.settings import load_settings
from disbursement.errors import OutputError
from disbursement.render import reason_codes, reason_text, render_outputs
from disbursement.render.env import date_parts


def trieu(dong: int) -> str:
    from disbursement.money import format_trieu

    return format_trieu(dong)


@pytest.fixture(scope="module")
def result():
    return make_result()


@pytest.fixture(scope="module")
def outputs(result, tmp_path_factory):
    return render_outputs(result, tmp_path_factory.mktemp("memo"))


@pytest.fixture(scope="module")
def doc(outputs):
    return docx.Document(str(outputs["docx"]))


def texts(doc) -> list[str]:
    return [p.text for p in doc.paragraphs]


def para(doc, start: str):
    hits = [p for p in doc.paragraphs if p.text.startswith(start)]
    assert hits, f"no paragraph starts with {start!r}"
    return hits[0]


def cell_paragraphs(doc, table: int, col: int):
    return [p for p in doc.tables[table].rows[0].cells[col].paragraphs if p.text]


def is_bold(p) -> bool:
    return all(r.bold for r in p.runs if r.text)


def is_italic(p) -> bool:
    return all(r.italic for r in p.runs if r.text)


def test_page_is_a4_portrait_with_decree_30_margins(doc):
    section = doc.sections[0]
    assert abs(section.page_width - Mm(210)) < Mm(0.5)
    assert abs(section.page_height - Mm(297)) < Mm(0.5)
    assert Mm(20) <= section.top_margin <= Mm(25)
    assert Mm(20) <= section.bottom_margin <= Mm(25)
    assert Mm(30) <= section.left_margin <= Mm(35)
    assert Mm(15) <= section.right_margin <= Mm(20)


def test_font_is_times_new_roman_13_to_14(doc):
    normal = doc.styles["Normal"]
    assert normal.font.name == "Times New Roman"
    assert Pt(13) <= normal.font.size <= Pt(14)
    fonts = normal.element.rPr.find(qn("w:rFonts"))
    assert fonts.get(qn("w:hAnsi")) == "Times New Roman"
    body = [p for p in doc.paragraphs if p.text and not p.text.startswith("Biểu đồ")]
    for p in body:
        for run in p.runs:
            assert run.font.size is None or Pt(13) <= run.font.size <= Pt(14), p.text


def test_page_numbers_from_page_two_centred_at_top(doc):
    section = doc.sections[0]
    assert section.different_first_page_header_footer
    assert not section.first_page_header.paragraphs[0].text
    header = section.header.paragraphs[0]
    assert header.alignment == 1  # centre
    instr = header._p.findall(".//" + qn("w:instrText"))
    assert [i.text.strip() for i in instr] == ["PAGE"]


def test_header_block_is_a_borderless_two_column_table(doc):
    table = doc.tables[0]
    borders = table._tbl.tblPr.find(qn("w:tblBorders"))
    assert {b.get(qn("w:val")) for b in borders} == {"nil"}
    left, right = cell_paragraphs(doc, 0, 0), cell_paragraphs(doc, 0, 1)
    assert [p.text for p in left] == ["UBND TỈNH SƠN LA", "SỞ KẾ HOẠCH VÀ ĐẦU TƯ", "Số: …/TTr-SKHĐT"]
    assert is_bold(left[1]) and not is_bold(left[0])
    assert [p.text for p in right] == [
        "CỘNG HÒA XÃ HỘI CHỦ NGHĨA VIỆT NAM",
        "Độc lập - Tự do - Hạnh phúc",
        "Sơn La, ngày 05 tháng 7 năm 2022",
    ]
    assert is_bold(right[0]) and is_bold(right[1]) and is_italic(right[2])
    # a short rule (bottom border) under the issuer's name and under the motto
    cells = doc.tables[0].rows[0].cells
    for cell in cells:
        assert cell._tc.findall(".//" + qn("w:pBdr"))


def test_type_abstract_and_addressee(doc):
    title = para(doc, "TỜ TRÌNH")
    assert title.text == "TỜ TRÌNH" and is_bold(title) and title.alignment == 1
    abstract = para(doc, "Về việc")
    assert abstract.text == "Về việc điều chỉnh kế hoạch vốn đầu tư công năm 2022 (đợt 1)"
    assert is_bold(abstract) and abstract.alignment == 1
    assert "Kính gửi: Ủy ban nhân dân tỉnh Sơn La." in texts(doc)


def test_can_cu_lines_are_italic_and_punctuated(doc):
    lines = [p for p in doc.paragraphs if p.text.startswith("Căn cứ")]
    assert [p.text.split(" ngày")[0].split(" năm")[0] for p in lines][:2] == [
        "Căn cứ Luật Đầu tư công",
        "Căn cứ Nghị định số 40/2020/NĐ-CP",
    ]
    assert len(lines) == 4
    assert all(is_italic(p) for p in lines)
    assert all(p.text.endswith(";") for p in lines[:-1])
    assert lines[-1].text.endswith(".") and not lines[-1].text.endswith(";.")
    assert "79/QĐ-UBND ngày 12/01/2022" in lines[-1].text


def test_situation_cites_totals_and_rates_per_source(doc, result):
    body = "\n".join(texts(doc))
    summary = result.summary
    assert f"là {trieu(summary['plan_dong'])} triệu đồng" in body
    assert f"đạt {trieu(summary['disbursed_dong'])} triệu đồng, bằng 47,40% kế hoạch" in body
    assert "- Vốn xổ số kiến thiết: kế hoạch 8.300,000 triệu đồng, giải ngân 1.965,433" in body
    assert "5 dự án có tỷ lệ giải ngân dưới 50% kế hoạch" in body


def test_criteria_and_priority_order(doc):
    body = "\n".join(texts(doc))
    assert "Tiêu chí rà soát (Quyết định số 79/QĐ-UBND ngày 12/01/2022" in body
    assert "dưới 50% kế hoạch vốn năm 2022 được giao" in body
    # the list's legal basis is not repeated when its title already names the law
    assert "3. Thứ tự ưu tiên bố trí vốn theo Điều 51 Luật Đầu tư công số 39/2019/QH14, áp dụng" in body
    assert "áp dụng cho vốn điều chỉnh tăng:" in body
    tiers = [t for t in texts(doc) if t.startswith("- Dự án") or t.startswith("- Vốn đối ứng")]
    assert tiers[-1] == "- Dự án khởi công mới đủ điều kiện."
    assert all(t.endswith(";") for t in tiers[:-1])


def test_standard_sentence_per_capital_source_has_exact_figures(doc, result):
    body = "\n".join(texts(doc))
    proposal = result.proposal
    for number, pool in enumerate(proposal.pools, start=1):
        dec = [ln for ln in proposal.decreases if ln.capital_source == pool.capital_source]
        inc = [ln for ln in proposal.increases if ln.capital_source == pool.capital_source]
        sentence = (
            f"{number}. {pool.capital_source_label}: điều chỉnh giảm "
            f"{trieu(sum(x.amount_dong for x in dec))} triệu đồng của {len(dec)} dự án để "
            f"điều chỉnh tăng {trieu(sum(x.amount_dong for x in inc))} triệu đồng cho "
            f"{len(inc)} dự án"
        )
        assert sentence in body
    assert (
        "Tổng số: điều chỉnh giảm 35.024,255 triệu đồng của 5 dự án để điều chỉnh tăng "
        "34.789,688 triệu đồng cho 5 dự án" in body
    )
    assert "(Chi tiết tại Phụ lục kèm theo)" in body


def test_unallocated_amount_is_returned_to_the_reserve(doc):
    body = "\n".join(texts(doc))
    assert "số vốn 234,567 triệu đồng chưa phân bổ được, đề nghị thu hồi về dự phòng ngân sách tỉnh" in body


def test_recommendation_closing_recipients_and_signature(doc):
    body = texts(doc)
    assert any("trình Hội đồng nhân dân tỉnh quyết định" in t for t in body)
    assert "Sở Kế hoạch và Đầu tư kính trình UBND tỉnh xem xét, quyết định./." in body
    left, right = cell_paragraphs(doc, 1, 0), cell_paragraphs(doc, 1, 1)
    assert left[0].text == "Nơi nhận:" and is_bold(left[0]) and is_italic(left[0])
    assert left[1].text == "- Như trên;"
    assert left[-1].text == "- Lưu: VT, TH."
    assert all(p.text.endswith(";") for p in left[1:-1])
    assert [p.text for p in right] == ["KT. GIÁM ĐỐC", "PHÓ GIÁM ĐỐC", "…"]
    assert all(is_bold(p) for p in right)


def test_chart_is_embedded(doc, outputs):
    assert len(doc.inline_shapes) == 1
    html = outputs["html"].read_text(encoding="utf-8")
    assert 'src="data:image/png;base64,iVBOR' in html
    assert "](bieu_do.png)" in outputs["md"].read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (dt.date(2022, 7, 5), "ngày 05 tháng 7 năm 2022"),
        (dt.date(2022, 2, 3), "ngày 03 tháng 02 năm 2022"),
        (dt.date(2022, 1, 12), "ngày 12 tháng 01 năm 2022"),
        (dt.date(2022, 11, 9), "ngày 09 tháng 11 năm 2022"),
        (dt.date(2022, 3, 10), "ngày 10 tháng 3 năm 2022"),
    ],
)
def test_date_has_leading_zeros_for_day_below_10_and_months_1_2(day, expected):
    parts = date_parts(day)
    assert f"ngày {parts['day']} tháng {parts['month']} năm {parts['year']}" == expected


def test_date_argument_overrides_the_default(result, tmp_path):
    out = render_outputs(result, tmp_path, date=dt.date(2022, 2, 8))
    right = cell_paragraphs(docx.Document(str(out["docx"])), 0, 1)
    assert right[-1].text == "Sơn La, ngày 08 tháng 02 năm 2022"


def test_head_signs_without_kt(result, tmp_path):
    settings = load_settings(year=2022)
    signer = dataclasses.replace(settings.issuer.signer, deputy=False, name="Nguyễn Văn Nam")
    settings = dataclasses.replace(settings, issuer=dataclasses.replace(settings.issuer, signer=signer))
    out = render_outputs(result, tmp_path, settings=settings)
    right = cell_paragraphs(docx.Document(str(out["docx"])), 1, 1)
    assert [p.text for p in right] == ["GIÁM ĐỐC", "Nguyễn Văn Nam"]


def test_plan_year_2025_is_issued_by_so_tai_chinh(tmp_path):
    info = dataclasses.replace(ROUND, year=2025, as_of=dt.date(2025, 6, 30))
    result = dataclasses.replace(make_result(), round=info)
    out = render_outputs(result, tmp_path)
    doc = docx.Document(str(out["docx"]))
    left = [p.text for p in cell_paragraphs(doc, 0, 0)]
    assert left[1:] == ["SỞ TÀI CHÍNH", "Số: …/TTr-STC"]
    bases = [p.text for p in doc.paragraphs if p.text.startswith("Căn cứ")]
    assert bases[0].startswith("Căn cứ Luật Đầu tư công số 58/2024/QH15")
    assert "90/2025/QH15" in bases[0]
    assert bases[1].startswith("Căn cứ Nghị định số 85/2025/NĐ-CP")
    assert bases[-1].endswith(".")
    assert "Sở Tài chính kính trình UBND tỉnh xem xét, quyết định./." in texts(doc)


def test_english_memo(result, tmp_path):
    out = render_outputs(result, tmp_path, lang="en")
    doc = docx.Document(str(out["docx"]))
    body = "\n".join(texts(doc))
    right = [p.text for p in cell_paragraphs(doc, 0, 1)]
    assert right == [
        "SOCIALIST REPUBLIC OF VIET NAM",
        "Independence - Freedom - Happiness",
        "Sơn La, 05 July 2022",
    ]
    assert "SUBMISSION" in body
    assert "decrease VND 15,749.563 million from 2 projects to increase VND 15,749.563" in body
    assert "Pursuant to" in body


def test_html_is_autoescaped(tmp_path):
    result = make_result()
    evil = "<script>alert(1)</script> rà soát"
    result = dataclasses.replace(result, round=dataclasses.replace(ROUND, description=evil))
    out = render_outputs(result, tmp_path)
    html = out["html"].read_text(encoding="utf-8")
    assert "<script>" not in html
    assert "&lt;script&gt;alert(1)&lt;/script&gt; rà soát" in html
    md = out["md"].read_text(encoding="utf-8")
    assert "<script>" not in md


def test_missing_value_in_a_user_template_fails_loudly(result, tmp_path):
    user = tmp_path / "templates" / "vi"
    user.mkdir(parents=True)
    (user / "to_trinh.j2").write_text('{{ p("Số: " ~ s.so_hieu) }}', encoding="utf-8")
    out = tmp_path / "out"
    with pytest.raises(jinja2.UndefinedError, match="so_hieu"):
        render_outputs(result, out, templates_dir=tmp_path / "templates")
    assert not out.exists() or not any(out.iterdir())


def test_user_template_folder_is_searched_first(result, tmp_path):
    user = tmp_path / "templates" / "vi"
    user.mkdir(parents=True)
    (user / "to_trinh.j2").write_text(
        '{% set title = "T" %}{% set chart_alt = "c" %}'
        '{{ p("Bản tùy chỉnh của " ~ s.issuer.name, bold=True) }}',
        encoding="utf-8",
    )
    out = render_outputs(result, tmp_path / "out", templates_dir=tmp_path / "templates")
    assert texts(docx.Document(str(out["docx"]))) == ["Bản tùy chỉnh của Sở Kế hoạch và Đầu tư"]
    # the appendix still uses the built-in wording
    assert out["xlsx"].exists()


def test_no_proposal_still_renders_the_memo(tmp_path):
    result = dataclasses.replace(make_result(), proposal=None)
    out = render_outputs(result, tmp_path)
    body = "\n".join(texts(docx.Document(str(out["docx"]))))
    assert "không có dự án đủ điều kiện điều chỉnh giảm" in body
    assert "Thứ tự ưu tiên" not in body
    assert out["xlsx"].exists()


def test_priority_without_tiers_is_cited_by_title(tmp_path):
    policy = {"priority": {"id": "x", "title": "Thứ tự A", "legal_basis": "Điều 51"}}
    out = render_outputs(make_result(policy=policy), tmp_path)
    body = "\n".join(texts(docx.Document(str(out["docx"]))))
    assert "3. Thứ tự A (Điều 51), áp dụng cho vốn điều chỉnh tăng." in body


def test_reason_text_is_the_template_wording():
    assert reason_text("UNABLE_TO_DISBURSE") == ("Không có khả năng giải ngân hết kế hoạch vốn trong năm")
    assert reason_text("PAY_COMPLETED_VOLUME", "en") == "To pay for completed work volume"
    assert reason_text("RATE_BELOW_THRESHOLD", rate="12,34", threshold=50, as_of="30/6/2022") == (
        "Tỷ lệ giải ngân đến 30/6/2022 đạt 12,34%, dưới 50% kế hoạch"
    )
    with pytest.raises(OutputError, match="NO_SUCH_CODE"):
        reason_text("NO_SUCH_CODE")
    with pytest.raises(OutputError, match="language"):
        reason_text("UNABLE_TO_DISBURSE", "fr")


def test_every_engine_reason_code_has_wording():
    codes = set(reason_codes())
    engine = {"RATE_BELOW_THRESHOLD", "UNABLE_TO_DISBURSE", "SLOW_DISBURSEMENT",
              "FORECAST_SHORTFALL", "PAY_COMPLETED_VOLUME", "ADDITIONAL_NEED",
              "MANUAL_ADJUSTMENT"}  # fmt: skip
    try:
        from disbursement.reallocate import proposal as reallocate
        from disbursement.review import rounds as review
    except ImportError:  # pragma: no cover - stages built in parallel
        pass
    else:
        engine |= set(review.REASON_BY_CRITERION.values()) | set(reallocate.REASON_TEXT_VI)
    assert engine <= codes
    for code in codes:
        for lang in ("vi", "en"):
            text = reason_text(code, lang)
            assert text and not re.search(r"\s{2}", text)
