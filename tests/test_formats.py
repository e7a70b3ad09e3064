"""How patients read a date: day first in English as always, Babel's long date in Spanish, in
the language of the page unless one is named."""

from __future__ import annotations

from datetime import date

import pytest
from flask_babel import force_locale

from intake.formats import initial_capital, long_date


@pytest.mark.parametrize(
    ("value", "english", "spanish"),
    [
        (date(1984, 3, 12), "12 March 1984", "12 de marzo de 1984"),
        (date(1980, 4, 2), "2 April 1980", "2 de abril de 1980"),
        ("1900-01-01", "1 January 1900", "1 de enero de 1900"),
        (date(2026, 12, 31), "31 December 2026", "31 de diciembre de 2026"),
    ],
)
def test_a_long_date_in_each_language(value, english, spanish):
    assert (long_date(value, "en"), long_date(value, "es")) == (english, spanish)


def test_a_long_date_speaks_the_pages_language_and_english_outside_a_request(app):
    day = date(1984, 3, 12)
    assert long_date(day) == "12 March 1984"
    with app.test_request_context():
        assert long_date(day) == "12 March 1984"
        with force_locale("es"):
            assert long_date(day) == "12 de marzo de 1984"
            assert app.jinja_env.from_string("{{ d | long_date }}").render(d=day) == (
                "12 de marzo de 1984"
            )


def test_no_date_is_an_empty_string():
    assert long_date(None) == long_date("") == ""


@pytest.mark.parametrize(
    ("name", "shown"),
    [("the clinic", "The clinic"), ("la clínica", "La clínica"),
     ("Clínica del Sol", "Clínica del Sol"), ("ÁBaco Health", "ÁBaco Health"), ("", "")],
)  # fmt: skip
def test_a_name_starts_with_a_capital_and_keeps_the_rest_as_written(name, shown):
    assert initial_capital(name) == shown
