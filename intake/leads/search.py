"""Staff search: a typed term read as a name, email or phone number, and the condition that
finds a lead by its own columns or by any contact detail ever given for it."""

from __future__ import annotations

import re
from dataclasses import dataclass

import phonenumbers
from sqlalchemy import ColumnElement, String, literal_column, select, union
from sqlalchemy.ext.compiler import compiles
from sqlalchemy.sql.functions import FunctionElement

from intake.display import lazy_gettext as _l
from intake.inquiries.contacts import InvalidContact, normalise_email
from intake.models import Lead, LeadContact

SEARCH_KINDS = ("name", "email", "phone")
_PHONE_LIKE = re.compile(r"^[+\d\s().\-/]+$")


class InvalidSearch(ValueError):
    """The search term cannot be used; the message is fit to show."""


@dataclass(frozen=True)
class SearchTerm:
    kind: str  # one of SEARCH_KINDS
    value: str  # normalised: lower-case email, E.164 or digits, case-folded name


def normalise_search(raw: str, *, region: str) -> SearchTerm:
    """Read a typed term as an email, a phone number (local formats read in ``region``) or a
    name, in the form the leads table stores."""
    term = " ".join((raw or "").split())
    if len(term) < 2:
        raise InvalidSearch(_l("Type at least 2 characters of a name, email or phone number."))
    if len(term) > 200:
        raise InvalidSearch(_l("Keep the search under %(max)d characters.", max=200))
    if "@" in term:
        try:
            return SearchTerm("email", normalise_email(term))
        except InvalidContact:
            return SearchTerm("email", term.lower())  # a part of an address
    if _PHONE_LIKE.match(term) and sum(ch.isdigit() for ch in term) >= 3:
        return SearchTerm("phone", _phone_value(term, region))
    return SearchTerm("name", term.casefold())


def _phone_value(term: str, region: str) -> str:
    try:
        number = phonenumbers.parse(term, region)
    except phonenumbers.NumberParseException:
        number = None
    if number is not None and phonenumbers.is_valid_number(number):
        return phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)
    digits = "".join(ch for ch in term if ch.isdigit())
    return ("+" + digits) if term.startswith("+") else digits


class folded(FunctionElement):  # noqa: N801 (reads as the SQL function it is)
    """A name case-folded as the typed term is (``str.casefold``), every letter, "Á" as well as
    "A". PostgreSQL's ``lower`` does that (and the trigram index covers it); SQLite's folds only
    A to Z, so there the fold is Python's, registered on each connection by intake.extensions."""

    type = String()
    inherit_cache = True


@compiles(folded, "postgresql")
def _folded_postgresql(element, compiler, **kw):
    return f"lower({compiler.process(element.clauses, **kw)})"


@compiles(folded, "sqlite")
def _folded_sqlite(element, compiler, **kw):
    return f"intake_casefold({compiler.process(element.clauses, **kw)})"


def full_name_expression() -> ColumnElement[str]:
    """``lower((first_name || ' ') || last_name)``: the expression the trigram index covers."""
    return folded(Lead.first_name.concat(literal_column("' '")).concat(Lead.last_name))


SEARCH_CONTACT_KINDS = {
    "name": ("name", "caregiver_name"),
    "email": ("email", "caregiver_email"),
    "phone": ("phone", "caregiver_phone"),
}


def _whole_number(value: str) -> bool:
    """Whether a phone term is a whole valid number in E.164, as leads store theirs."""
    if not value.startswith("+"):
        return False
    try:
        return phonenumbers.is_valid_number(phonenumbers.parse(value, None))
    except phonenumbers.NumberParseException:
        return False


def _like(column, pattern: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return column.ilike(pattern, escape="\\")
    return column.like(pattern, escape="\\")


def search_condition(search: SearchTerm, *, dialect: str) -> ColumnElement[bool]:
    """The lead's own column, or any contact detail ever given for it (``lead_contacts``),
    containing the term: ``LIKE '%term%'`` (ILIKE on PostgreSQL, where pg_trgm indexes serve
    both halves). A union of two indexed lookups, so neither table is scanned. A whole valid
    phone number is stored only as itself (E.164), so it is looked up by equality (B-tree
    indexes: the digits most numbers share make a poor trigram lookup)."""
    if search.kind == "phone" and _whole_number(search.value):
        return Lead.id.in_(
            union(
                select(Lead.id).where(Lead.phone == search.value),
                select(LeadContact.lead_id).where(
                    LeadContact.kind.in_(SEARCH_CONTACT_KINDS["phone"]),
                    LeadContact.value == search.value,
                ),
            )
        )
    column = {
        "name": full_name_expression(),
        "email": Lead.email,
        "phone": Lead.phone,
    }[search.kind]
    escaped = re.sub(r"([\\%_])", r"\\\1", search.value)
    pattern = f"%{escaped}%"
    value = LeadContact.value
    if search.kind == "name" and dialect != "postgresql":
        value = folded(value)  # names keep their case; the term is case-folded
    matching = union(
        select(Lead.id).where(_like(column, pattern, dialect)),
        select(LeadContact.lead_id).where(
            LeadContact.kind.in_(SEARCH_CONTACT_KINDS[search.kind]),
            _like(value, pattern, dialect),
        ),
    )
    return Lead.id.in_(matching)
