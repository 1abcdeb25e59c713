"""report.html: every register line a table row, totals that match the run, escaped data, no
URL of any kind, one language per page, same input → same bytes."""

from __future__ import annotations

import base64
import dataclasses
import html
import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from disbursement.config.issues import lookup
from disbursement.money import format_trieu
from disbursement.pipeline import run_round
from disbursement.render.env import environment
from disbursement.render.outputs import write_outputs
from disbursement.render.register import district, group_totals, register_lines
from disbursement.render.report import REPORT_NAME, rate_text, write_report
from disbursement.render.words import issue_detail, localised

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
ROUNDS = {1: "son_la_2022_den_30-06.xlsx", 2: "son_la_2022_den_30-09.xlsx"}
HOSTILE = "<script>alert(1)</script>"


class Page(HTMLParser):
    """The parts of the page the tests read: register rows, tables by id, cards, URLs."""

    def __init__(self, text: str) -> None:
        super().__init__(convert_charrefs=True)
        self.rows: list[dict] = []  # register rows: attrs and cells [(text, data-sort)]
        self.urls: list[str] = []
        self.cards: dict[str, str] = {}
        self.scripts = 0
        self.images: list[str] = []
        self._in_register = False
        self._cell: list | None = None
        self._card: str | None = None
        self.feed(text)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for key in ("src", "href", "action", "srcset", "poster", "data"):
            if key in a:
                self.urls.append(a[key] or "")
        if tag == "script":
            self.scripts += 1
        if tag == "img":
            self.images.append(a.get("src") or "")
        if tag == "tbody" and a.get("id") == "register-rows":
            self._in_register = True
        elif self._in_register and tag == "tr":
            self.rows.append({"attrs": a, "cells": []})
        elif self._in_register and tag == "td":
            self._cell = ["", a.get("data-sort")]
        if tag == "div" and (a.get("id") or "").startswith("card-"):
            self._card = a["id"][5:]
            self.cards[self._card] = ""

    def handle_endtag(self, tag):
        if tag == "tbody":
            self._in_register = False
        elif tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append(tuple(self._cell))
            self._cell = None
        elif tag == "div":
            self._card = None

    def handle_data(self, data):
        if self._cell is not None:
            self._cell[0] += data
        if self._card is not None:
            self.cards[self._card] += data


@pytest.fixture(scope="module", params=[1, 2])
def written(request, tmp_path_factory):
    number = request.param
    result = run_round([str(SAMPLES / ROUNDS[number])], number)
    out = tmp_path_factory.mktemp(f"report{number}")
    paths = write_outputs(result, out)
    text = paths[REPORT_NAME].read_text(encoding="utf-8")
    # the result as the page shows it (capital sources by the rules' official labels)
    return localised(result, "vi"), out, text, Page(text)


def test_write_outputs_writes_the_report(written):
    _, out, text, _ = written
    assert (out / REPORT_NAME).is_file()
    assert text.startswith("<!DOCTYPE html>")


def test_every_register_line_is_a_row_of_the_register_table(written):
    result, _, _, page = written
    lines = register_lines(result)
    assert len(lines) == len(result.plan) == 150
    assert len(page.rows) == 150
    for line, row in zip(lines, page.rows, strict=True):
        cells = row["cells"]
        assert len(cells) == 15
        assert row["attrs"]["data-source"] == line.capital_source
        assert row["attrs"]["data-state"] == line.state
        assert cells[1][0] == line.project_code
        assert cells[2][0] == line.project_name
        assert cells[5][0] == line.capital_source_label
        assert cells[6] == (format_trieu(line.plan_dong), str(line.plan_dong))
        assert cells[7] == (format_trieu(line.disbursed_dong), str(line.disbursed_dong))
        assert cells[9][0] == rate_text(line.rate_hundredths)
        assert cells[14][0] == f"{Path(line.file).name} / {line.sheet} / dòng {line.row}"


def test_states_and_flags_agree_with_the_run(written):
    result, _, _, page = written
    states = [r["attrs"]["data-state"] for r in page.rows]
    s = result.summary
    assert states.count("flagged") == s["flagged"] == len(result.flags)
    assert states.count("not_applicable") == s["not_applicable"]
    assert states.count("passed") == s["in_scope"] - s["flagged"]


def test_a_flagged_rate_never_reads_at_or_above_the_threshold(written):
    result, _, _, page = written
    threshold = result.round.threshold_pct
    flagged = [r["cells"] for r in page.rows if r["attrs"]["data-state"] == "flagged"]
    assert flagged
    for cells in flagged:
        text, hundredths = cells[9]
        assert re.fullmatch(r"\d+,\d\d %", text)
        assert int(hundredths) < threshold * 100
        assert text == f"{int(hundredths) // 100},{int(hundredths) % 100:02d} %"


def test_truncation_not_rounding():
    assert rate_text(4999) == "49,99 %"
    assert rate_text(123456) == "1.234,56 %"
    assert rate_text(-5) == "-0,05 %"
    assert rate_text(None) == ""
    assert rate_text(123456, "en") == "1,234.56 %"


def test_cards_and_totals_match_the_run(written):
    result, _, _, page = written
    s = result.summary
    assert page.cards["lines"] == "150"
    assert page.cards["flagged"] == str(s["flagged"])
    assert page.cards["in-scope"] == str(s["in_scope"])
    assert page.cards["not-applicable"] == str(s["not_applicable"])
    assert page.cards["plan"] == format_trieu(s["plan_dong"])
    assert page.cards["disbursed"] == format_trieu(s["disbursed_dong"])
    assert page.cards["rate"] == s["rate_pct"] + " %"
    recalled = sum(x.amount_dong for x in result.proposal.decreases)
    allocated = sum(x.amount_dong for x in result.proposal.increases)
    assert page.cards["recalled"] == format_trieu(recalled)
    assert page.cards["allocated"] == format_trieu(allocated)
    assert sum(int(r["cells"][6][1]) for r in page.rows) == s["plan_dong"]
    changes = [int(r["cells"][13][1]) for r in page.rows if r["cells"][13][1] is not None]
    assert -sum(c for c in changes if c < 0) == recalled
    assert sum(c for c in changes if c > 0) == allocated


def test_group_tables_are_the_register_groups(written):
    result, _, text, _ = written
    lines = register_lines(result)
    for key in (lambda x: x.investor, district):
        for g in group_totals(lines, key, "(không ghi)"):
            assert (
                f'<tr><td>{html.escape(g.name, quote=False)}</td><td class="n">{g.lines}</td>'
                f'<td class="n">{format_trieu(g.plan_dong)}</td>'
            ) in text
    total = (
        f'<tfoot><tr><td>TỔNG SỐ</td><td class="n">150</td>'
        f'<td class="n">{format_trieu(result.summary["plan_dong"])}</td>'
    )
    assert text.count(total) == 2
    for entry in result.summary["by_capital_source"]:
        assert f'<tr><td>{entry["label"]}</td><td class="n">{entry["lines"]}</td>' in text


def test_proposal_lines_and_pools(written):
    result, _, text, _ = written
    for x in result.proposal.decreases + result.proposal.increases:
        assert html.escape(x.project_name, quote=False) in text
        assert f'<td class="n">{format_trieu(x.amount_dong)}</td>' in text
    recalled = sum(p.recalled_dong for p in result.proposal.pools)
    assert f'<td>TỔNG SỐ</td><td></td><td class="n">{format_trieu(recalled)}</td>' in text


def test_issues_are_located_with_the_registry_text(written):
    result, _, text, _ = written
    assert result.issues
    for i in result.issues:
        detail = issue_detail(i, "vi")  # the engine's English message is not on the vi page
        assert (
            f"<td>{i.code}</td><td>{html.escape(lookup(i.code).text('vi'), quote=False)}</td>"
            f"<td>{html.escape(detail, quote=False)}</td><td>{Path(i.file).name}</td>"
            f"<td>{html.escape(i.sheet or '', quote=False)}</td>"
            f'<td class="n">{"" if i.row is None else i.row}</td>'
        ) in text


def test_the_chart_is_the_png_inline(written):
    _, out, _, page = written
    assert len(page.images) == 1
    prefix = "data:image/png;base64,"
    assert page.images[0].startswith(prefix)
    assert base64.b64decode(page.images[0][len(prefix) :]) == (out / "bieu_do.png").read_bytes()


def test_no_url_of_any_kind(written):
    _, _, text, page = written
    assert "http://" not in text and "https://" not in text
    assert page.urls
    assert all(u.startswith(("#", "data:")) for u in page.urls), page.urls
    assert not re.search(r"""(src|href)\s*=\s*["']?//""", text)
    assert not re.search(r"url\(|@import", text)  # no CSS fetch either
    assert (
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "img-src data:; style-src 'unsafe-inline'; script-src 'unsafe-inline'\">"
    ) in text


def test_same_input_same_bytes(written, tmp_path):
    result, out, _, _ = written
    env = environment()
    again = write_report(result, tmp_path / "a.html", env=env)
    assert again.read_bytes() == (out / REPORT_NAME).read_bytes()
    assert write_report(result, tmp_path / "b.html", env=env).read_bytes() == again.read_bytes()


def test_a_hostile_name_is_text_not_markup(tmp_path):
    result = run_round([str(SAMPLES / ROUNDS[1])], 1)
    result.plan.loc[result.plan.index[0], "project_name"] = HOSTILE
    result.plan.loc[result.plan.index[1], "investor"] = '"><img src=x onerror=alert(1)>'
    first = result.issues[0]
    result.issues[0] = dataclasses.replace(first, message=HOSTILE, params=None)  # message shown
    for lang in ("vi", "en"):  # the English page shows the issue's message too
        text = write_report(result, tmp_path / REPORT_NAME, env=environment(), lang=lang).read_text("utf-8")
        assert HOSTILE not in text
        assert "<img src=x" not in text
        assert text.count("&lt;script&gt;alert(1)&lt;/script&gt;") == (2 if lang == "en" else 1)
        page = Page(text)
        assert page.rows[0]["cells"][2][0] == HOSTILE  # shown as the text it is
        assert page.scripts == 1  # ours
        assert all(u.startswith(("#", "data:")) for u in page.urls)


def test_no_proposal_no_chart_but_a_report(tmp_path):
    result = run_round([str(SAMPLES / ROUNDS[1])], 1, propose=False)
    assert result.proposal is None
    paths = write_outputs(result, tmp_path)
    text = paths[REPORT_NAME].read_text("utf-8")
    page = Page(text)
    assert len(page.rows) == 150
    assert page.images == []
    assert "recalled" not in page.cards
    assert "Đợt rà soát này không có đề xuất điều chỉnh kế hoạch vốn." in text


ENGLISH = (
    "Flagged",
    "Capital source",
    "Plan",
    "Disbursed",
    "lines shown",
    "Summary",
    "Register",
    "Investor",
    "Search",
    "Proposed",
    "Threshold",
    "Passed",
    "Issue",
)
VIETNAMESE = (
    "Kế hoạch",
    "Giải ngân",
    "giải ngân",
    "Nguồn vốn",
    "Bị gắn cờ",
    "Chủ đầu tư",
    "Tổng",
    "TỔNG SỐ",
    "Đạt",
    "dòng",
    "Tìm kiếm",
    "Ngưỡng",
)


def _words_only(text: str, result) -> str:
    """The page without the data it shows (names, labels, codes, messages, rule texts)."""
    data = set()
    for x in register_lines(result):
        data |= {
            x.project_code,
            x.project_name,
            x.investor,
            x.location,
            x.capital_source_label,
            x.capital_source,
            district(x),
            Path(x.file).name,
            x.sheet,
        }
    for e in result.summary["by_capital_source"]:
        data.add(e["label"])
    for x in result.proposal.decreases + result.proposal.increases if result.proposal else ():
        data |= {x.project_name, x.investor or "", x.capital_source_label}
    for p in result.proposal.pools if result.proposal else ():
        data |= {p.pool, p.capital_source_label}
    for i in result.issues:
        data |= {i.message, i.code, i.sheet or ""}
    data |= {result.round.name, result.round.description, result.round.legal_basis}
    text = re.sub(r"<(script|style)\b.*?</\1>", "", text, flags=re.S)
    text = re.sub(r'data:image/png;base64,[^"]+', "", text)
    text = html.unescape(re.sub(r"<[^>]+>", "\n", text))
    for value in sorted((d for d in data if d), key=len, reverse=True):
        text = text.replace(value, "")
    return text


@pytest.mark.parametrize("lang, foreign", [("vi", ENGLISH), ("en", VIETNAMESE)])
def test_one_language_per_page(lang, foreign, tmp_path):
    result = localised(run_round([str(SAMPLES / ROUNDS[1])], 1), lang)  # as write_outputs does
    text = write_report(result, tmp_path / REPORT_NAME, env=environment(), lang=lang).read_text("utf-8")
    assert f'<html lang="{lang}">' in text
    words = _words_only(text, result)
    found = [w for w in foreign if re.search(rf"(?<!\w){re.escape(w)}(?!\w)", words)]
    assert found == [], found
    own = ENGLISH if lang == "en" else VIETNAMESE
    assert sum(w in words for w in own) >= len(own) - 2  # the page is in its own language


def test_english_page_counter_and_states(tmp_path):
    result = localised(run_round([str(SAMPLES / ROUNDS[2])], 2), "en")
    text = write_report(result, tmp_path / REPORT_NAME, env=environment(), lang="en").read_text("utf-8")
    assert 'data-format="{n} of {m} lines shown"' in text
    assert ">150 of 150 lines shown<" in text
    page = Page(text)
    flagged = [r for r in page.rows if r["attrs"]["data-state"] == "flagged"]
    assert flagged and all(r["cells"][11][0] == "Flagged" for r in flagged)
    # English notation, as the English memo and chart write it: 2,062,480.000 million VND.
    s = result.summary
    assert page.cards["plan"] == format_trieu(s["plan_dong"]).translate(str.maketrans(".,", ",."))
    assert page.cards["plan"] == "2,062,480.000"
    line = register_lines(result)[1]
    assert page.rows[1]["cells"][9][0] == rate_text(line.rate_hundredths).replace(",", ".")


def test_filters_offer_each_source_and_state_once(written):
    result, _, text, _ = written
    select = re.search(r'<select id="filter-source">(.*?)</select>', text, re.S).group(1)
    options = re.findall(r'<option value="([^"]*)">([^<]*)</option>', select)
    labels = {}
    for x in register_lines(result):
        labels.setdefault(x.capital_source, x.capital_source_label)
    assert options == [("", "Tất cả"), *labels.items()]
    assert len(options) == 5
    select = re.search(r'<select id="filter-state">(.*?)</select>', text, re.S).group(1)
    assert [v for v, _ in re.findall(r'<option value="([^"]*)">([^<]*)</option>', select)] == [
        "",
        "flagged",
        "passed",
        "out_of_scope",
        "not_applicable",
    ]
