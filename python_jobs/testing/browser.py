"""A real headless browser for the report's tests: Debian's chromium driven by selenium through chromedriver.

`open_offline(path)` opens a local HTML file with the browser's network switched off, and `inspect_charts`
tells, for each `.chart` element of the page, whether Plotly drew something in it. Tests decide what to do
when the browser is missing (see `browser_missing`).
"""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")

# For each `.chart` element: its chart id, and how many marks Plotly drew in its SVG (bars
# are paths in a trace's points, a heatmap is an image), or inside a canvas for WebGL charts.
CHART_MARKS_SCRIPT = """
return Array.from(document.querySelectorAll('.chart')).map(function (chart) {
  var plot = chart.querySelector('.js-plotly-plot');
  var svg = chart.querySelector('svg.main-svg');
  var marks = svg ? chart.querySelectorAll('svg.main-svg .trace .point path, svg.main-svg .hm image').length : 0;
  var canvases = Array.from(chart.querySelectorAll('canvas')).filter(function (c) {
    return c.width > 0 && c.height > 0;
  }).length;
  return {id: plot ? plot.id : null, svg: !!svg, marks: marks, canvases: canvases};
});
"""


@dataclass(frozen=True)
class ChartState:
    chart_id: str | None
    has_svg: bool
    marks: int
    canvases: int

    @property
    def rendered(self) -> bool:
        return (self.has_svg and self.marks > 0) or self.canvases > 0


def browser_missing() -> str | None:
    """Why the browser test cannot run here, or None when chromium, chromedriver and selenium are all there."""
    for binary in (CHROMIUM, CHROMEDRIVER):
        if not binary.exists() and shutil.which(binary.name) is None:
            return f"{binary} is not installed (Debian: apt-get install chromium chromium-driver)"
    try:
        import selenium  # noqa: F401
    except ImportError:
        return "selenium is not installed (pip install -e '.[dev]')"
    return None


@contextmanager
def headless_chromium(width: int = 1400, height: int = 1000) -> Iterator[Any]:
    """A headless chromium with its console log kept and its network switched off, closed afterwards."""
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM if CHROMIUM.exists() else shutil.which("chromium"))
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver_path = (
        CHROMEDRIVER if CHROMEDRIVER.exists() else Path(shutil.which("chromedriver") or CHROMEDRIVER)
    )
    driver = webdriver.Chrome(service=Service(str(driver_path)), options=options)
    try:
        driver.execute_cdp_cmd("Network.enable", {})
        driver.execute_cdp_cmd(
            "Network.emulateNetworkConditions",
            {"offline": True, "latency": 0, "downloadThroughput": 0, "uploadThroughput": 0},
        )
        yield driver
    finally:
        driver.quit()


def inspect_charts(driver: Any) -> list[ChartState]:
    return [
        ChartState(state["id"], state["svg"], state["marks"], state["canvases"])
        for state in driver.execute_script(CHART_MARKS_SCRIPT)
    ]


def console_errors(driver: Any) -> list[str]:
    """The console's error lines since the page opened."""
    return [entry["message"] for entry in driver.get_log("browser") if entry["level"] == "SEVERE"]


def fetched_resources(driver: Any) -> list[str]:
    """Every resource the page asked for after the document itself (a self-contained page asks for none)."""
    return driver.execute_script("return performance.getEntriesByType('resource').map(e => e.name);")
