"""S-fuzz: generated posts to every public form; never a server error, a refusal in plain words
that keeps the valid answers, and oversized bodies get the friendly 413.

The forms: each step of the inquiry (found by walking the questionnaire definition), the
unsubscribe page's button, and the staff forms open to anyone (sign-in password and code,
password reset request and new password, invitation). Each example is a whole body: fields
missing, repeated, of the wrong type for a choice, unicode (right-to-left, emoji, zero-width),
surrogate halves and bytes that are not UTF-8, NULs and control characters, and fields big
enough to pass the form-memory or body limit; and a CSRF token that is valid, missing, garbage or
another session's.

Sizes: ``INTAKE_FUZZ_EXAMPLES`` examples per form on SQLite and on PostgreSQL (default 25 in
CI; every form on both backends). The QUALITY.md run of 10,000 posts per form is the same tests
under the ``fuzz_long`` marker::

    uv run pytest -m fuzz_long tests/security

``INTAKE_FUZZ_NO_SHRINK=1`` reports a failing example as found, without Hypothesis's (slow)
shrinking.
"""

from __future__ import annotations

import os
import re
import urllib.parse
from datetime import date, timedelta

import pytest
from bs4 import BeautifulSoup
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from intake.accounts.tokens import issue_staff_token
from intake.extensions import db
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.questionnaire.definition import load_definition
from tests.conftest import STEPS, date_parts, form_data, shown_values
from tests.factories import make_lead
from tests.staff.conftest import deliver_due_mail, email_of, enter_password, link_in

QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire
STEP_URLS = {step.id: "/inquiry" + ("" if i == 0 else f"/{step.id}")
             for i, step in enumerate(QUESTIONNAIRE.steps)}  # fmt: skip
VALID = {url.removeprefix("/inquiry").strip("/") or QUESTIONNAIRE.steps[0].id: answers
         for url, answers in STEPS}  # fmt: skip
assert list(VALID) == [step.id for step in QUESTIONNAIRE.steps], "helpers.STEPS is out of date"
GOOD = {
    **{key: value for answers in VALID.values() for key, value in answers.items()},
    "caregiver_first_name": "Grace",
    "caregiver_last_name": "Byron",
    "caregiver_relationship": "daughter",
    "caregiver_email": "grace@example.org",
    "caregiver_phone": "(202) 555-0187",
    "symptoms_other": "Stiff legs",
    "prior_stem_cell_when": "2019",
    "detected_time_zone": "Europe/Paris",
    "draft": "<as served>",
    "rendered_at": "<as served>",
}
GOOD.update(  # a date is posted as its day, month and year boxes
    {name: text for key, value in GOOD.items() if isinstance(value, date)
     for name, text in date_parts(key, value).items()}
)  # fmt: skip


def form_names(item) -> list[str]:
    """The names a question is posted under: a date's three boxes, else its linkId."""
    return list(date_parts(item.link_id, date.min)) if item.type == "date" else [item.link_id]


QUESTIONS = {name for item in QUESTIONNAIRE.items.values() for name in form_names(item)}
# Every question of each step (walked from the definition, so a new question is fuzzed too), and
# the hidden fields a step may carry, with a good answer where there is one.
STEP_FIELDS = {
    step.id: {name: GOOD.get(name) for name in [n for item in step.items for n in form_names(item)]
              + (["detected_time_zone", "rendered_at"] if index == 0 else []) + ["draft"]}
    for index, step in enumerate(QUESTIONNAIRE.steps)
}  # fmt: skip

CI_EXAMPLES = int(os.environ.get("INTAKE_FUZZ_EXAMPLES", "25"))
LONG_EXAMPLES = int(os.environ.get("INTAKE_FUZZ_EXAMPLES", "10000"))
CSRF_NOTICE = "This page was open for a while"
NOT_UTF8 = [
    "\udcff\ud800".encode("utf-8", "surrogatepass"),  # surrogate halves, escaped
    b"\xff\xfe\xfd",
    b"\xc0\xaf",  # an overlong slash
    b"ok\x80",
]
ODD_TEXT = [
    "\u202eevil.exe\u202c", "مرحبا بالعالم", "שלום", "🧠👩🏽‍⚕️🏳️‍🌈", "\u200b\ufeff", "Ａｄａ",
    "e\u0301\u0301\u0301", "' OR 1=1 --", "<script>alert(1)</script>", "${7*7}{{7*7}}",
    "%00", "../../etc/passwd", "\u2028\u2029",
]  # fmt: skip
WRONG_TYPES = ["1", "-1", "0", "true", "null", "[]", "{}", "1e309", "NaN", "YES ", "yes\n", " "]


def single_values(valid):
    """One value of a field: (value, whether it is the known-good answer)."""
    others = st.one_of(
        st.sampled_from(WRONG_TYPES + ODD_TEXT + NOT_UTF8),
        st.text(max_size=40),
        st.text(alphabet=st.characters(max_codepoint=0x1F), min_size=1, max_size=10),
        st.integers(300, 6000).map(lambda n: "y" * n),
    )
    if valid is None:
        return others.map(lambda value: (value, False))
    good = st.just((valid, True))
    return st.one_of(good, good, others.map(lambda value: (value, False)))


def field_values(valid):
    """Missing, the good answer(s), one odd value, or the field repeated."""
    if isinstance(valid, list):  # a multi-choice answer is its own repeated field
        return st.one_of(
            st.just([(value, True) for value in valid]),
            st.none(),
            st.lists(single_values(None), min_size=1, max_size=4),
        )
    return st.one_of(
        st.none(),
        single_values(valid).map(lambda pair: [pair]),
        st.lists(single_values(valid), min_size=2, max_size=3),
    )


def posts(fields: dict):
    """A whole form: each field's values, the action button, the CSRF variant, and now and then
    one huge field that takes the body past the form-memory or body limit."""
    return st.fixed_dictionaries(
        {
            "fields": st.fixed_dictionaries({name: field_values(v) for name, v in fields.items()}),
            "action": st.sampled_from(["continue", "continue", "save_later", "", "\x00", "?"]),
            "csrf": st.sampled_from(["valid"] * 5 + ["missing", "garbage", "foreign"]),
            "huge": st.one_of(st.none(), st.none(), st.none(), st.integers(100_000, 300_000)),
        }
    )


def encode(pairs: list[tuple[str, str | bytes]]) -> bytes:
    """URL-encode by hand, so values may be bytes that no browser would send as text."""
    return urllib.parse.urlencode(pairs).encode()


def body_of(example: dict, hidden: dict[str, str], foreign: str, form_fields: list[str]):
    pairs: list[tuple[str, str | bytes]] = []
    for name, value in hidden.items():
        if name in form_fields:
            continue  # fuzzed below
        if name == "csrf_token":
            if example["csrf"] == "missing":
                continue
            value = {"valid": value, "garbage": "garbage", "foreign": foreign}[example["csrf"]]
        pairs.append((name, value))
    for name in form_fields:
        for value, _good in example["fields"][name] or []:
            pairs.append((name, hidden.get(name, "") if value == "<as served>" else value))
    if example["action"]:
        pairs.append(("action", example["action"]))
    if example["huge"]:
        pairs.append((form_fields[0], "h" * example["huge"]))
    return encode(pairs)


def too_large(app, response, body: bytes) -> bool:
    """A body over MAX_CONTENT_LENGTH must get the friendly 413 (one over the smaller in-memory
    form limit may get it too); whether this response was such a refusal."""
    if len(body) > app.config["MAX_CONTENT_LENGTH"]:
        assert response.status_code == 413, response.status_code
    elif len(body) <= app.config["MAX_FORM_MEMORY_SIZE"]:
        assert response.status_code != 413
    if response.status_code == 413:
        assert "That was too much text to send" in response.get_data(as_text=True)
        return True
    return False


def post(client, url: str, body: bytes):
    return client.post(url, data=body, content_type="application/x-www-form-urlencoded")


def field_names(soup) -> set[str]:
    form = soup.find("form", method="post")
    return {f["name"] for f in form.find_all(["input", "select", "textarea"]) if f.get("name")}


def hidden_of(response) -> dict[str, str]:
    form = BeautifulSoup(response.get_data(as_text=True), "html.parser").find("form", method="post")
    return {f["name"]: f.get("value", "") for f in form.find_all("input", type="hidden")
            if f.get("name")}  # fmt: skip


def assert_refusal_explained_and_answers_kept(response, example: dict, step_id: str) -> None:
    """A refused step says why in plain words, and shows again every answer that was good."""
    soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
    summary = soup.select_one(".error-summary")
    notice = soup.select_one(".notice")
    words = (summary or notice).get_text(" ", strip=True) if (summary or notice) else ""
    assert re.search(r"[A-Za-z]{3,} [a-z]{2,}", words), f"no plain-words error: {words!r}"
    if summary is not None:
        assert summary.select("li a[href^='#']"), "the summary links to the fields"
    if example["csrf"] != "valid":
        assert notice is not None and CSRF_NOTICE in notice.get_text()
    shown, present = shown_values(soup), field_names(soup)
    for name, values in example["fields"].items():
        if name not in QUESTIONS or not values or name not in present:
            continue
        if all(good for _value, good in values):
            sent = [value for value, _good in values]
            if not isinstance(STEP_FIELDS[step_id][name], list):  # repeated: the first counts
                sent = sent[:1]
            assert shown.getlist(name) == sent, f"{step_id}.{name}: {shown.getlist(name)!r}"


def fuzz_settings(examples: int):
    return settings(
        max_examples=examples,
        deadline=None,
        database=None,
        phases=[Phase.explicit, Phase.generate]
        if os.environ.get("INTAKE_FUZZ_NO_SHRINK")
        else tuple(Phase),
        # the app, its database and one patient's draft are set up once per test, on purpose
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow,
                               HealthCheck.data_too_large],
    )  # fmt: skip


# ---------------------------------------------------------------------------------------------
# The inquiry's steps


class Patient:
    """One browser at one step of the inquiry, with a draft that exists up to that step; a
    new draft replaces it when a fuzzed post sends the whole inquiry."""

    def __init__(self, app, step_id: str) -> None:
        self.app, self.step_id, self.url = app, step_id, STEP_URLS[step_id]
        self.foreign = hidden_of(app.test_client().get("/inquiry"))["csrf_token"]
        self.start()

    def start(self) -> None:
        self.client = self.app.test_client()
        for step in QUESTIONNAIRE.steps:
            if step.id == self.step_id:
                break
            url = STEP_URLS[step.id]
            sent = self.client.post(url, data=form_data(hidden_of(self.client.get(url)),
                                                        VALID[step.id]))  # fmt: skip
            assert sent.status_code == 302, sent.status_code
        shown = self.client.get(self.url)
        assert shown.status_code == 200
        self.hidden = hidden_of(shown)


def fuzz_step(app, step_id: str, example: dict) -> None:
    if f"fuzz.{step_id}" not in app.extensions:
        app.extensions[f"fuzz.{step_id}"] = Patient(app, step_id)
    patient = app.extensions[f"fuzz.{step_id}"]
    body = body_of(example, patient.hidden, patient.foreign, list(STEP_FIELDS[step_id]))

    response = post(patient.client, patient.url, body)

    assert response.status_code < 500, response.status_code
    if too_large(app, response, body):
        return
    if response.status_code == 422:
        assert_refusal_explained_and_answers_kept(response, example, step_id)
        return
    if response.status_code == 302 and response.headers["Location"] == "/inquiry":
        return  # a draft reference that is not ours: start again, nothing read or saved
    assert example["csrf"] == "valid", "a bad CSRF token was accepted"
    if response.status_code == 200:  # "save and finish later" keeps the valid answers
        assert example["action"] == "save_later"
        assert "/inquiry/resume/" in response.get_data(as_text=True)
    elif response.status_code == 303:  # the whole inquiry was sent
        assert step_id == QUESTIONNAIRE.steps[-1].id
        assert response.headers["Location"].endswith("/inquiry/sent")
        patient.start()
    else:
        assert response.status_code == 302, response.status_code


STEP_IDS = [step.id for step in QUESTIONNAIRE.steps]


@pytest.mark.parametrize("step_id", STEP_IDS)
@fuzz_settings(CI_EXAMPLES)
@given(example=st.data())
def test_any_post_to_an_inquiry_step_is_saved_or_explained_keeping_good_answers(
    app, step_id, example
):
    fuzz_step(app, step_id, example.draw(posts(STEP_FIELDS[step_id])))


@pytest.mark.fuzz_long
@pytest.mark.parametrize("step_id", STEP_IDS)
@fuzz_settings(LONG_EXAMPLES)
@given(example=st.data())
def test_ten_thousand_posts_to_an_inquiry_step(app, step_id, example):
    fuzz_step(app, step_id, example.draw(posts(STEP_FIELDS[step_id])))


# ---------------------------------------------------------------------------------------------
# The public staff forms and the unsubscribe button


def _signed_links(app, make_staff) -> dict[str, str]:
    """A live reset link, invitation link and unsubscribe link."""
    ids = {"password_reset": make_staff(), "invitation": make_staff()}
    with app.app_context():
        for purpose, user_id in ids.items():
            issue_staff_token(user=db.session.get(StaffUser, user_id), purpose=purpose,
                              now=utcnow(), valid_for=timedelta(days=1))  # fmt: skip
        unsubscribe = f"/unsubscribe/{unsubscribe_token(make_lead().id)}"
        db.session.commit()
    mails = {mail.recipient: mail for mail in deliver_due_mail(app)}
    return {
        "reset": link_in(mails[email_of(app, ids["password_reset"])], "reset"),
        "invitation": link_in(mails[email_of(app, ids["invitation"])], "invitation"),
        "unsubscribe": unsubscribe,
    }


PASSWORDS = {"new_password": "a long new passphrase 42", "confirm": "a long new passphrase 42"}
STAFF_FORMS = {
    # name: (fields with a good value, statuses besides 413/422 that a fuzzed post may get)
    "login": ({"email": "nobody@clinic.example", "password": "wrong"}, {302, 303}),
    "code": ({"code": "123456"}, {302, 303}),
    "reset_request": ({"email": "nobody@clinic.example"}, {200, 303}),
    "reset": (PASSWORDS, {302, 303, 404}),
    "invitation": (PASSWORDS, {302, 303, 404}),
    "unsubscribe": ({"List-Unsubscribe": "One-Click"}, {200}),
}


class Visitor:
    """A browser on one of the public staff forms (or the unsubscribe page)."""

    def __init__(self, app, form: str, make_staff) -> None:
        self.client, self.form = app.test_client(), form
        linked = form in ("reset", "invitation", "unsubscribe")
        links = _signed_links(app, make_staff) if linked else {}
        self.url = {"login": "/staff/login", "code": "/staff/login/code",
                    "reset_request": "/staff/reset", **links}[form]  # fmt: skip
        if form == "code":  # the code page needs a password accepted first
            assert enter_password(self.client, email_of(app, make_staff())).status_code == 302
        page = self.client.get("/staff/login" if form == "unsubscribe" else self.url)
        self.hidden = hidden_of(page) if form != "unsubscribe" else {}
        self.foreign = hidden_of(app.test_client().get("/staff/login"))["csrf_token"]


def fuzz_staff_form(app, form: str, example: dict, make_staff) -> None:
    if f"fuzz.{form}" not in app.extensions:
        app.extensions[f"fuzz.{form}"] = Visitor(app, form, make_staff)
    visitor = app.extensions[f"fuzz.{form}"]
    fields, statuses = STAFF_FORMS[form]
    body = body_of(example, visitor.hidden, visitor.foreign, list(fields))

    response = post(visitor.client, visitor.url, body)

    assert response.status_code < 500, response.status_code
    if too_large(app, response, body):
        return
    if example["csrf"] != "valid" and form != "unsubscribe":  # the staff CSRFError handler
        assert response.status_code == 303, response.status_code
        return
    assert response.status_code in statuses | {422}, response.status_code
    if response.status_code == 422:
        soup = BeautifulSoup(response.get_data(as_text=True), "html.parser")
        error = soup.select_one(".error-summary, .error-message, [role=alert]")
        assert error is not None and re.search(r"[A-Za-z]{3,} [a-z]{2,}", error.get_text(" "))


@pytest.fixture
def staff_app(app, app_factory):
    """The documented limits stay on elsewhere (test_brute); here they would only hide forms.
    The keys are ``app``'s, which ``make_staff`` seals each account's second factor with."""
    return app_factory(
        INTAKE_SIGNIN_RATE_LIMIT="1000000 per minute",
        INTAKE_ENCRYPTION_KEYS=app.config["INTAKE_ENCRYPTION_KEYS"],
    )


@pytest.mark.parametrize("form", list(STAFF_FORMS))
@fuzz_settings(CI_EXAMPLES)
@given(example=st.data())
def test_any_post_to_a_public_staff_form_or_the_unsubscribe_button_is_never_a_server_error(
    staff_app, make_staff, form, example
):
    fuzz_staff_form(staff_app, form, example.draw(posts(STAFF_FORMS[form][0])), make_staff)


@pytest.mark.fuzz_long
@pytest.mark.parametrize("form", list(STAFF_FORMS))
@fuzz_settings(LONG_EXAMPLES)
@given(example=st.data())
def test_ten_thousand_posts_to_a_public_staff_form(staff_app, make_staff, form, example):
    fuzz_staff_form(staff_app, form, example.draw(posts(STAFF_FORMS[form][0])), make_staff)


# ---------------------------------------------------------------------------------------------
# A body of about a megabyte, to every public form


def test_a_megabyte_body_to_every_public_form_gets_the_friendly_413(app, make_staff):
    limit = app.config["MAX_CONTENT_LENGTH"]
    urls = [*STEP_URLS.values(), *_signed_links(app, make_staff).values(), "/staff/login",
            "/staff/login/code", "/staff/reset"]  # fmt: skip
    body = encode([("first_name", "A" * 1_000_000), ("email", "x")])
    assert len(body) > limit
    client = Patient(app, QUESTIONNAIRE.steps[-1].id).client  # a draft: each step reads the body
    for url in urls:
        response = post(client, url, body)
        assert response.status_code == 413, (url, response.status_code)
        assert "That was too much text to send" in response.get_data(as_text=True)
