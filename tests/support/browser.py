"""The system's headless Chromium through its chromedriver (Debian's ``chromium`` and ``chromium-driver``).

Both are given by path, so Selenium never looks for (or downloads) a browser or a driver of its own.
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator

from selenium import webdriver
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service

CHROMIUM = os.environ.get("BATCHGPT_TEST_CHROMIUM", "/usr/bin/chromium")
CHROMEDRIVER = os.environ.get("BATCHGPT_TEST_CHROMEDRIVER", "/usr/bin/chromedriver")


@contextlib.contextmanager
def headless_chromium(width: int = 1600, height: int = 1100) -> Iterator[webdriver.Chrome]:
    """A fresh headless browser (its own profile) whose console messages ``get_log("browser")`` returns."""
    options = Options()
    options.binary_location = CHROMIUM
    for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu", "--no-first-run"):
        options.add_argument(flag)
    options.add_argument(f"--window-size={width},{height}")
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(executable_path=CHROMEDRIVER))
    try:
        yield driver
    finally:
        driver.quit()
