"""API keys and request bodies for the REST API's tests."""

from __future__ import annotations

import pytest

from intake.accounts.api_keys import create_api_key
from intake.extensions import db
from intake.models import API_SCOPES
from tests.conftest import ABOUT_MS, CONSENT, CONTACT, HEALTH
from tests.factories import NOW


@pytest.fixture
def make_key(app):
    """An API key with these scopes (all of them by default), committed: returns its token."""

    def make(*scopes: str, revoked: bool = False, name: str = "Test system") -> str:
        with app.app_context():
            made = create_api_key(
                name=name, scopes=scopes or API_SCOPES, created_by_id=None, now=NOW
            )
            if revoked:
                made.key.revoked_at = NOW
            db.session.commit()
            return made.token

    return make


def bearer(token: str, **headers: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}", **headers}


def inquiry_body(**changes: dict) -> dict:
    """The public form's answers (tests.conftest) as the API takes them."""
    body = {
        "contact": dict(CONTACT),
        "answers": {**ABOUT_MS, **HEALTH, "date_of_birth": HEALTH["date_of_birth"].isoformat()},
        "consents": {name: True for name in CONSENT},
        "utm_source": "partner",
        "utm_campaign": "spring",
    }  # fmt: skip
    for group, values in changes.items():
        body[group] = {**body[group], **values} if isinstance(values, dict) else values
    return body
