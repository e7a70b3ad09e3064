"""Staff email subjects: marked with ``N_`` for the ``staff`` catalogue (``staff.cfg``), and
translated by ``intake.messaging.subjects.subject`` when an email is rendered. Staff emails are
rendered in English (``force_locale("en")``), so they read as written here.

They live apart from the patient subjects so that the patient catalogue (``messages.cfg``
extracts ``subjects.py``) never asks for them in Spanish."""

from __future__ import annotations

from intake.i18n import N_

STAFF_SUBJECTS = {
    "staff_new_lead": N_("A new lead has been assigned to you"),
    "staff_digest": N_("Your leads today"),
    "sla_reminder": N_("Reminder: a lead is waiting for first contact"),
    "sla_escalation": N_("A lead has passed its first-contact time"),
    "task_reminder": N_("Reminder: a task on a lead is due"),
    "task_escalation": N_("A task on a lead is overdue"),
    "admin_alert": N_("A new lead matched no routing rule"),  # by case: ALERT_SUBJECTS
    "staff_invitation": N_("You are invited to the staff workspace"),
    "staff_password_reset": N_("Reset your staff password"),
    "staff_reply": N_("A patient replied to a message"),
    "staff_consult": N_("A patient changed a consult booking"),
}
ALERT_SUBJECTS = {
    "no_rule": N_("A new lead matched no routing rule"),
    "no_member": N_("A team has a new lead but nobody who can take it"),
    "overdue": N_("An overdue lead has nobody else to take it"),
}
