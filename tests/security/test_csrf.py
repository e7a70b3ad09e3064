"""S-csrf: every state-changing route, sent without a CSRF token, with another session's token
and with an expired one, is refused and changes nothing; every page opened with GET changes
nothing either. Staff routes are sent by someone allowed to use them, so only the token is
tested; the staff refusal is the ``CSRFError`` handler's 303 back with a flash, the inquiry's is
the page again with every answer kept.

Left out on purpose: ``public.unsubscribe_post``, which RFC 8058 one-click mail clients send
without cookies or token; its capability is the signed token in its URL
(tests/public/test_unsubscribe.py covers it). And ``public.forget_draft`` ("this is a shared
device"), which only empties the caller's own session cookie: a forged post (which SameSite=Lax
would send without that cookie anyway) can change nothing stored. And ``hooks.inbound_text``, the
text provider's webhook, which no browser sends: the provider's signature is its check
(tests/hooks/test_inbound_texts.py).

The patient's side of the bar, a patient idle past the token's lifetime keeping their answers, is
tests/public/test_robustness.py::test_an_expired_csrf_token_keeps_every_answer_and_the_fresh_
token_saves (and ::test_a_lost_session_keeps_the_answers_and_they_land_on_the_same_inquiry).
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext

import pytest
from itsdangerous.timed import TimestampSigner

from intake.questionnaire.definition import load_definition
from tests.conftest import STEPS, form_data, hidden_fields, page, send_step, shown_values
from tests.public.consult_support import make_world, set_clock
from tests.security.conftest import changed_tables, role_for, table_fingerprints
from tests.staff.access_matrix import requests_for
from tests.staff.conftest import csrf_token

EXPIRED_FLASH = "That form had been open too long to be sent safely"
PATIENT_NOTICE = "This page was open for a while"
QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire

# Every route that accepts POST, and how it checks its token. A new POST route fails the test
# until it is added here (and so probed).
STAFF_POSTS = {
    "staff.accept_invitation", "staff.account_recovery_codes", "staff.account_sessions",
    "staff.admin_audit_verify", "staff.admin_cadence_reset", "staff.admin_cadence_save",
    "staff.admin_dead_letter_action", "staff.admin_erase", "staff.admin_reevaluate",
    "staff.admin_rule", "staff.admin_rule_new", "staff.admin_staff_disable",
    "staff.admin_staff_edit", "staff.admin_staff_enable", "staff.admin_staff_invite",
    "staff.admin_staff_resend", "staff.admin_staff_reset_factor", "staff.admin_staff_send_reset",
    "staff.admin_staff_unlock", "staff.admin_team", "staff.admin_team_new", "staff.bulk",
    "staff.change_password", "staff.lead_assign", "staff.lead_call",
    "staff.lead_decision", "staff.lead_do_not_contact", "staff.lead_erasure", "staff.lead_merge",
    "staff.lead_note", "staff.lead_status", "staff.login", "staff.login_code",
    "staff.login_enrol", "staff.login_finish", "staff.logout", "staff.reset_password",
    "staff.reset_request", "staff.search",
    "staff.duplicate_merge", "staff.duplicate_dismiss", "staff.merge_undo",
    "staff.admin_template_save", "staff.admin_template_preview",
    "staff.lead_message", "staff.lead_replies_read",
    # Consult types, hours and the calendar feed (issue 14).
    "staff.admin_consult_type", "staff.admin_consult_type_new", "staff.admin_staff_hours",
    "staff.admin_staff_day_change", "staff.admin_staff_day_change_remove",
    "staff.account_hours", "staff.account_day_change", "staff.account_day_change_remove",
    "staff.account_calendar_feed_create", "staff.account_calendar_feed_revoke",
    "staff.lead_task", "staff.task_done", "staff.task_cancel", "staff.task_move",
    "staff.consult_book", "staff.consult_move", "staff.consult_cancel", "staff.consult_outcome",
    # The clinic's articles and their links (issue 15).
    "staff.admin_article", "staff.admin_article_new",
    "staff.admin_api_key_create", "staff.admin_api_key_revoke",
    # Lead import (the upload checks its token itself, after raising the body limit).
    "staff.admin_import_upload", "staff.admin_import_mapping", "staff.admin_import_start",
    "staff.admin_import_resume", "staff.admin_import_cancel",
    "staff.admin_webhook_new", "staff.admin_webhook", "staff.admin_webhook_active",
    "staff.admin_webhook_rotate", "staff.admin_webhook_test", "staff.admin_webhook_retry",
}  # fmt: skip
INQUIRY_POSTS = {"public.contact_post", "public.step"}
# The patient's booking page: each form checks its own token; a refusal is the page again.
BOOKING_POSTS = {"public.consult_booking_post", "public.consult_cancel"}
EXEMPT_POSTS = {"public.unsubscribe_post", "public.forget_draft", "hooks.inbound_text",
                # The REST API: bearer keys, never cookies, so nothing for a forged post to ride
                # on (tests/api/test_api_access.py refuses every call without a key).
                "api_v1_leads.add_note", "api_v1_inquiries.create_inquiry",
                "api_v1_webhooks.webhooks", "api_v1_webhooks.rotate_webhook_secret",
                "api_v1_webhooks.retry_webhook_delivery"}  # fmt: skip
VARIANTS = ("missing", "foreign", "expired")


@contextmanager
def later(app):
    """Every signature is read, and made, just past the CSRF token's lifetime."""
    real = TimestampSigner.get_timestamp
    shift = app.config["WTF_CSRF_TIME_LIMIT"] + 60
    TimestampSigner.get_timestamp = lambda self: real(self) + shift
    try:
        yield
    finally:
        TimestampSigner.get_timestamp = real


def with_token(data, variant: str, own: str, foreign: str):
    data = data.copy()
    data.pop("csrf_token", None)
    if variant != "missing":
        data["csrf_token"] = foreign if variant == "foreign" else own
    return data


def post_routes(app, args) -> list[tuple[str, str]]:
    return [(endpoint, url) for endpoint, method, url in requests_for(app, args)
            if method == "POST"]  # fmt: skip


def test_every_post_route_is_known_so_none_escapes_the_probe(app, world):
    _ids, args = world
    posted = {endpoint for endpoint, _url in post_routes(app, args)}
    known = STAFF_POSTS | INQUIRY_POSTS | BOOKING_POSTS | EXEMPT_POSTS
    assert posted - known == set(), "unprobed POST routes"
    assert known - posted == set(), "routes gone"


def test_a_staff_form_without_a_foreign_or_an_expired_token_is_refused_and_changes_nothing(
    app, world, sign_in
):
    ids, args = world
    routes = [(e, url) for e, url in post_routes(app, args) if e in STAFF_POSTS]
    clients = {None: app.test_client()}
    for role in ("admin", "coordinator", "clinician"):
        clients[role] = sign_in(app.test_client(), ids[role])
    back = {None: "/staff/login", **dict.fromkeys(("admin", "coordinator", "clinician"),
                                                  "/staff/account")}  # fmt: skip
    own = {role: csrf_token(client, back[role]) for role, client in clients.items()}
    foreign = csrf_token(sign_in(app.test_client(), ids["admin"]), "/staff/account")
    before = table_fingerprints(app)

    refusals = []
    for variant in VARIANTS:
        for endpoint, url in routes:
            role = role_for(endpoint)
            data = with_token({"text": "x", "email": "a@clinic.example"}, variant,
                              own[role], foreign)  # fmt: skip
            referer = f"http://localhost{back[role]}"
            # (the flash is read in the same shifted time its cookie was signed in)
            with later(app) if variant == "expired" else nullcontext():
                response = clients[role].post(url, data=data, headers={"Referer": referer})
                with clients[role].session_transaction() as session:
                    flashes = [text for _kind, text in session.pop("_flashes", [])]
            refused = (response.status_code == 303 and response.headers["Location"] == back[role]
                       and any(EXPIRED_FLASH in text for text in flashes))  # fmt: skip
            if not refused:
                refusals.append(f"{variant} {endpoint}: {response.status_code} {flashes}")

    assert refusals == []
    assert changed_tables(before, table_fingerprints(app)) == []

    # The control: the same posts with the session's own fresh token are not refused as CSRF
    # (so the refusals above came from the token, not from the empty form).
    for endpoint, url in routes:
        role = role_for(endpoint)
        client = sign_in(app.test_client(), ids[role]) if role else app.test_client()
        data = {"csrf_token": csrf_token(client, back[role])}
        response = client.post(url, data=data, headers={"Referer": "http://localhost/x"})
        with client.session_transaction() as session:
            flashes = [text for _kind, text in session.get("_flashes", [])]
        assert not any(EXPIRED_FLASH in text for text in flashes), endpoint


def _patient_through_health(app):
    client = app.test_client()
    for url, answers in STEPS[:-1]:
        assert send_step(client, url, answers).status_code == 302
    return client


@pytest.mark.parametrize("variant", VARIANTS)
def test_an_inquiry_step_without_a_foreign_or_an_expired_token_keeps_the_answers_and_saves_none(
    app, variant
):
    patient = _patient_through_health(app)
    newcomer = app.test_client()
    foreign = hidden_fields(app.test_client().get("/inquiry"))["csrf_token"]
    pages = {url: hidden_fields((newcomer if url == "/inquiry" else patient).get(url))
             for url, _answers in STEPS}  # fmt: skip
    before = table_fingerprints(app)

    for url, answers in STEPS:
        client = newcomer if url == "/inquiry" else patient
        hidden = pages[url]
        data = with_token(form_data(hidden, answers), variant, hidden["csrf_token"], foreign)
        with later(app) if variant == "expired" else nullcontext():
            response = client.post(url, data=data)

        assert response.status_code == 422, (url, response.status_code)
        assert PATIENT_NOTICE in page(response).select_one(".notice").get_text()
        shown, typed = shown_values(page(response)), form_data({}, answers)  # as posted
        del typed["action"]
        for name in typed:
            assert shown.getlist(name) == typed.getlist(name), name

    assert changed_tables(before, table_fingerprints(app)) == []


@pytest.mark.parametrize("variant", VARIANTS)
def test_booking_moving_or_cancelling_without_a_foreign_or_an_expired_token_changes_nothing(
    app, variant, monkeypatch
):
    set_clock(monkeypatch)
    world = make_world(app)
    patient, stranger = app.test_client(), app.test_client()
    foreign = hidden_fields(stranger.get(world.url))["csrf_token"]
    own = hidden_fields(patient.get(world.url))["csrf_token"]
    slot = page(patient.get(world.url)).select_one("input[name=slot]")["value"]
    # one booking made properly, so moving and cancelling are open too
    assert patient.post(world.url, data={"csrf_token": own, "slot": slot}).status_code == 303
    before = table_fingerprints(app)

    for url, data in ((world.url, {"slot": slot}), (f"{world.url}/cancel", {})):
        with later(app) if variant == "expired" else nullcontext():
            response = patient.post(url, data=with_token(data, variant, own, foreign))
        assert response.status_code == 422, (url, response.status_code)
        assert "This page was open for a while" in page(response).get_text()

    assert changed_tables(before, table_fingerprints(app)) == []


def test_opening_every_page_changes_nothing_but_the_audit_log_and_the_session_clock(
    app, world, sign_in
):
    ids, args = world
    patient = _patient_through_health(app)
    gets = [(endpoint, url) for endpoint, method, url in requests_for(app, args)
            if method == "GET"]  # fmt: skip
    gets += [("public.step", f"/inquiry/{step.id}") for step in QUESTIONNAIRE.steps[1:]]
    clients = {role: sign_in(app.test_client(), ids[role])
               for role in ("admin", "coordinator", "clinician")}  # fmt: skip
    before = table_fingerprints(app)

    statuses = {}
    for endpoint, url in gets:
        role = role_for(endpoint)
        client = clients[role] if role else patient
        response = client.get(url)
        response.close()
        statuses[url] = response.status_code

    assert [url for url, status in statuses.items() if status >= 500] == []
    assert changed_tables(before, table_fingerprints(app)) == []
