"""A date typed as day, month and year, each in its own box.

One native date picker is hard to use with tremor, with a screen reader or on an old phone, and
a typed "1975-03-27" is easy to get wrong; three labelled number boxes (the GOV.UK date input
pattern) are not. The answer kept is still an ISO date, so FHIR export and the age rules read
it as before. Every part typed is kept on the page when something is wrong with the date.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from functools import cache

from babel.dates import get_month_names
from flask_babel import gettext as _
from flask_babel import lazy_gettext
from markupsafe import Markup, escape
from wtforms import Field
from wtforms.utils import unset_value
from wtforms.validators import ValidationError

from intake.formats import long_date
from intake.i18n import LANGUAGES
from intake.text import clean_line

PARTS = ("day", "month", "year")
PART_LABELS = {
    "day": lazy_gettext("Day"),
    "month": lazy_gettext("Month"),
    "year": lazy_gettext("Year"),
}
PART_WIDTHS = {"day": 2, "month": 2, "year": 4}
EARLIEST = date(1900, 1, 1)
EXAMPLE = lazy_gettext("For example, 27 3 1975")
# A date with some boxes left empty: which ones.
_MISSING = {
    ("day",): lazy_gettext("The date must include a day."),
    ("month",): lazy_gettext("The date must include a month."),
    ("year",): lazy_gettext("The date must include a year."),
    ("day", "month"): lazy_gettext("The date must include a day and a month."),
    ("day", "year"): lazy_gettext("The date must include a day and a year."),
    ("month", "year"): lazy_gettext("The date must include a month and a year."),
}
# Other ways of writing a month's name that people use: "Sept", and in Latin America "setiembre".
_MORE_MONTH_NAMES = {"sept": 9, "setiembre": 9, "set": 9}


@cache
def _month_names() -> dict[str, int]:
    """A month typed as a word, in any language we speak, full or short, in any case: "March",
    "mar", "marzo", "sept". No name means one month in one language and another in another."""
    names = dict(_MORE_MONTH_NAMES)
    for language in LANGUAGES:
        for width in ("wide", "abbreviated"):
            for context in ("format", "stand-alone"):
                for number, name in get_month_names(width, context, locale=language).items():
                    names[name.casefold()] = number
    return names


def _clean(value) -> str:
    """What was typed in one box: one clean line of printable characters only (not even a
    no-break space), at most a few characters (no box needs more)."""
    text = value if isinstance(value, str) else ""
    return clean_line("".join(ch for ch in text if ch.isprintable()))[:12]


def _month_number(text: str) -> int | None:
    if text.isdigit():
        return int(text)
    return _month_names().get(text.casefold().rstrip("."))


class DatePartsWidget:
    """Three labelled boxes; the field's wrong parts are marked invalid."""

    def __call__(self, field: DatePartsField, **kwargs) -> Markup:
        wrong_parts = field.wrong_parts or (PARTS if field.errors else ())
        boxes = []
        for part in PARTS:
            wrong = part in wrong_parts
            attrs = {
                "class": f"input input-width-{PART_WIDTHS[part]}"
                + (" input-error" if wrong else ""),
                "id": f"{field.id}-{part}",
                "name": f"{field.name}-{part}",
                "type": "text",
                "inputmode": "numeric",
                "value": field.parts[part],
            }
            if field.autocomplete:
                attrs["autocomplete"] = f"{field.autocomplete}-{part}"
            if wrong:
                attrs["aria-invalid"] = "true"
            rendered = " ".join(f'{key}="{escape(value)}"' for key, value in attrs.items())
            boxes.append(
                f'<div class="date-part"><label class="date-part-label" for="{field.id}-{part}">'
                f"{escape(PART_LABELS[part])}</label><input {rendered}></div>"
            )
        # Every value was escaped above; labels and ids are our own. bandit B704 likewise.
        return Markup(f'<div class="date-parts">{"".join(boxes)}</div>')  # noqa: S704  # nosec B704


class DatePartsField(Field):
    """``data`` is the ISO date once the parts make one, else None; ``parts`` keeps the typing."""

    widget = DatePartsWidget()

    def __init__(self, *args, autocomplete: str | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.autocomplete = autocomplete if autocomplete == "bday" else None
        self.parts = dict.fromkeys(PARTS, "")
        self.wrong_parts: tuple[str, ...] = ()

    @property
    def typed(self) -> bool:
        return any(self.parts.values())

    @property
    def first_wrong_id(self) -> str:
        """Where the error summary's link leads: the first box to correct."""
        return f"{self.id}-{(self.wrong_parts or PARTS)[0]}"

    def process(self, formdata, data=unset_value, extra_filters=None) -> None:
        self.process_errors = []
        self.object_data = None if data is unset_value else data
        if formdata is not None:
            self.parts = {part: _clean(formdata.get(f"{self.name}-{part}")) for part in PARTS}
            self.raw_data = [self.parts[part] for part in PARTS]
            self.data = self._parse()
            return
        self.data = self.object_data or None
        try:
            stored = date.fromisoformat(self.data) if self.data else None
        except (TypeError, ValueError):  # not a date: the boxes start empty, nothing breaks
            self.data = stored = None
        if stored is not None:
            self.parts = {
                "day": str(stored.day),
                "month": str(stored.month),
                "year": str(stored.year),
            }

    def _parse(self) -> str | None:
        try:
            return self._date().isoformat()
        except ValueError:
            return None

    def _date(self) -> date:
        day, month, year = (self.parts[part] for part in PARTS)
        number = _month_number(month)
        if not (day.isdigit() and year.isdigit() and len(year) == 4 and number):
            raise ValueError("not a date")
        return date(int(year), number, int(day))

    def check(self, *, today: date) -> None:
        """Say what is wrong in plain words, and which boxes to correct."""
        if not self.typed:
            return
        missing = tuple(part for part in PARTS if not self.parts[part])
        if missing:
            self._wrong(missing, str(_MISSING[missing]))
        day, month, year = (self.parts[part] for part in PARTS)
        if not year.isdigit() or len(year) != 4:
            self._wrong(
                ["year"],
                _("The year must have 4 numbers, for example 1975. %(example)s.", example=EXAMPLE),
            )
        unreal = [
            part
            for part, ok in (
                ("day", day.isdigit() and 1 <= int(day) <= 31),
                ("month", (_month_number(month) or 0) in range(1, 13)),
            )
            if not ok
        ]
        if unreal:
            self._wrong(unreal, _("The date must be a real date. %(example)s.", example=EXAMPLE))
        try:
            value = self._date()
        except ValueError:
            self._wrong(["day"], _("The date must be a real date. %(example)s.", example=EXAMPLE))
        if value > today:
            self._wrong(PARTS, _("The date must be today or in the past."))
        if value < EARLIEST:
            self._wrong(["year"], _("The date must be after %(date)s.", date=long_date(EARLIEST)))

    def _wrong(self, parts: Sequence[str], message: str) -> None:
        self.wrong_parts = tuple(parts)
        raise ValidationError(message)
