"""S-brute: 100 bad sign-ins on one account, and 100 inquiry posts in a minute from one address,
with the limiter's storage in Redis and with that Redis dead (``redis://127.0.0.1:1``).

What is documented (README, intake/config.py) and asserted here from the configured values, not
from copies of them: the account locks after ``INTAKE_SIGNIN_LOCK_AFTER`` wrong passwords with
the same message as an unknown email; sign-in posts are limited per address by
``INTAKE_SIGNIN_RATE_LIMIT`` and inquiry posts by ``INTAKE_INQUIRY_RATE_LIMIT`` (the friendly
429 with Retry-After); while the limiter's store is down the limits fall back to per-process
memory; and nothing is ever a server error.
"""

from __future__ import annotations

import re
from collections import Counter

import pytest
import redis
from limits import parse_many

from intake.config import BaseConfig
from intake.extensions import db, limiter
from intake.http import ERROR_TEXT
from intake.models import StaffUser
from intake.models.types import utcnow
from tests.conftest import CONTACT, form_data, hidden_fields, page
from tests.factories import PASSWORD, PASSWORD_HASH

ATTEMPTS = 100
DEAD_REDIS = "redis://127.0.0.1:1"


LIMITER_KEYS = "LIMITS:LIMITER/*"  # flask-limiter's keys; the DB is this run's own


def _forget_counts(url: str) -> None:
    store = redis.Redis.from_url(url)
    keys = list(store.scan_iter(LIMITER_KEYS))
    if keys:
        store.delete(*keys)
    store.close()


@pytest.fixture(params=["redis", "redis_down"])
def limited_app(request, app_factory):
    """An app with the documented limits, counting in Redis (this run's DB) or in a dead one.

    The limiter is one object shared by every app of the process (one app in production). Its
    storage is the last ``init_app``'s, so no other app may be built after this one in a test;
    and it remembers a dead storage across ``init_app``, so that is forgotten here."""
    up = request.param == "redis"
    storage = request.getfixturevalue("redis_url") if up else DEAD_REDIS
    if up:
        _forget_counts(storage)
    app = app_factory(
        RATELIMIT_STORAGE_URI=storage,
        INTAKE_INQUIRY_RATE_LIMIT=BaseConfig.INTAKE_INQUIRY_RATE_LIMIT,
        INTAKE_SIGNIN_RATE_LIMIT=BaseConfig.INTAKE_SIGNIN_RATE_LIMIT,
    )
    limiter._storage_dead = False
    yield app
    if up:
        _forget_counts(storage)


def counted_in_redis(app) -> bool:
    """Whether the limiter really counted in Redis (rather than in its memory fallback)."""
    if app.config["RATELIMIT_STORAGE_URI"] == DEAD_REDIS:
        return False
    store = redis.Redis.from_url(app.config["RATELIMIT_STORAGE_URI"])
    try:
        return bool(list(store.scan_iter(LIMITER_KEYS)))
    finally:
        store.close()


def per_minute(limit: str) -> int:
    """The tightest allowance within one minute of a limit string such as '10 per minute'."""
    return min(item.amount for item in parse_many(limit) if item.get_expiry() <= 60)


def from_address(app, address: str):
    client = app.test_client()
    client.environ_base["REMOTE_ADDR"] = address
    return client


def assert_friendly_429(response) -> None:
    assert response.status_code == 429
    assert response.headers["Retry-After"].isdigit()
    assert 1 <= int(response.headers["Retry-After"]) <= 60
    title, _advice = ERROR_TEXT[429]
    assert page(response).h1.get_text(strip=True) == title


def sign_in_attempt(client, email: str, password: str, token: str):
    return client.post("/staff/login", data={"csrf_token": token, "email": email,
                                             "password": password})  # fmt: skip


def comparable(response, email: str) -> str:
    """The page's text without what legitimately differs: its CSRF token and the typed email."""
    body = response.get_data(as_text=True).replace(email, "EMAIL")
    return re.sub(r'name="csrf_token" type="hidden" value="[^"]*"', "TOKEN", body)


def locked_until(app, user_id: int):
    with app.app_context():
        return db.session.get(StaffUser, user_id).locked_until


def test_a_hundred_bad_sign_ins_lock_the_account_throttle_the_address_and_never_fail(
    limited_app,
):
    app = limited_app
    config = app.config
    allowed, lock_after = (
        per_minute(config["INTAKE_SIGNIN_RATE_LIMIT"]),
        config["INTAKE_SIGNIN_LOCK_AFTER"],
    )
    assert lock_after < allowed, "the documented lock must be reachable before the throttle"
    email = "target@clinic.example"
    with app.app_context():
        user = StaffUser(email=email, name="Target", role="coordinator",
                         password_hash=PASSWORD_HASH, totp_confirmed_at=utcnow())  # fmt: skip
        db.session.add(user)
        db.session.commit()
        user_id = user.id
    attacker = from_address(app, "198.51.100.7")
    token = hidden_fields(attacker.get("/staff/login"))["csrf_token"]

    statuses = []
    for attempt in range(1, ATTEMPTS + 1):
        response = sign_in_attempt(attacker, email, f"guess {attempt}", token)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_friendly_429(response)
        if attempt == lock_after - 1:
            assert locked_until(app, user_id) is None
        if attempt == lock_after:
            assert locked_until(app, user_id) > utcnow()

    print(f"S-brute sign-in ({config['RATELIMIT_STORAGE_URI']}): {dict(Counter(statuses))}")
    assert statuses == [422] * allowed + [429] * (ATTEMPTS - allowed)
    assert counted_in_redis(app) == (config["RATELIMIT_STORAGE_URI"] != DEAD_REDIS)

    # Another address is not throttled; there, the locked account (even with its right
    # password) and an unknown email get the same answer.
    elsewhere = from_address(app, "203.0.113.9")
    token = hidden_fields(elsewhere.get("/staff/login"))["csrf_token"]
    locked = sign_in_attempt(elsewhere, email, PASSWORD, token)
    unknown = sign_in_attempt(elsewhere, "nobody.here@clinic.example", PASSWORD, token)
    assert locked.status_code == unknown.status_code == 422
    assert comparable(locked, email) == comparable(unknown, "nobody.here@clinic.example")


def test_a_hundred_inquiry_posts_in_a_minute_from_one_address_are_throttled_never_failed(
    limited_app,
):
    app = limited_app
    allowed = per_minute(app.config["INTAKE_INQUIRY_RATE_LIMIT"])
    patient = from_address(app, "198.51.100.8")
    data = form_data(hidden_fields(patient.get("/inquiry")), CONTACT)

    statuses = []
    for _ in range(ATTEMPTS):
        response = patient.post("/inquiry", data=data)
        statuses.append(response.status_code)
        if response.status_code == 429:
            assert_friendly_429(response)

    print(f"S-brute inquiry ({app.config['RATELIMIT_STORAGE_URI']}): {dict(Counter(statuses))}")
    assert statuses == [302] * allowed + [429] * (ATTEMPTS - allowed)
    assert counted_in_redis(app) == (app.config["RATELIMIT_STORAGE_URI"] != DEAD_REDIS)
    neighbour = from_address(app, "203.0.113.10")
    sent = neighbour.post("/inquiry", data=form_data(hidden_fields(neighbour.get("/inquiry")),
                                                     CONTACT))  # fmt: skip
    assert sent.status_code == 302
