"""Email subjects, and the clinic's name as an email writes it.

A patient's subject is marked for the catalogue with ``N_`` (one of pybabel's default keywords)
and translated when an email is rendered, in its language (``render_message`` forces the lead's);
a staff subject is English, and stays so.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from intake.config import for_language
from intake.i18n import N_, current_language

PATIENT_SUBJECTS = {
    "confirmation": N_("We have received your inquiry"),
    "resume_reminder": N_("Your saved inquiry is waiting for you"),
    "resume_link": N_("Your link to finish your inquiry"),
}
NURTURE_SUBJECTS = {
    1: N_("What to expect when we talk"),
    2: N_("Preparing your questions"),
    3: N_("How stem cell therapy is being studied"),
    4: N_("We are here when you are ready"),
}
STAFF_SUBJECTS = {  # English only: not marked, so no language can change them
    "staff_new_lead": "A new lead has been assigned to you",
    "staff_digest": "Your leads today",
    "sla_reminder": "Reminder: a lead is waiting for first contact",
    "sla_escalation": "A lead has passed its first-contact time",
    "admin_alert": "A new lead matched no routing rule",  # by case: ALERT_SUBJECTS
    "staff_invitation": "You are invited to the staff workspace",
    # bandit B105 on the next line: an email subject keyed by template name, not a password.
    "staff_password_reset": "Reset your staff password",  # nosec B105
}
ALERT_SUBJECTS = {
    "no_rule": "A new lead matched no routing rule",
    "no_member": "A team has a new lead but nobody who can take it",
    "overdue": "An overdue lead has nobody else to take it",
}
# The templates a patient email is rendered from (the nurture subject goes by step), and all.
PATIENT_TEMPLATES = frozenset({*PATIENT_SUBJECTS, "nurture"})
TEMPLATES = PATIENT_TEMPLATES | frozenset(STAFF_SUBJECTS)


def nurture_step(step: int) -> int:
    """A ledger step as a nurture note: 1 to the last one."""
    return min(max(step, 1), len(NURTURE_SUBJECTS))


def subject(template: str, step: int = 1, *, alert_case: str = "no_rule") -> str:
    """The subject of one email, in the current language (English for staff)."""
    if template == "nurture":
        return _(NURTURE_SUBJECTS[nurture_step(step)])
    if template == "admin_alert":
        return ALERT_SUBJECTS[alert_case]
    if template in PATIENT_SUBJECTS:
        return _(PATIENT_SUBJECTS[template])
    return STAFF_SUBJECTS[template]


def clinic_name() -> str:
    """The clinic's name as an email in the current language writes it (``for_language``)."""
    return for_language(current_app.config, "INTAKE_CLINIC_NAME", current_language())
