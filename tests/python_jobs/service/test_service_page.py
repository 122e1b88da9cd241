"""The page at `/` in a real browser (Debian's chromium, headless, through selenium): start a run from the form,
watch its bar reach 100%, open its segments table.

Without chromium this test is skipped with the reason, unless SEGMENTS_REQUIRE_BROWSER=1 (as on CI), where it
fails instead.
"""

from __future__ import annotations

import os

import pyarrow as pa
import pytest

from python_jobs.testing.browser import browser_missing, console_errors, headless_chromium
from python_jobs.testing.service import TEST_API_KEY, running_service
from python_jobs.warehouse.raw_tables import RAW_SCHEMA, RAW_TABLES

CATEGORY = "Desk Lamps"
TITLES = [
    "LED desk lamp with USB charging port",
    "Clamp desk lamp LED for drafting tables",
    "Banker's desk lamp, green glass shade",
    "Brass banker's lamp with pull chain",
    "Kids' desk lamp shaped like a rocket",
]


def test_a_run_started_from_the_page_reaches_100_and_shows_its_segments(
    duckdb_warehouse, tmp_path, monkeypatch
):
    missing = browser_missing()
    if missing:
        if os.environ.get("SEGMENTS_REQUIRE_BROWSER") == "1":
            pytest.fail(missing)
        pytest.skip(missing)
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    rows = [
        {
            "product_id": str(i),
            "title": t,
            "category": CATEGORY,
            "brand": "Acme",
            "price": 20.0,
            "description": t,
        }
        for i, t in enumerate(TITLES, start=1)
    ]
    with duckdb_warehouse.session() as session:
        session.replace_table(RAW_SCHEMA, "products", pa.Table.from_pylist(rows, RAW_TABLES["products"]))
    monkeypatch.setenv("SEGMENTS_LLM_ARCHIVE", str(tmp_path / "llm"))
    with running_service(duckdb_warehouse) as service, headless_chromium() as driver:
        # headless_chromium switches the network off (for the offline report); this page talks to loopback.
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": False, "latency": 0, "downloadThroughput": -1, "uploadThroughput": -1},
        )
        driver.get(service.base_url + "/")
        driver.find_element(By.ID, "api-key").send_keys(TEST_API_KEY)
        driver.find_element(By.ID, "use-key").click()
        wait = WebDriverWait(driver, 30)
        wait.until(lambda d: d.find_element(By.ID, "key-state").text == "ok")
        driver.find_element(By.ID, "category").send_keys(CATEGORY)
        driver.find_element(By.CSS_SELECTOR, "#start-form button[type=submit]").click()
        row = wait.until(lambda d: d.find_element(By.CSS_SELECTOR, "#runs tbody tr[data-stage=done]"))
        assert row.find_element(By.CSS_SELECTOR, ".percent").text == "100.0%"
        assert row.find_element(By.CSS_SELECTOR, "progress").get_attribute("value") == "100"
        row.find_element(By.CSS_SELECTOR, ".segments-link").click()
        wait.until(lambda d: d.find_element(By.ID, "segments").is_displayed())
        counts = [
            int(cell.text)
            for cell in driver.find_elements(By.CSS_SELECTOR, "#segments tbody tr td:nth-child(3)")
        ]
        assert sum(counts) == len(TITLES)
        assert console_errors(driver) == []
