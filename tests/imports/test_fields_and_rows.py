"""Reading a file's columns: the first guess at the mapping, and each row checked by the
inquiry form's rules, with messages that name the column and never the value."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from intake.imports.fields import guess_mapping
from intake.imports.rows import Rules, check_cells

NOW = datetime(2026, 3, 3, 14, 0, tzinfo=UTC)


def test_english_headers_as_spreadsheets_and_crms_write_them():
    headers = ["First Name", "Last Name", "E-mail", "Phone number", "Country", "State",
               "Lead Source", "UTM_Campaign", "Created Date", "Record ID", "Notes",
               "Shoe size"]  # fmt: skip
    assert guess_mapping(headers) == {
        "first_name": 0, "last_name": 1, "email": 2, "phone": 3, "country": 4, "region": 5,
        "source": 6, "utm_campaign": 7, "created_at": 8, "external_id": 9, "notes": 10,
    }  # fmt: skip


def test_spanish_headers_accents_or_not():
    headers = ["Nombre", "Apellidos", "Correo electrónico", "Teléfono", "País", "Provincia",
               "Idioma", "Zona horaria", "Fecha de creación", "Comentarios"]  # fmt: skip
    assert guess_mapping(headers) == {
        "first_name": 0, "last_name": 1, "email": 2, "phone": 3, "country": 4, "region": 5,
        "language": 6, "time_zone": 7, "created_at": 8, "notes": 9,
    }  # fmt: skip


def test_the_first_of_two_matching_columns_wins_and_a_whole_name_column_is_left_to_the_admin():
    assert guess_mapping(["Full name", "Email", "Email 2", "Mobile"]) == {"email": 1, "phone": 3}


def rules(**changes) -> Rules:
    base = dict(headers=["First", "Last", "E-mail", "Phone", "Country", "Language", "TZ",
                         "Created"],
                mapping={"first_name": 0, "last_name": 1, "email": 2, "phone": 3, "country": 4,
                         "language": 5, "time_zone": 6, "created_at": 7},
                default_country=None, default_language="en",
                clinic_time_zone="America/New_York", now=NOW)  # fmt: skip
    return Rules(**{**base, **changes})


def checked(cells: list[str], **changes):
    """A row checked as the file holds it: every row has a cell for each column."""
    the_rules = rules(**changes)
    return check_cells(cells + [""] * (len(the_rules.headers) - len(cells)), the_rules)


def test_a_good_row_is_kept_as_the_form_keeps_it():
    row = check_cells(["  Ada ", "Byron", "Ada@Example.ORG", "(202) 555-0143", "united states",
                       "Spanish", "", "2026-01-31"], rules())  # fmt: skip
    assert row.errors == []
    assert row.values == {
        "first_name": "Ada", "last_name": "Byron", "email": "ada@example.org",
        "phone": "+12025550143", "country": "US", "language": "es",
        "time_zone": "America/New_York", "time_zone_source": "phone",
        "created_at": datetime(2026, 1, 31, 5, 0, tzinfo=UTC),
    }  # fmt: skip


@pytest.mark.parametrize(
    ("cells", "message"),
    [
        (["", "Byron", "a@example.org", "", "US"],
         'Column "First": the first name is missing (the inquiry form requires it).'),
        (["Ada", "Byron", "ada.example.org", "", "US"], 'Column "E-mail": not an email address.'),
        (["Ada", "Byron", "", "555-01", "US"],
         'Column "Phone": not a complete phone number (add the country code).'),
        (["Ada", "Byron", "", "call me", "US"], 'Column "Phone": not a phone number.'),
        (["Ada", "Byron", "", "", "US"],
         "No email or phone: the inquiry form needs one of them to reach the person."),
        (["Ada", "Byron", "a@example.org", "", "Atlantis"],
         'Column "Country": not a country we know (use its name or its two-letter code).'),
        (["Ada", "Byron", "a@example.org", "", "US", "Klingon"],
         'Column "Language": not a language we write in (English or Spanish).'),
        (["Ada", "Byron", "a@example.org", "", "US", "", "Mars/Olympus"],
         'Column "TZ": not a time zone name (such as America/New_York).'),
        (["Ada", "Byron", "a@example.org", "", "US", "", "", "31/31/2026"],
         'Column "Created": not a date we can read (write it as 2026-03-31).'),
        (["Ada", "Byron", "a@example.org", "", "US", "", "", "2027-01-01"],
         'Column "Created": a date in the future.'),
        (["A" * 101, "Byron", "a@example.org", "", "US"],
         'Column "First": longer than 100 characters.'),
    ],
)  # fmt: skip
def test_each_problem_names_its_column_in_plain_words_and_never_the_value(cells, message):
    row = checked(cells)
    assert row.errors == [message]
    for value in filter(None, cells):
        if value not in ("US",):
            assert value not in message


def test_a_missing_country_takes_the_default_which_also_reads_the_phone():
    row = checked(["Ana", "Ruiz", "", "612 345 678", ""], default_country="ES")
    assert row.errors == []
    assert (row.values["country"], row.values["phone"]) == ("ES", "+34612345678")


def test_unmapped_required_fields_are_named():
    row = checked(["Ada"], mapping={"first_name": 0})
    assert row.errors == [
        "No last name: map a column to Last name.",
        "No country: map a column to Country or choose a default country.",
        "No email or phone: the inquiry form needs one of them to reach the person.",
    ]
