"""Email subjects, and the clinic's name as an email writes it.

A patient's subject is marked for the catalogue with ``N_`` (one of pybabel's default keywords)
and translated when an email is rendered, in its language (``render_message`` forces the lead's);
a staff subject (``intake.messaging.staff_subjects``, the ``staff`` catalogue) is translated the
same way, and staff emails are rendered in English.
"""

from __future__ import annotations

from flask import current_app
from flask_babel import gettext as _

from intake.config import for_language
from intake.i18n import N_, current_language
from intake.messaging.staff_subjects import ALERT_SUBJECTS, STAFF_SUBJECTS

PATIENT_SUBJECTS = {
    "confirmation": N_("We have received your inquiry"),
    "resume_reminder": N_("Your saved inquiry is waiting for you"),
    "resume_link": N_("Your link to finish your inquiry"),
    "consult_confirmation": N_("Your consultation is booked"),
    "consult_update": N_("Your consultation has a new time"),
    "consult_cancellation": N_("Your consultation is cancelled"),
    "consult_reminder": N_("A reminder of your consultation"),
    "consult_rebook": N_("Choose a new time for your consultation"),
}
NURTURE_SUBJECTS = {
    1: N_("What to expect when we talk"),
    2: N_("Preparing your questions"),
    3: N_("How stem cell therapy is being studied"),
    4: N_("We are here when you are ready"),
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
        return _(ALERT_SUBJECTS[alert_case])
    if template in PATIENT_SUBJECTS:
        return _(PATIENT_SUBJECTS[template])
    return _(STAFF_SUBJECTS[template])


def clinic_name() -> str:
    """The clinic's name as an email in the current language writes it (``for_language``)."""
    return for_language(current_app.config, "INTAKE_CLINIC_NAME", current_language())
