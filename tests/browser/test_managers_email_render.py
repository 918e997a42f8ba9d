"""The managers' weekly email's HTML part rendered by Chromium, its inline charts loading.

A mail client shows ``<img src="cid:...">`` by finding the message part with that Content-ID.
Chromium has no such parts of its own, so this test plays the webmail client: it serves the
HTML and each part at its Content-ID from the message as it would arrive (bytes parsed back),
and Chromium fetches them like any image. A reference to a part the message lacks would show
as a broken image; the test checks it can tell (one deliberately missing part).
"""

from __future__ import annotations

import email
import email.policy
import re
import struct
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

import pytest

from config.app import app_services
from tests.reports_fixture import build_hospital
from whiteboard.reports.managers_email import build_managers_summary, render_managers_email

pytestmark = pytest.mark.browser

WEEK_END = date(2026, 10, 25)
NOW = datetime(2026, 10, 26, 8, 0, tzinfo=UTC)
MAIL = "https://mail.test"


def _received(sqlite_app):
    services = app_services(sqlite_app)
    with services.uow_factory() as uow:
        build_hospital(uow.session, with_vte_table=True)
        uow.commit()
    settings = services.settings
    with services.read_session() as s:
        summary = build_managers_summary(
            s, WEEK_END, ZoneInfo(settings.timezone), settings.clinical, NOW, 12
        )
    message = render_managers_email(
        summary, "bed.manager@test.example", "wardboard@test.example", "Test General",
        "https://wardboard.test",
    )  # fmt: skip
    # As the recipient's client gets it: the bytes on the wire, parsed back.
    return email.message_from_bytes(message.as_bytes(), policy=email.policy.default)


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == b"\x89PNG\r\n\x1a\n"
    return struct.unpack(">II", data[16:24])


def _show(browser, message, width, extra_html=""):
    """Open the HTML part the way a webmail client does: (context, page, parts, fetched)."""
    html = message.get_body(("html",)).get_content()
    parts = {
        str(p["Content-ID"]).strip().strip("<>"): p
        for p in message.walk()
        if p["Content-ID"] is not None
    }
    html = re.sub(r'src="cid:([^"]+)"', lambda m: f'src="{MAIL}/part/{m.group(1)}"', html)
    html = html.replace("</body>", extra_html + "</body>")
    context = browser.new_context(viewport={"width": width, "height": 900})
    page = context.new_page()
    fetched: list[str] = []

    def serve(route):
        url = route.request.url
        if url == f"{MAIL}/message":
            return route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)
        cid = url.removeprefix(f"{MAIL}/part/")
        part = parts.get(cid)
        if part is None:
            return route.fulfill(status=404, body="no such part")
        fetched.append(cid)
        return route.fulfill(
            status=200, content_type=part.get_content_type(), body=part.get_content()
        )

    page.route(f"{MAIL}/**", serve)
    page.goto(f"{MAIL}/message")
    page.wait_for_load_state("load")
    return context, page, parts, fetched


IMAGES = """() => Array.from(document.images).map(i => ({
    src: i.getAttribute('src'), alt: i.alt, complete: i.complete,
    natural: [i.naturalWidth, i.naturalHeight], shown: [i.clientWidth, i.clientHeight]}))"""


def test_inline_charts_load_in_chromium(sqlite_app, browser):
    message = _received(sqlite_app)
    missing = f'<img id="control" src="{MAIL}/part/not-in-this-message@test" alt="control">'
    context, page, parts, fetched = _show(browser, message, 1024, missing)
    try:
        images = page.evaluate(IMAGES)
        charts = [i for i in images if i["alt"] != "control"]
        assert len(charts) == 5
        for image in charts:
            cid = image["src"].removeprefix(f"{MAIL}/part/")
            assert cid in parts, image
            # Decoded by Chromium at the size the PNG says, and laid out on the page.
            assert image["complete"] and image["natural"] == list(
                _png_size(parts[cid].get_content())
            ), image
            assert image["shown"][0] > 0 and image["shown"][1] > 0
        assert sorted(fetched) == sorted(i["src"].removeprefix(f"{MAIL}/part/") for i in charts)
        # The control: a cid the message lacks is a broken image, so the check above can fail.
        (control,) = [i for i in images if i["alt"] == "control"]
        assert control["natural"] == [0, 0]
        assert page.locator("#headline-ae").inner_text() == "33.3%"
        titles = [i["alt"] for i in charts]
        assert any("A&E" in t for t in titles), titles
    finally:
        context.close()


def test_reads_on_a_phone_with_its_charts(sqlite_app, browser):
    message = _received(sqlite_app)
    context, page, _parts, _fetched = _show(browser, message, 375)
    try:
        images = page.evaluate(IMAGES)
        assert len(images) == 5
        for image in images:
            assert image["complete"] and image["natural"][0] > 0, image
            assert image["shown"][0] <= 375  # scaled to the phone, not cut off
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0
    finally:
        context.close()
