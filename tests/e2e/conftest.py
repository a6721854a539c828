"""Fixtures for the end-to-end suite: one real MISP per session (see live_misp.py), a logged-in browser."""

from __future__ import annotations

import os
from typing import Iterator

import pytest
from live_misp import ARTIFACTS, LiveMisp, NoMisp, source, start
from misp_browser import CHROMEDRIVER, Browser


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    # The update test switches the module's data to the instance's own galaxies: it runs last.
    items.sort(key=lambda item: item.get_closest_marker("last") is not None)


def pytest_report_header() -> str:
    """One line saying which MISP the suite runs against, or why every test skips."""
    try:
        return f"e2e: against {source()}"
    except NoMisp as exc:
        required = " (MISP_E2E_REQUIRED: every test fails)" if os.environ.get("MISP_E2E_REQUIRED") else \
            " (every test skips)"
        return f"e2e: {exc}{required}"


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "last: run after every other e2e test (it changes the module's data)")


@pytest.fixture(scope="session")
def misp() -> Iterator[LiveMisp]:
    generator = start()
    try:
        instance = next(generator)
    except NoMisp as exc:
        if os.environ.get("MISP_E2E_REQUIRED"):
            pytest.fail(f"e2e: {exc}", pytrace=False)
        pytest.skip(f"e2e: {exc}")
    yield instance
    generator.close()


@pytest.fixture(scope="session")
def browser(misp: LiveMisp) -> Iterator[Browser]:
    if not misp.email or not misp.password:
        pytest.skip("e2e: set MISP_E2E_EMAIL and MISP_E2E_PASSWORD for the browser tests")
    if not os.path.exists(CHROMEDRIVER):
        message = "e2e: no chromedriver: install Debian's chromium and chromium-driver (install-deps.sh --browser)"
        if os.environ.get("MISP_E2E_REQUIRED"):
            pytest.fail(message, pytrace=False)
        pytest.skip(message)
    session = Browser(misp)
    try:
        session.login(misp.email, misp.password)
        yield session
    finally:
        session.close()


@pytest.fixture(scope="session", autouse=True)
def _artifacts_say_where() -> Iterator[None]:
    yield
    if ARTIFACTS.is_dir() and any(ARTIFACTS.glob("*.png")):
        print(f"\ne2e screenshots and logs: {ARTIFACTS}")
