"""Unsubscribe tokens: signed, tied to their purpose, and readable across a key rotation."""

from __future__ import annotations

from itsdangerous import URLSafeSerializer

from intake.messaging.unsubscribe import read_unsubscribe_token, unsubscribe_token
from tests.conftest import make_app


def test_unsubscribe_tokens_name_a_lead_and_reject_anything_else(app):
    with app.app_context():
        token = unsubscribe_token(42)
        forged = URLSafeSerializer(app.secret_key, salt="another.purpose").dumps(42)

        assert read_unsubscribe_token(token) == 42
        assert (
            read_unsubscribe_token(token[:-2] + ("A" if token[-2] != "A" else "B") + token[-1])
            is None
        )
        assert read_unsubscribe_token(forged) is None
        assert read_unsubscribe_token(unsubscribe_token("42")) is None  # type: ignore[arg-type]
        assert read_unsubscribe_token("x" * 500) is None


def test_unsubscribe_links_keep_working_after_a_secret_key_rotation(app):
    with app.app_context():
        token = unsubscribe_token(7)
    rotated = make_app("sqlite://", SECRET_KEY="n" * 40, SECRET_KEY_FALLBACKS=[app.secret_key])

    with rotated.app_context():
        assert read_unsubscribe_token(token) == 7
