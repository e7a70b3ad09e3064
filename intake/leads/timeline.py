"""One timeline per lead, newest first, merged from every place its history is kept.

One query per source (sends, lead events, routing decisions, consents), never one per row; the
lead's inquiries and the staff and team names are passed in, already loaded. Emails appear by
cadence and step only, never their content. Free text on events is opened here; a clinical
decision's note only for viewers allowed to see health information."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from intake.crypto import DecryptionError
from intake.display import LABELS
from intake.display import label as display_label
from intake.extensions import db
from intake.leads.identity import KIND_LABELS
from intake.leads.pipeline import event_text, label
from intake.models import Consent, Inquiry, Lead, LeadContact, LeadEvent, RoutingDecision, Send

CADENCE_LABELS = LABELS["cadence"]
STOP_REASONS = LABELS["stop_reason"]
CONSENT_LABELS = LABELS["consent"]
CALL_LABELS = LABELS["call"]
DECISION_LABELS = LABELS["decision"]


@dataclass(frozen=True)
class Entry:
    """One line of the timeline."""

    at: datetime
    kind: str  # inquiry, email, status, note, call, consult, decision, assigned, ...
    title: str
    detail: str | None = None
    actor: str | None = None
    text: str | None = None  # free text a person typed, opened for display
    when: datetime | None = None  # a second time the entry is about: a due or consult time
    when_label: str = ""


def _name(names: Mapping[int, str], staff_id: int | None) -> str | None:
    if staff_id is None:
        return None
    return names.get(staff_id, f"staff #{staff_id}")


def _inquiry_entries(inquiries: Iterable[Inquiry]) -> list[Entry]:
    entries = []
    for inquiry in inquiries:
        entries.append(Entry(inquiry.started_at, "inquiry", f"Inquiry {inquiry.id} started"))
        if inquiry.completed_at:
            entries.append(
                Entry(inquiry.completed_at, "inquiry", f"Inquiry {inquiry.id} completed")
            )
    return entries


def _contact_entries(lead: Lead, contacts: Iterable[LeadContact]) -> list[Entry]:
    """A detail an inquiry added after the lead was made (a merge has its own entry)."""
    return [
        Entry(
            row.recorded_at,
            "contact",
            f"{KIND_LABELS.get(row.kind, row.kind)} added: {row.value}",
            detail=f"from inquiry {row.inquiry_id}; the lead's own details are unchanged"
            if lead.contact_fixed_at is not None and row.recorded_at >= lead.contact_fixed_at
            else f"from inquiry {row.inquiry_id}",
        )
        for row in contacts
        if row.source == "inquiry"
        and row.merged_from_id is None
        and row.recorded_at > lead.created_at
    ]


def _send_entry(send: Send, names: Mapping[int, str]) -> Entry:
    what = display_label(send.cadence, "cadence")
    if send.step:
        what = f"{what}, step {send.step}"
    if send.staff_user_id:
        what = f"{what} ({_name(names, send.staff_user_id)})"
    if send.status == "sent":
        return Entry(send.sent_at or send.due_at, "email", f"Sent: {what}")
    if send.status == "cancelled":
        reason = display_label(send.finished_reason, "stop_reason", default="unknown")
        at = send.claimed_at or send.created_at
        return Entry(at, "email-cancelled", f"Cancelled: {what}", detail=f"because {reason}")
    if send.status == "dead":
        detail = f"gave up after {send.attempts} attempts"
        return Entry(send.claimed_at or send.due_at, "email-dead", f"Not delivered: {what}", detail)
    title = "Sending" if send.status == "sending" else "Scheduled"
    return Entry(send.created_at, "email", f"{title}: {what}", when=send.due_at, when_label="due")


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
        return "(this text cannot be opened with the current keys)"


def _event_title(event: LeadEvent, names: Mapping[int, str]) -> tuple[str, str | None]:
    data = event.data or {}
    kind = event.kind
    if kind == "status_changed":
        cause = {"call": "after a call", "consult": "consult booked"}.get(data.get("cause"))
        return f"Status: {label(data.get('from', '?'))} → {label(data.get('to', '?'))}", cause
    if kind == "call":
        return f"Call: {display_label(data.get('outcome'), 'call')}", None
    if kind == "consult_scheduled":
        return "Consult scheduled", None
    if kind == "clinical_decision":
        decision = display_label(data.get("decision"), "decision")
        return f"Clinical decision: {decision}", None
    if kind == "assigned":
        before = _name(names, data.get("from")) or "nobody"
        return f"Assigned to {_name(names, data.get('to'))}", f"previously {before}"
    if kind == "merged" and "into" in data:
        return f"Merged into lead {data['into']}", None
    if kind == "merged":
        return f"Lead {data.get('duplicate')} merged into this lead", (
            f"{data.get('inquiries', 0)} inquiries and {data.get('contacts', 0)} contact details"
            " moved"
        )
    if kind == "unmerged" and "from" in data:
        return f"Merge into lead {data['from']} undone", "this lead's inquiries are back"
    if kind == "unmerged":
        return f"Merge of lead {data.get('lead')} undone", (
            f"{data.get('inquiries', 0)} inquiries moved back"
        )
    if kind == "not_duplicate":
        return f"Recorded as not the same person as lead {data.get('other')}", None
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
            text = "(the decision note is shown to clinical staff only)"
        kind = {"status_changed": "status", "clinical_decision": "decision"}.get(
            event.kind, event.kind.replace("_", "-")
        )
        when = data_time(event.data.get("at")) if event.kind == "consult_scheduled" else None
        entries.append(
            Entry(
                event.at,
                kind,
                title,
                detail,
                actor=_name(names, event.actor_id),
                text=text,
                when=when,
                when_label="for",
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
        team = teams.get(decision.team_id, "no team")
        if decision.staff_user_id is None and decision.team_id is None:
            title = "Routing: left unassigned (no team)"
        elif decision.staff_user_id is None:
            title = f"Routing: held for the team {team}"
        elif decision.rule_id is None:
            title = f"Routing: kept by {_name(names, decision.staff_user_id)} ({team})"
        else:
            title = f"Routed to {_name(names, decision.staff_user_id)} ({team})"
        entries.append(Entry(decision.decided_at, "routing", title, detail=decision.reason))
    return entries


def _consent_entries(lead_id: int) -> list[Entry]:
    consents = db.session.scalars(
        select(Consent).where(Consent.lead_id == lead_id).order_by(Consent.id)
    )
    entries = []
    for consent in consents:
        what = display_label(consent.purpose, "consent")
        refused = "Consent not given" if consent.source == "inquiry_form" else "Consent withdrawn"
        verb = "Consent given" if consent.granted else refused
        how = display_label(consent.source, "consent_source").lower()
        detail = f"{how}, text version {consent.text_version}"
        entries.append(Entry(consent.recorded_at, "consent", f"{verb}: {what}", detail))
    return entries


def _sla_entries(lead: Lead) -> list[Entry]:
    entries = []
    if lead.sla_reminded_at:
        entries.append(Entry(lead.sla_reminded_at, "sla", "SLA reminder: first contact due soon"))
    if lead.sla_breached_at:
        entries.append(
            Entry(lead.sla_breached_at, "sla-breached", "SLA breached: no first contact in time")
        )
    if lead.first_contacted_at:
        entries.append(Entry(lead.first_contacted_at, "sla", "First contact made"))
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
