"""Open report.html from file:// in headless Chromium: no console errors, the charts and tables are there."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from llmops.report import LineResult, write_report
from tests.support.sample_report import sample_experiment

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(
        not (CHROMIUM.exists() and CHROMEDRIVER.exists()),
        reason="needs /usr/bin/chromium and /usr/bin/chromedriver (apt-get install chromium chromium-driver)",
    ),
]


@pytest.fixture
def browser(tmp_path: Path) -> Iterator[object]:
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for argument in (
        "--headless",
        "--no-sandbox",
        "--disable-gpu",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        f"--user-data-dir={tmp_path / 'chromium-profile'}",
        "--window-size=1300,900",
    ):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    # An explicit driver path keeps Selenium Manager (which would go online) out of the way.
    driver = webdriver.Chrome(options=options, service=Service(executable_path=str(CHROMEDRIVER)))
    try:
        yield driver
    finally:
        driver.quit()


def test_report_opens_offline_with_charts_and_tables(browser, tmp_path: Path) -> None:
    from selenium.webdriver.common.by import By

    runs, evaluations = sample_experiment(variant_count=4, line_count=24)
    hostile = LineResult(
        0, {"url": "https://example.com/x"}, {"category": "<script>window.pwned=1</script>"}, None
    )
    runs = (replace(runs[0], lines=(hostile, *runs[0].lines[1:])), *runs[1:])
    report = write_report(
        "web_classification", "pr", runs, evaluations, {"accuracy": ">= 0.6"}, tmp_path / "out"
    )

    browser.get(report.html.as_uri())

    severe = [entry for entry in browser.get_log("browser") if entry["level"] in ("SEVERE", "WARNING")]
    assert severe == []
    assert browser.execute_script("return window.pwned === undefined") is True
    charts = browser.find_elements(By.CSS_SELECTOR, "svg.chart")
    assert [(c.get_attribute("data-eval-flow"), c.get_attribute("data-metric")) for c in charts] == [
        ("evaluation", "accuracy"),
        ("evaluation", "macro_f1"),
        ("evaluation_adv", "groundedness"),
    ]
    labels = [r.variant_label for r in runs]
    for chart in charts:
        rows = chart.find_elements(By.CSS_SELECTOR, "g.variant")
        assert [row.get_attribute("data-variant") for row in rows] == labels
        assert len(chart.find_elements(By.CSS_SELECTOR, "rect.bar")) == len(labels)
        assert len(chart.find_elements(By.CSS_SELECTOR, "circle.point")) == len(labels)
        assert chart.size["width"] > 300 and chart.size["height"] > 100  # laid out, not collapsed
    accuracy_chart = charts[0]
    assert len(accuracy_chart.find_elements(By.CSS_SELECTOR, "g.whisker")) == len(labels)
    assert len(charts[1].find_elements(By.CSS_SELECTOR, "g.whisker")) == 0  # macro_f1: aggregate only
    for table in ("failures", "gates", "metrics", "deltas", "usage", "worst"):
        assert browser.find_elements(By.CSS_SELECTOR, f"table.{table} tbody tr"), f"table.{table} has no rows"
    failures = browser.find_element(By.CSS_SELECTOR, "table.failures tbody tr").text
    assert "RateLimitError: 429 Too Many Requests after 3 retries" in failures
    assert "lower CONCURRENCY in llmops_config.json" in failures
    assert "<script>window.pwned=1</script>" in browser.find_element(By.ID, "worst-lines").text

    screenshot = tmp_path / "report.png"
    height = browser.execute_script("return document.documentElement.scrollHeight")
    browser.set_window_size(1300, min(int(height) + 40, 8000))
    assert browser.save_screenshot(str(screenshot))
    assert screenshot.stat().st_size > 10_000
