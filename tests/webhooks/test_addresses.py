"""S-webhook: with production settings a subscriber URL must be https and lead to a public
address, checked when an admin saves it (plain-word form errors) and again at each delivery;
in testing, a receiver on this machine is allowed."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.models import WebhookEndpoint
from intake.webhooks.addresses import AddressRefused, refusal, resolve
from intake.webhooks.endpoints import EndpointData, EndpointInputError, create_endpoint
from tests.conftest import page, text_of
from tests.factories import NOW, make_staff
from tests.webhooks.support import deliver, receiver_on_loopback
from tests.webhooks.test_delivery import one_status_change

REFUSED = (
    "https://10.1.2.3/hooks",
    "https://192.168.0.10/hooks",
    "https://172.16.5.4/hooks",
    "https://127.0.0.1/hooks",
    "https://127.8.9.10:8443/hooks",
    "https://[::1]/hooks",
    "https://169.254.169.254/latest/meta-data",
    "https://[fe80::1]/hooks",
    "https://[fd00::5]/hooks",
    "https://[::ffff:127.0.0.1]/hooks",
    "https://[::ffff:10.0.0.1]/hooks",
    "https://0.0.0.0/hooks",
    "https://[::]/hooks",
    "https://224.0.0.251/hooks",
    "https://100.64.0.1/hooks",
    "https://240.0.0.1/hooks",
    "https://localhost/hooks",  # a name that resolves to loopback
)


@pytest.fixture
def production(app_factory):
    """The app as production runs it: no private addresses, no plain http."""
    app = app_factory(INTAKE_WEBHOOK_ALLOW_PRIVATE=False)
    with app.app_context():
        yield app


def save(url: str, *, allow_private: bool, events=("lead.created",)):
    data = EndpointData(url=url, description="", events=events)
    return create_endpoint(data=data, actor=make_staff("admin"), allow_private=allow_private,
                           now=NOW)  # fmt: skip


@pytest.mark.parametrize("url", REFUSED)
def test_a_private_or_loopback_address_is_refused_in_production(production, url):
    with pytest.raises(EndpointInputError) as refused:
        save(url, allow_private=production.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"])
    assert refused.value.field == "url"
    assert "Use an address on the public internet" in str(refused.value)


@pytest.mark.parametrize(
    ("url", "words"),
    [
        ("http://93.184.216.34/hooks", "starting https://"),
        ("ftp://93.184.216.34/hooks", "starting https://"),
        ("hooks.example", "starting https://"),
        ("https://user:pw@93.184.216.34/hooks", "user name and password"),
        ("https://no-such-host.invalid/hooks", "could not be found"),
    ],
)
def test_a_malformed_address_gets_a_plain_answer(production, url, words):
    with pytest.raises(EndpointInputError) as refused:
        save(url, allow_private=False)
    assert words in str(refused.value)


def test_public_addresses_pass_in_both_families():
    assert refusal("93.184.216.34") is None
    assert refusal("2606:4700:4700::1111") is None
    assert refusal("::ffff:93.184.216.34") is None
    assert resolve("https://93.184.216.34:8443/in?x=1", allow_private=False).pinned_url == (
        "https://93.184.216.34:8443/in?x=1"
    )


def test_in_testing_a_receiver_on_this_machine_is_allowed(ctx):
    assert ctx.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"] is True
    for url in ("http://127.0.0.1:8080/in", "http://[::1]:8080/in", "http://localhost/in"):
        endpoint, secret = save(url, allow_private=True)
        assert endpoint.id and secret.startswith("whsec_")


def test_the_address_is_checked_again_at_delivery(ctx):
    """Saved while allowed, then sent under production rules: refused, nothing posted."""
    with receiver_on_loopback() as receiver:
        endpoint, receiver.secret = save(
            receiver.url, allow_private=True, events=("lead.status_changed",)
        )
        db.session.commit()
        (delivery_id,) = one_status_change(NOW)
        ctx.config["INTAKE_WEBHOOK_ALLOW_PRIVATE"] = False
        assert deliver(delivery_id, NOW) == "retry"
    assert receiver.received == []


def test_the_admin_form_refuses_a_private_address_in_plain_words(production, sign_in):
    admin = sign_in(production.test_client(), _admin())
    form = page(admin.get("/staff/admin/webhooks/new"))
    token = form.find("input", attrs={"name": "csrf_token"})["value"]
    response = admin.post(
        "/staff/admin/webhooks/new",
        data={
            "csrf_token": token,
            "url": "https://169.254.169.254/latest",
            "events": "lead.created",
        },
    )
    assert response.status_code == 422
    shown = text_of(response)
    assert "Webhooks cannot go to 169.254.169.254" in shown and "public internet" in shown
    assert db.session.scalars(select(WebhookEndpoint)).all() == []


def _admin() -> int:
    user = make_staff("admin")
    db.session.commit()
    return user.id


def test_refusal_reasons_name_the_kind_of_address():
    assert "loopback" in refusal("127.0.0.1") and "loopback" in refusal("::1")
    assert "link-local" in refusal("169.254.169.254")
    assert "private" in refusal("10.0.0.1") and "private" in refusal("fc00::1")
    with pytest.raises(AddressRefused):
        resolve("https://[::ffff:169.254.169.254]/", allow_private=False)
