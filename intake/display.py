"""How staff read what is stored: one label for every code, and one way to write a time.

Staff pages are in English; every word they show for a stored code comes from ``LABELS`` here
(codes a clinic defines in the questionnaire, such as sources, read as the questionnaire's
options), so a later translation has one place to look: each is marked with ``N_`` for the
``staff`` catalogue and translated by ``label`` when it is shown. Times are written in the
reader's own time zone, with the zone named: "Mon 7 Dec 2026, 14:05 EST".

``lazy_gettext`` (``_l``) marks staff text that is kept before it is shown (constants, form
fields, the messages services raise): it is translated when it is shown, and escaped in HTML
like any other text."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from flask_babel import LazyString
from markupsafe import Markup, escape

from intake.i18n import LANGUAGES, N_, gettext
from intake.questionnaire.definition import Questionnaire


class LazyText(LazyString):
    """Flask-Babel's lazy string, escaped in HTML like any other text: theirs marks itself as
    safe markup, so "the patient's request" would reach a page with its apostrophe unescaped."""

    def __html__(self) -> Markup:
        return escape(str(self))


def catalogue_words(text: str) -> Markup:
    """Translated words, trusted as a template's ``_()`` trusts them (for text built in Python
    and shown as is): ``%`` then escapes what fills them in."""
    return Markup(text)  # noqa: S704  # nosec B704


def lazy_gettext(string: str, **variables) -> LazyText:
    """Text translated when it is shown (``_l``): for labels, choices, messages and constants
    defined before any request has a language. Outside a request it reads as written."""
    return LazyText(gettext, string, **variables)


LABELS: dict[str, dict[str, str]] = {
    "status": {
        "new": N_("New"),
        "attempting_contact": N_("Attempting contact"),
        "contacted": N_("Contacted"),
        "screening": N_("Screening"),
        "consult_scheduled": N_("Consult scheduled"),
        "consult_done": N_("Consult done"),
        "treatment_planned": N_("Treatment planned"),
        "treated": N_("Treated"),
        "not_eligible": N_("Not eligible"),
        "not_interested": N_("Not interested"),
        "unreachable": N_("Unreachable"),
        "do_not_contact": N_("Do not contact"),
        "merged": N_("Merged"),
    },
    "outcome": {
        "no_exclusion_found": N_("No exclusion found"),
        "needs_review": N_("Needs clinical review"),
        "not_eligible": N_("Not eligible"),
    },
    # The first-contact deadline's state (intake.routing.sla.sla_state), on the queue and the
    # lead page alike.
    "sla": {
        "breached": N_("SLA breached"),
        "due_soon": N_("Due soon"),
        "on_track": N_("On track"),
        "met": N_("Met"),
    },
    "cadence": {
        "confirmation": N_("Confirmation email"),
        "resume_reminder": N_("Resume reminder email"),
        "nurture": N_("Nurture email"),
        "staff_new_lead": N_("New-lead notice to staff"),
        "staff_reply": N_("Reply notice to the owner"),
        "staff_consult": N_("Consult booking notice to the owner"),
        "consult": N_("Consult messages"),
        "consult_confirmation": N_("Consult confirmation email"),
        "consult_update": N_("Consult new-time email"),
        "consult_cancellation": N_("Consult cancellation email"),
        "consult_reminder": N_("Consult reminder email"),
        "consult_rebook": N_("Invitation to book again"),
        "conversation": N_("Message from staff"),
        "staff_digest": N_("Staff digest"),
        "sla_reminder": N_("SLA reminder to the owner"),
        "sla_escalation": N_("SLA escalation"),
        "task_reminder": N_("Task reminder to its assignee"),
        "task_escalation": N_("Overdue task escalation"),
        "admin_alert": N_("Routing alert to admins"),
        "resume_link": N_("Link to finish later"),
        "staff_invitation": N_("Staff invitation"),
        "staff_password_reset": N_("Staff password reset"),
    },
    # Why a message was not sent (the send ledger's finished reason).
    "stop_reason": {
        "demo_history": N_("sample data: never sent"),
        "contacted": N_("the lead was contacted"),
        "closed": N_("the lead was closed"),
        "do_not_contact": N_("the patient asked not to be contacted"),
        "unsubscribed": N_("the patient unsubscribed"),
        "text_stop": N_("the patient texted STOP"),
        "inquiry_completed": N_("the inquiry was completed"),
        "no_consent": N_("consent was not in force"),
        "merged": N_("the lead was merged into another lead"),
        "reassigned": N_("the lead was reassigned"),
        "staff_inactive": N_("the staff member is inactive"),
        "suppressed": N_("the address is suppressed"),
        "cadence_off": N_("the clinic switched these emails off"),
        "no_recipient": N_("there was no address to send to"),
        "replied": N_("the patient replied"),
        "gave_up": N_("it gave up after its tries"),
        "permanent_failure": N_("the mail server refused it"),
        "discarded": N_("an admin discarded it"),
        "erased": N_("the lead's details were erased"),
        "token_expired": N_("the link expired"),
        "token_used": N_("the link was used"),
        "task_closed": N_("the task was done or cancelled"),
    },
    "consent": {
        "privacy_notice": N_("privacy notice"),
        "contact_email": N_("contact by email"),
        "contact_phone": N_("contact by phone"),
        "contact_text": N_("contact by text message"),
        "follow_up_emails": N_("follow-up emails"),
        "resume_reminders": N_("resume reminders"),
        "not_medical_advice": N_("not medical advice"),
    },
    "consent_source": {
        "inquiry_form": N_("the inquiry form"),
        "api": N_("an inquiry sent by another system (API)"),
        "unsubscribe": N_("unsubscribe link"),
        "text_keyword": N_("a text message keyword (STOP or START)"),
    },
    "call": {
        "reached": N_("reached the patient"),
        "voicemail": N_("left a voicemail"),
        "no_answer": N_("no answer"),
        "wrong_number": N_("wrong number"),
        "call_back_requested": N_("call back requested"),
    },
    "decision": {
        "candidate": N_("Candidate"),
        "not_candidate": N_("Not a candidate"),
        "needs_more_information": N_("Needs more information"),
    },
    "event": {
        "status_changed": N_("Status changed"),
        "call": N_("Call"),
        "note": N_("Note"),
        "consult_scheduled": N_("Consult scheduled"),
        "consult_moved": N_("Consult moved"),
        "consult_cancelled": N_("Consult cancelled"),
        "consult_done": N_("Consult held"),
        "consult_no_show": N_("Consult missed: the patient did not come"),
        "clinical_decision": N_("Clinical decision"),
        "assigned": N_("Assigned"),
        "merged": N_("Merged"),
        "erasure_requested": N_("Erasure requested"),
        "erased": N_("Contact details erased"),
        "unmerged": N_("Merge undone"),
        "not_duplicate": N_("Not the same person"),
        "task_created": N_("Task added"),
        "task_done": N_("Task done"),
        "task_cancelled": N_("Task cancelled"),
        "task_rescheduled": N_("Task moved"),
    },
    "task_kind": {"call_back": N_("Call back"), "follow_up": N_("Follow up")},
    "strategy": {
        "round_robin": N_("Round robin (members take turns)"),
        "least_loaded": N_("Least loaded (the member with the fewest open leads)"),
    },
    "off_hours": {
        "next_on_shift": N_("Assign it to the member whose hours start next"),
        "hold": N_("Hold it for the team until a member's hours start"),
    },
    "role": {"admin": N_("Admin"), "coordinator": N_("Coordinator"), "clinician": N_("Clinician")},
    "filled_by": {"self": N_("The patient"), "someone_else": N_("Someone else, for the patient")},
    "time_zone_source": {
        "browser": N_("from their browser"),
        "phone": N_("from their phone number"),
        "clinic": N_("the clinic's, as neither said"),
        "import": N_("from a lead import"),
    },
    # Where a lead came from when the questionnaire's options do not say (a lead import).
    "source": {"import": N_("A lead import")},
    # A lead import (intake.models.imports): the job's stage, and what became of each row.
    "import_status": {
        "uploaded": N_("Waiting for the columns to be chosen"),
        "checking": N_("Dry run under way"),
        "checked": N_("Dry run done: ready to import"),
        "importing": N_("Import under way"),
        "done": N_("Imported"),
        "failed": N_("Stopped by an error"),
        "cancelled": N_("Cancelled"),
    },
    "import_row_status": {
        "pending": N_("Not imported yet"),
        "error": N_("Has errors: not imported"),
        "imported": N_("Made a new lead"),
        "joined": N_("Joined an existing lead"),
        "skipped": N_("Skipped: the import was cancelled"),
    },
    "send_status": {
        "scheduled": N_("Scheduled"),
        "sending": N_("Sending"),
        "sent": N_("Sent"),
        "cancelled": N_("Cancelled"),
        "dead": N_("Gave up"),
    },
    "audit_outcome": {"ok": N_("Done"), "failed": N_("Failed"), "denied": N_("Refused")},
    # Conversations (intake.staff.queries.conversation): the channel, and each message's state.
    "channel": {"email": N_("email"), "text": N_("text message")},
    # A ledger row that went by text (intake.messaging.cadence_texts); others keep "cadence".
    "cadence_text": {
        "confirmation": N_("Confirmation text"),
        "conversation": N_("Text message from staff"),
    },
    "message_state": {
        "queued": N_("Queued"),
        "sent": N_("Sent"),
        "failed": N_("Not delivered"),
        "not_sent": N_("Not sent"),
        "bounced": N_("Bounced"),
        "replied": N_("Replied"),
        "reply": N_("Reply"),
        "auto_reply": N_("Automatic reply"),
        "bounce": N_("Bounce notice"),
        "stop": N_("Asked to stop texts (STOP)"),
        "start": N_("Asked for texts again (START)"),
        "help": N_("Asked for help (HELP)"),
    },
    "attachment_refused": {
        "too_large": N_("it was too large"),
        "type": N_("files of this type are not kept"),
    },
    # The lead fields a routing rule reads.
    "routing_field": {
        "country": N_("Countries"),
        "region": N_("States or regions"),
        "eligibility_outcome": N_("Eligibility outcomes"),
        "ms_type": N_("MS types"),
        "utm_campaign": N_("Campaigns (utm_campaign)"),
        "source": N_("How they heard of the clinic"),
    },
    "cadence_trigger": {
        "inquiry.started": N_("an inquiry is started"),
        "inquiry.completed": N_("an inquiry is sent"),
        "inquiry.saved_for_later": N_("the patient asks for a link to finish later"),
    },
    "cadence_stop": {
        "inquiry_completed": N_("the inquiry is sent"),
        "contacted": N_("staff have made contact"),
        "closed": N_("the lead is closed"),
    },
    "audience": {"patient": N_("the patient"), "staff": N_("staff")},
    "per": {"inquiry": N_("inquiry"), "lead": N_("lead"), "request": N_("request")},
    "search": {"name": N_("name"), "email": N_("email"), "phone": N_("phone")},
    # The lead's language, named in itself ("Español"): a page showing it marks it with lang.
    "language": dict(LANGUAGES),
}
NAMED_IN_THEMSELVES = frozenset({"language"})  # never translated
# Lead columns whose codes are a questionnaire item's options: the option's words are the label.
QUESTIONNAIRE_KINDS = {
    "source": "heard_about",
    "ms_type": "ms_type",
    "contact_method": "preferred_contact_method",
    "contact_time": "preferred_contact_time",
}


def labels(kind: str) -> dict[str, LazyText]:
    """Every label of ``kind``, each translated when it is shown (for choices made at import)."""
    return {code: LazyText(gettext, text) for code, text in LABELS[kind].items()}


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
    """The words staff read for a stored code of this kind, in the current language (a label of
    ``LABELS``); ``default`` when there is none."""
    if code is None or code == "":
        return default
    code = str(code)
    known: Mapping[str, str] = LABELS.get(kind, {})
    if code in known:
        return known[code] if kind in NAMED_IN_THEMSELVES else gettext(known[code])
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


def local_clock(moment: datetime, zone: ZoneInfo) -> str:
    """The hour and minute alone ("14:05"), under a heading that names the day and zone."""
    return f"{moment.astimezone(zone):%H:%M}"


def local_date(day: date | datetime | None, zone: ZoneInfo, *, default: str = "") -> str:
    """A day: "Mon 7 Dec 2026"; a stored time gives its day in the reader's zone."""
    if day is None:
        return default
    if isinstance(day, datetime):
        day = day.astimezone(zone).date()
    return f"{day:%a} {day.day} {day:%b %Y}"
