"""Countries as a patient reads them: named in the page's language, in that language's order.

The names are Babel's (CLDR) territory names; the list holds only the ISO 3166 countries that
pycountry knows, each kept by its alpha-2 code, so an answer means the same in every language
and FHIR export and staff pages (which name countries in English, from pycountry) read it as
before.
"""

from __future__ import annotations

import unicodedata
from functools import cache

import pycountry
from babel import Locale
from wtforms import SelectChoice

# In Spanish, "ñ" is a letter of its own, after "n" (and before "o").
_OWN_LETTERS = {"es": {"ñ": "n\uffff"}}


def sort_key(name: str, language: str) -> tuple[str, str]:
    """Where ``name`` goes in an alphabetical list for a reader of ``language``: accents and
    case ignored ("Österreich" among the O's, "Perú" among the P's), ties broken by the name."""
    folded = name.casefold()
    for letter, key in _OWN_LETTERS.get(language, {}).items():
        folded = folded.replace(letter, key)
    bare = "".join(
        ch for ch in unicodedata.normalize("NFD", folded) if not unicodedata.combining(ch)
    )
    return bare, name


@cache
def _names(language: str) -> dict[str, str]:
    """Each country's code and its name in ``language`` (pycountry's English name if Babel has
    none)."""
    territories = Locale.parse(language).territories
    return {
        country.alpha_2: territories.get(country.alpha_2, country.name)
        for country in pycountry.countries
    }


def country_name(code: str, language: str) -> str:
    """A country's name in ``language``; the code itself if it names no country."""
    return _names(language).get(code, code)


@cache
def countries(language: str) -> tuple[SelectChoice, ...]:
    """Every ISO 3166 country, by its name in ``language``, in that language's order."""
    named = sorted(_names(language).items(), key=lambda pair: sort_key(pair[1], language))
    return tuple(SelectChoice(code, name) for code, name in named)
