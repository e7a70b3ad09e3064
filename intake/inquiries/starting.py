"""Starting an inquiry from its contact step: the dedupe lookup, then every row written at once.

The first step is the form's busiest request, so it writes once and, for a new person, reads
nothing first. On PostgreSQL one INSERT with data-modifying CTEs writes a new lead, the inquiry
with its sealed answers, its contact details, a consent given on the step and the
``inquiry.started`` outbox event, if no open lead holds the email or phone (for the form, on a
pooled connection of its own, in autocommit). Where one does, it writes nothing; the lookup
(``find_overlaps``) finds those leads with every detail on record, the lead (one of the same
person's it joins, or a new one) and the possible-duplicate pairs are worked out here, and one
INSERT of the same kind writes them. Elsewhere (SQLite) the lookup comes first and the rows go
in one statement a table. Nothing written is read back.

A second submission of the same form (the same submission key) fails on the unique key and
writes nothing; the caller rolls back and reads the inquiry the first one made.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass, fields
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    ARRAY,
    Integer,
    String,
    bindparam,
    case,
    exists,
    func,
    insert,
    literal,
    literal_column,
    select,
    true,
    update,
)
from sqlalchemy.sql import ColumnElement

from intake.extensions import db, dialect_insert, encryption
from intake.inquiries.contacts import resolve_time_zone
from intake.inquiries.service import Attribution, Started, lead_columns
from intake.leads.identity import (
    Overlap,
    find_overlaps,
    held_by,
    identifying_details,
    new_contact_rows,
)
from intake.models import Consent, DuplicatePair, Inquiry, Lead, LeadContact, OutboxEvent
from intake.models.inquiry import new_public_id
from intake.questionnaire.definition import Questionnaire

STARTED_TOPIC = "inquiry.started"
# The tables themselves: Core statements on them skip the ORM's per-statement work.
LEADS, INQUIRIES, CONTACTS = Lead.__table__, Inquiry.__table__, LeadContact.__table__
CONSENTS, PAIRS, OUTBOX = Consent.__table__, DuplicatePair.__table__, OutboxEvent.__table__
_NOW = bindparam("now", type_=OUTBOX.c.created_at.type)


@dataclass
class _Rows:
    """The rows of a new inquiry, without the ids the database gives."""

    lead: dict[str, Any]  # a new lead's columns, or a joined lead's changes
    joined_id: int | None
    inquiry: dict[str, Any]
    contacts: list[dict[str, Any]]
    consents: list[dict[str, Any]]
    pairs: dict[int, str]  # other lead id → reason


def start_inquiry(
    *,
    questionnaire: Questionnaire,
    answers: dict[str, Any],
    attribution: Attribution,
    submission_key: str,
    detected_time_zone: str | None,
    clinic_time_zone: str,
    dedupe_window: timedelta,
    language: str,
    now: datetime,
    alone: bool = False,
) -> Started:
    """Create the draft inquiry from the contact step, on a recent lead of the same person
    (same name and the same email or phone) if there is one, else on a new lead, recorded as a
    possible duplicate of any other lead it overlaps. On PostgreSQL a new person (most
    inquiries) costs one statement: the INSERT of a new lead and all its rows, if no lead holds
    the email or phone; where one does, it writes nothing, and the lookup and write follow.
    ``alone``: this is the request's whole unit of work (the form's first step), so on
    PostgreSQL each statement runs in autocommit, the first outside the session; else all run
    in the session's transaction, which the caller commits (the API's whole inquiry)."""
    rows_for = functools.partial(
        _rows,
        questionnaire=questionnaire,
        answers=answers,
        attribution=attribution,
        submission_key=submission_key,
        time_zone=(detected_time_zone, clinic_time_zone),
        window_days=dedupe_window.days,
        language=language,
        now=now,
    )
    email, phone = answers.get("email"), answers.get("phone")
    one_statement = db.engine.dialect.name == "postgresql"
    if one_statement:
        rows = rows_for(joined=None, overlaps=[])
        held = identifying_details(email=email, phone=phone)
        written = _write_one_statement(rows, now, unless_held=held, alone=alone)
        if written is not None:
            return Started(written[0], rows.inquiry["public_id"], written[1])
        if alone and not db.session().in_transaction():  # each atomic: no BEGIN or COMMIT
            db.session.connection(execution_options={"isolation_level": "AUTOCOMMIT"})
    overlaps = find_overlaps(
        name=f"{answers.get('first_name') or ''} {answers.get('last_name') or ''}",
        email=email,
        phone=phone,
        since=now - dedupe_window,
    )
    joined = overlaps[0] if overlaps and overlaps[0].joins else None
    rows = rows_for(joined=joined, overlaps=overlaps)
    write = _write_one_statement if one_statement else _write_in_turn
    inquiry_id, lead_id = write(rows, now)
    return Started(inquiry_id, rows.inquiry["public_id"], lead_id)


def _rows(*, questionnaire, answers, attribution, submission_key, joined: Overlap | None,
          overlaps, time_zone, window_days, language, now) -> _Rows:  # fmt: skip
    visible = questionnaire.visible_answers(answers, today=now.date())
    # A joined lead keeps its own details (``contact_fixed_at`` is set from now on); only the
    # columns the questionnaire promotes follow the new inquiry, as every later step does.
    lead = lead_columns(questionnaire, visible, own=joined is None)
    lead.update(last_inquiry_at=now, updated_at=now, language=language)
    if joined is None:
        detected, fallback = time_zone
        lead["time_zone"], lead["time_zone_source"] = resolve_time_zone(
            detected=detected, phone_e164=lead.get("phone"), fallback=fallback
        )
        lead.update(created_at=now, status="new", incomplete=True,
                    utm_campaign=attribution.utm_campaign)  # fmt: skip
    elif joined.lead.contact_fixed_at is None:
        lead["contact_fixed_at"] = now  # a second inquiry: the lead's details stay as they are
    public_id = new_public_id()
    inquiry = {
        "public_id": public_id,
        "submission_key": submission_key,
        "status": "draft",
        "steps_saved": questionnaire.step_index(questionnaire.steps[0].id) + 1,
        "questionnaire_id": questionnaire.id,
        "questionnaire_version": questionnaire.version,
        "language": language,
        "started_at": now,
        "updated_at": now,
        "answers_sealed": encryption.keyring.seal_json(
            visible, context=f"inquiry-answers:{public_id}"
        ),
        **{f.name: getattr(attribution, f.name) for f in fields(attribution)},
    }
    consents = [
        {
            "purpose": item.consent,
            "granted": bool(answers.get(item.link_id)),
            "text_version": questionnaire.version,
            "text_hash": item.text_hash,
            "source": "inquiry_form",
            "recorded_at": now,
        }  # fmt: skip
        for item in questionnaire.steps[0].items
        if item.consent and (joined is not None or answers.get(item.link_id))
    ]
    pairs = {
        o.lead.id: o.reason(window_days)
        for o in overlaps
        if joined is None or o.lead.id != joined.lead.id
    }
    return _Rows(
        lead=lead,
        joined_id=joined.lead.id if joined else None,
        inquiry=inquiry,
        contacts=new_contact_rows(answers, held=joined.on_record if joined else (), now=now),
        consents=consents,
        pairs=pairs,
    )


def _changed_consent(lead_id, purpose: str, granted: bool) -> ColumnElement[bool]:
    """The consent in force for ``purpose`` (none counts as refused) is not ``granted``."""
    latest = (
        select(CONSENTS.c.granted)
        .where(CONSENTS.c.lead_id == lead_id, CONSENTS.c.purpose == purpose)
        .order_by(CONSENTS.c.recorded_at.desc(), CONSENTS.c.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    return func.coalesce(latest, False) != granted


def _consent_rows(values: dict[str, Any], *, changed: bool):
    """INSERT … SELECT of one consent whose column ``values`` are SQL expressions (only if it
    changes the one in force, when ``changed``)."""
    chosen = select(*values.values()).where(
        _changed_consent(values["lead_id"], values["purpose"], values["granted"])
        if changed
        else true()
    )
    return insert(CONSENTS).from_select(list(values), chosen)


def _literals(table, row: dict[str, Any]) -> dict[str, ColumnElement]:
    return {k: v if isinstance(v, ColumnElement) else literal(v, table.c[k].type)
            for k, v in row.items()}  # fmt: skip


def _bound(table, prefix: str, columns, at_now=()) -> dict[str, ColumnElement]:
    """A bound parameter ``<prefix><position>`` for each column, typed as the column; the
    columns in ``at_now`` take the statement's ``now``. Short names and few parameters keep
    the statement within what psycopg keeps converted (4,096 bytes, 50 parameters)."""
    return {column: _NOW if column in at_now
            else bindparam(f"{prefix}{number}", type_=table.c[column].type)
            for number, column in enumerate(columns)}  # fmt: skip


def _values(prefix: str, row: dict[str, Any], at_now) -> dict[str, Any]:
    """The parameters ``_bound`` named, for one row."""
    return {f"{prefix}{n}": v for n, (k, v) in enumerate(row.items()) if k not in at_now}


def _at_now(row: dict[str, Any], now: datetime) -> tuple[str, ...]:
    return tuple(k for k, v in row.items() if isinstance(v, datetime) and v == now)


def _unnest(**arrays: Any):
    """Rows from parallel arrays, one bound parameter each (named as the argument, its value
    given at execution), so the statement is the same whatever their length."""
    return (
        func.unnest(*(bindparam(name, type_=ARRAY(kind)) for name, kind in arrays.items()))
        .table_valued(*arrays)
        .render_derived()
    )


def _write_in_turn(rows: _Rows, now: datetime) -> tuple[int, int]:
    """One statement a table, in the caller's transaction (any database)."""
    execute = db.session.connection().execute
    if rows.joined_id is None:
        lead_id = execute(insert(LEADS).values(**rows.lead).returning(LEADS.c.id)).scalar_one()
    else:
        lead_id = rows.joined_id
        execute(update(LEADS).where(LEADS.c.id == lead_id).values(**rows.lead))
    inquiry_id = execute(
        insert(INQUIRIES).values(lead_id=lead_id, **rows.inquiry).returning(INQUIRIES.c.id)
    ).scalar_one()
    ids = {"lead_id": lead_id, "inquiry_id": inquiry_id}
    if rows.contacts:
        execute(insert(CONTACTS), [{**row, **ids} for row in rows.contacts])
    for consent in rows.consents:
        values = _literals(CONSENTS, {**consent, **ids})
        execute(_consent_rows(values, changed=rows.joined_id is not None))
    if rows.pairs:
        pairs = [
            {
                "lead_id": min(lead_id, other),
                "other_id": max(lead_id, other),
                "reason": reason,
                "status": "open",
                "found_at": now,
            }  # fmt: skip
            for other, reason in rows.pairs.items()
        ]
        execute(dialect_insert()(PAIRS).on_conflict_do_nothing(), pairs)
    payload = {**ids, "new_lead": int(rows.joined_id is None)}
    execute(insert(OUTBOX).values(topic=STARTED_TOPIC, payload=payload, created_at=now))
    return inquiry_id, lead_id


def _write_one_statement(
    rows: _Rows, now: datetime, unless_held: dict[str, str] | None = None, alone: bool = False
) -> tuple[int, int] | None:
    """Every row in one INSERT with data-modifying CTEs (PostgreSQL): one round trip. The
    statement is built once per shape of the rows and reused with new parameters. With
    ``unless_held`` (kind → email or phone), a new lead's rows are written only if no open
    lead holds any of those details; None when one does (nothing written). ``alone``: on a
    pooled connection of its own, in autocommit (else on the session's)."""
    shape = _Shape(
        joined=rows.joined_id is not None,
        lead=tuple(rows.lead),
        inquiry=tuple(rows.inquiry),
        consents=tuple(tuple(consent) for consent in rows.consents),
        contacts=bool(rows.contacts),
        pairs=bool(rows.pairs),
        unless_held=tuple(unless_held or ()),
        at_now=tuple(_at_now(row, now) for row in (rows.lead, rows.inquiry, *rows.consents)),
    )
    lead_at_now, inquiry_at_now, *consents_at_now = shape.at_now
    params: dict[str, Any] = {
        **(unless_held or {}),
        "now": now,
        "joined_id": rows.joined_id,
        **_values("l", rows.lead, lead_at_now),
        **_values("i", rows.inquiry, inquiry_at_now),
        "kinds": [r["kind"] for r in rows.contacts],
        "contact_values": [r["value"] for r in rows.contacts],
        "others": list(rows.pairs),
        "reasons": list(rows.pairs.values()),
    }
    for number, (consent, at_now) in enumerate(zip(rows.consents, consents_at_now, strict=True)):
        params.update(_values(f"c{number}_", consent, at_now))
    statement = _one_statement(shape)
    if alone:
        with db.engine.connect() as connection:
            connection.execution_options(isolation_level="AUTOCOMMIT")
            written = connection.execute(statement, params).one_or_none()
    else:
        written = db.session.connection().execute(statement, params).one_or_none()
    return None if written is None else (written[0], written[1])


@dataclass(frozen=True)
class _Shape:
    """What decides the first step's statement: which columns and rows it writes."""

    joined: bool
    lead: tuple[str, ...]
    inquiry: tuple[str, ...]
    consents: tuple[tuple[str, ...], ...]
    contacts: bool
    pairs: bool
    unless_held: tuple[str, ...] = ()  # a new lead only if no lead holds these details
    at_now: tuple[tuple[str, ...], ...] = ()  # the lead's, inquiry's, consents' columns at now


@functools.lru_cache(maxsize=32)
def _one_statement(shape: _Shape):
    """The INSERT with data-modifying CTEs for rows of this shape, every value a parameter.
    Every row after the inquiry's is selected from the inquiry the statement wrote, so where a
    new lead is not written (``unless_held``), nothing is."""
    now = _NOW
    ctes = []
    lead_at_now, inquiry_at_now, *consents_at_now = shape.at_now
    lead_values = _bound(LEADS, "l", shape.lead, lead_at_now)
    inquiry_values = _bound(INQUIRIES, "i", shape.inquiry, inquiry_at_now).values()
    if not shape.joined:
        chosen = select(*lead_values.values())
        if shape.unless_held:
            chosen = chosen.where(~exists(held_by(shape.unless_held)))
        new_lead = insert(LEADS).from_select(list(lead_values), chosen)
        new_lead = new_lead.returning(LEADS.c.id).cte("new_lead")
        lead_row = select(new_lead.c.id, *inquiry_values)
    else:
        joined_id = bindparam("joined_id", type_=Integer)
        joined = update(LEADS).where(LEADS.c.id == joined_id)
        ctes.append(joined.values(lead_values).cte("joined_lead"))
        lead_row = select(joined_id, *inquiry_values)
    new_inquiry = (
        insert(INQUIRIES)
        .from_select(["lead_id", *shape.inquiry], lead_row)
        .returning(INQUIRIES.c.id, INQUIRIES.c.lead_id)
        .cte("new_inquiry")
    )
    lead_id, inquiry_id = new_inquiry.c.lead_id, new_inquiry.c.id
    ids = {"lead_id": lead_id, "inquiry_id": inquiry_id}
    if shape.contacts:
        given = _unnest(kinds=String, contact_values=String)
        chosen = select(lead_id, inquiry_id, given.c.kinds, given.c.contact_values,
                        literal_column("'inquiry'"), now).select_from(
            new_inquiry.join(given, true()))  # fmt: skip
        columns = ["lead_id", "inquiry_id", "kind", "value", "source", "recorded_at"]
        ctes.append(insert(CONTACTS).from_select(columns, chosen).cte("contacts"))
    for number, (columns, at_now) in enumerate(zip(shape.consents, consents_at_now, strict=True)):
        values = {**_bound(CONSENTS, f"c{number}_", columns, at_now), **ids}
        ctes.append(_consent_rows(values, changed=shape.joined).cte(f"consent_{number}"))
    if shape.pairs:
        others = _unnest(others=Integer, reasons=String)
        low = case((lead_id < others.c.others, lead_id), else_=others.c.others)
        high = case((lead_id < others.c.others, others.c.others), else_=lead_id)
        chosen = select(low, high, others.c.reasons, literal_column("'open'"), now).select_from(
            new_inquiry.join(others, true())
        )
        columns = ["lead_id", "other_id", "reason", "status", "found_at"]
        statement = dialect_insert()(PAIRS).from_select(columns, chosen)
        ctes.append(statement.on_conflict_do_nothing().cte("pairs"))
    payload = func.json_build_object(
        literal_column("'lead_id'"), lead_id, literal_column("'inquiry_id'"), inquiry_id,
        literal_column("'new_lead'"), literal_column("0" if shape.joined else "1"),
    )  # fmt: skip
    event = select(literal_column(f"'{STARTED_TOPIC}'"), payload, now, literal_column("0"))
    columns = ["topic", "payload", "created_at", "attempts"]
    ctes.append(insert(OUTBOX).from_select(columns, event).cte("started_event"))
    return select(new_inquiry.c.id, new_inquiry.c.lead_id).add_cte(*ctes)
