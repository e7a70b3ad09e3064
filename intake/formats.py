"""How dates and times are written: one date format for patients, valid HTML for machines."""

from __future__ import annotations

from datetime import date, datetime

from babel.dates import format_date
from flask import Flask

from intake.i18n import current_language

# Babel's pattern for a patient's date, by language; Babel's own "long" for any other. English
# keeps the day first ("12 March 1984"), where Babel's "long" for "en" is "March 12, 1984".
DATE_PATTERNS = {"en": "d MMMM y"}


def long_date(value: date | str | None, language: str | None = None) -> str:
    """The one date format patients see, on every page and in every error, in the page's
    language (or ``language``): "12 March 1984", "12 de marzo de 1984"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    language = language or current_language()
    return format_date(value, DATE_PATTERNS.get(language, "long"), locale=language)


def html_datetime(moment: datetime | None) -> str:
    """A ``<time datetime>`` value: whole seconds, since HTML allows at most three decimals."""
    return moment.isoformat(timespec="seconds") if moment else ""


def initial_capital(value: str) -> str:
    """The first letter in capitals, the rest as written: "the clinic" → "The clinic", and a
    clinic's own name ("Clínica del Sol") unchanged, where Jinja's ``capitalize`` would lower
    every later letter ("Clínica del sol")."""
    return value[:1].upper() + value[1:]


def register(app: Flask) -> None:
    app.add_template_filter(initial_capital)
    app.add_template_filter(long_date)
    app.add_template_filter(html_datetime)
