"""What a patient relies on when the request is odd: too big, full of control characters, sent
twice, sent at once, sent by a bot, sent too often, or sent after the page or session went stale.

Every test runs on SQLite and on PostgreSQL (through the ``app``/``app_factory`` fixtures).
"""

from __future__ import annotations

import re
import threading
import time
import urllib.error
import urllib.parse
import urllib.request
from datetime import timedelta
from urllib.parse import urlsplit

import pytest
from itsdangerous.timed import TimestampSigner
from sqlalchemy import func, inspect, select
from werkzeug.datastructures import MultiDict
from werkzeug.test import encode_multipart

from intake import create_app
from intake.extensions import db
from intake.http import ERROR_TEXT
from intake.inquiries import service as inquiry_service
from intake.inquiries import starting
from intake.inquiries.answers import read_answers
from intake.models import Consent, EligibilityResult, Inquiry, Lead, OutboxEvent, ResumeToken
from intake.public import flow as flow_module
from intake.public import views
from intake.questionnaire.definition import load_definition
from tests.conftest import (
    ABOUT_MS,
    CONSENT,
    CONTACT,
    STEPS,
    form_data,
    page,
    send_step,
    shown_values,
    text_of,
)
from tests.factories import NOW
from tests.live import NoRedirect, Rendezvous, serving

QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire
# the final step records its consents once, at submission
CONSENT_PURPOSES = sum(1 for item in QUESTIONNAIRE.steps[-1].items if item.consent)
SESSION_COOKIE = "intake_session"
CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f]")
CSRF_NOTICE = "This page was open for a while"
# How step 1 shows once saved: contact details come back in their stored, normalised form.
CONTACT_STORED = {**CONTACT, "email": "ada.byron@example.org", "phone": "+12025550143"}
CAREGIVER = {
    **CONTACT,
    "filled_by": "someone_else",
    "caregiver_first_name": "Grace",
    "caregiver_last_name": "Byron",
    "caregiver_relationship": "daughter",
    "caregiver_email": "grace@example.org",
    "caregiver_phone": "(202) 555-0187",
}


# ---------------------------------------------------------------------------------------------
# Reading pages and the database


def doc(response):
    """The parsed page, parsed once per response (parsing the step pages is the slow part)."""
    if not hasattr(response, "_parsed_page"):
        response._parsed_page = page(response)
    return response._parsed_page


def hidden_of(response) -> dict[str, str]:
    form = doc(response).find("form", method="post")
    return {
        field["name"]: field.get("value", "")
        for field in form.find_all("input", type="hidden")
        if field.get("name")
    }


def shown_answers(response) -> MultiDict:
    return shown_values(doc(response))


def assert_answers_shown(response, answers: dict) -> None:
    shown = shown_answers(response)
    for name, value in answers.items():
        expected = value if isinstance(value, list) else [value]
        assert shown.getlist(name) == expected, f"{name}: shown {shown.getlist(name)!r}"


def assert_friendly_error(response, code: int) -> None:
    assert response.status_code == code, text_of(response)[:500]
    title, advice = ERROR_TEXT[code]
    assert doc(response).h1.get_text(strip=True) == title
    assert " ".join(advice.split()) in text_of(response)
    assert doc(response).find("a", href="/inquiry"), "the error page leads back to the form"


def error_next_to(response, field: str) -> str:
    message = doc(response).select_one(f"#q-{field} #{field}-error")
    assert message is not None, f"no error shown next to {field}: {text_of(response)[:800]}"
    return " ".join(message.get_text(" ").split())


def csrf_token_of(response) -> str:
    return hidden_of(response)["csrf_token"]


def location_path(response) -> str:
    return urlsplit(response.headers["Location"]).path


def count(app, model, **where) -> int:
    with app.app_context():
        query = select(func.count()).select_from(model).filter_by(**where)
        return db.session.scalar(query)


def counts(app) -> dict[str, int]:
    return {
        model.__name__: count(app, model)
        for model in (Lead, Inquiry, OutboxEvent, EligibilityResult, Consent, ResumeToken)
    }


def snapshot(app) -> list[dict]:
    """Every column of every lead and inquiry, and every table's size: to prove nothing moved."""
    with app.app_context():
        rows = []
        for model in (Lead, Inquiry):
            columns = [column.key for column in inspect(model).columns]
            for record in db.session.scalars(select(model).order_by(model.id)):
                rows.append({column: getattr(record, column) for column in columns})
    return [*rows, counts(app)]


def the_inquiry(app) -> tuple[dict, dict]:
    """The single inquiry's columns and answers, and its lead's columns."""
    with app.app_context():
        inquiry = db.session.scalars(select(Inquiry)).one()
        answers = inquiry_service.all_answers(inquiry, QUESTIONNAIRE)
        lead = {column.key: getattr(inquiry.lead, column.key) for column in inspect(Lead).columns}
        return {
            "answers": answers,
            "id": inquiry.id,
            "lead_id": inquiry.lead_id,
            "status": inquiry.status,
            "steps_saved": inquiry.steps_saved,
        }, lead


def stored_strings(app) -> list[str]:
    """Every string the inquiry flow stored: lead and inquiry columns, and the sealed answers."""
    strings: list[str] = []
    with app.app_context():
        for model in (Lead, Inquiry):
            columns = [column.key for column in inspect(model).columns]
            for record in db.session.scalars(select(model)):
                strings += [
                    value for column in columns if isinstance(value := getattr(record, column), str)
                ]
                if isinstance(record, Inquiry):
                    strings += [str(value) for value in read_answers(record).values()]
    return strings


def post_step(client, url: str, answers: dict, **overrides):
    """GET the step, then POST its form with these answers and some fields replaced."""
    shown = client.get(url)
    assert shown.status_code == 200, shown.status_code
    data = form_data(hidden_of(shown), answers)
    for name, value in overrides.items():
        data[name] = value
    return client.post(url, data=data)


def through_health(client) -> None:
    """Steps 1 to 3 sent, as a patient would."""
    for url, answers in STEPS[:-1]:
        response = send_step(client, url, answers)
        assert response.status_code == 302, text_of(response)[:1000]


def expected_about_ms() -> dict:
    return {**ABOUT_MS, "diagnosis_year": int(ABOUT_MS["diagnosis_year"])}


# ---------------------------------------------------------------------------------------------
# Requests that must arrive at the same moment (at a real server: tests.live.serving)


def post_at_once(base: str, path: str, data: MultiDict, cookie: str, copies: int = 2):
    """Send the same form ``copies`` times at the same moment; (status, Location) of each."""
    opener = urllib.request.build_opener(NoRedirect)
    body = urllib.parse.urlencode(list(data.items(multi=True))).encode()
    start, results = threading.Barrier(copies), [None] * copies

    def send(index: int) -> None:
        request = urllib.request.Request(
            base + path,
            data=body,
            method="POST",
            headers={"Cookie": cookie, "Content-Type": "application/x-www-form-urlencoded"},
        )
        start.wait(timeout=10)
        try:
            with opener.open(request, timeout=30) as response:
                results[index] = (response.status, response.headers.get("Location"))
        except urllib.error.HTTPError as answer:
            with answer:
                results[index] = (answer.code, answer.headers.get("Location"))

    threads = [threading.Thread(target=send, args=(index,)) for index in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    return results


def session_cookie(client) -> str:
    cookie = client.get_cookie(SESSION_COOKIE)
    assert cookie is not None
    return f"{SESSION_COOKIE}={cookie.value}"


# ---------------------------------------------------------------------------------------------
# 1. Oversized bodies


@pytest.mark.parametrize("encoding", ["urlencoded", "multipart"])
@pytest.mark.parametrize("url", ["/inquiry", "/inquiry/about_ms"])
def test_a_form_of_about_a_megabyte_gets_the_too_much_text_page_and_loses_nothing_saved(
    app, client, url, encoding
):
    assert send_step(client, "/inquiry", CONTACT).status_code == 302
    before = snapshot(app)
    big = {
        **CONTACT,
        **ABOUT_MS,
        "symptoms": "fatigue",
        "first_name": "A" * 1_000_000,
        "dmt_name": "B" * 1_000_000,
    }
    if encoding == "multipart":  # encoded in memory: the test client would spool a temp file
        boundary, body = encode_multipart(big)
        kwargs = {"data": body, "content_type": f"multipart/form-data; boundary={boundary}"}
    else:
        kwargs = {"data": big}

    response = client.post(url, **kwargs)

    assert_friendly_error(response, 413)
    assert snapshot(app) == before
    assert_answers_shown(client.get("/inquiry"), CONTACT_STORED)


@pytest.mark.parametrize(
    ("url", "field", "limit"),
    [
        ("/inquiry", "first_name", 100),
        ("/inquiry", "postal_code", 20),
        ("/inquiry/about_ms", "dmt_name", 200),
        ("/inquiry/about_ms", "symptoms_other", 1000),
    ],
)
def test_an_answer_far_over_its_length_limit_is_refused_in_plain_words_beside_it_keeping_the_rest(
    app, client, url, field, limit
):
    if url == "/inquiry":
        answers = dict(CONTACT)
    else:
        assert send_step(client, "/inquiry", CONTACT).status_code == 302
        answers = {**ABOUT_MS, "symptoms": ["fatigue", "other"], "symptoms_other": "Stiff legs"}
    before = snapshot(app)

    response = post_step(client, url, answers, **{field: "x" * 5000})

    assert response.status_code == 422
    assert error_next_to(response, field) == (
        f"Error: Please keep this to {limit} characters or fewer."
    )
    summary = doc(response).select_one(".error-summary")
    assert summary is not None and summary.find("a", href=f"#{field}")
    assert_answers_shown(response, {k: v for k, v in answers.items() if k != field})
    assert snapshot(app) == before


# ---------------------------------------------------------------------------------------------
# 2. NUL and control characters


# (field, typed value, (model, column) where the cleaned value is kept, the cleaned value)
CONTROL_CASES = [
    ("first_name", "Ada\x00\x07", (Lead, "first_name"), "Ada"),
    ("last_name", "\x1bBy\x00ron", (Lead, "last_name"), "Byron"),
    ("email", "ada.byron\x00\x07@example.org", (Lead, "email"), "ada.byron@example.org"),
    ("phone", "(202) 555-\x000143\x07", (Lead, "phone"), "+12025550143"),
    ("region", "Virginia\x00\x08", (Lead, "region"), "Virginia"),
    ("postal_code", "222\x0001\x7f", (Lead, "postal_code"), "22201"),
    ("caregiver_first_name", "Gra\x00ce\x07", (Lead, "caregiver_first_name"), "Grace"),
    ("caregiver_last_name", "By\x00ron\x1f", (Lead, "caregiver_last_name"), "Byron"),
    ("caregiver_relationship", "daugh\x00ter\x0b", (Lead, "caregiver_relationship"), "daughter"),
    (
        "caregiver_email",
        "grace\x00@example.org\x07",
        (Lead, "caregiver_email"),
        "grace@example.org",
    ),
    ("caregiver_phone", "(202) 555-\x000187", (Lead, "caregiver_phone"), "+12025550187"),
    ("filled_by", "self\x00", (Lead, "filled_by"), "self"),
    ("preferred_contact_method", "email\x00\x07", (Lead, "preferred_contact_method"), "email"),
    ("preferred_contact_time", "morning\x00", (Lead, "preferred_contact_time"), "morning"),
    ("heard_about", "article\x00\x07", (Lead, "source"), "article"),
    ("country", "US\x00", (Lead, "country"), "US"),
    ("detected_time_zone", "Europe/Paris\x00\x07", (Lead, "time_zone"), "Europe/Paris"),
    ("submission_key", "key-\x00\x07", None, None),
    ("draft", "\x00\x07", None, None),
    ("rendered_at", "\x00\x07", None, None),
]


@pytest.mark.parametrize(
    ("field", "typed", "kept_in", "cleaned"),
    CONTROL_CASES,
    ids=[case[0] if isinstance(case, tuple) else case.id for case in CONTROL_CASES],
)
def test_nul_and_control_characters_in_a_step_one_field_are_cleaned_or_refused_never_a_crash(
    app, client, field, typed, kept_in, cleaned
):
    answers = CAREGIVER if field.startswith("caregiver_") else CONTACT

    response = post_step(client, "/inquiry", answers, **{field: typed})

    assert response.status_code in (302, 422), text_of(response)[:500]
    if response.status_code == 422:
        assert error_next_to(response, field)
        assert count(app, Lead) == 0
        return
    assert location_path(response) == "/inquiry/about_ms"
    assert not [value for value in stored_strings(app) if CONTROL.search(value)]
    if kept_in is not None:
        model, column = kept_in
        with app.app_context():
            assert getattr(db.session.scalars(select(model)).one(), column) == cleaned


# ---------------------------------------------------------------------------------------------
# 3. Bots


def test_a_filled_in_honeypot_is_refused_without_a_lead_and_keeps_every_answer(app, client):
    response = post_step(client, "/inquiry", CONTACT, leave_blank="https://spam.example")

    assert response.status_code == 422
    assert "press the button again" in doc(response).select_one(".notice").get_text()
    assert_answers_shown(response, CONTACT)
    totals = counts(app)
    assert totals["Lead"] == totals["Inquiry"] == totals["OutboxEvent"] == 0


def test_a_form_sent_back_faster_than_a_person_types_asks_to_press_again_then_goes_through(
    app_factory, monkeypatch
):
    app = app_factory(INTAKE_MIN_FILL_SECONDS=3)
    client = app.test_client()
    monkeypatch.setattr(flow_module, "utcnow", lambda: NOW)  # the form is stamped at NOW

    refused = post_step(client, "/inquiry", CONTACT)

    assert refused.status_code == 422
    assert "press the button again" in doc(refused).select_one(".notice").get_text()
    assert_answers_shown(refused, CONTACT)
    assert count(app, Lead) == 0

    monkeypatch.setattr(flow_module, "utcnow", lambda: NOW + timedelta(seconds=5))
    accepted = client.post("/inquiry", data=form_data(hidden_of(refused), CONTACT))

    assert accepted.status_code == 302, text_of(accepted)[:500]
    assert location_path(accepted) == "/inquiry/about_ms"
    assert count(app, Lead) == count(app, Inquiry) == 1


# ---------------------------------------------------------------------------------------------
# 4. Rate limit


def test_the_fourth_send_in_a_minute_from_one_address_gets_the_friendly_429_with_retry_after(
    app_factory,
):
    # The limit is read per request from the app's own config (views._post_limit), and every
    # init_app of the shared limiter gives it new storage, so this low limit stays in this app.
    app = app_factory(
        INTAKE_INQUIRY_RATE_LIMIT="3 per minute",
        RATELIMIT_ENABLED=True,
        RATELIMIT_STORAGE_URI="memory://",
    )
    client = app.test_client()
    for _ in range(3):
        assert send_step(client, "/inquiry", CONTACT).status_code == 302

    limited = send_step(client, "/inquiry", CONTACT)

    assert_friendly_error(limited, 429)
    assert limited.headers["Retry-After"].isdigit()
    assert 1 <= int(limited.headers["Retry-After"]) <= 60
    assert count(app, Lead) == count(app, Inquiry) == 1

    elsewhere = app.test_client()
    elsewhere.environ_base["REMOTE_ADDR"] = "192.0.2.77"
    assert send_step(elsewhere, "/inquiry", CONTACT).status_code == 302

    # The next app (as the next test builds it) from the same address: neither the low limit
    # nor its count followed it.
    later = app_factory(RATELIMIT_STORAGE_URI="memory://")
    assert later.config["INTAKE_INQUIRY_RATE_LIMIT"] != "3 per minute"
    for _ in range(4):
        assert send_step(later.test_client(), "/inquiry", CONTACT).status_code == 302


# ---------------------------------------------------------------------------------------------
# 5. CSRF: a stale page or a lost session never costs the patient their answers


def assert_keeps_answers_with_fresh_token(response, answers: dict, old_token: str) -> str:
    assert response.status_code == 422
    assert CSRF_NOTICE in doc(response).select_one(".notice").get_text()
    assert_answers_shown(response, answers)
    fresh = csrf_token_of(response)
    assert fresh and fresh != old_token
    return fresh


def test_a_database_that_cannot_be_reached_gets_the_friendly_503_with_retry_after():
    """A PostgreSQL restart (drill R3) as one patient meets it: plain words and a time to try
    again, never a stack trace or a 500."""
    unreachable = "postgresql+psycopg://x@127.0.0.1:1/x"
    # The rate limiter off: its own Retry-After would hide whether the 503 page sends one.
    settings = {"SQLALCHEMY_DATABASE_URI": unreachable, "RATELIMIT_ENABLED": False}
    app = create_app({"INTAKE_ENV": "testing", **settings})
    client = app.test_client()

    response = send_step(client, "/inquiry", STEPS[0][1])

    assert response.status_code == 503
    assert response.headers["Retry-After"] == "60"
    assert page(response).h1.get_text(strip=True) == ERROR_TEXT[503][0]
    assert "Traceback" not in response.get_data(as_text=True)


def test_a_garbage_csrf_token_on_step_two_keeps_every_answer_and_the_fresh_token_saves(app, client):
    assert send_step(client, "/inquiry", CONTACT).status_code == 302

    refused = post_step(client, "/inquiry/about_ms", ABOUT_MS, csrf_token="garbage")

    assert_keeps_answers_with_fresh_token(refused, ABOUT_MS, "garbage")
    assert the_inquiry(app)[0]["steps_saved"] == 1
    saved = client.post("/inquiry/about_ms", data=form_data(hidden_of(refused), ABOUT_MS))
    assert saved.status_code == 302
    assert location_path(saved) == "/inquiry/health"
    inquiry, _ = the_inquiry(app)
    assert inquiry["answers"] | expected_about_ms() == inquiry["answers"]


def test_an_expired_csrf_token_keeps_every_answer_and_the_fresh_token_saves(
    app_factory, monkeypatch
):
    app = app_factory(WTF_CSRF_TIME_LIMIT=1)
    client = app.test_client()
    assert send_step(client, "/inquiry", CONTACT).status_code == 302
    shown = client.get("/inquiry/about_ms")
    old_token = csrf_token_of(shown)

    real_time = time.time  # ten seconds pass: every signature is read, and made, that much later
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: int(real_time()) + 10)
    refused = client.post("/inquiry/about_ms", data=form_data(hidden_of(shown), ABOUT_MS))

    assert_keeps_answers_with_fresh_token(refused, ABOUT_MS, old_token)
    assert the_inquiry(app)[0]["steps_saved"] == 1
    saved = client.post("/inquiry/about_ms", data=form_data(hidden_of(refused), ABOUT_MS))
    assert saved.status_code == 302
    assert location_path(saved) == "/inquiry/health"
    inquiry, _ = the_inquiry(app)
    assert inquiry["answers"] | expected_about_ms() == inquiry["answers"]


def test_a_lost_session_keeps_the_answers_and_they_land_on_the_same_inquiry(app):
    first_browser = app.test_client()
    assert send_step(first_browser, "/inquiry", CONTACT).status_code == 302
    shown = first_browser.get("/inquiry/about_ms")
    hidden = hidden_of(shown)
    assert hidden["draft"]
    started, lead = the_inquiry(app)

    cookieless = app.test_client()  # the session cookie is gone; the page's form is not
    refused = cookieless.post("/inquiry/about_ms", data=form_data(hidden, ABOUT_MS))

    assert_keeps_answers_with_fresh_token(refused, ABOUT_MS, hidden["csrf_token"])
    assert hidden_of(refused)["draft"]
    saved = cookieless.post("/inquiry/about_ms", data=form_data(hidden_of(refused), ABOUT_MS))
    assert saved.status_code == 302
    assert location_path(saved) == "/inquiry/health"
    inquiry, after_lead = the_inquiry(app)
    assert (inquiry["id"], inquiry["lead_id"]) == (started["id"], started["lead_id"])
    assert inquiry["answers"] | expected_about_ms() == inquiry["answers"]
    assert after_lead["first_name"] == lead["first_name"] == "Ada"
    assert count(app, Lead) == count(app, Inquiry) == 1
    assert_answers_shown(first_browser.get("/inquiry/about_ms"), ABOUT_MS)


def test_opening_pages_with_answers_in_the_address_changes_nothing(app, client):
    assert send_step(client, "/inquiry", CONTACT).status_code == 302
    assert send_step(client, "/inquiry/about_ms", ABOUT_MS).status_code == 302
    before = snapshot(app)

    about = client.get(
        "/inquiry/about_ms?diagnosed=no&ms_type=PPMS&mobility=bed_bound"
        "&on_dmt=no&symptoms=pain&action=continue"
    )
    contact = client.get("/inquiry?first_name=Eve&email=eve%40example.org&filled_by=someone_else")
    consent = client.get("/inquiry/consent?privacy_notice=y&not_medical_advice=y&action=continue")

    assert (about.status_code, contact.status_code, consent.status_code) == (200, 200, 200)
    assert_answers_shown(about, ABOUT_MS)
    assert_answers_shown(contact, CONTACT_STORED)
    assert snapshot(app) == before


# ---------------------------------------------------------------------------------------------
# 6. Double submission


@pytest.mark.parametrize("second_cookie", ["from-before-the-first-answer", "from-the-first-answer"])
def test_step_one_sent_twice_with_one_submission_key_makes_one_lead_and_one_inquiry(
    app, client, second_cookie
):
    shown = client.get("/inquiry")
    cookie_before = client.get_cookie(SESSION_COOKIE).value
    data = form_data(hidden_of(shown), CONTACT)

    first = client.post("/inquiry", data=data)
    if second_cookie == "from-before-the-first-answer":  # a double click: no answer seen yet
        client.set_cookie(SESSION_COOKIE, cookie_before)
    second = client.post("/inquiry", data=data)

    assert [first.status_code, second.status_code] == [302, 302]
    assert location_path(first) == location_path(second) == "/inquiry/about_ms"
    assert count(app, Lead) == count(app, Inquiry) == 1
    assert count(app, OutboxEvent, topic="inquiry.started") == 1


def test_the_last_step_sent_five_times_completes_once_and_thanks_the_same_each_time(app, client):
    through_health(client)
    data = form_data(hidden_of(client.get("/inquiry/consent")), CONSENT)

    thanks = []
    for _ in range(5):
        response = client.post("/inquiry/consent", data=data)
        assert response.status_code == 303, text_of(response)[:500]
        assert location_path(response) == "/inquiry/sent"
        sent = client.get("/inquiry/sent")
        assert sent.status_code == 200
        thanks.append(sent.get_data(as_text=True))

    assert len(set(thanks)) == 1
    assert "Thank you, your inquiry has been sent" in thanks[0]
    assert count(app, EligibilityResult) == 1
    assert count(app, Consent) == CONSENT_PURPOSES
    assert count(app, OutboxEvent, topic="inquiry.completed") == 1
    inquiry, lead = the_inquiry(app)
    assert inquiry["status"] == "complete" and lead["incomplete"] is False


def test_the_last_step_sent_twice_at_the_same_moment_completes_once(app, client, monkeypatch):
    through_health(client)
    data = form_data(hidden_of(client.get("/inquiry/consent")), CONSENT)
    # Both requests have read the draft before either tries to complete it.
    monkeypatch.setattr(views, "complete_inquiry", Rendezvous().before(views.complete_inquiry))

    with serving(app) as base:
        results = post_at_once(base, "/inquiry/consent", data, session_cookie(client))

    assert [status for status, _ in results] == [303, 303], results
    assert {urlsplit(location).path for _, location in results} == {"/inquiry/sent"}
    assert count(app, EligibilityResult) == 1
    assert count(app, Consent) == CONSENT_PURPOSES
    assert count(app, OutboxEvent, topic="inquiry.completed") == 1
    assert the_inquiry(app)[0]["status"] == "complete"


def test_step_one_sent_twice_at_the_same_moment_makes_one_lead_and_one_inquiry(
    app, client, monkeypatch
):
    data = form_data(hidden_of(client.get("/inquiry")), CONTACT)
    # Both requests have made the dedupe lookup, and found no lead, before either saves.
    monkeypatch.setattr(starting, "find_overlaps", Rendezvous().after(starting.find_overlaps))

    with serving(app) as base:
        results = post_at_once(base, "/inquiry", data, session_cookie(client))

    assert count(app, Lead) == count(app, Inquiry) == 1
    assert count(app, OutboxEvent, topic="inquiry.started") == 1
    assert [status for status, _ in results] == [302, 302], results
    assert {urlsplit(location).path for _, location in results} == {"/inquiry/about_ms"}


# Fuzzing every step (and every other public form) lives in tests/security/test_fuzz.py (S-fuzz).
