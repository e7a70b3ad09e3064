"""Possible duplicates: the staff list in scope, the side-by-side comparison, merging with the
lead staff choose, "not the same person" (never offered again), and undoing a merge within the
set time, which restores both leads. Each page and action is audited once."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from intake.extensions import db
from intake.models import (
    AuditEvent,
    DuplicatePair,
    EligibilityResult,
    Inquiry,
    Lead,
    LeadContact,
    LeadMerge,
    Team,
)
from tests.conftest import complete_inquiry, page, text_of
from tests.staff.leads.conftest import PHONE, leads, pairs, search, shown_ids, start

KING = {"first_name": "Ada", "last_name": "King", "email": "countess@example.org"}


def two_leads(app) -> tuple[int, int, int]:
    """Ada Byron, then Ada King with her phone and another email: two leads and their pair."""
    complete_inquiry(app.test_client())
    complete_inquiry(app.test_client(), inquiry=KING)
    byron, king = (lead.id for lead in leads(app))
    with app.app_context():
        pair_id = db.session.scalar(select(DuplicatePair.id))
    return byron, king, pair_id


def form_fields(response, action_end: str) -> dict:
    form = page(response).find("form", action=lambda a: a and a.endswith(action_end))
    assert form is not None, action_end
    return {i["name"]: i.get("value", "") for i in form.find_all("input", type="hidden")}


def post(client, url: str, page_url: str, data: dict):
    hidden = form_fields(client.get(page_url), url.removeprefix("/staff"))
    return client.post(url, data={**hidden, **data})


def snapshot(app, lead_id: int) -> dict:
    """What an un-merge must give back: the lead's rows and the fields a merge changes."""
    with app.app_context():
        lead = db.session.get(Lead, lead_id)

        def ids(model):
            return sorted(db.session.scalars(select(model.id).where(model.lead_id == lead_id)))

        return {
            "status": lead.status,
            "merged_into": lead.merged_into_id,
            "incomplete": lead.incomplete,
            "outcome": lead.eligibility_outcome,
            "last_inquiry_at": lead.last_inquiry_at,
            "contact_fixed_at": lead.contact_fixed_at,
            "inquiries": ids(Inquiry),
            "results": ids(EligibilityResult),
            "contacts": ids(LeadContact),
        }


def test_the_list_shows_open_pairs_in_scope_with_their_reason_and_is_audited(
    app, staff_client, make_staff, sign_in
):
    byron, king, pair_id = two_leads(app)
    client = staff_client("coordinator")

    response = client.get("/staff/duplicates")

    assert response.status_code == 200
    shown = text_of(response)
    assert f"Lead {byron}: Ada Byron and lead {king}: Ada King" in shown
    assert "same phone, different name" in shown
    assert page(response).find("a", href=f"/staff/duplicates/{pair_id}") is not None
    [row] = _audit(app, "duplicates.viewed")
    assert sorted(row.lead_ids) == [byron, king]
    # A coordinator of another team sees no pair whose leads belong to a team not theirs.
    with app.app_context():
        team = Team(name="North")
        db.session.add(team)
        db.session.flush()
        db.session.get(Lead, king).team_id = team.id
        db.session.commit()
    other = sign_in(app.test_client(), make_staff("coordinator", team="South"))
    assert "No open pairs" in text_of(other.get("/staff/duplicates"))
    assert other.get(f"/staff/duplicates/{pair_id}").status_code == 404


def test_the_comparison_shows_both_leads_with_every_contact_detail_and_its_origin(
    app, staff_client
):
    byron, king, pair_id = two_leads(app)

    response = staff_client("coordinator").get(f"/staff/duplicates/{pair_id}")

    shown = text_of(response)
    assert f"Compare leads {byron} and {king}" in shown
    assert "same phone, different name" in shown
    assert "ada.byron@example.org" in shown and "countess@example.org" in shown
    assert shown.count("+12025550143") >= 2
    [row] = _audit(app, "duplicates.compared")
    assert sorted(row.lead_ids) == [byron, king] and row.detail == {"pair": pair_id}


def test_not_the_same_person_is_recorded_and_the_pair_is_never_offered_again(app, staff_client):
    byron, king, pair_id = two_leads(app)
    client = staff_client("coordinator")
    page_url = f"/staff/duplicates/{pair_id}"

    refused = post(client, f"{page_url}/not-same-person", page_url, {})
    assert refused.status_code == 422 and "Tick the box" in text_of(refused)
    response = post(client, f"{page_url}/not-same-person", page_url, {"dismiss-confirm": "y"})

    assert response.status_code == 303
    assert pairs(app) == [(byron, king, "same phone, different name", "not_same_person")]
    assert "No open pairs" in text_of(client.get("/staff/duplicates"))
    assert "None open" in text_of(client.get(f"/staff/leads/{byron}"))
    assert f"Recorded as not the same person as lead {byron}" in text_of(
        client.get(f"/staff/leads/{king}")
    )
    # Ada King writes again with the same phone: her inquiry joins her own lead, and the
    # dismissed pair is not offered again.
    start(app, "Ada", "King", "countess@example.org")
    assert [lead.id for lead in leads(app)] == [byron, king]
    assert pairs(app) == [(byron, king, "same phone, different name", "not_same_person")]
    assert [row.outcome for row in _audit(app, "duplicate.dismissed")] == ["failed", "ok"]


def test_merging_a_pair_keeps_the_chosen_lead_and_every_contact_detail_with_its_origin(
    app, staff_client
):
    byron, king, pair_id = two_leads(app)
    client = staff_client("coordinator")
    page_url = f"/staff/duplicates/{pair_id}"

    response = post(client, f"{page_url}/merge", page_url, {"merge-keep": str(king)})

    assert response.status_code == 303 and response.location.endswith(f"/staff/leads/{king}")
    merged, kept = snapshot(app, byron), snapshot(app, king)
    assert (merged["status"], merged["merged_into"]) == ("merged", king)
    assert merged["inquiries"] == [] and len(kept["inquiries"]) == 2
    with app.app_context():
        details = {
            (row.kind, row.value): row.merged_from_id
            for row in db.session.scalars(select(LeadContact).where(LeadContact.lead_id == king))
        }
    assert details[("email", "ada.byron@example.org")] == byron
    assert details[("name", "Ada Byron")] == byron
    assert details[("email", "countess@example.org")] is None
    shown = text_of(client.get(f"/staff/leads/{king}"))
    assert f"inquiry {merged_inquiry(app, 'ada.byron@example.org')}, merged from lead {byron}" in (
        shown
    )
    found = shown_ids(client.get(search(client, "ada.byron@example").location))
    assert sorted(found) == [byron, king]  # the merged lead, and the lead that now holds it
    assert pairs(app)[0][3] == "merged"
    [row] = _audit(app, "lead.merged")
    assert sorted(row.lead_ids) == [byron, king] and row.detail["kept"] == king


def merged_inquiry(app, email: str) -> int:
    with app.app_context():
        return db.session.scalar(select(LeadContact.inquiry_id).where(LeadContact.value == email))


def test_an_unmerge_restores_both_leads_as_they_were_and_is_on_both_timelines(app, staff_client):
    byron, king, pair_id = two_leads(app)
    before = {byron: snapshot(app, byron), king: snapshot(app, king)}
    client = staff_client("coordinator")
    page_url = f"/staff/duplicates/{pair_id}"
    post(client, f"{page_url}/merge", page_url, {"merge-keep": str(byron)})
    with app.app_context():
        merge_id = db.session.scalar(select(LeadMerge.id))
    lead_url = f"/staff/leads/{byron}"
    assert "Undo merge (possible until" in text_of(client.get(lead_url))

    refused = post(client, f"/staff/merges/{merge_id}/undo", lead_url, {})
    assert refused.status_code == 303 and snapshot(app, king)["status"] == "merged"
    response = post(client, f"/staff/merges/{merge_id}/undo", lead_url, {"undo-confirm": "y"})

    assert response.status_code == 303
    after = {byron: snapshot(app, byron), king: snapshot(app, king)}
    assert after == before
    assert f"Merge of lead {king} undone" in text_of(client.get(lead_url))
    assert f"Merge into lead {byron} undone" in text_of(client.get(f"/staff/leads/{king}"))
    assert pairs(app)[0][3] == "open"  # offered again, to be merged or dismissed
    assert [(r.outcome, sorted(r.lead_ids)) for r in _audit(app, "lead.unmerged")] == [
        ("failed", [byron, king]),
        ("ok", [byron, king]),
    ]
    assert shown_ids(client.get(search(client, "countess@example").location)) == [king]


def test_a_merge_cannot_be_undone_after_the_set_time(app, staff_client):
    byron, king, pair_id = two_leads(app)
    client = staff_client("coordinator")
    page_url = f"/staff/duplicates/{pair_id}"
    post(client, f"{page_url}/merge", page_url, {"merge-keep": str(byron)})
    with app.app_context():
        merge = db.session.scalars(select(LeadMerge)).one()
        lead_url = f"/staff/leads/{byron}"
        hidden = form_fields(client.get(lead_url), f"/merges/{merge.id}/undo")
        days = app.config["INTAKE_UNMERGE_DAYS"]
        merge.merged_at -= timedelta(days=days, minutes=1)
        merge_id = merge.id
        db.session.commit()

    response = client.post(f"/staff/merges/{merge_id}/undo", data={**hidden, "undo-confirm": "y"})

    assert response.status_code == 303
    assert snapshot(app, king)["status"] == "merged"
    shown = text_of(client.get(lead_url))
    assert f"A merge can be undone for {days} days only." in shown
    assert "It can no longer be undone" in shown


def test_a_lead_with_nothing_in_common_and_no_pair_cannot_be_merged(app, staff_client):
    complete_inquiry(app.test_client())
    start(app, "Grace", "Hopper", "grace@example.org", phone="+44 20 7946 0958")
    byron, hopper = (lead.id for lead in leads(app))
    client = staff_client("coordinator")
    lead_url = f"/staff/leads/{byron}"
    hidden = form_fields(client.get(lead_url), f"/leads/{byron}/notes")
    token = hidden.get("note-csrf_token") or next(iter(hidden.values()))

    response = client.post(
        f"{lead_url}/merge", data={"merge-csrf_token": token, "merge-duplicate_id": str(hopper)}
    )

    assert response.status_code == 422
    assert "Only a possible duplicate" in text_of(response)
    assert snapshot(app, hopper)["status"] == "new"


def test_the_shared_phone_is_not_enough_to_join_but_is_enough_to_pair(app):
    start(app, "Ada", "Byron", "ada@example.org")
    start(app, "Ada", "Byron", "ada@example.org", phone=PHONE)
    start(app, "Mary", "Shelley", "ada@example.org", phone="+44 20 7946 0958")
    assert len(leads(app)) == 2
    assert [reason for *_ids, reason, _status in pairs(app)] == ["same email, different name"]


def _audit(app, action: str) -> list[AuditEvent]:
    with app.app_context():
        rows = db.session.scalars(
            select(AuditEvent).where(AuditEvent.action == action).order_by(AuditEvent.id)
        ).all()
        db.session.expunge_all()
        return list(rows)


def test_an_unmerge_keeps_what_happened_to_the_kept_lead_since_the_merge(app, staff_client):
    byron, king, pair_id = two_leads(app)
    client = staff_client("coordinator")
    page_url = f"/staff/duplicates/{pair_id}"
    post(client, f"{page_url}/merge", page_url, {"merge-keep": str(byron)})
    start(app, "Ada", "Byron", "ada.byron@example.org")  # Ada writes again, after the merge
    since = snapshot(app, byron)
    with app.app_context():
        merge_id = db.session.scalar(select(LeadMerge.id))
    lead_url = f"/staff/leads/{byron}"

    post(client, f"/staff/merges/{merge_id}/undo", lead_url, {"undo-confirm": "y"})

    after = snapshot(app, byron)
    assert after["last_inquiry_at"] == since["last_inquiry_at"]
    assert len(after["inquiries"]) == 2  # her own two; Ada King's went back to her lead
    assert snapshot(app, king)["status"] == "new" and len(snapshot(app, king)["inquiries"]) == 1
