"""Consults and staff tasks: ids and times only (no notes, no health data), in keyset pages
ordered by time, filtered by lead and by a time range."""

from __future__ import annotations

from flask import g
from flask_smorest import Blueprint
from sqlalchemy import literal, select, tuple_

from intake.api.v1.auth import requires_scope
from intake.api.v1.paging import decode_cursor, encode_cursor, page_size
from intake.api.v1.schemas import ConsultPageSchema, RangeArgs, TaskPageSchema
from intake.extensions import db
from intake.models import Consult, StaffTask

blp = Blueprint("api_v1_activity", __name__, description="Consults and staff tasks.")


def _page(model, time_column, kind: str, args: dict) -> dict:
    size = page_size(args.get("limit"))
    conditions = []
    if args.get("lead_id") is not None:
        conditions.append(model.lead_id == args["lead_id"])
    if args.get("starts_from") is not None:
        conditions.append(time_column >= args["starts_from"])
    if args.get("starts_to") is not None:
        conditions.append(time_column < args["starts_to"])
    after = decode_cursor(args.get("cursor"), kind)
    if after is not None:
        value, last_id = after
        cursor = tuple_(literal(value, time_column.type), literal(last_id, model.id.type))
        conditions.append(tuple_(time_column, model.id) > cursor)
    rows = db.session.scalars(
        select(model).where(*conditions).order_by(time_column, model.id).limit(size + 1)
    ).all()
    more, rows = len(rows) > size, rows[:size]
    g.api_lead_ids = sorted({row.lead_id for row in rows})
    cursor = None
    if more:
        cursor = encode_cursor(kind, getattr(rows[-1], time_column.key), rows[-1].id)
    return {"items": rows, "next_cursor": cursor}


@blp.route("/consults", methods=["GET"])
@requires_scope("leads:read")
@blp.arguments(RangeArgs, location="query", as_kwargs=True)
@blp.response(200, ConsultPageSchema)
def list_consults(**args):
    """Consults by start time; starts_from and starts_to bound the start."""
    return _page(Consult, Consult.starts_at, "consults", args)


@blp.route("/tasks", methods=["GET"])
@requires_scope("leads:read")
@blp.arguments(RangeArgs, location="query", as_kwargs=True)
@blp.response(200, TaskPageSchema)
def list_tasks(**args):
    """Staff tasks by due time; starts_from and starts_to bound the due time."""
    return _page(StaffTask, StaffTask.due_at, "tasks", args)
