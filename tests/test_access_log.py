"""gunicorn's access log, with the web command Compose runs, never holds a resume, unsubscribe,
consult booking or staff password-reset token, nor a calendar feed's secret: not in the request
line, not in the referrer."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.request
from datetime import timedelta
from pathlib import Path

import pytest
import yaml

from intake.accounts.tokens import issue_staff_token
from intake.consults.feeds import create_feed
from intake.consults.links import invitation_token
from intake.crypto import generate_key
from intake.extensions import db
from intake.inquiries.resume import issue_resume_token
from intake.messaging.unsubscribe import unsubscribe_token
from intake.models import ConsultType, StaffUser
from intake.models.types import utcnow
from tests.factories import make_inquiry, make_lead
from tests.live import LiveClient
from tests.staff.conftest import deliver_due_mail, link_in
from tests.workers.conftest import free_port, stop_process_group

REPO = Path(__file__).resolve().parent.parent
SECRET_KEY = "access-log-test-" + "k" * 40
ENCRYPTION_KEY = generate_key()
SETTINGS = ("DATABASE_URL", "REDIS_URL", "SMTP_URL", "INTAKE_ENV", "INTAKE_BASE_URL",
            "INTAKE_TRUSTED_HOSTS")  # fmt: skip


@pytest.fixture
def app(app_factory):
    """This process's app, with the secrets the server is given, so its tokens work there."""
    return app_factory(SECRET_KEY=SECRET_KEY, INTAKE_ENCRYPTION_KEYS=[ENCRYPTION_KEY])


def web_command(port: int) -> list[str]:
    """docker-compose.yml's web command, bound to a loopback port."""
    compose = yaml.safe_load((REPO / "docker-compose.yml").read_text())
    argv = list(compose["services"]["web"]["command"])
    assert argv[0] == "gunicorn" and "--access-logfile" in argv
    argv[argv.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", "gunicorn", *argv[1:]]


def link_tokens(app, staff_id: int) -> dict[str, str]:
    """A live token of each kind, as its email would carry it: {path prefix: token}."""
    with app.app_context():
        lead = make_lead()
        resume = issue_resume_token(
            inquiry=make_inquiry(lead), now=utcnow(), valid_for=timedelta(days=1)
        )
        issue_staff_token(user=db.session.get(StaffUser, staff_id), purpose="password_reset",
                          now=utcnow(), valid_for=timedelta(hours=1))  # fmt: skip
        unsubscribe = unsubscribe_token(lead.id)
        feed = create_feed(staff_user_id=staff_id, now=utcnow())
        kind = ConsultType(name="First talk", kind="phone", duration_minutes=30)
        db.session.add(kind)
        db.session.flush()
        consult = invitation_token(lead_id=lead.id, consult_type_id=kind.id, now=utcnow())
        db.session.commit()
    [email] = deliver_due_mail(app)
    reset = link_in(email, "reset").rsplit("/", 1)[-1]
    return {"/inquiry/resume/": resume, "/unsubscribe/": unsubscribe, "/staff/reset/": reset,
            "/staff/calendar/feed/": f"{feed}.ics", "/consult/": consult}  # fmt: skip


def wait_until_up(base_url: str, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and process.poll() is None:
        try:
            if LiveClient(base_url).get("/healthz").status_code == 200:
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise AssertionError("gunicorn did not start")


def test_gunicorns_access_log_masks_every_link_token(app, database_url, make_staff, tmp_path):
    tokens = link_tokens(app, make_staff("coordinator"))
    port = free_port()
    base_url = f"http://127.0.0.1:{port}"
    env = {key: value for key, value in os.environ.items() if key not in SETTINGS}
    env.update(INTAKE_ENV="development", DATABASE_URL=database_url, SECRET_KEY=SECRET_KEY,
               INTAKE_ENCRYPTION_KEYS=ENCRYPTION_KEY, INTAKE_INSTANCE_PATH=str(tmp_path),
               INTAKE_BASE_URL=base_url)  # fmt: skip
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            web_command(port), env=env, cwd=REPO, stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
    try:
        wait_until_up(base_url, process)
        client = LiveClient(base_url)
        statuses = {prefix: client.get(prefix + tokens[prefix]).status_code for prefix in tokens}
        unsubscribe_page = base_url + "/unsubscribe/" + tokens["/unsubscribe/"]
        styles = urllib.request.Request(
            base_url + "/static/intake.css", headers={"Referer": unsubscribe_page}
        )
        with urllib.request.urlopen(styles, timeout=10) as response:  # the page's own stylesheet
            assert response.status == 200
        one_click = client.post("/unsubscribe/" + tokens["/unsubscribe/"],
                                [("List-Unsubscribe", "One-Click")])  # fmt: skip
    finally:
        stop_process_group(process, signal.SIGINT)  # quick shutdown: nothing is in flight

    assert statuses == {"/inquiry/resume/": 302, "/unsubscribe/": 200, "/staff/reset/": 200,
                        "/staff/calendar/feed/": 200, "/consult/": 200}  # fmt: skip
    assert one_click.status_code == 200
    logged = log_path.read_text()
    assert [token for token in tokens.values() if token in logged] == []
    for prefix in tokens:  # each request is in the access log, its token masked
        assert f'"GET {prefix}<token> HTTP/1.1" {statuses[prefix]} ' in logged
    assert '"POST /unsubscribe/<token> HTTP/1.1" 200 ' in logged
    assert f'"{base_url}/unsubscribe/<token>"' in logged  # the stylesheet request's referrer
