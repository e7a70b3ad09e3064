"""Checking one row of a file by the rules the inquiry form uses for the same fields.

Each problem is one message in plain words naming the column and what is wrong, never the value
(the messages are shown to staff and downloaded in the error report)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pycountry

from intake.i18n import LANGUAGES
from intake.imports.fields import column_name
from intake.inquiries.contacts import (
    PHONE_INCOMPLETE,
    InvalidContact,
    known_time_zones,
    normalise_email,
    normalise_phone,
    resolve_time_zone,
)
from intake.text import clean_line, clean_text

# field → the longest value kept (the lead's column, or the inquiry form's maxLength).
LIMITS = {
    "first_name": 100,
    "last_name": 100,
    "email": 254,
    "phone": 40,
    "region": 100,
    "source": 200,
    "utm_source": 200,
    "utm_medium": 200,
    "utm_campaign": 200,
    "utm_content": 200,
    "external_id": 100,
    "notes": 2000,
}
_LANGUAGE_NAMES = {
    "en": "en",
    "eng": "en",
    "english": "en",
    "ingles": "en",
    "inglés": "en",
    "es": "es",
    "spa": "es",
    "spanish": "es",
    "espanol": "es",
    "español": "es",
    "castellano": "es",
}
_DATE_FORMATS = ("%Y-%m-%d", "%Y-%m-%d %H:%M", "%Y-%m-%d %H:%M:%S", "%Y/%m/%d")


@dataclass
class CheckedRow:
    """A row's values, cleaned and typed, and what is wrong with it."""

    values: dict = field(default_factory=dict)
    errors: list[str] = field(default_factory=list)

    @property
    def name(self) -> str:
        return f"{self.values.get('first_name') or ''} {self.values.get('last_name') or ''}"


@dataclass(frozen=True)
class Rules:
    """What a row is read against: the job's columns and defaults, and the clinic's."""

    headers: list[str]
    mapping: dict[str, int]
    default_country: str | None
    default_language: str
    clinic_time_zone: str
    now: datetime


def country_code(raw: str) -> str | None:
    """The ISO 3166 alpha-2 code for a code (two or three letters) or an English name."""
    try:
        return pycountry.countries.lookup(raw.strip()).alpha_2
    except LookupError:
        return None


def read_date(raw: str, zone: str) -> datetime | None:
    """A date or time in ISO form (2026-03-31, 2026-03-31 14:05, or with an offset), read in
    the clinic's zone when it names none; None when it is not one."""
    text = raw.strip().replace("T", " ").removesuffix("Z").removesuffix(" UTC")
    try:
        parsed = datetime.fromisoformat(text)
    except ValueError:
        parsed = None
        for pattern in _DATE_FORMATS:
            try:
                parsed = datetime.strptime(text, pattern)  # noqa: DTZ007 (zone set below)
                break
            except ValueError:
                continue
    if parsed is None:
        return None
    if parsed.tzinfo is None:
        zone_info = UTC if raw.strip().endswith(("Z", "UTC")) else ZoneInfo(zone)
        parsed = parsed.replace(tzinfo=zone_info)
    return parsed.astimezone(UTC)


def ragged(cells: list[str], headers: list[str]) -> bool:
    """A row with fewer cells than the header names columns, or more with something in them
    (empty cells after the last column, as some exports write, are harmless)."""
    return len(cells) < len(headers) or any(cell.strip() for cell in cells[len(headers) :])


def check_cells(cells: list[str], rules: Rules) -> CheckedRow:
    """Clean and check one row's cells by the form's rules for each mapped field."""
    row = CheckedRow()
    if ragged(cells, rules.headers):
        row.errors.append(
            f"This row has {len(cells)} cells but the first row names {len(rules.headers)} "
            "columns: a separator is missing or extra, so its values may be in the wrong columns."
        )
        return row
    column = {name: column_name(rules.headers, index) for name, index in rules.mapping.items()}

    def cell(name: str) -> str:
        index = rules.mapping.get(name)
        raw = cells[index] if index is not None and index < len(cells) else ""
        return (clean_text(raw) if name == "notes" else clean_line(raw)) or ""

    def problem(name: str, what: str) -> None:
        row.errors.append(f'Column "{column[name]}": {what}.')

    for name, limit in LIMITS.items():
        value = cell(name)
        if len(value) > limit:
            problem(name, f"longer than {limit} characters")
        elif value:
            row.values[name] = value
    for name, label in (("first_name", "first name"), ("last_name", "last name")):
        if name not in rules.mapping:
            row.errors.append(f"No {label}: map a column to {label.capitalize()}.")
        elif not cell(name):
            problem(name, f"the {label} is missing (the inquiry form requires it)")
    _check_country(row, cell, problem, rules)
    _check_reach(row, problem, rules)
    _check_language_and_zone(row, cell, problem, rules)
    created = cell("created_at")
    if created:
        when = read_date(created, rules.clinic_time_zone)
        if when is None:
            problem("created_at", "not a date we can read (write it as 2026-03-31)")
        elif when > rules.now:
            problem("created_at", "a date in the future")
        else:
            row.values["created_at"] = when
    return row


def _check_country(row: CheckedRow, cell, problem, rules: Rules) -> None:
    raw = cell("country")
    if raw:
        code = country_code(raw)
        if code is None:
            problem("country", "not a country we know (use its name or its two-letter code)")
        else:
            row.values["country"] = code
    elif rules.default_country:
        row.values["country"] = rules.default_country
    elif "country" in rules.mapping:
        problem("country", "the country is missing (choose a default country to fill it)")
    else:
        row.errors.append("No country: map a column to Country or choose a default country.")


def _check_reach(row: CheckedRow, problem, rules: Rules) -> None:
    """Email and phone normalised as the form keeps them; a row needs one of the two."""
    email, phone = row.values.pop("email", None), row.values.pop("phone", None)
    if email:
        try:
            row.values["email"] = normalise_email(email)
        except InvalidContact:
            problem("email", "not an email address")
    if phone:
        try:
            row.values["phone"] = normalise_phone(phone, row.values.get("country"))
        except InvalidContact as exc:
            problem(
                "phone",
                "not a complete phone number (add the country code)"
                if exc.reason == PHONE_INCOMPLETE
                else "not a phone number",
            )
    if not email and not phone:
        row.errors.append(
            "No email or phone: the inquiry form needs one of them to reach the person."
        )


def _check_language_and_zone(row: CheckedRow, cell, problem, rules: Rules) -> None:
    language = cell("language")
    if language:
        code = _LANGUAGE_NAMES.get(language.casefold())
        if code not in LANGUAGES:
            problem("language", "not a language we write in (English or Spanish)")
        else:
            row.values["language"] = code
    else:
        row.values["language"] = rules.default_language
    zone = cell("time_zone")
    if zone:
        if zone not in known_time_zones():
            problem("time_zone", "not a time zone name (such as America/New_York)")
        else:
            row.values["time_zone"], row.values["time_zone_source"] = zone, "import"
    else:
        row.values["time_zone"], row.values["time_zone_source"] = resolve_time_zone(
            detected=None, phone_e164=row.values.get("phone"), fallback=rules.clinic_time_zone
        )
