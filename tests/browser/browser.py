"""Headless Debian Chromium driven by chromedriver (Selenium), for the dashboard's tests.

Only the distribution's binaries are used (``make browser-deps`` installs them): Selenium is
given both paths and told to stay offline, so nothing is downloaded at run time.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from selenium import webdriver
from selenium.common.exceptions import NoSuchElementException, StaleElementReferenceException
from selenium.webdriver.chrome.options import Options
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

T = TypeVar("T")

CHROMIUM = ("chromium", "chromium-browser")
CHROMEDRIVER = ("chromedriver",)
PATIENCE = 60.0  # seconds: generous, since a condition, never a delay, ends each wait
DOCS_SHOTS = os.environ.get("LATCHWORK_DOCS_SCREENSHOTS", "")  # a directory: save docs' images


def _which(names: tuple[str, ...]) -> str:
    for name in names:
        found = shutil.which(name) or shutil.which(name, path="/usr/bin:/usr/lib/chromium")
        if found:
            return found
    raise RuntimeError(
        f"{names[0]} is not installed: run `make browser-deps` (Debian's chromium and "
        "chromium-driver packages)"
    )


def start_chromium() -> webdriver.Chrome:
    os.environ["SE_OFFLINE"] = "true"  # Selenium Manager must never fetch a browser or driver
    options = Options()
    options.binary_location = _which(CHROMIUM)
    for argument in (
        "--headless=new",
        "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
        "--disable-dev-shm-usage",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
    ):
        options.add_argument(argument)
    return webdriver.Chrome(options=options, service=Service(_which(CHROMEDRIVER)))


_COUNT = "return document.querySelectorAll(arguments[0]).length"
_TEXT = (
    "const e = document.querySelector(arguments[0]); return e ? (e.innerText ?? e.textContent) : ''"
)
_ATTRS = (
    "return [...document.querySelectorAll(arguments[0])].map(e => e.getAttribute(arguments[1]))"
)


class Dashboard:
    """The dashboard in one browser tab, with waits on conditions (never on time)."""

    def __init__(self, driver: webdriver.Chrome, base_url: str) -> None:
        self.driver = driver
        self.base_url = base_url.rstrip("/")

    def open(self, fragment: str = "#/") -> None:
        """Load the page (a full load) at ``fragment`` and wait until the app has started."""
        self.driver.get("about:blank")
        self.driver.get(f"{self.base_url}/{fragment}")
        self.wait(lambda d: d.execute_script("return document.body.dataset.ready === '1'"))

    def go(self, fragment: str) -> None:
        """Move within the app (a hash change, no reload)."""
        self.driver.execute_script("location.hash = arguments[0]", fragment)

    def wait(self, condition: Callable[[Any], T], timeout: float = PATIENCE) -> T:
        """Until ``condition`` is truthy. The pages redraw as events arrive, so an element found
        a moment ago may be gone: a condition that trips on one is simply tried again."""
        return WebDriverWait(
            self.driver,
            timeout,
            poll_frequency=0.1,
            ignored_exceptions=(NoSuchElementException, StaleElementReferenceException),
        ).until(condition)

    def css(self, selector: str) -> WebElement:
        found: WebElement = self.wait(lambda d: d.find_element(By.CSS_SELECTOR, selector))
        return found

    def all(self, selector: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, selector)

    def count(self, selector: str) -> int:
        return int(self.driver.execute_script(_COUNT, selector))

    def text(self, selector: str) -> str:
        """The first match's text, read in one go in the page (no stale element possible)."""
        return str(self.driver.execute_script(_TEXT, selector))

    def attrs(self, selector: str, name: str) -> list[str]:
        """Attribute ``name`` of every match, read in one go in the page."""
        return list(self.driver.execute_script(_ATTRS, selector, name))

    def wait_text(self, selector: str, needle: str, timeout: float = PATIENCE) -> str:
        """The first match's text, once it contains ``needle``."""

        def containing(_driver: webdriver.Chrome) -> str:
            text = self.text(selector)
            return text if needle in text else ""

        return self.wait(containing, timeout)

    def click(self, selector: str) -> None:
        def clicked(driver: webdriver.Chrome) -> bool:
            element = driver.find_element(By.CSS_SELECTOR, selector)
            if not element.is_enabled():
                return False
            element.click()
            return True

        self.wait(clicked)

    def confirm(self) -> None:
        self.wait(lambda d: d.find_element(By.ID, "confirm-ok").is_displayed())
        self.driver.find_element(By.ID, "confirm-ok").click()

    def login(self, token: str, user: str) -> None:
        self.open("#/login")
        self.css("#login-token").send_keys(token)
        self.click("#login-submit")
        self.wait_text("#who", user)
        self.css("#overview")  # the login form moves on to the overview: only then go elsewhere

    def logout(self) -> None:
        self.driver.delete_all_cookies()

    def mark_document(self) -> None:
        """Tag this document: :meth:`same_document` tells whether the page was reloaded since."""
        self.driver.execute_script("window.__latchworkNoReload = true")

    def same_document(self) -> bool:
        return bool(self.driver.execute_script("return window.__latchworkNoReload === true"))

    def shot(self, name: str) -> None:
        """Save a screenshot for docs/dashboard.md, when asked to (LATCHWORK_DOCS_SCREENSHOTS)."""
        if DOCS_SHOTS:
            Path(DOCS_SHOTS).mkdir(parents=True, exist_ok=True)
            self.driver.save_screenshot(str(Path(DOCS_SHOTS) / f"{name}.png"))
