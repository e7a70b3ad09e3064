"""S-identity: no inquiry overwrites a lead's name, email or phone; a new inquiry joins a lead
only on the same name and the same email or phone; any other overlap is its own lead and a
possible duplicate; staff find a lead by every detail ever given. Through the real public form
and the real staff pages, on SQLite and PostgreSQL."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.models import Inquiry, Lead, LeadContact, Send
from tests.conftest import CONTACT, complete_inquiry, page, send_step, text_of
from tests.staff.leads.conftest import PHONE, contact, leads, pairs, search, shown_ids, start

E164 = "+12025550143"
# Nine inquiries sharing one phone, from nine email addresses and four surnames. The first three
# are one person typing her name three ways; Mary and Percy Shelley share a surname.
NINE = [
    ("Ada", "Byron", "ada@example.org"),
    ("ada", "BYRON", "ada.work@example.org"),
    ("Ada ", " Byrón", "ada.home@example.org"),
    ("Mary", "Shelley", "mary@example.org"),
    ("Mary", "Shelley", "mary.s@example.org"),
    ("Percy", "Shelley", "percy@example.org"),
    ("John", "Polidori", "john@example.org"),
    ("John", "Polidori", "jp@example.org"),
    ("Claire", "Clairmont", "claire@example.org"),
]


def lead_of(app, email: str) -> int:
    """The lead holding the inquiry that was sent with this email."""
    with app.app_context():
        for inquiry in db.session.scalars(select(Inquiry)):
            if read_answers(inquiry).get("email") == email:
                return inquiry.lead_id
    raise AssertionError(email)


def test_nine_inquiries_sharing_a_phone_overwrite_nothing_and_every_name_and_email_is_found(
    app, staff_client
):
    for first, last, email in NINE:
        start(app, first, last, email)

    # One lead per person, each with the details of that person's first inquiry.
    found = [(lead.first_name, lead.last_name, lead.email, lead.phone) for lead in leads(app)]
    assert found == [
        ("Ada", "Byron", "ada@example.org", E164),
        ("Mary", "Shelley", "mary@example.org", E164),
        ("Percy", "Shelley", "percy@example.org", E164),
        ("John", "Polidori", "john@example.org", E164),
        ("Claire", "Clairmont", "claire@example.org", E164),
    ]
    # Every inquiry keeps what it was sent with.
    with app.app_context():
        sent = sorted(
            (read_answers(i)["email"], read_answers(i)["last_name"])
            for i in db.session.scalars(select(Inquiry))
        )
    assert sent == sorted((email, last.strip()) for _first, last, email in NINE)
    # Five people sharing a phone: every two of them are a possible duplicate, with the reason.
    assert len(pairs(app)) == 10
    assert {reason for *_ids, reason, _status in pairs(app)} == {"same phone, different name"}

    client = staff_client("admin")
    for first, last, email in NINE:
        assert shown_ids(client.get(search(client, email).location)) == [lead_of(app, email)]
        by_name = shown_ids(client.get(search(client, f"{first} {last}".strip()).location))
        assert lead_of(app, email) in by_name, (first, last)
    everyone = shown_ids(client.get(search(client, PHONE).location))
    assert sorted(everyone) == [lead.id for lead in leads(app)]


@pytest.mark.parametrize("shared", ["phone", "email"])
def test_a_strangers_inquiry_with_a_patients_phone_or_email_cannot_change_the_patients_lead(
    app, staff_client, shared
):
    complete_inquiry(app.test_client())  # Ada Byron, the patient
    [patient] = leads(app)
    stranger = {
        "first_name": "Mallory",
        "last_name": "Smith",
        "email": "ada.byron@example.org" if shared == "email" else "mallory@example.org",
        "phone": PHONE if shared == "phone" else "+44 20 7946 0958",
    }
    stranger_client = app.test_client()
    shown_to_stranger = [complete_inquiry(stranger_client, inquiry=stranger)]
    shown_to_stranger += [stranger_client.get(url) for url in ("/inquiry", "/inquiry/sent")]

    after, other = leads(app)
    assert (after.first_name, after.last_name, after.email, after.phone) == (
        patient.first_name,
        patient.last_name,
        patient.email,
        patient.phone,
    )
    assert (other.first_name, other.last_name) == ("Mallory", "Smith")
    assert pairs(app) == [(after.id, other.id, f"same {shared}, different name", "open")]
    with app.app_context():  # nothing of the stranger is recorded on the patient's lead
        details = db.session.scalars(
            select(LeadContact.value).where(LeadContact.lead_id == after.id)
        ).all()
    assert not {"Mallory Smith", "mallory@example.org"} & set(details)
    # The stranger is never shown anything of the patient's (beyond what they typed).
    for response in shown_to_stranger:
        assert "Byron" not in response.get_data(as_text=True)
    # Staff see the stranger marked as a possible duplicate on the patient's lead.
    shown = text_of(staff_client("coordinator").get(f"/staff/leads/{after.id}"))
    assert f"Lead {other.id}: Mallory Smith" in shown
    assert f"same {shared}, different name" in shown


def test_a_genuine_repeat_with_the_same_name_and_email_joins_and_adds_its_new_phone(
    app, staff_client
):
    complete_inquiry(app.test_client())
    [before] = leads(app)
    repeat = contact("  ADA", "byrón ", "ada.byron@example.org", phone="+44 20 7946 0958")
    send_step(app.test_client(), "/inquiry", repeat)

    [after] = leads(app)
    assert (after.id, after.phone, after.email) == (before.id, before.phone, before.email)
    assert (after.first_name, after.last_name) == ("Ada", "Byron")
    assert after.contact_fixed_at is not None
    assert pairs(app) == []
    with app.app_context():
        [added] = db.session.scalars(
            select(LeadContact).where(LeadContact.value == "+442079460958")
        ).all()
        second = db.session.scalars(select(Inquiry).order_by(Inquiry.id.desc())).first()
        assert (added.lead_id, added.kind, added.inquiry_id) == (after.id, "phone", second.id)
        assert read_answers(second)["phone"] == "+442079460958"
    client = staff_client("coordinator")
    shown = text_of(client.get(f"/staff/leads/{after.id}"))
    assert f"Phone added: +442079460958 (from inquiry {second.id};" in shown
    assert f"+442079460958 inquiry {second.id}" in shown  # the contact-details table
    assert shown_ids(client.get(search(client, "+44 20 7946 0958").location)) == [after.id]


def test_a_draft_edited_while_it_is_the_leads_only_inquiry_updates_the_lead_and_keeps_both(
    app, staff_client
):
    client = app.test_client()
    start_response = send_step(client, "/inquiry", CONTACT)
    assert start_response.status_code == 302
    send_step(client, "/inquiry", {**CONTACT, "email": "ada@new.example.org"})

    [lead] = leads(app)
    assert lead.email == "ada@new.example.org"
    staff = staff_client("admin")
    for term in ("ada.byron@example.org", "ada@new.example.org"):
        assert shown_ids(staff.get(search(staff, term).location)) == [lead.id]


def test_the_lead_page_lists_every_contact_detail_with_its_origin(app, staff_client):
    start(app, "Ada", "Byron", "ada@example.org")
    start(app, "Ada", "Byron", "ada.work@example.org")
    [lead] = leads(app)

    section = page(staff_client("coordinator").get(f"/staff/leads/{lead.id}")).find(
        "section", attrs={"aria-labelledby": "contact-heading"}
    )
    rows = [
        [cell.get_text(" ", strip=True) for cell in row.find_all(["th", "td"])][:3]
        for row in section.select("table tbody tr")
    ]
    first, second = _inquiry_ids(app)
    assert rows == [
        ["Name", "Ada Byron", f"inquiry {first}"],
        ["Email", "ada@example.org", f"inquiry {first}"],
        ["Phone", E164, f"inquiry {first}"],
        ["Email", "ada.work@example.org", f"inquiry {second}"],
    ]


def _inquiry_ids(app) -> list[int]:
    with app.app_context():
        return list(db.session.scalars(select(Inquiry.id).order_by(Inquiry.id)))


def test_erasure_removes_every_contact_detail_ever_given(app, staff_client):
    from intake.leads.retention import erase_lead
    from intake.models.types import utcnow

    start(app, "Ada", "Byron", "ada@example.org")
    start(app, "Ada", "Byron", "ada@example.org", phone="+44 20 7946 0958")
    [lead] = leads(app)
    with app.app_context():
        erase_lead(lead=db.session.get(Lead, lead.id), actor=None, now=utcnow())
        db.session.commit()
        left = db.session.scalars(select(LeadContact).where(LeadContact.lead_id == lead.id))
        assert left.all() == []
    client = staff_client("admin")
    for term in ("ada@example.org", "+44 20 7946 0958", "Ada Byron"):
        assert shown_ids(client.get(search(client, term).location)) == []


def test_a_message_about_an_inquiry_goes_to_the_address_that_inquiry_gave(app):
    from intake.messaging.mail import render_message
    from intake.messaging.sends import schedule_send
    from intake.models.types import utcnow

    start(app, "Ada", "Byron", "ada@example.org")
    start(app, "Ada", "Byron", "ada.new@example.org")  # the same person, a new address
    [lead] = leads(app)
    first, second = _inquiry_ids(app)
    with app.app_context(), app.test_request_context():
        now = utcnow()
        for inquiry_id in (first, second):
            schedule_send(key=f"{lead.id}:confirmation:{inquiry_id}", cadence="confirmation",
                          template="confirmation", step=1, due_at=now, now=now,
                          lead_id=lead.id, inquiry_id=inquiry_id)  # fmt: skip
        db.session.flush()
        sends = db.session.scalars(select(Send).order_by(Send.id)).all()
        recipients = [render_message(send=send, now=now).recipient for send in sends]
    assert recipients == ["ada@example.org", "ada.new@example.org"]
    assert lead.email == "ada@example.org"


def test_an_inquiry_sealed_before_contact_details_were_kept_reads_them_from_its_lead(app):
    from intake.inquiries.service import all_answers
    from tests.factories import make_inquiry, make_lead

    with app.app_context():
        inquiry = make_inquiry(make_lead())  # as stored before: contact details on the lead only
        db.session.flush()
        questionnaire = app.extensions["intake.definition"].questionnaire
        answers = all_answers(inquiry, questionnaire)
    assert (answers["first_name"], answers["email"]) == ("Ada", inquiry.lead.email)


# Spanish names: two surnames, accents and ñ ---------------------------------------------------


def test_a_second_inquiry_from_the_same_spanish_name_and_email_joins_the_first_ones_lead(
    app, staff_client
):
    start(app, "José", "García Márquez", "jose@example.org", language="es")
    start(app, "José", "García Márquez", "jose@example.org", phone="+44 20 7946 0958")

    [lead] = leads(app)
    assert (lead.first_name, lead.last_name, lead.email, lead.phone) == (
        "José", "García Márquez", "jose@example.org", E164
    )  # fmt: skip
    assert pairs(app) == []
    assert len(_inquiry_ids(app)) == 2
    assert "José García Márquez" in text_of(staff_client("admin").get(f"/staff/leads/{lead.id}"))


@pytest.mark.parametrize(("phone", "paired"), [(PHONE, True), ("+44 20 7946 0958", False)])
def test_jose_garcia_with_another_email_is_never_joined_to_jose_garcia_marquez(app, phone, paired):
    start(app, "José", "García Márquez", "jose@example.org")
    start(app, "Jose", "Garcia", "jgarcia@example.org", phone=phone)

    first, second = leads(app)
    assert (first.first_name, first.last_name, first.email) == (
        "José", "García Márquez", "jose@example.org"
    )  # fmt: skip
    assert (second.first_name, second.last_name, second.email) == (
        "Jose", "Garcia", "jgarcia@example.org"
    )  # fmt: skip
    expected = [(first.id, second.id, "same phone, different name", "open")] if paired else []
    assert pairs(app) == expected


def test_a_name_typed_without_accents_then_with_them_joins_and_is_found_both_ways(
    app, staff_client
):
    start(app, "Angela", "Alvarez Nunez", "angela@example.org")
    start(app, "Ángela", "Álvarez Núñez", "angela@example.org")

    [lead] = leads(app)
    assert (lead.first_name, lead.last_name) == ("Angela", "Alvarez Nunez")
    client = staff_client("admin")
    for term in ("Alvarez", "Álvarez", "ÁLVAREZ", "Núñez", "ángela álvarez"):
        assert shown_ids(client.get(search(client, term).location)) == [lead.id], term
