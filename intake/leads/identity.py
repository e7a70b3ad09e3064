"""Which lead an inquiry belongs to, and every contact detail ever given for a lead.

A new inquiry joins a recent lead only on a defensible match: the same person's name
(compared without case, accents or extra spaces) and the same email or phone. Any other overlap
(the same email or phone with another name, or a match older than the dedupe window) makes a
lead of its own and a possible-duplicate pair with its reason, for staff to merge or dismiss.
No inquiry but a lead's first (while it is the only one) changes the lead's name, email or
phone; every detail given is kept in ``lead_contacts`` with the inquiry it came from."""

from __future__ import annotations

import functools
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import and_, bindparam, insert, literal_column, or_, select, tuple_, union

from intake.display import LazyText
from intake.display import lazy_gettext as _l
from intake.extensions import db
from intake.i18n import N_
from intake.models import DuplicatePair, Inquiry, Lead, LeadContact

# kind → the answers that make it up (a name is its two parts joined by a space).
CONTACT_ANSWERS: dict[str, tuple[str, ...]] = {
    "name": ("first_name", "last_name"),
    "email": ("email",),
    "phone": ("phone",),
    "caregiver_name": ("caregiver_first_name", "caregiver_last_name"),
    "caregiver_email": ("caregiver_email",),
    "caregiver_phone": ("caregiver_phone",),
}
KIND_LABELS = {  # staff text, translated where shown (``kind_label``)
    "name": N_("Name"),
    "email": N_("Email"),
    "phone": N_("Phone"),
    "caregiver_name": N_("Caregiver's name"),
    "caregiver_email": N_("Caregiver's email"),
    "caregiver_phone": N_("Caregiver's phone"),
}
CANDIDATE_LIMIT = 20
LEADS, CONTACTS = Lead.__table__.c, LeadContact.__table__.c  # for Core statements
IDENTIFYING = ("name", "email", "phone")  # the kinds a match is judged on


def kind_label(kind: str) -> str | LazyText:
    """How staff read a kind of contact detail ("Caregiver's email"), translated when shown."""
    return _l(KIND_LABELS[kind]) if kind in KIND_LABELS else kind


def name_key(value: str | None) -> str:
    """A name as compared: case-folded, accents dropped, spaces collapsed."""
    decomposed = unicodedata.normalize("NFKD", value or "")
    plain = "".join(ch for ch in decomposed if not unicodedata.combining(ch))
    return " ".join(plain.casefold().split())


def _key(kind: str, value: str) -> str:
    return name_key(value) if kind.endswith("name") else value


def _spelling(kind: str, value: str) -> str:
    """A detail as kept: another spelling of a name (an accent) is kept, another case is not."""
    return " ".join(value.casefold().split()) if kind.endswith("name") else value


def contact_details(answers: Mapping[str, Any]) -> list[tuple[str, str]]:
    """The contact details in an inquiry's answers, as (kind, value), blanks left out."""
    details = []
    for kind, link_ids in CONTACT_ANSWERS.items():
        value = " ".join(" ".join(str(answers.get(k) or "").split()) for k in link_ids).strip()
        if value:
            details.append((kind, value[:254]))
    return details


def lead_details(lead: Lead) -> list[tuple[str, str]]:
    """The contact details held in the lead's own columns."""
    return contact_details(
        {link_id: getattr(lead, link_id) for ids in CONTACT_ANSWERS.values() for link_id in ids}
    )


@dataclass(frozen=True)
class Overlap:
    """Another lead sharing an email or phone with an inquiry, and how far they agree."""

    lead: Lead
    same_email: bool
    same_phone: bool
    same_name: bool
    recent: bool
    # Every detail the lead holds on record, as kept (kind, value): what a joining inquiry
    # need not record again.
    on_record: frozenset[tuple[str, str]] = frozenset()

    @property
    def joins(self) -> bool:
        return self.recent and self.same_name and (self.same_email or self.same_phone)

    def reason(self, window_days: int) -> str:
        shared = " and ".join(
            what for what, same in (("email", self.same_email), ("phone", self.same_phone)) if same
        )
        if not self.same_name:
            return f"same {shared}, different name"
        return f"same name and {shared}, last inquiry more than {window_days} days earlier"


def find_overlaps(
    *, name: str, email: str | None, phone: str | None, since: datetime
) -> list[Overlap]:
    """Open leads holding this email or phone (now or ever), best join candidate first: the
    leads and every detail each has on record, in one query."""
    wanted = identifying_details(email=email, phone=phone)
    if not wanted:
        return []
    rows = db.session.execute(_with_details(tuple(wanted)), wanted)
    leads: dict[int, Lead] = {}
    on_record: dict[int, list[tuple[str, str]]] = {}
    for lead, kind, value in rows:
        leads[lead.id] = lead
        details = on_record.setdefault(lead.id, [])
        if kind is not None:
            details.append((kind, value))
    known = _known_details(list(leads.values()), on_record)
    overlaps = [
        Overlap(
            lead=lead,
            same_email=bool(email) and ("email", email) in known[lead.id],
            same_phone=bool(phone) and ("phone", phone) in known[lead.id],
            same_name=("name", name_key(name)) in known[lead.id],
            recent=lead.last_inquiry_at >= since,
            on_record=frozenset((k, _spelling(k, v)) for k, v in on_record[lead.id]),
        )
        for lead in sorted(
            leads.values(), key=lambda lead: (lead.last_inquiry_at, lead.id), reverse=True
        )  # the most recent first, among equals
    ]
    return sorted(overlaps, key=lambda o: (not o.joins, not o.same_email))


def identifying_details(*, email: str | None, phone: str | None) -> dict[str, str]:
    """The email and phone given, by kind ("email", "phone"), blanks left out: the details a
    lead is found by, and the parameters ``held_by`` is bound with."""
    return {kind: value for kind, value in (("email", email), ("phone", phone)) if value}


@functools.lru_cache(maxsize=4)
def held_by(kinds: tuple[str, ...]):
    """The ids of the open leads holding a detail of these kinds (bound by kind's name: "email",
    "phone") as a column or on record: a Core statement built once for each set of kinds, its
    constants written into it. ``starting`` writes a new lead only where it finds none."""
    given = {kind: bindparam(kind, type_=CONTACTS.value.type) for kind in kinds}
    ids = union(
        *(select(LEADS.id).where(LEADS[kind] == value) for kind, value in given.items()),
        select(CONTACTS.lead_id).where(
            or_(
                *(
                    and_(CONTACTS.kind == literal_column(f"'{kind}'"), CONTACTS.value == value)
                    for kind, value in given.items()
                )
            )  # fmt: skip
        ),
    )
    return select(LEADS.id).where(
        LEADS.id.in_(ids), LEADS.status != literal_column("'merged'"), LEADS.erased_at.is_(None)
    )


def _candidates(kinds: tuple[str, ...]):
    """``held_by``, the most recent first, at most ``CANDIDATE_LIMIT``."""
    ordered = held_by(kinds).order_by(LEADS.last_inquiry_at.desc(), LEADS.id.desc())
    return ordered.limit(CANDIDATE_LIMIT)


@functools.lru_cache(maxsize=4)
def _with_details(kinds: tuple[str, ...]):
    """The candidate leads, each with every detail on record (a row a detail, or one row with
    none): one query."""
    return (
        select(Lead, LeadContact.kind, LeadContact.value)
        .outerjoin(LeadContact, LeadContact.lead_id == Lead.id)
        .where(Lead.id.in_(_candidates(kinds)))
    )


def _on_record(lead_ids: list[int]) -> dict[int, list[tuple[str, str]]]:
    """Every detail on record for each lead, as (kind, value): one query, none for no leads."""
    found: dict[int, list[tuple[str, str]]] = {lead_id: [] for lead_id in lead_ids}
    if lead_ids:
        rows = db.session.execute(
            select(LeadContact.lead_id, LeadContact.kind, LeadContact.value).where(
                LeadContact.lead_id.in_(lead_ids)
            )
        )
        for lead_id, kind, value in rows:
            found[lead_id].append((kind, value))
    return found


def _known_details(
    leads: list[Lead], on_record: dict[int, list[tuple[str, str]]] | None = None
) -> dict[int, set[tuple[str, str]]]:
    """Each lead's name, email and phone keys: its columns and every detail on record."""
    if on_record is None:
        on_record = _on_record([lead.id for lead in leads])
    known = {lead.id: {(k, _key(k, v)) for k, v in lead_details(lead)} for lead in leads}
    for lead_id, details in on_record.items():
        known[lead_id].update((k, _key(k, v)) for k, v in details if k in IDENTIFYING)
    return known


def record_pairs(
    *, lead: Lead, overlaps: Iterable[Overlap], window_days: int, now: datetime
) -> list[DuplicatePair]:
    """Record each overlapping lead as a possible duplicate of ``lead``, once per pair ever
    (a pair dismissed as "not the same person" is never offered again)."""
    reasons = {
        tuple(sorted((lead.id, o.lead.id))): o.reason(window_days)
        for o in overlaps
        if o.lead.id != lead.id
    }
    if not reasons:
        return []
    seen = {
        tuple(row)
        for row in db.session.execute(
            select(DuplicatePair.lead_id, DuplicatePair.other_id).where(
                tuple_(DuplicatePair.lead_id, DuplicatePair.other_id).in_(list(reasons))
            )
        )
    }
    pairs = [
        DuplicatePair(lead_id=a, other_id=b, reason=reason, status="open", found_at=now)
        for (a, b), reason in reasons.items()
        if (a, b) not in seen
    ]
    db.session.add_all(pairs)
    return pairs


def _held(lead_id: int) -> set[tuple[str, str]]:
    return {
        (kind, _spelling(kind, value))
        for kind, value in db.session.execute(
            select(LeadContact.kind, LeadContact.value).where(LeadContact.lead_id == lead_id)
        )
    }


def record_contacts(
    *, lead: Lead, inquiry: Inquiry, answers: Mapping[str, Any], now: datetime
) -> int:
    """Keep each contact detail of the inquiry that the lead does not hold yet, with its origin
    (one INSERT); nothing already recorded is changed or removed. Returns how many were new."""
    new_lead = lead.id is None
    if new_lead or inquiry.id is None:
        db.session.flush()
    held = set() if new_lead else _held(lead.id)
    added = [
        {**row, "lead_id": lead.id, "inquiry_id": inquiry.id}
        for row in new_contact_rows(answers, held=held, now=now)
    ]
    if added:
        db.session.execute(insert(LeadContact), added)
    return len(added)


def new_contact_rows(
    answers: Mapping[str, Any], *, held: Iterable[tuple[str, str]], now: datetime
) -> list[dict[str, Any]]:
    """The ``lead_contacts`` rows (without lead and inquiry ids) for each contact detail of the
    answers that ``held`` (kind, value as kept) does not hold yet."""
    held = set(held)
    rows = []
    for kind, value in contact_details(answers):
        if (kind, _spelling(kind, value)) in held:
            continue
        held.add((kind, _spelling(kind, value)))
        rows.append(
            {"kind": kind, "value": value, "source": "inquiry", "merged_from_id": None,
             "recorded_at": now}
        )  # fmt: skip
    return rows


def record_lead_details(*, lead: Lead, now: datetime) -> list[LeadContact]:
    """Record the lead's own columns as details of unknown origin where no row holds them yet
    (a lead made before details were kept, or by an import)."""
    held = _held(lead.id)
    rows = [
        LeadContact(lead_id=lead.id, kind=kind, value=value, source="lead", recorded_at=now)
        for kind, value in lead_details(lead)
        if (kind, _spelling(kind, value)) not in held
    ]
    db.session.add_all(rows)
    return rows


def lead_contacts(lead_id: int) -> list[LeadContact]:
    """Every contact detail on record for the lead, oldest first."""
    return list(
        db.session.scalars(
            select(LeadContact)
            .where(LeadContact.lead_id == lead_id)
            .order_by(LeadContact.recorded_at, LeadContact.id)
        )
    )


def pair_between(first_id: int, second_id: int) -> DuplicatePair | None:
    """The pair recorded for these two leads, whatever its status."""
    low, high = sorted((first_id, second_id))
    return db.session.scalar(
        select(DuplicatePair).where(
            and_(DuplicatePair.lead_id == low, DuplicatePair.other_id == high)
        )
    )


def shares_contact(first: Lead, second: Lead) -> bool:
    """Whether two leads hold the same email or phone, in their columns or on record."""
    known = _known_details([first, second])
    mine = {d for d in known[first.id] if d[0] in ("email", "phone")}
    return bool(mine & known[second.id])


def pair_condition(lead_id: int):
    """Pairs that name the lead, on either side."""
    return or_(DuplicatePair.lead_id == lead_id, DuplicatePair.other_id == lead_id)
