"""Every webhook event type is emitted from the change that causes it, on both databases, only
for subscribed active endpoints, and no payload carries patient data (canary values in the
lead's name, contact details, answers, a closing reason and a reply are absent from all)."""

from __future__ import annotations

import json
from datetime import timedelta

from sqlalchemy import select

from intake.consults import booking
from intake.conversations.inbound import record_inbound
from intake.extensions import db
from intake.leads.pipeline import assign_lead, change_status
from intake.models import Lead, OutboxEvent, WebhookDelivery
from intake.routing.service import route_lead
from intake.webhooks.endpoints import EndpointData, create_endpoint, set_active
from intake.webhooks.events import EVENT_TYPES, event_type
from tests.conftest import complete_inquiry
from tests.consults.support import NOW, TUESDAY_TEN, make_consult_type
from tests.factories import make_lead, make_rule, make_staff, make_team
from tests.webhooks.support import relay

CANARIES = {
    "first_name": "Zqcanaryfirst",
    "last_name": "Zqcanarylast",
    "email": "zq.canary@example.org",
    "phone": "(202) 555-0188",
    "postal_code": "20999",
}
CANARY_ANSWER = "Zqcanarydmt"
CANARY_REASON = "Zqcanaryreason: her relapse"
CANARY_REPLY = "Zqcanaryreply about my symptoms"


def subscribe(events=EVENT_TYPES, url="http://127.0.0.1:9/in"):
    data = EndpointData(url=url, description="", events=tuple(events))
    endpoint, _ = create_endpoint(data=data, actor=make_staff("admin"), allow_private=True,
                                  now=NOW)  # fmt: skip
    db.session.commit()
    return endpoint


def payloads() -> list[dict]:
    return [
        row.payload
        for row in db.session.scalars(select(WebhookDelivery).order_by(WebhookDelivery.id))
    ]


def test_every_event_type_is_sent_with_ids_and_no_patient_data(ctx, client):
    endpoint = subscribe()
    complete_inquiry(client, inquiry=CANARIES, about_ms={"dmt_name": CANARY_ANSWER})
    relay(NOW)
    lead = db.session.scalars(select(Lead)).one()
    owner = make_staff("coordinator")
    change_status(lead=lead, to="contacted", reason=None, actor=None, now=NOW)
    assign_lead(lead=lead, owner=owner, actor=None, now=NOW)
    consult_type, _ = make_consult_type()
    consult = booking.book(lead=lead, consult_type=consult_type, starts_at=TUESDAY_TEN,
                           booked_by="staff", actor=None, now=NOW)  # fmt: skip
    booking.move(consult=consult, starts_at=TUESDAY_TEN + timedelta(hours=1), actor=None, now=NOW)
    booking.cancel(consult=consult, actor=owner, now=NOW)
    record_inbound(lead=lead, channel="email", kind="reply", external_id="<zq@example.org>",
                   now=NOW, body=CANARY_REPLY, subject=CANARY_REPLY)  # fmt: skip
    change_status(lead=lead, to="not_interested", reason=CANARY_REASON, actor=owner, now=NOW)
    db.session.commit()
    relay(NOW)
    sent = payloads()
    assert {p["type"] for p in sent} == set(EVENT_TYPES)
    by_type = {}
    for payload in sent:
        by_type.setdefault(payload["type"], []).append(payload["data"])
        assert set(payload) == {"type", "timestamp", "data"}
    assert by_type["lead.created"] == [
        {"lead_id": lead.id, "inquiry_id": lead.inquiries[0].id, "status": "new"}
    ]
    assert [d["status"] for d in by_type["lead.status_changed"]] == [
        "contacted", "consult_scheduled", "not_interested"]  # fmt: skip
    assert by_type["lead.status_changed"][0]["previous_status"] == "new"
    assert by_type["lead.owner_changed"] == [
        {"lead_id": lead.id, "owner_id": owner.id, "previous_owner_id": None, "by": "staff"}
    ]
    assert by_type["consult.booked"] == [{"lead_id": lead.id, "consult_id": consult.id,
        "starts_at": TUESDAY_TEN.isoformat(), "booked_by": "staff"}]  # fmt: skip
    assert [d["change"] for d in by_type["consult.changed"]] == ["moved", "cancelled"]
    assert by_type["reply.received"][0]["channel"] == "email"
    dumped = json.dumps(sent)
    for canary in (*CANARIES.values(), "Zqcanary", "zq.canary", "555-0188", "relapse"):
        assert canary.lower() not in dumped.lower(), canary
    assert {row.endpoint_id for row in db.session.scalars(select(WebhookDelivery))} == {endpoint.id}


def test_routing_an_owner_sends_owner_changed_by_routing(ctx):
    subscribe(events=("lead.owner_changed",))
    cy = make_staff("coordinator", name="Cy", capacity=1000)
    make_rule("Everyone", make_team("Everyone", [cy]))
    lead = make_lead(consents=(), region="Virginia", time_zone_source="form")
    db.session.commit()
    route_lead(lead_id=lead.id, now=NOW)
    db.session.commit()
    relay(NOW)
    (payload,) = payloads()
    assert payload["data"] == {"lead_id": lead.id, "owner_id": cy.id, "previous_owner_id": None,
                               "by": "routing"}  # fmt: skip


def test_only_active_endpoints_subscribed_to_the_event_get_a_delivery(ctx):
    wanted = subscribe(events=("lead.status_changed",))
    subscribe(events=("reply.received",))
    off = subscribe(events=("lead.status_changed",))
    set_active(endpoint=off, active=False, now=NOW)
    lead = make_lead(status="new")
    db.session.commit()
    change_status(lead=lead, to="contacted", reason=None, actor=None, now=NOW)
    db.session.commit()
    relay(NOW)
    rows = db.session.scalars(select(WebhookDelivery)).all()
    assert [(row.endpoint_id, row.event_type) for row in rows] == [
        (wanted.id, "lead.status_changed")
    ]


def test_a_first_inquiry_on_an_existing_lead_is_no_new_lead():
    joined = OutboxEvent(
        topic="inquiry.started", payload={"lead_id": 1, "inquiry_id": 2, "new_lead": 0}
    )
    fresh = OutboxEvent(
        topic="inquiry.started", payload={"lead_id": 1, "inquiry_id": 2, "new_lead": 1}
    )
    assert event_type(joined) is None and event_type(fresh) == "lead.created"
    assert event_type(OutboxEvent(topic="inquiry.completed", payload={})) == "inquiry.completed"
