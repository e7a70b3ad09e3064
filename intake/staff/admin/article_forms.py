"""The form for one of the clinic's articles or campaigns. It checks shape; intake.leads.articles
checks the rest (UTM values as links carry them, one article per ``utm_content``)."""

from __future__ import annotations

from flask_wtf import FlaskForm
from wtforms import BooleanField, StringField
from wtforms.validators import URL, DataRequired, Length, Optional

from intake.staff.display import lazy_gettext as _l
from intake.text import clean_line

SLUG_HINT = _l("Lower-case letters, digits and dashes, as links carry them.")


def _lower(value):
    return value.lower() if isinstance(value, str) else value


def _utm(label, default: str | None = None, hint=SLUG_HINT) -> StringField:
    return StringField(
        label,
        [DataRequired(_l("Enter a value.")), Length(max=100)],
        filters=[clean_line, _lower],
        default=default,
        description=hint,
    )


class ArticleForm(FlaskForm):
    title = StringField(
        _l("Title"),
        [DataRequired(_l("Enter a title.")), Length(max=200)],
        filters=[clean_line],
        description=_l("For staff: how you know the article. Patients do not see it."),
    )
    page_url = StringField(
        _l("The article's address on the clinic's website (optional)"),
        [Optional(), URL(message=_l("Enter a full link starting https://")), Length(max=500)],
        filters=[clean_line],
    )
    utm_content = _utm(
        _l("Article name in links (utm_content)"),
        hint=_l("Names this article in the figures; no two articles share one."),
    )
    utm_campaign = _utm(_l("Campaign (utm_campaign)"))
    utm_source = _utm(_l("Source (utm_source)"), default="website")
    utm_medium = _utm(_l("Medium (utm_medium)"), default="article")
    active = BooleanField(_l("In use (its links are listed for staff)"), default=True)
