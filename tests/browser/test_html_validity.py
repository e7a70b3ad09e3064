"""The Nu HTML checker (vnu, the W3C validator's engine) finds 0 errors on every public page in
every state, in English and in Spanish, and on the main staff pages: what axe does not look at,
such as a repeated id, a ``<time datetime>`` with microseconds or an attribute where HTML allows
none.

The pages are fetched as served (through the test client) and checked in one run of vnu.jar,
from npm's ``vnu-jar`` package, which .ci/run installs, under Debian's Java. Without either the
test skips, saying why (a failure with INTAKE_REQUIRE_SERVICES=1). It lives beside the browser
tests for their SQLite-only app: markup does not depend on the database.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import date
from pathlib import Path

from intake.extensions import db
from intake.http import ERROR_TEXT, render_error
from intake.messaging.texts import TextMessage, deliver_text
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import ArticleLink, Lead
from tests.conftest import (
    ABOUT_MS,
    CONSENT,
    CONTACT,
    HEALTH,
    complete_inquiry,
    form_data,
    hidden_fields,
    send_step,
    service_unavailable,
)
from tests.public.consult_support import booking_pages

VNU_JAR = Path("node_modules/vnu-jar/build/dist/vnu.jar")
DEFAULT_PREFIX = Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "intake-vnu"
FAULTY = (  # the check's own check: two errors vnu must report
    '<!doctype html><html lang="en"><head><title>Faulty</title></head><body>'
    '<time datetime="2026-01-02T03:04:05.123456+00:00">then</time>'
    '<input type="hidden" id="twice"><input type="hidden" id="twice"></body></html>'
)


def vnu_command() -> list[str]:
    java = shutil.which("java")
    prefix = Path(os.environ.get("INTAKE_VNU_PREFIX") or DEFAULT_PREFIX)
    jar = prefix / VNU_JAR
    if java is None:
        service_unavailable("the Nu HTML checker needs Java (Debian package default-jre-headless)")
    if not jar.is_file():
        service_unavailable(f"the Nu HTML checker (npm package vnu-jar) is not at {jar}")
    return [java, "-Xss4m", "-jar", str(jar), "--format", "json", "--stdout"]


def check(pages: dict[str, str], directory: Path) -> dict[str, list[str]]:
    """Every page's errors, from one run of vnu over all of them."""
    names, paths = {}, []
    for number, (name, html) in enumerate(pages.items()):
        path = directory / f"page-{number:02d}.html"
        path.write_text(html, encoding="utf-8")
        names[path.resolve().as_uri()] = name
        paths.append(str(path))
    run = subprocess.run(  # noqa: S603 (our own arguments)
        [*vnu_command(), *paths],
        capture_output=True,
        text=True,
        timeout=240,
    )
    messages = json.loads(run.stdout)["messages"]
    found: dict[str, list[str]] = {name: [] for name in pages}
    for message in messages:
        if message["type"] not in ("error", "non-document-error"):
            continue
        name = names.get(message.get("url", "").replace("file:/", "file:///", 1))
        name = name or names.get(message.get("url", ""), message.get("url", "?"))
        found.setdefault(name, []).append(
            f"line {message.get('lastLine', '?')}: {message['message']}"
            f" [{' '.join((message.get('extract') or '').split())[:120]}]"
        )
    return found


def html(response, status: int = 200) -> str:
    assert response.status_code == status, (response.status_code, response.request.path)
    return response.get_data(as_text=True)


def patient(app, language: str):
    """A browser that chose ``language`` by the link (``?lang=``)."""
    client = app.test_client()
    client.get(f"/inquiry?lang={language}")
    return client


def public_pages(app, language: str = "en") -> dict[str, str]:
    pages: dict[str, str] = {}
    client = patient(app, language)
    pages["step 1, empty"] = html(client.get("/inquiry"))
    nearly_empty = {"filled_by": "self", "last_name": "Byron"}
    pages["step 1, errors"] = html(send_step(client, "/inquiry", nearly_empty), 422)
    shown = client.get("/inquiry")
    bot = form_data(hidden_fields(shown), {**CONTACT, "leave_blank": "https://spam.example"})
    pages["step 1, bot check notice"] = html(client.post("/inquiry", data=bot), 422)
    expired = form_data({**hidden_fields(shown), "csrf_token": "expired"}, CONTACT)
    pages["step 1, expired page notice"] = html(client.post("/inquiry", data=expired), 422)
    send_step(client, "/inquiry", CONTACT)
    pages["step 2, empty"] = html(client.get("/inquiry/about_ms"))
    pages["step 2, errors"] = html(send_step(client, "/inquiry/about_ms", {}), 422)
    send_step(client, "/inquiry/about_ms", ABOUT_MS)
    pages["step 3, empty"] = html(client.get("/inquiry/health"))
    wrong_date = {"date_of_birth-day": "31", "date_of_birth-month": "2", "date_of_birth-year": "84"}
    pages["step 3, errors"] = html(send_step(client, "/inquiry/health", wrong_date), 422)
    send_step(client, "/inquiry/health", HEALTH)
    pages["step 4, review"] = html(client.get("/inquiry/consent"))
    pages["step 4, errors"] = html(send_step(client, "/inquiry/consent", {}), 422)
    send_step(client, "/inquiry/consent", CONSENT)
    pages["confirmation"] = html(client.get("/inquiry/sent"))

    later = patient(app, language)
    pages["saved for later"] = html(send_step(later, "/inquiry", CONTACT, action="save_later"))
    pages["resume link expired"] = html(later.get("/inquiry/resume/not-a-token"), 410)
    with app.app_context():
        token = unsubscribe_token(db.session.scalar(db.select(Lead.id).order_by(Lead.id)))
    pages["unsubscribe"] = html(later.get(f"/unsubscribe/{token}"))
    data = hidden_fields(later.get(f"/unsubscribe/{token}"))
    pages["unsubscribed"] = html(later.post(f"/unsubscribe/{token}", data=data))
    pages.update(booking_pages(app, language))
    embed = f"/{language}/embed/inquiry?utm_source=website&utm_content=what-is-ms"
    pages["embedded start"] = html(app.test_client().get(embed))
    with app.test_request_context("/", headers={"Accept-Language": language}):
        for code in ERROR_TEXT:
            body, status = render_error(code)
            pages[f"error page {status}"] = body
    return pages


def staff_pages(app, make_staff, sign_in) -> dict[str, str]:
    pages: dict[str, str] = {}
    anonymous = app.test_client()
    pages["staff sign-in"] = html(anonymous.get("/staff/login"))
    wrong = {
        **hidden_fields(anonymous.get("/staff/login")),
        "email": "no@clinic.example",
        "password": "wrong",
    }
    pages["staff sign-in, refused"] = html(anonymous.post("/staff/login", data=wrong), 422)
    complete_inquiry(app.test_client(), health={"date_of_birth": date(1971, 9, 30)})
    admin = make_staff("admin", team="Team A")
    other = make_staff("coordinator", team="Team A")
    sign_in(app.test_client(), admin)  # a second session: the account page offers to end it
    client = sign_in(app.test_client(), admin)
    with app.app_context():
        lead_id = db.session.scalar(db.select(Lead.id))
        text = TextMessage(recipient="+12025550143", body="Hi.\nCall us?", message_id="text-vnu")
        deliver_text(text)
        db.session.add(ArticleLink(title="What is MS?", utm_content="what-is-ms",
                                   utm_campaign="ms-msc"))  # fmt: skip
        db.session.commit()
    for name, path in (
        ("staff queue", "/staff/"),
        ("lead page", f"/staff/leads/{lead_id}"),
        ("administration home", "/staff/admin/"),
        ("links for articles", "/staff/articles"),
        ("article form", "/staff/admin/articles/new"),
        ("where leads come from", "/staff/dashboard/attribution"),
        ("staff member", f"/staff/admin/staff/{other}"),
        ("audit log", "/staff/admin/audit"),
        ("captured texts", "/staff/admin/mail/texts"),
        ("API keys", "/staff/admin/api-keys"),
        ("API reference", "/api/v1/docs"),
        ("account", "/staff/account"),
        ("message templates", "/staff/admin/templates"),
        ("message template (email)", "/staff/admin/templates/first_reply/email/en"),
        ("message template (Spanish text)", "/staff/admin/templates/not_candidate/text/es"),
        ("message template, a version", "/staff/admin/templates/first_reply/email/es/versions/0"),
    ):
        pages[name] = html(client.get(path))
    template = "/staff/admin/templates/first_reply/email/en"
    refused = {**hidden_fields(client.get(template)), "action": "save", "subject": "Hi",
               "body": "About your {{ ms_type }}"}  # fmt: skip
    pages["message template, refused"] = html(client.post(template, data=refused), 422)
    return pages


def test_every_public_state_and_the_main_staff_pages_are_valid_html(app, tmp_path, request):
    make, sign = request.getfixturevalue("make_staff"), request.getfixturevalue("sign_in")
    spanish = {f"{name} (es)": page for name, page in public_pages(app, "es").items()}
    pages = {**public_pages(app), **spanish, **staff_pages(app, make, sign), "faulty": FAULTY}
    assert all('<html lang="es">' in page for page in spanish.values())

    (tmp_path / "pages").mkdir()
    found = check(pages, tmp_path / "pages")

    faulty = " ".join(found.pop("faulty"))
    assert "A fraction of a second must be one, two, or three digits" in faulty
    assert "Duplicate ID “twice”" in faulty
    failures = {name: errors for name, errors in found.items() if errors}
    assert not failures, "Nu HTML checker errors:\n" + "\n".join(
        f"== {name}\n  " + "\n  ".join(errors) for name, errors in failures.items()
    )
    assert len(found) == len(pages) - 1 >= 50
