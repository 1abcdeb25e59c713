"""render_outputs as a whole: same input → same bytes; a failure leaves nothing behind; timing."""

from __future__ import annotations

import datetime as dt
import time
import zipfile

import docx
import openpyxl
import pytest
from test_render_fixtures import make_large_result, make_result

import disbursement.render.appendix
import disbursement.render.chart
from disbursement.errors import OutputError
from disbursement.render import OUTPUT_NAMES, memo_date, render_outputs


def snapshot(folder):
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir())}


def test_writes_the_five_files(tmp_path):
    out = render_outputs(make_result(), tmp_path)
    assert {k: p.name for k, p in out.items()} == OUTPUT_NAMES
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(OUTPUT_NAMES.values())


def test_same_input_same_bytes(tmp_path):
    a = render_outputs(make_result(), tmp_path / "a")
    b = render_outputs(make_result(), tmp_path / "b")
    for key in OUTPUT_NAMES:
        assert a[key].read_bytes() == b[key].read_bytes(), key
    for key in ("docx", "xlsx"):
        with zipfile.ZipFile(a[key]) as z:
            assert {info.date_time for info in z.infolist()} == {(1980, 1, 1, 0, 0, 0)}


def test_document_properties_come_from_the_memo_date_not_the_clock(tmp_path):
    out = render_outputs(make_result(), tmp_path)
    props = docx.Document(str(out["docx"])).core_properties
    stamp = dt.datetime(2022, 7, 5, 8, 0)
    assert props.created.replace(tzinfo=None) == stamp
    assert props.modified.replace(tzinfo=None) == stamp
    assert props.author == "Sở Kế hoạch và Đầu tư"
    wb = openpyxl.load_workbook(out["xlsx"])
    assert wb.properties.created.date() == dt.date(2022, 7, 5)


def test_default_memo_date_is_five_days_after_as_of():
    assert memo_date(make_result()) == dt.date(2022, 7, 5)


@pytest.mark.parametrize("stage", ["chart", "appendix"])
def test_failure_mid_render_leaves_no_partial_or_stale_file(stage, tmp_path, monkeypatch):
    old = tmp_path / "out"
    render_outputs(make_result(), old, date=dt.date(2022, 7, 1))
    before = snapshot(old)

    def boom(*args, **kwargs):
        raise RuntimeError("disk full")

    if stage == "chart":
        monkeypatch.setattr(disbursement.render.chart, "render_chart", boom)
    else:
        monkeypatch.setattr(disbursement.render.appendix, "write_appendix", boom)
    with pytest.raises(RuntimeError, match="disk full"):
        render_outputs(make_result(), old)
    assert snapshot(old) == before  # previous complete set untouched, no temp files
    fresh = tmp_path / "fresh"
    with pytest.raises(RuntimeError):
        render_outputs(make_result(), fresh)
    assert not fresh.exists() or not any(fresh.iterdir())


def test_out_must_be_a_folder(tmp_path):
    target = tmp_path / "file.txt"
    target.write_text("x")
    with pytest.raises(OutputError, match="not a folder"):
        render_outputs(make_result(), target)


def test_unknown_language_is_refused(tmp_path):
    with pytest.raises(OutputError, match="language"):
        render_outputs(make_result(), tmp_path, lang="fr")
    assert not any(tmp_path.iterdir())


def test_thousand_line_proposal_renders_quickly(tmp_path):
    result = make_large_result(1000)
    start = time.perf_counter()
    out = render_outputs(result, tmp_path)
    elapsed = time.perf_counter() - start
    sheet = openpyxl.load_workbook(out["xlsx"], read_only=True).active
    assert sheet.max_row >= 1000 + 7
    assert elapsed < 30, elapsed
