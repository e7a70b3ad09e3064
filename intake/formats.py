"""How dates and times are written: one date format for patients, valid HTML for machines."""

from __future__ import annotations

from datetime import date, datetime

from flask import Flask


def long_date(value: date | str | None) -> str:
    """The one date format patients see, on every page and in every error: "12 March 1984"."""
    if value is None or value == "":
        return ""
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value.day} {value:%B %Y}"


def html_datetime(moment: datetime | None) -> str:
    """A ``<time datetime>`` value: whole seconds, since HTML allows at most three decimals."""
    return moment.isoformat(timespec="seconds") if moment else ""


def register(app: Flask) -> None:
    app.add_template_filter(long_date)
    app.add_template_filter(html_datetime)
