"""MISP's own UI in headless Chromium (Debian's chromium and chromedriver, driven by Selenium).

Only a real browser exercises the UI enrichment path: the results page's Submit button runs
``moduleResultsSubmit()`` in misp.js, which rebuilds the data from the page before MISP saves it.
Screenshots land in the e2e artifacts folder.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

from live_misp import ARTIFACTS, MODULE, LiveMisp

CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
TIMEOUT = 30


class Browser:
    def __init__(self, misp: LiveMisp) -> None:
        from selenium import webdriver
        from selenium.webdriver.chrome.service import Service

        options = webdriver.ChromeOptions()
        options.binary_location = CHROMIUM
        for flag in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu",
                     "--window-size=1600,1200", "--disable-background-networking", "--disable-component-update",
                     "--disable-sync", "--no-first-run", "--disable-quic"):
            options.add_argument(flag)
        self.misp = misp
        self.driver = webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)
        self.driver.set_page_load_timeout(60)

    def close(self) -> None:
        self.driver.quit()

    def _wait(self) -> Any:
        from selenium.webdriver.support.ui import WebDriverWait

        return WebDriverWait(self.driver, TIMEOUT)

    def login(self, email: str, password: str) -> None:
        from selenium.webdriver.common.by import By

        self.driver.get(self.misp.url + "/users/login")
        self.driver.find_element(By.ID, "UserEmail").send_keys(email)
        self.driver.find_element(By.ID, "UserPassword").send_keys(password)
        self.driver.find_element(By.CSS_SELECTOR, "#UserLoginForm button[type=submit], "
                                                  "#UserLoginForm input[type=submit]").click()
        self._wait().until(lambda d: "/users/login" not in d.current_url)

    def open_enrichment(self, attribute_id: str) -> str:
        """The Enrichment Results page for one attribute; returns the page's visible text."""
        from selenium.webdriver.common.by import By

        self.driver.get(f"{self.misp.url}/events/queryEnrichment/{attribute_id}/{MODULE}/Enrichment")
        self._wait().until(lambda d: d.execute_script("return document.readyState") == "complete")
        text: str = self.driver.find_element(By.TAG_NAME, "body").text
        return text

    def has_submit(self) -> bool:
        from selenium.webdriver.common.by import By

        return bool(self.driver.find_elements(By.XPATH, "//button[contains(@onclick,'moduleResultsSubmit')]"))

    def submit(self, event_id: str) -> None:
        """Click Submit (the footer covers it: scroll it into view and click by script)."""
        from selenium.webdriver.common.by import By
        from selenium.webdriver.support import expected_conditions as ec

        button = self._wait().until(ec.element_to_be_clickable(
            (By.XPATH, "//button[contains(@onclick,'moduleResultsSubmit')]")))
        self.driver.execute_script('arguments[0].scrollIntoView({block:"center"}); arguments[0].click();', button)
        self._wait().until(lambda d: f"/events/view/{event_id}" in d.current_url)

    def page_text(self, path: str) -> str:
        from selenium.webdriver.common.by import By

        self.driver.get(self.misp.url + path)
        self._wait().until(lambda d: d.execute_script("return document.readyState") == "complete")
        text: str = self.driver.find_element(By.TAG_NAME, "body").text
        return text

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """A PNG of the page; the whole page when ``full_page`` (the window is stretched to fit)."""
        path = ARTIFACTS / f"{name}.png"
        size = self.driver.get_window_size()
        if full_page:
            height = self.driver.execute_script(
                "return Math.max(document.body.scrollHeight, document.documentElement.scrollHeight)")
            self.driver.set_window_size(size["width"], min(max(int(height) + 100, size["height"]), 8000))
        self.driver.save_screenshot(str(path))
        self.driver.set_window_size(size["width"], size["height"])
        return path
