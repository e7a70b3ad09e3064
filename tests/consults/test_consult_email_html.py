"""Every consult email's HTML, in English and Spanish, passes the Nu HTML checker (one run)."""

from __future__ import annotations

from datetime import timedelta

from intake.consults import booking
from intake.messaging.mail import render_message
from tests.browser.test_html_validity import check
from tests.consults.test_consult_messages import MOVED, STARTS, book, rows
from tests.factories import NOW, make_staff


def test_each_consult_email_is_valid_html_in_both_languages(consult_app, backend, tmp_path):
    if backend != "sqlite":  # the HTML does not depend on the database: one run is enough
        return
    pages = {}
    for language, kind in (("en", "video"), ("es", "in_person")):
        consult = book(kind=kind, language=language, email=f"{language}@example.org")
        booking.move(consult=consult, starts_at=MOVED, actor=None, now=NOW)
        after = MOVED + timedelta(hours=1)
        booking.record_outcome(consult=consult, outcome="no_show", actor=make_staff(), now=after)
        cancelled = book(kind="phone", language=language, email=f"{language}2@example.org")
        booking.cancel(consult=cancelled, actor=None, now=NOW)
        for send in [*rows(consult), *rows(cancelled, "consult_cancellation")]:
            pages[f"{send.template} {send.consult_id} {send.step} {language}"] = render_message(
                send=send, now=STARTS - timedelta(days=1)
            ).html
    assert {name.split()[0] for name in pages} == {
        "consult_confirmation", "consult_update", "consult_reminder", "consult_rebook",
        "consult_cancellation",
    }  # fmt: skip
    assert check(pages, tmp_path) == {name: [] for name in pages}
