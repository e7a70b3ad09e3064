"""One timeline per lead, newest first, merged from every place its history is kept.

One query per source (sends, lead events, routing decisions, consents), never one per row; the
lead's inquiries and the staff and team names are passed in, already loaded. Emails appear by
cadence and step only, never their content. Free text on events is opened here; a clinical
decision's note only for viewers allowed to see health information.

Titles and details are staff text (the ``staff`` catalogue), translated when they are shown
(``_l``); a routing decision's reason is shown as it was stored."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from intake.crypto import DecryptionError
from intake.display import LABELS, LazyText
from intake.display import label as display_label
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.leads.identity import kind_label
from intake.leads.pipeline import event_text, label
from intake.models import Consent, Inquiry, Lead, LeadContact, LeadEvent, RoutingDecision, Send


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str  # inquiry, email, status, note, call, consult, decision, assigned, ...
    title: str | LazyText
    detail: str | LazyText | None = None
    actor: str | LazyText | None = None
    text: str | LazyText | None = None  # free text a person typed, opened for display
    when: datetime | None = None  # a second time the entry is about: a due or consult time
    when_label: str | LazyText = ""


def _name(names: Mapping[int, str], staff_id: int | None) -> str | LazyText | None:
    if staff_id is None:
        return None
    return names[staff_id] if staff_id in names else _l("staff #%(id)s", id=staff_id)


def _inquiry_entries(inquiries: Iterable[Inquiry]) -> list[Entry]:
    entries = []
    for inquiry in inquiries:
        started = _l("Inquiry %(id)s started", id=inquiry.id)
        entries.append(Entry(inquiry.started_at, "inquiry", started))
        if inquiry.completed_at:
            completed = _l("Inquiry %(id)s completed", id=inquiry.id)
            entries.append(Entry(inquiry.completed_at, "inquiry", completed))
    return entries


def _contact_entries(lead: Lead, contacts: Iterable[LeadContact]) -> list[Entry]:
    """A detail an inquiry added after the lead was made (a merge has its own entry)."""
    return [
        Entry(
            row.recorded_at,
            "contact",
            _l("%(detail)s added: %(value)s", detail=kind_label(row.kind), value=row.value),
            detail=_contact_origin(lead, row),
        )
        for row in contacts
        if row.source == "inquiry"
        and row.merged_from_id is None
        and row.recorded_at > lead.created_at
    ]


def _contact_origin(lead: Lead, row: LeadContact) -> LazyText:
    if lead.contact_fixed_at is not None and row.recorded_at >= lead.contact_fixed_at:
        return _l("from inquiry %(id)s; the lead's own details are unchanged", id=row.inquiry_id)
    return _l("from inquiry %(id)s", id=row.inquiry_id)


def _send_entry(send: Send, names: Mapping[int, str]) -> Entry:
    by_text = send.channel == "text" and send.cadence in LABELS["cadence_text"]
    what = display_label(send.cadence, "cadence_text" if by_text else "cadence")
    if send.step:
        what = _l("%(what)s, step %(step)s", what=what, step=send.step)
    if send.staff_user_id:
        what = f"{what} ({_name(names, send.staff_user_id)})"
    if send.status == "sent":
        return Entry(send.sent_at or send.due_at, "email", _l("Sent: %(what)s", what=what))
    if send.status == "cancelled":
        reason = display_label(send.finished_reason, "stop_reason", default=_l("unknown"))
        at = send.claimed_at or send.created_at
        title, detail = _l("Cancelled: %(what)s", what=what), _l("because %(why)s", why=reason)
        return Entry(at, "email-cancelled", title, detail=detail)
    if send.status == "dead":
        detail = _l("gave up after %(count)s attempts", count=send.attempts)
        title = _l("Not delivered: %(what)s", what=what)
        return Entry(send.claimed_at or send.due_at, "email-dead", title, detail)
    if send.status == "sending":
        title = _l("Sending: %(what)s", what=what)
    else:
        title = _l("Scheduled: %(what)s", what=what)
    return Entry(send.created_at, "email", title, when=send.due_at, when_label=_l("due"))


def _send_entries(lead_id: int, names) -> list[Entry]:
    sends = db.session.scalars(select(Send).where(Send.lead_id == lead_id).order_by(Send.id))
    return [_send_entry(send, names) for send in sends]


def data_time(value: str | None) -> datetime | None:
    """A time kept in an event's data as ISO text."""
    return datetime.fromisoformat(value) if value else None


def _opened(event: LeadEvent) -> str | None:
    try:
        return event_text(event)
    except DecryptionError:
        return _l("(this text cannot be opened with the current keys)")


# Titled by their labels (intake.display), with the consult's time after these words.
CONSULT_EVENTS = frozenset(
    {"consult_scheduled", "consult_moved", "consult_cancelled", "consult_done", "consult_no_show"}
)
CONSULT_WHEN = {
    "consult_moved": _l("to"),
    "consult_cancelled": _l("was"),
    "consult_done": _l("at"),
    "consult_no_show": _l("at"),
}


def _event_title(event: LeadEvent, names: Mapping[int, str]) -> tuple[str, str | None]:
    data = event.data or {}
    kind = event.kind
    if kind == "status_changed":
        cause = {"call": _l("after a call"), "consult": _l("consult booked")}.get(data.get("cause"))
        before, after = label(data.get("from", "?")), label(data.get("to", "?"))
        return _l("Status: %(before)s → %(after)s", before=before, after=after), cause
    if kind == "call":
        return _l("Call: %(outcome)s", outcome=display_label(data.get("outcome"), "call")), None
    if kind in CONSULT_EVENTS:
        by_patient = _l("by the patient") if data.get("by") == "patient" else None
        return display_label(kind, "event"), by_patient
    if kind == "clinical_decision":
        decision = display_label(data.get("decision"), "decision")
        return _l("Clinical decision: %(decision)s", decision=decision), None
    if kind == "assigned":
        before = _name(names, data.get("from")) or _l("nobody")
        title = _l("Assigned to %(name)s", name=_name(names, data.get("to")))
        return title, _l("previously %(name)s", name=before)
    if kind == "merged" and "into" in data:
        return _l("Merged into lead %(id)s", id=data["into"]), None
    if kind == "merged":
        return _l("Lead %(id)s merged into this lead", id=data.get("duplicate")), _l(
            "%(inquiries)s inquiries and %(contacts)s contact details moved",
            inquiries=data.get("inquiries", 0),
            contacts=data.get("contacts", 0),
        )
    if kind == "unmerged" and "from" in data:
        title = _l("Merge into lead %(id)s undone", id=data["from"])
        return title, _l("this lead's inquiries are back")
    if kind == "unmerged":
        title = _l("Merge of lead %(id)s undone", id=data.get("lead"))
        return title, _l("%(count)s inquiries moved back", count=data.get("inquiries", 0))
    if kind.startswith("task_") and "kind" in data:  # created, done or cancelled
        title = _l("%(event)s: %(kind)s", event=display_label(kind, "event"),
                   kind=display_label(data["kind"], "task_kind"))  # fmt: skip
        return title, _l("for %(name)s", name=_name(names, data["to"])) if "to" in data else None
    if kind == "not_duplicate":
        return _l("Recorded as not the same person as lead %(id)s", id=data.get("other")), None
    return display_label(kind, "event"), None


def _event_entries(lead_id: int, names, *, show_health: bool) -> list[Entry]:
    events = db.session.scalars(
        select(LeadEvent).where(LeadEvent.lead_id == lead_id).order_by(LeadEvent.id)
    )
    entries = []
    for event in events:
        title, detail = _event_title(event, names)
        text = _opened(event)
        if event.kind == "clinical_decision" and not show_health and text:
            text = _l("(the decision note is shown to clinical staff only)")
        kind = {"status_changed": "status", "clinical_decision": "decision"}.get(
            event.kind, event.kind.replace("_", "-")
        )
        when = data_time(event.data.get("at")) if event.kind in CONSULT_EVENTS else None
        task_due = event.kind in ("task_created", "task_rescheduled")
        if task_due:
            when = data_time(event.data.get("due"))
        entries.append(
            Entry(
                event.at,
                kind,
                title,
                detail,
                actor=_name(names, event.actor_id),
                text=text,
                when=when,
                when_label=_l("due") if task_due else CONSULT_WHEN.get(event.kind, _l("for")),
            )
        )
    return entries


def _routing_entries(lead_id: int, names, teams: Mapping[int, str]) -> list[Entry]:
    decisions = db.session.scalars(
        select(RoutingDecision)
        .where(RoutingDecision.lead_id == lead_id)
        .order_by(RoutingDecision.id)
    )
    entries = []
    for decision in decisions:
        team = teams[decision.team_id] if decision.team_id in teams else _l("no team")
        name = _name(names, decision.staff_user_id)
        if decision.staff_user_id is None and decision.team_id is None:
            title = _l("Routing: left unassigned (no team)")
        elif decision.staff_user_id is None:
            title = _l("Routing: held for the team %(team)s", team=team)
        elif decision.rule_id is None:
            title = _l("Routing: kept by %(name)s (%(team)s)", name=name, team=team)
        else:
            title = _l("Routed to %(name)s (%(team)s)", name=name, team=team)
        entries.append(Entry(decision.decided_at, "routing", title, detail=decision.reason))
    return entries


def _consent_entries(lead_id: int) -> list[Entry]:
    consents = db.session.scalars(
        select(Consent).where(Consent.lead_id == lead_id).order_by(Consent.id)
    )
    entries = []
    for consent in consents:
        what = display_label(consent.purpose, "consent")
        if consent.granted:
            title = _l("Consent given: %(what)s", what=what)
        elif consent.source in ("inquiry_form", "api"):
            title = _l("Consent not given: %(what)s", what=what)
        else:
            title = _l("Consent withdrawn: %(what)s", what=what)
        how = display_label(consent.source, "consent_source").lower()
        detail = _l("%(how)s, text version %(version)s", how=how, version=consent.text_version)
        entries.append(Entry(consent.recorded_at, "consent", title, detail))
    return entries


def _sla_entries(lead: Lead) -> list[Entry]:
    entries = []
    if lead.sla_reminded_at:
        reminder = _l("SLA reminder: first contact due soon")
        entries.append(Entry(lead.sla_reminded_at, "sla", reminder))
    if lead.sla_breached_at:
        breached = _l("SLA breached: no first contact in time")
        entries.append(Entry(lead.sla_breached_at, "sla-breached", breached))
    if lead.first_contacted_at:
        entries.append(Entry(lead.first_contacted_at, "sla", _l("First contact made")))
    return entries


def build_timeline(
    *,
    lead: Lead,
    inquiries: Iterable[Inquiry],
    names: Mapping[int, str],
    contacts: Iterable[LeadContact] = (),
    teams: Mapping[int, str],
    show_health: bool,
) -> list[Entry]:
    """Everything that happened to the lead, newest first; four queries whatever its size."""
    entries = _inquiry_entries(inquiries)
    entries += _contact_entries(lead, contacts)
    entries += _send_entries(lead.id, names)
    entries += _event_entries(lead.id, names, show_health=show_health)
    entries += _routing_entries(lead.id, names, teams)
    entries += _consent_entries(lead.id)
    entries += _sla_entries(lead)
    # Stable sort: equal times keep source order (a call before the status change it caused).
    return sorted(entries, key=lambda entry: entry.at, reverse=True)
