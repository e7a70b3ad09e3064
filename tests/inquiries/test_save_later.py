"""Saving for later, as a service: one email a press once the gap has passed, and the masked
address the page shows."""

from __future__ import annotations

from datetime import timedelta

from intake.extensions import db
from intake.inquiries.save_later import EMAIL_GAP, mask_email, save_for_later
from intake.models import Send
from tests.factories import NOW, make_inquiry, make_lead


def test_each_press_after_the_gap_gets_its_own_email(app):
    with app.app_context():
        inquiry = make_inquiry(make_lead())
        first = save_for_later(inquiry=inquiry, now=NOW, valid_for=timedelta(days=14))
        soon = save_for_later(inquiry=inquiry, now=NOW + EMAIL_GAP / 2, valid_for=timedelta(1))
        later = save_for_later(inquiry=inquiry, now=NOW + EMAIL_GAP * 2, valid_for=timedelta(1))
        keys = db.session.scalars(db.select(Send.key)).all()

    assert (first.emailed, soon.emailed, later.emailed) == ("sending", "recently", "sending")
    assert len(set(keys)) == 2 and len({first.token, soon.token, later.token}) == 3


def test_the_masked_address_is_enough_to_recognise_and_no_more():
    assert mask_email("ada.byron@example.org") == "a•••@example.org"
