"""The lead page's "Write to the patient" form: a channel, a template or free words, a
preview, and a send that must match the preview the sender saw."""

from __future__ import annotations

from flask_babel import gettext as _
from flask_wtf import FlaskForm
from wtforms import HiddenField, RadioField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import InputRequired, Optional

from intake.conversations.templates import EMAIL_BODY_MAX, choices
from intake.staff.display import lazy_gettext as _l
from intake.text import clean_text

ACTIONS = ("template", "preview", "send")


class MessageForm(FlaskForm):
    channel = RadioField(
        _l("Send by"),
        choices=[
            SelectChoice(c, _l("Email") if c == "email" else _l("Text message"))
            for c in ("email", "text")
        ],  # fmt: skip
        validators=[InputRequired(message=_l("Choose email or text message."))],
    )
    template = SelectField(_l("Template"), choices=[], validators=[Optional()])
    subject = StringField(_l("Subject (emails only)"), filters=[clean_text])
    body = TextAreaField(
        _l("Message"),
        filters=[clean_text],
        render_kw={"maxlength": EMAIL_BODY_MAX},
    )
    # The preview this send answers to (intake.conversations.outgoing.Draft.digest).
    digest = HiddenField()

    def for_templates(self) -> MessageForm:
        """Offer every template (the same keys serve both channels), or the sender's own words."""
        self.template.choices = [SelectChoice("", _("None: write my own"))] + [
            SelectChoice(key, label) for key, label in choices("email")
        ]
        return self
