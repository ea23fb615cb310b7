"""report.html in a real browser: headless Chromium loads the page of a two-dataset run, and
the page's own self-test (``#selftest``, reports/html_assets.py) sorts the leaderboard by a
column both ways, counts the images that loaded and measures the page against the window;
this test reads the result from the dumped DOM and checks it independently, then saves
screenshots at a laptop's and a phone's size.

Skipped, with the reason, where no Chromium is installed (Debian: ``apt-get install
chromium``); ``SUPERTML_REQUIRE_BROWSER=1`` makes that a failure instead. CI does not
install a browser (README, What a run writes).
"""
from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from html import unescape
from pathlib import Path

import pytest
from PIL import Image

from benchmarks.cli import main

BROWSERS = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")
BROWSER = next((path for path in map(shutil.which, BROWSERS) if path), None)
NO_BROWSER = ("no headless Chromium on PATH (chromium, chromium-browser or google-chrome); "
              "`apt-get install chromium` runs this test")

pytestmark = pytest.mark.sklearn

SUITE = """
name = "html-browser"
description = "iris and wine, three random forests (the core install): a leaderboard to sort"
base_seed = 0

[[datasets]]
name = "iris"
repeats = 2

[[datasets]]
name = "wine"
repeats = 2

[[models]]
name = "random-forest"
label = "forest"
params = { n_estimators = 20 }

[[models]]
name = "random-forest"
label = "stump-forest"
params = { n_estimators = 5, max_depth = 1 }

[[models]]
name = "random-forest"
label = "shallow-forest"
params = { n_estimators = 5, max_depth = 2 }
"""


@pytest.fixture(scope="module")
def browser() -> str:
    if BROWSER is None:
        if os.environ.get("SUPERTML_REQUIRE_BROWSER"):
            pytest.fail(f"SUPERTML_REQUIRE_BROWSER is set but there is {NO_BROWSER}")
        pytest.skip(NO_BROWSER)
    return BROWSER


@pytest.fixture(scope="module")
def page(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("html")
    (root / "suite.toml").write_text(SUITE)
    out = root / "run"
    assert main(["run", "--suite", str(root / "suite.toml"), "--quiet", "--out", str(out)]) == 0
    return out / "report.html"


def _chromium(browser: str, tmp_path: Path, *args: str) -> str:
    """Headless Chromium with its own profile; its stdout (the DOM for --dump-dom)."""
    cmd = [browser, "--headless=new", "--disable-gpu", "--no-sandbox", "--no-first-run", "--hide-scrollbars",
           f"--user-data-dir={tmp_path / 'profile'}", "--virtual-time-budget=5000", *args]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr[-2000:]
    return res.stdout


def _selftest(browser: str, tmp_path: Path, page: Path, size: str) -> dict:
    dom = _chromium(browser, tmp_path, f"--window-size={size}", "--dump-dom", page.as_uri() + "#selftest")
    found = re.search(r'<pre id="selftest">(.*?)</pre>', dom, flags=re.S)
    assert found, "the page's self-test did not run (script blocked or failed?)"
    return json.loads(unescape(found.group(1)))


def test_leaderboard_sorts_and_every_image_loads(browser, page, tmp_path):
    result = _selftest(browser, tmp_path, page, "1280,900")
    assert "mean rank" in result["headers"] and result["column"] == "Elo"  # the leaderboard, not another table
    values = [float(v) for v in result["before"]]
    assert len(values) == 3 and len(set(values)) > 1  # something to sort
    assert [float(v) for v in result["ascending"]] == sorted(values)
    assert [float(v) for v in result["descending"]] == sorted(values, reverse=True)
    assert (result["aria_ascending"], result["aria_descending"]) == ("ascending", "descending")
    plots = re.findall(r"!\[[^\]]*\]\(plots/", page.with_name("report.md").read_text())
    assert result["images"] == len(plots) > 0 and result["broken"] == []
    assert result["tables"] == page.read_text().count("<table>")
    assert result["page_width"] <= result["viewport_width"]


def test_a_phone_scrolls_tables_not_the_page(browser, page, tmp_path):
    result = _selftest(browser, tmp_path, page, "390,844")
    assert result["page_width"] <= result["viewport_width"], result


@pytest.mark.parametrize("size", ["1280,900", "390,844"])
def test_screenshots(browser, page, tmp_path, size):
    shot = tmp_path / f"report-{size.replace(',', 'x')}.png"
    _chromium(browser, tmp_path, f"--window-size={size}", f"--screenshot={shot}", page.as_uri())
    with Image.open(shot) as img:
        assert img.size == tuple(int(n) for n in size.split(","))
        low, high = img.convert("L").getextrema()
        assert high - low > 64  # something was drawn, not a blank page
