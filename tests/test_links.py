"""Every link the app shows or emails starts with INTAKE_BASE_URL, whatever Host header the
request carried; in production a request for any other host is refused (Flask's TRUSTED_HOSTS)."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from flask.testing import FlaskClient

from intake import create_app
from intake.config import ConfigError, load_config, trusted_hosts
from intake.crypto import generate_key
from intake.links import absolute_url
from tests.conftest import CONTACT, empty_tables, page, send_step
from tests.staff.conftest import deliver_due_mail

BASE = "https://inquiry.clinic.example"
FOREIGN = "evil.example"
PRODUCTION = {
    "INTAKE_ENV": "production",
    "SECRET_KEY": "production-test-" + "s" * 40,
    "INTAKE_ENCRYPTION_KEYS": generate_key(),
    "INTAKE_BASE_URL": BASE,
    "INTAKE_TRUSTED_HOSTS": "intake.internal, .clinic.internal",
}


class ForeignHostClient(FlaskClient):
    """A client whose every request names someone else's server in its Host header."""

    def open(self, *args, **kwargs):
        kwargs["headers"] = {**dict(kwargs.get("headers") or {}), "Host": FOREIGN}
        return super().open(*args, **kwargs)


@pytest.fixture
def production_app(database_url, monkeypatch, tmp_path):
    for name, value in PRODUCTION.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("INTAKE_INSTANCE_PATH", str(tmp_path))
    monkeypatch.delenv("REDIS_URL", raising=False)
    app = create_app()
    yield app
    empty_tables(app)


@pytest.mark.parametrize(
    "host", [FOREIGN, f"{FOREIGN}:443", "inquiry.clinic.example.evil.example", "clinic.example"]
)
@pytest.mark.parametrize("path", ["/inquiry", "/staff/login", "/readyz", "/static/intake.css"])
def test_production_refuses_a_host_it_does_not_serve(production_app, host, path):
    response = production_app.test_client().get(path, headers={"Host": host})
    response.close()
    assert response.status_code == 400


@pytest.mark.parametrize(
    "host", ["inquiry.clinic.example", "inquiry.clinic.example:443", "intake.internal:8000",
             "web.clinic.internal", "127.0.0.1:8000", "localhost"],
)  # fmt: skip
def test_production_answers_its_own_hosts_and_the_health_probe_on_loopback(production_app, host):
    client = production_app.test_client()
    assert client.get("/inquiry", headers={"Host": host}).status_code == 200
    assert client.get("/healthz", headers={"Host": host}).status_code == 200


def test_trusted_hosts_come_from_the_base_url_the_setting_and_loopback():
    assert trusted_hosts(BASE, ["intake.internal"]) == [
        "inquiry.clinic.example", "intake.internal", "localhost", "127.0.0.1",
    ]  # fmt: skip


def test_a_base_url_that_is_not_a_whole_address_is_a_startup_error(tmp_path, monkeypatch):
    for bad in ("inquiry.clinic.example", "ftp://inquiry.clinic.example", "https://"):
        monkeypatch.setenv("INTAKE_BASE_URL", bad)
        with pytest.raises(ConfigError, match="INTAKE_BASE_URL"):
            load_config(tmp_path, "testing")


def test_the_resume_link_shown_after_save_for_later_uses_the_base_url(app_factory):
    app = app_factory(INTAKE_BASE_URL=BASE)
    app.test_client_class = ForeignHostClient
    client = app.test_client()
    send_step(client, "/inquiry", CONTACT)

    saved = send_step(client, "/inquiry/about_ms", {}, action="save_later")

    html = saved.get_data(as_text=True)
    link = page(saved).select_one(".resume-link a")["href"]
    assert link.startswith(f"{BASE}/inquiry/resume/")
    assert FOREIGN not in html


def test_an_emailed_reset_link_uses_the_base_url_whatever_host_asked_for_it(
    app_factory, make_staff
):
    app = app_factory(INTAKE_BASE_URL=BASE, WTF_CSRF_ENABLED=False)
    make_staff("coordinator", email="cora@clinic.example")
    client = app.test_client()

    client.post("/staff/reset", data={"email": "cora@clinic.example"}, headers={"Host": FOREIGN})

    [email] = deliver_due_mail(app)
    assert f"{BASE}/staff/reset/" in email.text_body and f"{BASE}/staff/reset/" in email.html_body
    assert FOREIGN not in email.text_body + email.html_body


def test_absolute_links_keep_the_base_urls_path_and_work_outside_a_request(app_factory):
    app = app_factory(INTAKE_BASE_URL="https://clinic.example:8443/intake/")
    with app.app_context():
        assert absolute_url("public.resume", token="abc") == (
            "https://clinic.example:8443/intake/inquiry/resume/abc"
        )
        assert absolute_url("staff.lead", lead_id=7) == (
            "https://clinic.example:8443/intake/staff/leads/7"
        )


def test_no_code_or_template_builds_a_link_from_the_request():
    """absolute_url is the one way to an absolute link; these read the request's Host."""
    repo = Path(__file__).resolve().parent.parent
    sources = [*(repo / "intake").rglob("*.py"), *(repo / "workers").rglob("*.py"),
               *(repo / "templates").rglob("*.*")]  # fmt: skip
    found = [
        f"{path.relative_to(repo)}: {word}"
        for path in sources
        if path.name != "links.py"  # the helper itself
        for word in ("_external", "host_url", "url_root", "request.base_url", "request.url")
        if re.search(rf"{re.escape(word)}\b", path.read_text(errors="ignore"))
    ]
    assert found == []
