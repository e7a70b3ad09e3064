"""Invitation and reset tokens: a newer link retires the older one and stops its unsent email, and
tokens are masked wherever a URL is logged."""

from __future__ import annotations

import logging
from datetime import timedelta

from sqlalchemy import select, update

from intake.accounts.tokens import issue_staff_token
from intake.extensions import db
from intake.log import MaskTokens
from intake.models import Send, StaffToken, StaffUser
from intake.models.types import utcnow
from tests.staff.conftest import (
    deliver_due_mail,
)


def test_a_link_used_before_its_email_went_stops_that_email_and_an_older_link_dies(app, make_staff):
    user_id = make_staff("coordinator")
    with app.app_context():
        user = db.session.get(StaffUser, user_id)
        first = issue_staff_token(
            user=user, purpose="password_reset", now=utcnow(), valid_for=timedelta(hours=1)
        )
        first_id = first.id
        issue_staff_token(
            user=user, purpose="password_reset", now=utcnow(), valid_for=timedelta(hours=1)
        )
        db.session.execute(
            update(StaffToken).where(StaffToken.id != first_id).values(used_at=utcnow())
        )
        db.session.commit()
    assert deliver_due_mail(app) == []
    with app.app_context():
        reasons = sorted(db.session.scalars(select(Send.finished_reason)).all())
        assert reasons == ["token_expired", "token_used"]


def test_invitation_and_reset_tokens_are_masked_wherever_a_url_is_logged():
    record = logging.LogRecord(
        "gunicorn.access", logging.INFO, __file__, 1, '"GET %s HTTP/1.1"', None, None
    )
    record.args = ("/staff/reset/s3cret-Token_1?x=1",)
    MaskTokens().filter(record)
    assert record.getMessage() == '"GET /staff/reset/<token>?x=1 HTTP/1.1"'
    record.msg, record.args = "GET /staff/invitation/An0ther_secret HTTP/1.1", None
    MaskTokens().filter(record)
    assert record.getMessage() == "GET /staff/invitation/<token> HTTP/1.1"
