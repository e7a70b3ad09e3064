"""The lead import's forms: the file, and which column fills which field."""

from __future__ import annotations

import pycountry
from flask_wtf import FlaskForm
from flask_wtf.file import FileField, FileRequired
from wtforms import SelectChoice, SelectField
from wtforms.validators import Optional

from intake.imports.fields import FIELDS, column_name
from intake.staff.display import lazy_gettext as _l


class UploadForm(FlaskForm):
    """The CSV file; its CSRF token is checked by the view before the body is read."""

    class Meta:
        csrf = False

    file = FileField(
        _l("CSV file"),
        validators=[FileRequired(_l("Choose a CSV file to upload."))],
        description=_l(
            "A spreadsheet saved as CSV, or another system's export. Its first line must name "
            "the columns. Any common encoding and separator (comma, semicolon, tab) is read."
        ),
    )


def _country_choices() -> list[SelectChoice]:
    named = sorted((country.name, country.alpha_2) for country in pycountry.countries)
    return [SelectChoice("", _l("None: rows must name their country"))] + [
        SelectChoice(code, name) for name, code in named
    ]


class MappingForm(FlaskForm):
    """One choice of column per field (or none), and a country for rows that give none."""

    default_country = SelectField(
        _l("Default country"),
        validators=[Optional()],
        description=_l("Used for rows with no country, and to read their phone numbers."),
    )

    def __init__(self, headers: list[str], *args, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.default_country.choices = _country_choices()
        self.headers = headers

    @property
    def column_fields(self):
        return [self[f"map_{name}"] for name in FIELDS]

    def mapping(self) -> dict[str, int]:
        return {
            name: int(self[f"map_{name}"].data)
            for name in FIELDS
            if (self[f"map_{name}"].data or "").isdigit()
        }


def mapping_form(headers: list[str], mapping: dict, default_country: str | None, **kwargs):
    """The mapping form for a file's headers, filled with the job's current mapping."""
    choices = [SelectChoice("", _l("Not imported"))] + [
        SelectChoice(str(index), column_name(headers, index)) for index in range(len(headers))
    ]
    fields = {
        f"map_{name}": SelectField(label, choices=choices, validators=[Optional()])
        for name, label in FIELDS.items()
    }
    form_class = type("JobMappingForm", (MappingForm,), fields)
    data = {f"map_{name}": str(index) for name, index in (mapping or {}).items()}
    return form_class(headers, data={**data, "default_country": default_country or ""}, **kwargs)
