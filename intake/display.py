"""How staff read what is stored: one label for every code, and one way to write a time.

Staff pages are in English; every word they show for a stored code comes from ``LABELS`` here
(codes a clinic defines in the questionnaire, such as sources, read as the questionnaire's
options), so a later translation has one place to look. Times are written in the reader's own
time zone, with the zone named: "Mon 7 Dec 2026, 14:05 EST"."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from intake.i18n import LANGUAGES
from intake.questionnaire.definition import Questionnaire

LABELS: dict[str, dict[str, str]] = {
    "status": {
        "new": "New",
        "attempting_contact": "Attempting contact",
        "contacted": "Contacted",
        "screening": "Screening",
        "consult_scheduled": "Consult scheduled",
        "consult_done": "Consult done",
        "treatment_planned": "Treatment planned",
        "treated": "Treated",
        "not_eligible": "Not eligible",
        "not_interested": "Not interested",
        "unreachable": "Unreachable",
        "do_not_contact": "Do not contact",
        "merged": "Merged",
    },
    "outcome": {
        "no_exclusion_found": "No exclusion found",
        "needs_review": "Needs clinical review",
        "not_eligible": "Not eligible",
    },
    # The first-contact deadline's state (intake.routing.sla.sla_state), on the queue and the
    # lead page alike.
    "sla": {
        "breached": "SLA breached",
        "due_soon": "Due soon",
        "on_track": "On track",
        "met": "Met",
    },
    "cadence": {
        "confirmation": "Confirmation email",
        "resume_reminder": "Resume reminder email",
        "nurture": "Nurture email",
        "staff_new_lead": "New-lead notice to staff",
        "staff_digest": "Staff digest",
        "sla_reminder": "SLA reminder to the owner",
        "sla_escalation": "SLA escalation",
        "admin_alert": "Routing alert to admins",
        "resume_link": "Link to finish later",
        "staff_invitation": "Staff invitation",
        # bandit B105 below: labels that mention passwords and links, not secrets.
        "staff_password_reset": "Staff password reset",  # nosec B105
    },
    # Why a message was not sent (the send ledger's finished reason).
    "stop_reason": {
        "demo_history": "sample data: never sent",
        "contacted": "the lead was contacted",
        "closed": "the lead was closed",
        "do_not_contact": "the patient asked not to be contacted",
        "unsubscribed": "the patient unsubscribed",
        "inquiry_completed": "the inquiry was completed",
        "no_consent": "consent was not in force",
        "merged": "the lead was merged into another lead",
        "reassigned": "the lead was reassigned",
        "staff_inactive": "the staff member is inactive",
        "suppressed": "the address is suppressed",
        "cadence_off": "the clinic switched these emails off",
        "no_recipient": "there was no address to send to",
        "gave_up": "it gave up after its tries",
        "permanent_failure": "the mail server refused it",
        "discarded": "an admin discarded it",
        "erased": "the lead's details were erased",
        # bandit B105: labels, not secrets.
        "token_expired": "the link expired",  # nosec B105
        "token_used": "the link was used",  # nosec B105
    },
    "consent": {
        "privacy_notice": "privacy notice",
        "contact_email": "contact by email",
        "contact_phone": "contact by phone",
        "contact_text": "contact by text message",
        "follow_up_emails": "follow-up emails",
        "resume_reminders": "resume reminders",
        "not_medical_advice": "not medical advice",
    },
    "consent_source": {
        "inquiry_form": "the inquiry form",
        "unsubscribe": "unsubscribe link",
    },
    "call": {
        "reached": "reached the patient",
        "voicemail": "left a voicemail",
        "no_answer": "no answer",
        "wrong_number": "wrong number",
        "call_back_requested": "call back requested",
    },
    "decision": {
        "candidate": "Candidate",
        "not_candidate": "Not a candidate",
        "needs_more_information": "Needs more information",
    },
    "event": {
        "status_changed": "Status changed",
        "call": "Call",
        "note": "Note",
        "consult_scheduled": "Consult scheduled",
        "clinical_decision": "Clinical decision",
        "assigned": "Assigned",
        "merged": "Merged",
        "erasure_requested": "Erasure requested",
        "erased": "Contact details erased",
        "unmerged": "Merge undone",
        "not_duplicate": "Not the same person",
    },
    "strategy": {
        "round_robin": "Round robin (members take turns)",
        "least_loaded": "Least loaded (the member with the fewest open leads)",
    },
    "off_hours": {
        "next_on_shift": "Assign it to the member whose hours start next",
        "hold": "Hold it for the team until a member's hours start",
    },
    "role": {"admin": "Admin", "coordinator": "Coordinator", "clinician": "Clinician"},
    "filled_by": {"self": "The patient", "someone_else": "Someone else, for the patient"},
    "time_zone_source": {
        "browser": "from their browser",
        "phone": "from their phone number",
        "clinic": "the clinic's, as neither said",
    },
    "send_status": {
        "scheduled": "Scheduled",
        "sending": "Sending",
        "sent": "Sent",
        "cancelled": "Cancelled",
        "dead": "Gave up",
    },
    "audit_outcome": {"ok": "Done", "failed": "Failed", "denied": "Refused"},
    # The lead fields a routing rule reads.
    "routing_field": {
        "country": "Countries",
        "region": "States or regions",
        "eligibility_outcome": "Eligibility outcomes",
        "ms_type": "MS types",
        "utm_campaign": "Campaigns (utm_campaign)",
        "source": "How they heard of the clinic",
    },
    "cadence_trigger": {
        "inquiry.started": "an inquiry is started",
        "inquiry.completed": "an inquiry is sent",
        "inquiry.saved_for_later": "the patient asks for a link to finish later",
    },
    "cadence_stop": {
        "inquiry_completed": "the inquiry is sent",
        "contacted": "staff have made contact",
        "closed": "the lead is closed",
    },
    "audience": {"patient": "the patient", "staff": "staff"},
    "per": {"inquiry": "inquiry", "lead": "lead", "request": "request"},
    "search": {"name": "name", "email": "email", "phone": "phone"},
    # The lead's language, named in itself ("Español"): a page showing it marks it with lang.
    "language": dict(LANGUAGES),
}
# Lead columns whose codes are a questionnaire item's options: the option's words are the label.
QUESTIONNAIRE_KINDS = {
    "source": "heard_about",
    "ms_type": "ms_type",
    "contact_method": "preferred_contact_method",
    "contact_time": "preferred_contact_time",
}


def humanise(code: str) -> str:
    """A code nobody labelled, readable rather than raw: "lead.viewed" → "Lead viewed"."""
    words = code.replace(".", " ").replace("_", " ").strip()
    return words[:1].upper() + words[1:]


def label(
    code: str | None,
    kind: str,
    questionnaire: Questionnaire | None = None,
    default: str = "—",
) -> str:
    """The words staff read for a stored code of this kind; ``default`` when there is none."""
    if code is None or code == "":
        return default
    code = str(code)
    known: Mapping[str, str] = LABELS.get(kind, {})
    if code in known:
        return known[code]
    item = questionnaire.items.get(QUESTIONNAIRE_KINDS.get(kind, "")) if questionnaire else None
    if item is not None and any(option.code == code for option in item.options):
        return item.display_for(code)
    return humanise(code)


def zone_or(name: str | None, fallback: str) -> ZoneInfo:
    """The named time zone, or the fallback when the name is missing or unknown."""
    try:
        return ZoneInfo(name) if name else ZoneInfo(fallback)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo(fallback)


def zone_name(moment: datetime) -> str:
    """The zone's abbreviation then ("EST", "CEST"), or its offset ("UTC-03") if it has none."""
    name = moment.strftime("%Z")
    return f"UTC{name}" if name[:1] in "+-" else name


def local_time(moment: datetime | None, zone: ZoneInfo, *, default: str = "") -> str:
    """A stored time as the reader reads it: "Mon 7 Dec 2026, 14:05 EST"."""
    if moment is None:
        return default
    here = moment.astimezone(zone)
    return f"{here:%a} {here.day} {here:%b %Y, %H:%M} {zone_name(here)}"


def local_date(day: date | datetime | None, zone: ZoneInfo, *, default: str = "") -> str:
    """A day: "Mon 7 Dec 2026"; a stored time gives its day in the reader's zone."""
    if day is None:
        return default
    if isinstance(day, datetime):
        day = day.astimezone(zone).date()
    return f"{day:%a} {day.day} {day:%b %Y}"
