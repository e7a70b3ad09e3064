"""S-headers: every route in the URL map (anonymous, and signed in with a role that may use it),
the error pages (404, 405, 413, 429, 500, a refused CSRF token), the static files, a patient's
attachment downloaded by staff and the text provider's webhook (signed and not) carry a strict
Content-Security-Policy, HSTS, nosniff, and ``Cache-Control: no-store`` on staff pages.

Requests go over HTTPS (``base_url``), as behind the production proxy: HSTS is sent over HTTPS
only, as RFC 6797 asks. The CSP is parsed into directives, not matched as a string.
"""

from __future__ import annotations

import pytest
from twilio.request_validator import RequestValidator

from intake.questionnaire.definition import load_definition
from tests.conftest import CONTACT, form_data, hidden_fields
from tests.security.conftest import role_for
from tests.staff.access_matrix import requests_for

HTTPS = "https://localhost"
QUESTIONNAIRE = load_definition("ms_inquiry").questionnaire
STATIC = ("/static/intake.css", "/static/staff.css", "/static/inquiry.js", "/static/embed.css")
TEXT_HOOK, TEXT_TOKEN = "/hooks/texts/twilio", "headers-token"


def parse_csp(header: str) -> dict[str, list[str]]:
    """Directive name -> its sources (CSP Level 3, section 2.2: split on ';', then on spaces);
    the first of a repeated directive wins, as browsers do."""
    policy: dict[str, list[str]] = {}
    for directive in header.split(";"):
        tokens = directive.split()
        if tokens and tokens[0].lower() not in policy:
            policy[tokens[0].lower()] = tokens[1:]
    return policy


def header_problems(response, url: str) -> list[str]:
    headers, problems = response.headers, []
    csp = headers.get("Content-Security-Policy")
    if not csp:
        return [f"{url}: no Content-Security-Policy"]
    policy = parse_csp(csp)
    scripts = policy.get("script-src", policy.get("default-src"))
    if scripts is None or "'unsafe-inline'" in scripts or "*" in scripts:
        problems.append(f"{url}: script-src {scripts}")
    for directive in ("object-src", "base-uri", "frame-ancestors"):
        if policy.get(directive) != ["'none'"]:
            problems.append(f"{url}: {directive} {policy.get(directive)}")
    hsts = {part.strip().split("=")[0].lower(): part.strip()
            for part in headers.get("Strict-Transport-Security", "").split(";")}  # fmt: skip
    max_age = hsts.get("max-age", "max-age=0").split("=", 1)[1]
    if not max_age.isdigit() or int(max_age) < 180 * 24 * 3600:
        problems.append(f"{url}: HSTS {headers.get('Strict-Transport-Security')!r}")
    if headers.get("X-Content-Type-Options", "").lower() != "nosniff":
        problems.append(f"{url}: X-Content-Type-Options {headers.get('X-Content-Type-Options')}")
    if url.startswith("/staff"):
        cache = [part.strip().lower() for part in headers.get("Cache-Control", "").split(",")]
        if "no-store" not in cache:
            problems.append(f"{url}: Cache-Control {headers.get('Cache-Control')!r}")
    return problems


def fetch(client, method: str, url: str, **kwargs):
    response = client.open(url, method=method, base_url=HTTPS, **kwargs)
    response.close()  # static files are streamed from an open file
    return response


def test_header_problems_sees_each_missing_or_weak_header(app):
    """The check itself can fail: a page with weakened headers is caught on every count."""
    response = fetch(app.test_client(), "GET", "/staff/login")
    assert header_problems(response, "/staff/login") == []
    response.headers["Content-Security-Policy"] = (
        "default-src 'self' 'unsafe-inline'; object-src 'self'; frame-ancestors 'none' 'self'"
    )
    response.headers["Cache-Control"] = "no-cache"
    del response.headers["Strict-Transport-Security"]
    response.headers["X-Content-Type-Options"] = "sniff"
    assert len(header_problems(response, "/staff/login")) == 7


def test_every_route_anonymous_and_signed_in_carries_the_security_headers(app, world, sign_in):
    ids, args = world
    clients = {role: sign_in(app.test_client(), ids[role])
               for role in ("admin", "coordinator", "clinician")}  # fmt: skip
    routes = requests_for(app, args)
    routes += [("public.step", "GET", f"/inquiry/{s.id}") for s in QUESTIONNAIRE.steps[1:]]
    problems, seen = [], 0
    for endpoint, method, url in routes:
        role = role_for(endpoint)
        for client in (app.test_client(), clients[role]) if role else (app.test_client(),):
            problems += header_problems(fetch(client, method, url, data={}), url)
            seen += 1
    for url in STATIC:
        problems += header_problems(fetch(app.test_client(), "GET", url), url)
    print(f"S-headers: {seen} route responses and {len(STATIC)} static files checked")
    assert problems == []


@pytest.fixture
def error_app(app_factory):
    """An app with a test-only route that fails, outside and inside /staff, and a low limit."""
    app = app_factory(INTAKE_INQUIRY_RATE_LIMIT="1 per minute", RATELIMIT_STORAGE_URI="memory://")

    def boom():
        raise RuntimeError("a test-only failure")

    app.add_url_rule("/__boom", "boom", boom)
    app.add_url_rule("/staff/__boom", "staff_boom", boom)
    return app


def test_every_error_page_carries_the_security_headers(error_app, make_staff, sign_in):
    app = error_app
    addresses = iter(range(1, 200))

    def anyone():  # each from its own address, so the low limit meets only the last case
        client = app.test_client()
        client.environ_base["REMOTE_ADDR"] = f"192.0.2.{next(addresses)}"
        return client

    staff = sign_in(app.test_client(), make_staff("admin"))
    huge = {"first_name": "A" * 1_000_000}
    cases = [  # (client, method, url, data, status)
        (anyone(), "GET", "/no-such-page", None, 404),
        (anyone(), "GET", "/staff/no-such-page", None, 404),
        (staff, "GET", "/staff/no-such-page", None, 404),
        (staff, "GET", "/staff/leads/999999", None, 404),
        (anyone(), "GET", "/staff/logout", None, 405),
        (anyone(), "POST", "/healthz", None, 405),
        (anyone(), "POST", "/inquiry", huge, 413),
        (staff, "POST", "/staff/search", huge, 413),
        (anyone(), "GET", "/__boom", None, 500),
        (staff, "GET", "/staff/__boom", None, 500),
        (anyone(), "POST", "/staff/login", {"email": "x"}, 303),  # CSRF refused
        (staff, "POST", "/staff/search", {"q": "x"}, 303),  # CSRF refused
        (anyone(), "POST", "/inquiry", {"first_name": "x"}, 422),  # CSRF refused
    ]
    problems = []
    for client, method, url, data, status in cases:
        response = fetch(client, method, url, data=data)
        assert response.status_code == status, (url, response.status_code)
        problems += header_problems(response, url)

    patient = anyone()
    shown = fetch(patient, "GET", "/inquiry")
    sent = patient.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT), base_url=HTTPS)
    assert sent.status_code == 302
    limited = patient.post("/inquiry", data=form_data(hidden_fields(shown), CONTACT),
                           base_url=HTTPS)  # fmt: skip
    assert limited.status_code == 429
    problems += header_problems(limited, "/inquiry (429)")
    assert problems == []


def test_a_downloaded_attachment_is_never_stored_or_sniffed(app, world, sign_in):
    """The patient's file, sent as a download: no-store and nosniff like every staff page, so no
    cache keeps it and no browser runs it as something else."""
    ids, args = world
    client = sign_in(app.test_client(), ids["coordinator"])
    url = f"/staff/leads/{args['lead_id']}/attachments/{args['attachment_id']}"
    response = fetch(client, "GET", url)
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert response.headers["Content-Disposition"].startswith("attachment;")
    assert header_problems(response, url) == []


@pytest.fixture
def texting_app(app_factory):
    """The text provider configured, so its webhook answers (it is 404 without SMS_URL)."""
    return app_factory(SMS_URL=f"twilio://AC1:{TEXT_TOKEN}@api.twilio.com?from=%2B15550100",
                       INTAKE_BASE_URL=HTTPS)  # fmt: skip


def test_the_text_webhook_carries_the_security_headers_signed_or_not(texting_app):
    form = {"MessageSid": "SMheaders1", "From": "+12025550100", "Body": "hello"}
    signature = RequestValidator(TEXT_TOKEN).compute_signature(HTTPS + TEXT_HOOK, form)
    client = texting_app.test_client()
    refused = fetch(client, "POST", TEXT_HOOK, data=form)
    answered = fetch(client, "POST", TEXT_HOOK, data=form,
                     headers={"X-Twilio-Signature": signature})  # fmt: skip
    assert (refused.status_code, answered.status_code) == (403, 200)
    assert answered.mimetype == "text/xml"
    assert header_problems(refused, TEXT_HOOK) + header_problems(answered, TEXT_HOOK) == []


EMBEDDED = {"public.embed", "public.embed_in_language"}
EMBED_ORIGINS = ("https://www.clinic.example", "http://127.0.0.1:8001")


def test_only_the_embeddable_start_may_be_framed_and_only_by_the_embed_origins(app, world, sign_in):
    """With INTAKE_EMBED_ORIGINS set, the embed routes name those origins in frame-ancestors
    (and send no X-Frame-Options, which would refuse them); every other route, signed in or
    not, still refuses every frame both ways."""
    app.config["INTAKE_EMBED_ORIGINS"] = EMBED_ORIGINS
    ids, args = world
    admin = sign_in(app.test_client(), ids["admin"])
    problems, embedded = [], 0
    for endpoint, method, url in requests_for(app, args):
        client = admin if role_for(endpoint) else app.test_client()
        response = fetch(client, method, url, data={})
        policy = parse_csp(response.headers["Content-Security-Policy"])
        frame_options = response.headers.get("X-Frame-Options")
        if endpoint in EMBEDDED:
            embedded += 1
            if policy.get("frame-ancestors") != list(EMBED_ORIGINS) or frame_options:
                problems.append(f"{url}: {policy.get('frame-ancestors')} {frame_options}")
            rest = {k: v for k, v in policy.items() if k != "frame-ancestors"}
            if rest.get("object-src") != ["'none'"] or rest.get("script-src") != ["'self'"]:
                problems.append(f"{url}: {rest}")
        elif policy.get("frame-ancestors") != ["'none'"] or frame_options != "DENY":
            problems.append(f"{url}: {policy.get('frame-ancestors')} {frame_options}")
    assert embedded == len(EMBEDDED) and problems == []
