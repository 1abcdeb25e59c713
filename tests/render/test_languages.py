"""Language is a property of the run: vi outputs hold no English sentence, en no Vietnamese.

Every text cell and comment of every xlsx, the memo's paragraphs and tables (docx, html, md)
report.html and the terminal report of the sample rounds 1–3 are scanned with a word list, after the
data itself is taken out (project names, investors, places, sheet and file names as the
workbook wrote them): what is left is the engine's own wording.
"""

from __future__ import annotations

import html
import re
from pathlib import Path

import openpyxl
import pytest
from docx import Document

from disbursement.pipeline import run_round
from disbursement.render.outputs import write_outputs
from disbursement.render.terminal import terminal_report

SAMPLES = Path(__file__).resolve().parents[2] / "sample_data"
ROUNDS = {1: "son_la_2022_den_30-06.xlsx", 2: "son_la_2022_den_30-09.xlsx", 3: "son_la_2022_den_30-09.xlsx"}

# Words of English wording that Vietnamese text never contains.
ENGLISH = re.compile(
    r"\b(the|and|of|with|lines?|flagged|plan|disbursed|recalled|capital|"
    r"source|project|round|rate|threshold|reason|nothing|expected|unit|"
    r"million|issues?|sheet|row|column|recall|pool|allocated|note)\b",
    re.I,
)
# Vietnamese words of the engine's wording (the data is removed before the scan).
VIETNAMESE = re.compile(
    r"(kế hoạch|giải ngân|nguồn vốn|gắn cờ|triệu đồng|đợt|tổng|dòng|"
    r"chủ đầu tư|tỷ lệ|điều chỉnh|lý do|thu hồi|ghi nhận|chưa|dự án|"
    r"vốn|ngưỡng|số liệu|trang tính|cảnh báo|lỗi)",
    re.I,
)
# Codes and names that are the same in both languages.
NEUTRAL = re.compile(
    r"[A-Z][A-Z0-9]*(?:[-_][A-Z0-9]+)+|[\w.-]+\.(?:xlsx|xls|csv|ods|png|sqlite)"
    r"|TTr-\w+|ODA|TMĐT|KBNN"
)


def _data_strings(result) -> list[str]:
    plan = result.plan
    values: set[str] = set()
    for column in ("project_name", "investor", "location", "sheet"):
        if column in plan:
            values |= {str(v) for v in plan[column].dropna().unique()}
    values |= {Path(p).name for p in result.inputs}
    values |= {part.strip() for v in list(values) for part in str(v).split(",")}
    return sorted((v for v in values if len(v) > 2), key=len, reverse=True)


def _without_data(text: str, data: list[str]) -> str:
    for value in data:
        if value in text:
            text = text.replace(value, " ")
    return NEUTRAL.sub(" ", text)


def _texts(out: Path) -> list[tuple[str, str]]:
    """(where, text) of every text the officer reads in the output folder."""
    found = []
    for path in sorted(out.glob("*.xlsx")):
        book = openpyxl.load_workbook(path)
        copy = ".annotated." in path.name  # the officer's own cells: only our comments count
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    if isinstance(cell.value, str) and not copy and not cell.value.startswith("="):
                        found.append((f"{path.name}!{sheet.title}!{cell.coordinate}", cell.value))
                    if cell.comment is not None:
                        found.append(
                            (
                                f"{path.name}!{sheet.title}!{cell.coordinate} comment",
                                cell.comment.text.replace("— disbursement —", ""),
                            )
                        )
    memo = Document(str(out / "to_trinh.docx"))
    found += [(f"to_trinh.docx ¶{i}", p.text) for i, p in enumerate(memo.paragraphs)]
    for t, table in enumerate(memo.tables):
        for cell in (c for row in table.rows for c in row.cells):
            found += [(f"to_trinh.docx table {t}", p.text) for p in cell.paragraphs]
    found += [("to_trinh.md", line) for line in (out / "to_trinh.md").read_text().splitlines()]
    found += [("flags.csv", line) for line in (out / "flags.csv").read_text().splitlines()[:1]]
    page = re.sub(r"<(script|style)\b.*?</\1>", "", (out / "report.html").read_text(), flags=re.S)
    found += [("report.html", html.unescape(text)) for text in re.split(r"<[^>]*>", page) if text.strip()]
    return found


@pytest.fixture(
    scope="module",
    params=[(n, lang) for n in (1, 2, 3) for lang in ("vi", "en")],
    ids=lambda p: f"round{p[0]}-{p[1]}",
)
def outputs(request, tmp_path_factory):
    number, lang = request.param
    result = run_round([str(SAMPLES / ROUNDS[number])], number)
    out = tmp_path_factory.mktemp(f"r{number}{lang}")
    write_outputs(result, out, lang=lang)
    texts = _texts(out) + [("terminal", line) for line in terminal_report(result, lang).splitlines()]
    return lang, texts, _data_strings(result)


def test_outputs_speak_only_the_run_language(outputs):
    lang, texts, data = outputs
    other = ENGLISH if lang == "vi" else VIETNAMESE
    wrong = []
    for where, text in texts:
        left = _without_data(text, data)
        if other.search(left):
            wrong.append(f"{where}: {text!r}")
    assert not wrong, "\n".join(wrong[:20])


def test_the_scan_finds_the_other_language():
    """The word lists catch what they are meant to catch (a scan that cannot fail is no test)."""
    assert ENGLISH.search("nothing recalled (nothing_to_recall; basis expected)")
    assert ENGLISH.search("Project lines read: 150")
    assert VIETNAMESE.search("Kế hoạch vốn") and VIETNAMESE.search("chưa phân bổ")
    assert not VIETNAMESE.search("Local budget balance capital: plan VND 838,160.000 million")
    assert not ENGLISH.search(_without_data("RECALL-DROPPED son_la_2022_den_30-06.xlsx", []))


def test_a_result_is_named_in_a_language_once():
    """The writers each ask for the localised result; the second ask costs nothing."""
    from disbursement.render.words import localised

    result = run_round([str(SAMPLES / ROUNDS[1])], 1)
    english = localised(result, "en")
    assert localised(english, "en") is english and english.named_in == "en"
    assert result.named_in is None  # the reviewed result itself is never changed
    assert localised(english, "vi").named_in == "vi"
