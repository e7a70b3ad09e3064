"""The lead queue at /staff/: views, filters, search, keyset pages, bulk actions, CSV export.

A search term never travels in a URL (query strings reach access logs): it is posted, kept
sealed in the session under a random id, and the queue's URL carries only that id."""

from __future__ import annotations

import secrets
from urllib.parse import parse_qsl, urlsplit

from flask import (
    Response,
    current_app,
    flash,
    redirect,
    render_template,
    request,
    session,
    stream_with_context,
    url_for,
)
from flask_babel import gettext as _
from flask_babel import ngettext
from flask_login import current_user
from werkzeug.datastructures import MultiDict

from intake.accounts.permissions import lead_scope
from intake.crypto import DecryptionError
from intake.extensions import db, encryption
from intake.ids import parse_id
from intake.leads.bulk import BULK_MAX, bulk_assign, bulk_change_status
from intake.leads.export import csv_chunks, export_statement
from intake.leads.filters import LeadQuery, lead_conditions
from intake.leads.search import InvalidSearch, SearchTerm, normalise_search
from intake.models import StaffUser
from intake.models.types import utcnow
from intake.routing.sla import sla_state
from intake.staff import bp
from intake.staff.access import allowed, audit, deny, requires
from intake.staff.display import viewer_zone
from intake.staff.leads.queue_forms import (
    SLA_LABELS,
    SORT_LABELS,
    VIEW_LABELS,
    BulkForm,
    QueueFilterForm,
    SearchForm,
    decode_cursor,
    encode_cursor,
)
from intake.staff.queries.queue import (
    PAGE_SIZE,
    default_view,
    load_filter_options,
    queue_page,
)

FILTER_KEYS = (
    "view", "sort", "status", "owner", "team", "outcome", "ms_type", "source",
    "created_from", "created_to", "sla", "incomplete", "language", "replied",
)  # fmt: skip
BULK_ACTIONS = {"assign": "leads.bulk_assigned", "status": "leads.bulk_status_changed"}
SEARCHES = "staff_searches"
SEARCHES_KEPT = 5


def _questionnaire():
    return current_app.extensions["intake.definition"].questionnaire


def _phone_region() -> str:
    return current_app.config.get("INTAKE_DEFAULT_PHONE_REGION", "US")


def _search_context(search_id: str) -> str:
    return f"staff-search:{current_user.id}:{search_id}"


def remember_search(term: SearchTerm) -> str:
    """Keep the term, sealed, in the session under a new random id (the last few are kept)."""
    search_id = secrets.token_urlsafe(9)
    sealed = encryption.keyring.seal_json(
        [term.kind, term.value], context=_search_context(search_id)
    )
    kept = list(session.get(SEARCHES, []))[-(SEARCHES_KEPT - 1) :]
    session[SEARCHES] = [*kept, [search_id, sealed]]
    return search_id


def recall_search(search_id: str | None) -> SearchTerm | None:
    """The term kept under ``search_id``; None (and a message) when it is gone."""
    if not search_id:
        return None
    for kept_id, sealed in session.get(SEARCHES, []):
        if kept_id == search_id:
            try:
                kind, value = encryption.keyring.open_json(
                    sealed, context=_search_context(search_id)
                )
            except (DecryptionError, ValueError):
                break
            return SearchTerm(kind, value)
    flash(_("That search is no longer available. Please search again."), "info")
    return None


def _carried(args: MultiDict, **changes) -> dict:
    """The queue's query arguments (filters, view, search id) with ``changes`` applied."""
    kept = {key: args.getlist(key) for key in (*FILTER_KEYS, "search") if args.getlist(key)}
    kept.update({key: value for key, value in changes.items()})
    return {key: value for key, value in kept.items() if value not in (None, "", [])}


def _read_cursor(token: str | None, sort: str) -> tuple | None:
    if not token:
        return None
    try:
        return decode_cursor(current_app.secret_key, token, sort)
    except ValueError:
        flash(_("That page link was not valid, so this is the first page."), "info")
        return None


def _read_query(args: MultiDict, options) -> tuple[QueueFilterForm, LeadQuery]:
    form = QueueFilterForm(args, choices=options, questionnaire=_questionnaire())
    return form, form.to_query(default_view(current_user.role), viewer_zone().key)


def _labels() -> dict:
    return {
        "view": VIEW_LABELS,
        "sort": SORT_LABELS,
        "sla": SLA_LABELS,
    }


def _audit_detail(query: LeadQuery, search_id: str | None, search: SearchTerm | None) -> dict:
    detail = {"view": query.view, "sort": query.sort, "filters": query.filters()}
    if search is not None:
        detail.update(search=search_id, search_kind=search.kind)
    return detail


def _page_links(carried: dict, sort: str, next_after, after) -> dict:
    """ "Next page" (with the last row's signed position) and "First page" addresses."""
    next_url = first_url = None
    if next_after is not None:
        cursor = encode_cursor(current_app.secret_key, sort, next_after)
        next_url = url_for("staff.queue", **carried, after=cursor)
    if after is not None:
        first_url = url_for("staff.queue", **carried)
    return {"next_url": next_url, "first_url": first_url}


def _queue_page(
    args: MultiDict, *, search_form: SearchForm | None = None, bulk_form: BulkForm | None = None
):
    """Render one page of the queue and audit it: 5 SQL statements in all, with the guard's."""
    now = utcnow()
    options = load_filter_options(current_user.id)
    filters, query = _read_query(args, options)
    search_id = args.get("search") or None
    search = recall_search(search_id)
    after = _read_cursor(args.get("after"), query.sort)
    size = current_app.config.get("INTAKE_QUEUE_PAGE_SIZE", PAGE_SIZE)
    page = queue_page(
        scope=lead_scope(current_user), user=current_user, query=query, search=search,
        after=after, now=now, size=size,
    )  # fmt: skip
    carried = _carried(args, search=search_id if search else None, after=None)
    html = render_template(
        "staff/queue.html",
        filters=filters,
        query=query,
        page=page,
        search=search,
        search_form=search_form or SearchForm(formdata=None),
        bulk_form=bulk_form or BulkForm(formdata=None, staff=options.staff),
        selected=set(_posted_ids()),
        carried=carried,
        sla_state=lambda row: sla_state(row, now),
        labels=_labels(),
        my_replies=options.my_replies,
        **_page_links(carried, query.sort, page.next_after, after),
    )
    audit(
        "leads.searched" if search else "leads.listed",
        lead_ids=[row.id for row in page.rows],
        detail=_audit_detail(query, search_id, search),
    )
    db.session.commit()
    return html


@bp.get("/")
@requires("leads.view")
def queue():
    """The lead queue: one view of the leads the user may see, filtered, sorted and paged."""
    return _queue_page(request.args)


@bp.post("/search")
@requires("leads.view")
def search():
    """Take a search term by POST and send the browser to the queue with only its id."""
    form = SearchForm()
    if form.validate_on_submit():
        try:
            term = normalise_search(form.term.data, region=_phone_region())
        except InvalidSearch as exc:
            form.term.errors = [*form.term.errors, str(exc)]
        else:
            search_id = remember_search(term)
            return redirect(
                url_for("staff.queue", **_carried(request.form, view="all", search=search_id))
            )
    return _queue_page(_filter_args(request.form), search_form=form)


def _filter_args(form: MultiDict) -> MultiDict:
    return MultiDict([(key, value) for key, value in form.items(multi=True) if key in FILTER_KEYS])


def _return_args(return_to: str | None) -> MultiDict:
    """The queue's arguments from a posted return address, if it is the queue's own."""
    parts = urlsplit(return_to or "")
    if parts.scheme or parts.netloc or parts.path != url_for("staff.queue"):
        return MultiDict()
    return MultiDict(parse_qsl(parts.query))


@bp.post("/leads/bulk")
@requires("leads.work")
def bulk():
    """Assign several leads, or change their status, at once; refusals are reported by id."""
    options = load_filter_options()
    form = BulkForm(staff=options.staff)
    back = _return_args(form.return_to.data)
    lead_ids = _posted_ids()
    if form.action.data == "assign" and not allowed("leads.assign"):
        deny(target="staff.bulk", lead_ids=lead_ids)
    if not _bulk_valid(form, lead_ids):
        return _queue_page(back, bulk_form=form)
    now, scope = utcnow(), lead_scope(current_user)
    if form.action.data == "assign":
        owner = db.session.get(StaffUser, int(form.owner.data))
        result = bulk_assign(
            lead_ids=lead_ids, owner=owner, actor=current_user, scope=scope, now=now
        )
        detail = {"action": "assign", "owner_id": owner.id}
    else:
        result = bulk_change_status(
            lead_ids=lead_ids, to=form.status.data, reason=form.reason.data,
            actor=current_user, scope=scope, now=now,
        )  # fmt: skip
        detail = {"action": "status", "to": form.status.data}
    detail.update(changed=result.changed, refused=sorted(result.refused))
    audit(BULK_ACTIONS[form.action.data], lead_ids=lead_ids, detail=detail)
    db.session.commit()
    _report(form.action.data, result)
    return redirect(url_for("staff.queue", **_carried(back)))


def _posted_ids() -> list[int]:
    """The ticked lead ids; anything that is not a plausible id is dropped."""
    values = request.form.getlist("lead_id")
    return sorted({lead_id for lead_id in map(parse_id, values) if lead_id is not None})


def _bulk_valid(form: BulkForm, lead_ids: list[int]) -> bool:
    valid = form.validate_on_submit()
    if not lead_ids:
        form.action.errors = [*form.action.errors, _("Select at least one lead.")]
    elif len(lead_ids) > BULK_MAX:
        too_many = _("Select at most %(count)s leads at once.", count=BULK_MAX)
        form.action.errors = [*form.action.errors, too_many]
    if form.action.data == "assign" and not form.owner.data:
        form.owner.errors = [*form.owner.errors, _("Choose who gets the leads.")]
    if form.action.data == "status" and not form.status.data:
        form.status.errors = [*form.status.errors, _("Choose the new status.")]
    return valid and not (form.action.errors or form.owner.errors or form.status.errors)


def _report(action: str, result) -> None:
    if result.changed:
        count = len(result.changed)
        if action == "assign":
            done = ngettext("Assigned %(num)d lead.", "Assigned %(num)d leads.", count)
        else:
            done = ngettext(
                "Changed the status of %(num)d lead.", "Changed the status of %(num)d leads.", count
            )
        flash(done, "info")
    for lead_id, reason in sorted(result.refused.items()):
        flash(_("Lead %(id)s was not changed: %(reason)s", id=lead_id, reason=reason), "error")


@bp.get("/export.csv")
@requires("leads.export")
def export():
    """The filtered list as CSV, streamed, limited to the user's leads, audited before it starts."""
    _filters, query = _read_query(request.args, load_filter_options())
    search_id = request.args.get("search") or None
    search = recall_search(search_id)
    if search_id and search is None:
        return redirect(url_for("staff.queue", **_carried(request.args, search=None)))
    conditions = lead_conditions(
        scope=lead_scope(current_user), user=current_user, query=query, search=search,
        now=utcnow(),
    )  # fmt: skip
    statement = export_statement(conditions, sort=query.sort)
    audit("leads.exported", detail=_audit_detail(query, search_id, search))
    db.session.commit()
    filename = f"leads-{utcnow():%Y%m%d-%H%M}.csv"
    return Response(
        stream_with_context(csv_chunks(statement)),
        mimetype="text/csv",
        headers={"Content-Disposition": f'attachment; filename="{filename}"'},
    )
