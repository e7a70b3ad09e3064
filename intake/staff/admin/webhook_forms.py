"""The webhook subscription form: it checks shape; intake.webhooks.endpoints cleans the text
and checks the address (https, public) and the events, for this form and the API alike."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import SelectChoice, StringField
from wtforms.validators import DataRequired, Length, Optional

from intake.staff.admin.forms import MultiCheckboxField
from intake.staff.display import lazy_gettext as _l
from intake.webhooks.events import EVENT_TYPES

EVENT_LABELS = {
    "lead.created": _l("A new lead (lead.created)"),
    "inquiry.completed": _l("An inquiry completed (inquiry.completed)"),
    "lead.status_changed": _l("A lead's status changed (lead.status_changed)"),
    "lead.owner_changed": _l("A lead's owner changed (lead.owner_changed)"),
    "consult.booked": _l("A consult booked (consult.booked)"),
    "consult.changed": _l("A consult moved, cancelled, held or missed (consult.changed)"),
    "reply.received": _l("A patient replied (reply.received)"),
}


class WebhookForm(FlaskForm):
    url = StringField(
        _l("Address (URL)"),
        [DataRequired(_l("Enter the address to send events to.")), Length(max=500)],
        description=_l("Where the events are posted, starting https://"),
    )
    description = StringField(
        _l("Description"),
        [Optional(), Length(max=200)],
        description=_l("Which system this is, for the people who read this page."),
    )
    events = MultiCheckboxField(
        _l("Events to send"),
        choices=[SelectChoice(kind, EVENT_LABELS[kind]) for kind in EVENT_TYPES],
        validate_choice=False,
        description=_l("Each message holds ids and statuses only: never names or health answers."),
    )
