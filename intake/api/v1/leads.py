"""Leads: list and search (the staff queue's filters and keyset order), read one (answers only
with ``leads:read_answers``), change status or owner, add a note."""

from __future__ import annotations

from flask import current_app, g
from flask.views import MethodView
from flask_smorest import Blueprint, abort
from sqlalchemy import select, true
from sqlalchemy.orm import selectinload

from intake.api.v1.auth import requires_scope
from intake.api.v1.idempotency import idempotent
from intake.api.v1.paging import decode_cursor, encode_cursor, page_size
from intake.api.v1.schemas import (
    LeadDetailSchema,
    LeadListArgs,
    LeadPageSchema,
    LeadPatchSchema,
    LeadSchema,
    NoteInSchema,
    NoteOutSchema,
)
from intake.extensions import db
from intake.inquiries.answers import read_answers
from intake.leads import work
from intake.leads.filters import (
    LeadQuery,
    after_condition,
    lead_conditions,
    order_by,
    sort_column,
)
from intake.leads.pipeline import TransitionError, assign_lead, change_status
from intake.leads.search import InvalidSearch, normalise_search
from intake.models import Inquiry, Lead, StaffUser
from intake.models.types import utcnow

blp = Blueprint("api_v1_leads", __name__, description="Leads: list, search, read, work on.")


def _query(args: dict) -> LeadQuery:
    return LeadQuery(
        view="all",
        sort=args["sort"],
        statuses=tuple(args.get("status") or ()),
        owner=_id_or_none(args.get("owner")),
        team=_id_or_none(args.get("team")),
        outcome=args.get("outcome"),
        ms_type=args.get("ms_type"),
        source=args.get("source"),
        created_from=args.get("created_from"),
        created_to=args.get("created_to"),
        sla=args.get("sla"),
        incomplete=args.get("incomplete"),
        language=args.get("language"),
        replied=args.get("replied"),
    )


def _id_or_none(value: str | None) -> int | str | None:
    return value if value in (None, "none") else int(value)


@blp.route("/leads", methods=["GET"])
@requires_scope("leads:read")
@blp.arguments(LeadListArgs, location="query", as_kwargs=True)
@blp.response(200, LeadPageSchema)
def list_leads(**args):
    """Leads, filtered as the staff queue filters them, in keyset pages.

    Pass the answer's next_cursor as cursor for the next page; a page never repeats or skips a
    lead when others arrive meanwhile. A key sees every lead (it is not a member of a team).
    Filtering by ms_type (a health answer) needs leads:read_answers as well."""
    if args.get("ms_type") and not g.api_key.allows("leads:read_answers"):
        # The MS type is a health answer: picking leads by it needs the answers scope.
        abort(403, message="Filtering by ms_type needs the scope leads:read_answers.")
    query = _query(args)
    search = None
    if args.get("q"):
        region = current_app.config.get("INTAKE_DEFAULT_PHONE_REGION", "US")
        try:
            search = normalise_search(args["q"], region=region)
        except InvalidSearch as exc:
            abort(422, errors={"q": [str(exc)]})
    size = page_size(args.get("limit"))
    after = decode_cursor(args.get("cursor"), f"leads:{query.sort}")
    conditions = lead_conditions(scope=true(), user=None, query=query, search=search, now=utcnow())
    later = after_condition(query.sort, after, conditions, size=size + 1) if after else true()
    rows = db.session.scalars(
        select(Lead).where(*conditions, later).order_by(*order_by(query.sort)).limit(size + 1)
    ).all()
    more, rows = len(rows) > size, rows[:size]
    g.api_lead_ids = [lead.id for lead in rows]
    cursor = None
    if more:
        last = rows[-1]
        value = getattr(last, sort_column(query.sort).key)
        cursor = encode_cursor(f"leads:{query.sort}", value, last.id)
    return {"items": rows, "next_cursor": cursor}


def _load(lead_id: int, *, lock: bool = False) -> Lead:
    statement = select(Lead).where(Lead.id == lead_id)
    lead = db.session.scalar(statement.with_for_update() if lock else statement)
    if lead is None:
        abort(404)
    g.api_lead_ids = [lead.id]
    return lead


@blp.route("/leads/<int:lead_id>", endpoint="lead")
class LeadResource(MethodView):
    """One lead (one rule for both methods, so a path no lead can have is a plain 404)."""

    @requires_scope("leads:read")
    @blp.response(200, LeadDetailSchema)
    def get(self, lead_id: int):
        """One lead with its inquiries; each inquiry's answers only when the key also has
        leads:read_answers (they are health data, opened from their seal)."""
        lead = db.session.scalar(
            select(Lead).options(selectinload(Lead.inquiries)).where(Lead.id == lead_id)
        )
        if lead is None:
            abort(404)
        g.api_lead_ids = [lead.id]
        with_answers = g.api_key.allows("leads:read_answers")
        inquiries = [_inquiry(inquiry, with_answers) for inquiry in lead.inquiries]
        fields = {name: getattr(lead, name) for name in LeadSchema._declared_fields}
        return {**fields, "inquiries": inquiries}

    @requires_scope("leads:write")
    @blp.arguments(LeadPatchSchema)
    @blp.response(200, LeadSchema)
    def patch(self, changes: dict, lead_id: int):
        """Change the lead's status (the pipeline's allowed moves; closing needs a reason) and/or
        its owner (an active member of staff), as staff do on the lead page."""
        lead = _load(lead_id, lock=True)
        now = utcnow()
        if "status" in changes:
            try:
                change_status(
                    lead=lead,
                    to=changes["status"],
                    reason=changes.get("reason"),
                    actor=None,
                    now=now,
                )
            except TransitionError as exc:
                _refused(exc, "status")
        if "owner_id" in changes:
            owner = db.session.get(StaffUser, changes["owner_id"])
            if owner is None:
                abort(422, errors={"owner_id": ["No member of staff has this id."]})
            try:
                assign_lead(lead=lead, owner=owner, actor=None, now=now)
            except TransitionError as exc:
                _refused(exc, "owner_id")
        db.session.commit()
        return lead


def _inquiry(inquiry: Inquiry, with_answers: bool) -> dict:
    shown = {
        "id": inquiry.public_id,
        "status": inquiry.status,
        "started_at": inquiry.started_at,
        "completed_at": inquiry.completed_at,
        "utm_source": inquiry.utm_source,
        "utm_medium": inquiry.utm_medium,
        "utm_campaign": inquiry.utm_campaign,
    }
    if with_answers:
        shown["answers"] = read_answers(inquiry)
    return shown


def _refused(exc: TransitionError, field: str):
    abort(422, errors={exc.field or field: [str(exc)]})


@blp.route("/leads/<int:lead_id>/notes", methods=["POST"])
@requires_scope("leads:write")
@idempotent
@blp.arguments(NoteInSchema)
@blp.response(201, NoteOutSchema)
def add_note(note: dict, lead_id: int):
    """Add a note to the lead's timeline (sealed at rest, like staff notes)."""
    lead = _load(lead_id, lock=True)
    try:
        event = work.add_note(lead=lead, text=note["text"], actor=None, now=utcnow())
    except TransitionError as exc:
        _refused(exc, "text")
    db.session.flush()
    return {"id": event.id, "lead_id": lead.id, "created_at": event.at}
