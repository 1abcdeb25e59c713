"""report.html in a real browser (headless Debian Chromium through Selenium): every register
row is there, the headers sort numerically both ways, the filters and the search hide rows and
the counter says how many are shown, and the page fetches nothing.

Skipped with one line when chromium / chromedriver are missing; a failure under CI=true
(tests/needs.py)."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from disbursement.pipeline import run_round
from disbursement.render.outputs import write_outputs
from disbursement.render.register import register_lines
from disbursement.render.report import REPORT_NAME
from tests.needs import need_chromium

SAMPLE = Path(__file__).resolve().parents[2] / "sample_data" / "son_la_2022_den_30-06.xlsx"
ROWS = "#register-rows tr"
VISIBLE_ROWS = """return Array.from(document.querySelectorAll('#register-rows tr'))
    .filter(r => r.style.display !== 'none')"""


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    result = run_round([str(SAMPLE)], 1)
    out = tmp_path_factory.mktemp("browser")
    return result, write_outputs(result, out)[REPORT_NAME]


@pytest.fixture(scope="module")
def browser():
    chromium, chromedriver = need_chromium()
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for arg in (
        "--headless=new",
        "--no-sandbox",
        "--disable-dev-shm-usage",
        "--disable-background-networking",
        "--disable-gpu",
        "--window-size=1400,1000",
    ):
        options.add_argument(arg)
    driver = webdriver.Chrome(service=Service(chromedriver), options=options)
    driver.set_page_load_timeout(60)
    try:
        yield driver
    finally:
        driver.quit()


@pytest.fixture
def page(browser, report):
    browser.get(report[1].as_uri())
    return browser


def _column(driver, index: int) -> list[str | None]:
    return driver.execute_script(
        "return Array.from(document.querySelectorAll('#register-rows tr'))"
        ".map(r => r.cells[arguments[0]].getAttribute('data-sort'))",
        index,
    )


def _visible(driver) -> list[tuple[str, str, str, str]]:
    """(source, state, code, name) of each row shown."""
    return driver.execute_script(
        VISIBLE_ROWS + ".map(r => [r.dataset.source, r.dataset.state,"
        " r.cells[1].textContent, r.cells[2].textContent])"
    )


def _counter(driver) -> str:
    from selenium.webdriver.common.by import By

    return driver.find_element(By.ID, "counter").text


def test_every_register_row_is_in_the_page(page, report):
    from selenium.webdriver.common.by import By

    result, _ = report
    assert len(page.find_elements(By.CSS_SELECTOR, ROWS)) == 150 == len(register_lines(result))
    assert _counter(page) == "Đang hiển thị 150 / 150 dòng"


def test_plan_header_sorts_numerically_then_descending(page, report):
    from selenium.webdriver.common.by import By

    result, _ = report
    plans = [x.plan_dong for x in register_lines(result)]
    assert _column(page, 6) == [str(p) for p in plans]  # workbook order to start
    assert plans != sorted(plans)
    header = page.find_element(By.ID, "th-plan")
    header.click()
    ascending = [int(v) for v in _column(page, 6)]
    assert ascending == sorted(plans)
    assert header.get_attribute("aria-sort") == "ascending"
    # Numeric, not text order: text order would put "10…" before "9…".
    assert sorted(map(str, plans)) != [str(v) for v in ascending]
    header.click()
    assert [int(v) for v in _column(page, 6)] == sorted(plans, reverse=True)
    assert header.get_attribute("aria-sort") == "descending"
    # The first column restores the workbook order.
    page.find_elements(By.CSS_SELECTOR, "#register thead th")[0].click()
    assert _column(page, 6) == [str(p) for p in plans]


def test_rate_sort_puts_the_undefined_rates_first(page, report):
    from selenium.webdriver.common.by import By

    page.find_elements(By.CSS_SELECTOR, "#register thead th")[9].click()
    rates = _column(page, 9)
    undefined = sum(x.rate_hundredths is None for x in register_lines(report[0]))
    assert undefined == 2
    assert rates[:undefined] == [None] * undefined
    numbers = [int(v) for v in rates[undefined:]]
    assert numbers == sorted(numbers)


def test_capital_source_filter_shows_only_that_source(page, report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import Select

    lines = register_lines(report[0])
    counts = Counter(x.capital_source for x in lines)
    chosen = "NSDP_XSKT"
    Select(page.find_element(By.ID, "filter-source")).select_by_value(chosen)
    visible = _visible(page)
    assert len(visible) == counts[chosen] == 22
    assert {v[0] for v in visible} == {chosen}
    assert _counter(page) == f"Đang hiển thị {counts[chosen]} / 150 dòng"
    # With the state filter too: both must hold.
    Select(page.find_element(By.ID, "filter-state")).select_by_value("flagged")
    both = [x for x in lines if x.capital_source == chosen and x.state == "flagged"]
    assert sorted(v[3] for v in _visible(page)) == sorted(x.project_name for x in both)
    assert _counter(page) == f"Đang hiển thị {len(both)} / 150 dòng"
    Select(page.find_element(By.ID, "filter-source")).select_by_value("")
    Select(page.find_element(By.ID, "filter-state")).select_by_value("")
    assert len(_visible(page)) == 150


def test_search_finds_text_with_or_without_diacritics(page, report):
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    lines = register_lines(report[0])
    box = page.find_element(By.ID, "filter-search")
    box.send_keys("Sông Mã")
    expected = [
        x
        for x in lines
        if "sông mã" in " ".join((x.project_code, x.project_name, x.investor, x.location)).lower()
    ]
    assert 0 < len(expected) < 150
    WebDriverWait(page, 5).until(lambda d: len(_visible(d)) < 150)
    assert len(_visible(page)) == len(expected)
    assert _counter(page) == f"Đang hiển thị {len(expected)} / 150 dòng"
    box.clear()
    box.send_keys("song ma")  # typed without diacritics finds the same lines
    WebDriverWait(page, 5).until(lambda d: len(_visible(d)) == len(expected))
    box.clear()
    code = lines[40].project_code
    box.send_keys(code)
    WebDriverWait(page, 5).until(lambda d: all(v[2] == code for v in _visible(d)))
    assert [v[3] for v in _visible(page)] == [x.project_name for x in lines if x.project_code == code]


def test_the_page_fetches_nothing(page):
    assert page.execute_script("return performance.getEntriesByType('resource').length") == 0
    assert page.execute_script("return document.images.length") == 1
    assert page.execute_script("return document.images[0].complete && document.images[0].naturalWidth > 0")
