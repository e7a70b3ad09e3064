"""The embeddable start of the inquiry in Chromium, framed by an article page on another
loopback origin (as the clinic's website would frame it): at 300 px wide it renders with no
sideways scrolling and no axe violations, its button opens the full form in the top window
with the UTM fields, which the inquiry keeps; an origin not in INTAKE_EMBED_ORIGINS is refused
the frame by the browser (CSP frame-ancestors)."""

from __future__ import annotations

import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlencode, urlsplit

import pytest
from playwright.sync_api import expect

from intake.extensions import db
from intake.leads.articles import EMBED_HEIGHT, embed_snippet
from intake.models import Inquiry
from tests.browser.conftest import fill_contact, on_step, save_and_continue
from tests.live import free_port

pytestmark = pytest.mark.browser

UTM = {
    "utm_source": "website",
    "utm_medium": "article",
    "utm_campaign": "ms-msc-trials",
    "utm_content": "what-is-ms",
}


@contextmanager
def article_site(host: str, frame_src: str) -> Iterator[str]:
    """Another site on loopback (``host``, its own port): one article page with the embed
    snippet for ``frame_src`` pasted into a 300 px column."""
    article = (
        '<!doctype html><html lang="en"><head><meta charset="utf-8"><title>What is MS?</title>'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "</head><body><main><h1>What is MS?</h1><p>An article.</p>"
        f'<div style="width:300px">{embed_snippet(frame_src, "en")}</div></main></body></html>'
    ).encode()

    class Article(BaseHTTPRequestHandler):
        def do_GET(self):  # noqa: N802 (http.server's name)
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.end_headers()
            self.wfile.write(article)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Article)
    thread = threading.Thread(target=server.serve_forever, name="article-site", daemon=True)
    thread.start()
    try:
        yield f"http://{host}:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(timeout=10)
        server.server_close()


def test_an_allowed_site_frames_the_start_which_opens_the_form_with_its_fields(
    app, live_server, page, audit, script_errors
):
    embed = f"{live_server}/embed/inquiry?{urlencode(UTM)}"
    with article_site("localhost", embed) as site:
        app.config["INTAKE_EMBED_ORIGINS"] = (site,)
        page.goto(f"{site}/")
        frame = page.frame_locator("iframe")
        expect(frame.get_by_role("heading", level=1)).to_be_visible()
        # English first, then through its switch to Spanish, and back.
        for language, switch, then in (("en", "Español", "es"), ("es", "English", "en")):
            inner = next(f for f in page.frames if f.url.startswith(live_server))
            inner.wait_for_load_state()  # its style sheets too: the layout is the final one
            width, scroll, bottom = inner.evaluate(
                "[document.documentElement.clientWidth, document.documentElement.scrollWidth,"
                " document.querySelector('main').getBoundingClientRect().bottom]"
            )
            assert width == 300 and scroll <= width  # no sideways scrolling in the column
            assert bottom <= EMBED_HEIGHT  # the snippet's frame is tall enough: nothing cut off
            audit.check(inner, f"embedded start, framed at 300 px ({language})")
            frame.get_by_role("link", name=switch).click()  # the switch stays in the frame
            expect(frame.locator("html")).to_have_attribute("lang", then)
        audit.assert_clean()

        frame.get_by_role("link", name="Start your inquiry").click()
        expect(page).to_have_url(re.compile(re.escape(live_server) + r"/inquiry\?"))
    assert parse_qs(urlsplit(page.url).query) == {key: [value] for key, value in UTM.items()}
    assert len(page.frames) == 1  # the top window, not the frame, holds the form
    on_step(page, 1, "About you")
    fill_contact(page)
    save_and_continue(page)
    on_step(page, 2, "About your MS")
    with app.app_context():
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert {key: getattr(inquiry, key) for key in UTM} == UTM
    assert script_errors == []


def test_a_site_not_in_the_setting_is_refused_the_frame(app, live_server, page, script_errors):
    with article_site("localhost", f"{live_server}/es/embed/inquiry") as allowed:
        app.config["INTAKE_EMBED_ORIGINS"] = (allowed,)
        with article_site("127.0.0.1", f"{live_server}/es/embed/inquiry") as other:
            with page.expect_console_message(lambda message: "frame-ancestors" in message.text):
                page.goto(f"{other}/")
            expect(page.get_by_role("heading", level=1)).to_have_text("What is MS?")
            # The frame holds the browser's own error page, never the panel.
            assert not [f for f in page.frames if f.url.startswith(live_server)]
            expect(page.frame_locator("iframe").get_by_role("link")).to_have_count(0)
    assert any("frame-ancestors" in error for error in script_errors), script_errors
