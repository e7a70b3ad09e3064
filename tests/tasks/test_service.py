"""Staff tasks as a service: who gets one, what is refused and why (beside which field), the
sealed note, and the lead events each change records."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from intake.accounts.permissions import lead_scope
from intake.extensions import db
from intake.leads.pipeline import TransitionError
from intake.leads.work import log_call, mark_do_not_contact
from intake.models import LeadEvent, StaffTask
from intake.tasks import service
from tests.factories import NOW, make_lead, make_staff, make_team

LATER = NOW + timedelta(hours=3)


def events(lead_id: int) -> list[tuple[str, dict]]:
    rows = db.session.scalars(select(LeadEvent).where(LeadEvent.lead_id == lead_id))
    return [(event.kind, event.data) for event in rows]


def test_a_task_goes_to_the_leads_owner_by_default_and_records_an_event(ctx):
    owner, creator = make_staff("coordinator"), make_staff("admin")
    lead = make_lead(owner_id=owner.id)

    task = service.create_task(lead=lead, kind="follow_up", due_at=LATER, actor=creator, now=NOW)

    assert (task.assignee_id, task.created_by_id, task.status) == (owner.id, creator.id, "open")
    assert events(lead.id) == [
        ("task_created", {"task_id": task.id, "kind": "follow_up", "due": LATER.isoformat(),
                          "to": owner.id}),
    ]  # fmt: skip


def test_a_task_on_a_lead_nobody_owns_goes_to_its_creator(ctx):
    creator = make_staff("coordinator")
    lead = make_lead()

    task = service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=creator, now=NOW)

    assert task.assignee_id == creator.id


def test_the_note_is_sealed_at_rest_and_opens_for_its_own_task_only(ctx):
    creator = make_staff("coordinator")
    lead = make_lead()
    words = "Ask about the MRI results from March"

    task = service.create_task(
        lead=lead, kind="call_back", due_at=LATER, actor=creator, now=NOW, note=words
    )
    db.session.commit()

    assert words not in task.note_sealed and "MRI" not in task.note_sealed
    assert service.task_note(task) == words
    other = service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=creator, now=NOW)
    other.note_sealed = task.note_sealed  # moved to another task: it no longer opens
    with pytest.raises(Exception):  # noqa: B017 (the keyring's own decryption error)
        service.task_note(other)


@pytest.mark.parametrize(
    ("change", "field", "words"),
    [
        ({"due_at": NOW}, "due", "Choose a due time in the future."),
        ({"due_at": NOW - timedelta(days=1)}, "due", "Choose a due time in the future."),
        ({"kind": "visit"}, "kind", "Choose what kind of task this is."),
        ({"note": "x" * (service.NOTE_MAX + 1)}, "note", "Keep the note under 2000 characters."),
    ],
)
def test_bad_input_is_refused_plainly_beside_its_field(ctx, change, field, words):
    lead = make_lead()
    arguments = {"kind": "call_back", "due_at": LATER, **change}

    with pytest.raises(TransitionError) as refused:
        service.create_task(lead=lead, actor=make_staff("coordinator"), now=NOW, **arguments)

    assert (refused.value.field, str(refused.value)) == (field, words)
    assert db.session.scalars(select(StaffTask)).all() == []


def test_a_task_cannot_go_to_someone_who_may_not_see_or_work_the_lead(ctx):
    east = make_team("East")
    stranger = make_staff("coordinator", team="West")
    clinician = make_staff("clinician", team="East")
    lead = make_lead(team_id=east.id)
    admin = make_staff("admin")

    for person in (stranger, clinician):
        with pytest.raises(TransitionError) as refused:
            service.create_task(
                lead=lead, kind="call_back", due_at=LATER, actor=admin, now=NOW,
                assignee_id=person.id,
            )  # fmt: skip
        assert refused.value.field == "assignee"
    member = make_staff("coordinator", team="East")
    assert [name for _id, name in service.assignee_choices(lead)] == sorted(
        [admin.name, member.name]
    )


def test_done_cancel_and_reschedule_each_record_an_event_and_close_only_once(ctx):
    actor = make_staff("coordinator")
    lead = make_lead(owner_id=actor.id)
    first = service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=actor, now=NOW)
    second = service.create_task(lead=lead, kind="follow_up", due_at=LATER, actor=actor, now=NOW)

    service.reschedule_task(task=first, due_at=LATER + timedelta(days=1), actor=actor, now=NOW)
    service.complete_task(task=first, actor=actor, now=NOW + timedelta(hours=1))
    service.cancel_task(task=second, actor=actor, now=NOW + timedelta(hours=1))

    assert (first.status, first.done_by_id, first.done_at) == (
        "done",
        actor.id,
        NOW + timedelta(hours=1),
    )
    assert first.due_at == LATER + timedelta(days=1)
    assert second.status == "cancelled"
    kinds = [kind for kind, _data in events(lead.id)]
    assert kinds == [
        "task_created",
        "task_created",
        "task_rescheduled",
        "task_done",
        "task_cancelled",
    ]
    for close in (service.complete_task, service.cancel_task):
        with pytest.raises(TransitionError, match="already closed"):
            close(task=first, actor=actor, now=NOW)
    with pytest.raises(TransitionError) as refused:
        service.reschedule_task(task=second, due_at=LATER, actor=actor, now=NOW)
    assert str(refused.value) == "This task is already closed."


def test_rescheduling_into_the_past_is_refused_beside_the_due_field(ctx):
    actor = make_staff("coordinator")
    task = service.create_task(
        lead=make_lead(owner_id=actor.id), kind="call_back", due_at=LATER, actor=actor, now=NOW
    )
    with pytest.raises(TransitionError) as refused:
        service.reschedule_task(task=task, due_at=NOW - timedelta(minutes=1), actor=actor, now=NOW)
    assert refused.value.field == "due" and task.due_at == LATER


def test_a_call_back_request_creates_a_call_back_task_due_when_asked(ctx):
    owner = make_staff("coordinator")
    lead = make_lead(owner_id=owner.id)

    log_call(lead=lead, outcome="call_back_requested", summary=None, actor=owner, now=NOW,
             call_back_at=LATER)  # fmt: skip

    [task] = db.session.scalars(select(StaffTask)).all()
    assert (task.kind, task.due_at, task.assignee_id, task.lead_id) == (
        "call_back",
        LATER,
        owner.id,
        lead.id,
    )
    assert [kind for kind, _ in events(lead.id)] == ["call", "task_created", "status_changed"]


def test_a_call_back_request_needs_a_time_in_the_future(ctx):
    owner = make_staff("coordinator")
    lead = make_lead(owner_id=owner.id)
    db.session.commit()

    cases = [(None, "Enter when the patient asked to be called back."),
             (NOW - timedelta(hours=1), "Choose a due time in the future.")]  # fmt: skip
    for when, words in cases:
        with pytest.raises(TransitionError) as refused:
            log_call(lead=lead, outcome="call_back_requested", summary=None, actor=owner,
                     now=NOW, call_back_at=when)  # fmt: skip
        assert (refused.value.field, str(refused.value)) == ("call_back_at", words)
        db.session.rollback()
    assert db.session.scalars(select(StaffTask)).all() == []


def test_other_call_outcomes_create_no_task(ctx):
    owner = make_staff("coordinator")
    lead = make_lead(owner_id=owner.id)
    log_call(lead=lead, outcome="voicemail", summary=None, actor=owner, now=NOW, call_back_at=LATER)
    assert db.session.scalars(select(StaffTask)).all() == []


def test_my_tasks_are_mine_open_and_in_scope_soonest_first_overdue_on_top(ctx):
    east = make_team("East")
    me = make_staff("coordinator", team="East")
    other = make_staff("coordinator", team="East")
    mine = make_lead(owner_id=me.id, team_id=east.id)
    west_lead = make_lead(team_id=make_team("West").id)  # out of my scope now
    soon = service.create_task(lead=mine, kind="call_back", due_at=LATER, actor=me, now=NOW)
    later = service.create_task(
        lead=mine, kind="follow_up", due_at=LATER + timedelta(days=2), actor=me, now=NOW
    )
    overdue = service.create_task(
        lead=mine, kind="call_back", due_at=NOW + timedelta(minutes=5), actor=me, now=NOW
    )
    done = service.create_task(lead=mine, kind="call_back", due_at=LATER, actor=me, now=NOW)
    service.complete_task(task=done, actor=me, now=NOW)
    service.create_task(lead=mine, kind="call_back", due_at=LATER, actor=me, now=NOW,
                        assignee_id=other.id)  # fmt: skip
    db.session.add(StaffTask(lead_id=west_lead.id, assignee_id=me.id, kind="call_back",
                             due_at=NOW, status="open"))  # fmt: skip
    db.session.flush()

    rows = service.my_open_tasks(staff_id=me.id, scope=lead_scope(me), now=NOW + timedelta(hours=1))

    assert [row.id for row in rows] == [overdue.id, soon.id, later.id]
    assert [row.overdue for row in rows] == [True, False, False]
    assert rows[0].lead_name == "Ada Byron"


def test_do_not_contact_cancels_the_leads_open_tasks_and_refuses_new_ones(ctx):
    owner = make_staff("coordinator")
    lead = make_lead(owner_id=owner.id)
    task = service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=owner, now=NOW)
    db.session.commit()

    mark_do_not_contact(lead=lead, actor=owner, now=NOW + timedelta(minutes=5))
    db.session.commit()

    assert db.session.get(StaffTask, task.id, populate_existing=True).status == "cancelled"
    with pytest.raises(TransitionError, match="asked not to be contacted"):
        service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=owner, now=NOW)


def test_a_task_goes_to_its_creator_when_the_owner_may_not_work_leads(ctx):
    clinician, creator = make_staff("clinician"), make_staff("coordinator")
    lead = make_lead(owner_id=clinician.id)

    task = service.create_task(lead=lead, kind="call_back", due_at=LATER, actor=creator, now=NOW)

    assert task.assignee_id == creator.id
