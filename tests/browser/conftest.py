"""Debian's Chromium driven by Playwright (never a browser Playwright downloads itself)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

CHROMIUM = Path(os.environ.get("WARDBOARD_CHROMIUM", "/usr/bin/chromium"))
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    required = os.environ.get("WARDBOARD_REQUIRE_BROWSER", "") in {"1", "true", "yes"}
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        if required:
            pytest.fail("Playwright is not installed (WARDBOARD_REQUIRE_BROWSER=1)")
        pytest.skip("Playwright is not installed")
    if not CHROMIUM.exists():
        if required:
            pytest.fail(f"{CHROMIUM} is missing (WARDBOARD_REQUIRE_BROWSER=1)")
        pytest.skip(f"Debian's Chromium is not installed at {CHROMIUM} (apt-get install chromium)")
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser):
    context = browser.new_context(viewport={"width": 1920, "height": 1080})
    page = context.new_page()
    yield page
    context.close()


@pytest.fixture
def staff_user(sqlite_live_server):
    from tests.auth_helpers import StaffMaker

    return StaffMaker(sqlite_live_server.services)("nurse")


@pytest.fixture
def signed_on_page(page, sqlite_live_server, staff_user):
    """A page signed on as a nurse the way a card reader does it: card number, Enter, PIN."""
    page.goto(f"{sqlite_live_server.url}/signon?workstation=ward-pc-1")
    page.fill("#card", staff_user.card)
    page.press("#card", "Enter")  # a USB reader ends with Enter: focus moves to the PIN
    assert page.evaluate("document.activeElement.id") == "pin"
    page.keyboard.type(staff_user.pin)
    page.press("#pin", "Enter")
    page.wait_for_url(f"{sqlite_live_server.url}/")
    return page
