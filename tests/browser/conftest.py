"""Fixtures of the dashboard's browser tests: one headless Chromium per session, one live
supervisor (with tokens) per module, and a screenshot under build/screenshots/ of every test
that fails, to see what the browser saw."""

from __future__ import annotations

from collections.abc import Generator, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from selenium import webdriver

from ..serverproc import ServerProcess
from .browser import Dashboard, start_chromium

SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "screenshots"

ALICE = "alice-token-dashboard-0123456789"
BOB = "bob-token-dashboard-0123456789ab"
ADMIN = "wrangler-token-dashboard-012345"


@dataclass(frozen=True)
class Farm:
    server: ServerProcess
    gates: Path  # frames wait for files created here (a test opens a gate to let them go on)


@pytest.fixture(scope="session")
def chromium() -> Iterator[webdriver.Chrome]:
    driver = start_chromium()
    yield driver
    driver.quit()


@pytest.fixture(scope="module")
def farm(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Farm]:
    root = tmp_path_factory.mktemp("dashboard")
    tokens = root / "tokens.toml"
    tokens.write_text(
        f'[[token]]\ntoken = "{ALICE}"\nuser = "alice"\n\n'
        f'[[token]]\ntoken = "{BOB}"\nuser = "bob"\n\n'
        f'[[token]]\ntoken = "{ADMIN}"\nuser = "wrangler"\nadmin = true\n'
    )
    tokens.chmod(0o600)
    gates = root / "gates"
    gates.mkdir()
    server = ServerProcess(
        root / "data",
        slots=4,
        env={"LATCHWORK_TOKENS_FILE": str(tokens), "LATCHWORK_RUN_AS": "worker"},
    ).start()
    yield Farm(server, gates)
    server.stop()


@pytest.fixture
def dash(chromium: webdriver.Chrome, farm: Farm) -> Iterator[Dashboard]:
    dashboard = Dashboard(chromium, f"http://{farm.server.http_address}")
    dashboard.open("#/")  # the origin must be loaded before its cookies can be cleared
    chromium.delete_all_cookies()
    yield dashboard


@pytest.hookimpl(wrapper=True, tryfirst=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, Any, Any]:
    report = yield
    driver = getattr(item, "funcargs", {}).get("chromium")
    if report.failed and report.when in ("setup", "call") and driver is not None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOTS / f"{item.name}.png"
        try:
            driver.save_screenshot(str(path))
            report.sections.append(("screenshot", str(path)))
        except Exception as error:  # a broken browser must not hide the failure
            report.sections.append(("screenshot", f"could not save: {error!r}"))
    return report
