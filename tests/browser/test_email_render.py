"""The consultant email's HTML part, rendered by Chromium at a phone's width."""

from __future__ import annotations

from zoneinfo import ZoneInfo

import pytest

from config.app import app_services
from tests.reports_fixture import SENT_ON, build_hospital
from whiteboard.reports.consultant_email import build_consultant_reports, render_email

pytestmark = pytest.mark.browser


def test_html_part_reads_on_a_phone(sqlite_app, browser):
    services = app_services(sqlite_app)
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=False)
        uow.commit()
    settings = services.settings
    with services.read_session() as s:
        reports = build_consultant_reports(
            s, SENT_ON, ZoneInfo(settings.timezone), settings.clinical, "https://wardboard.test"
        )
    okafor = next(r for r in reports if r.email == "adaeze.okafor@test.example")
    message = render_email(okafor, "wardboard@test.example", "Test General", settings.clinical)
    html = message.get_body(("html",)).get_content()

    context = browser.new_context(viewport={"width": 375, "height": 740}, is_mobile=True)
    page = context.new_page()
    try:
        page.set_content(html)
        assert page.locator("h1").inner_text() == "Dr A Okafor"
        assert page.locator("#admitted-count").inner_text() == "4"
        assert page.locator("#long-count").inner_text() == "1"
        assert page.locator("#vte-not-met").is_visible()
        link = page.locator("a", has_text="TESTP6").first
        assert link.get_attribute("href").startswith("https://wardboard.test/wards/AMU#stay-")
        # Nothing wider than the phone: no sideways scrolling to read it.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
        font_px = page.evaluate(
            "parseFloat(getComputedStyle(document.body.firstElementChild).fontSize)"
        )
        assert font_px >= 16
    finally:
        context.close()
