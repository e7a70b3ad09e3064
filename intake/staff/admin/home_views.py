"""Administration: the home page linking every admin page, with the mail system's health.

The pages themselves live beside this module, one per area (admin_*_views.py). Every admin
request writes exactly one audit row: pages that show no lead data as ``admin.viewed``."""

from __future__ import annotations

from flask import render_template, request, url_for
from werkzeug.routing import BuildError

from intake.extensions import db
from intake.jobs import outbox_backlog
from intake.models.types import utcnow
from intake.staff import bp
from intake.staff.access import allowed, audit, requires
from intake.staff.display import lazy_gettext as _l
from intake.staff.queries.mail import count_dead_sends

# (endpoint, permission, title, what it is for); H1's staff accounts page comes first.
# fmt: off
ADMIN_PAGES = (
    ("staff.admin_staff", "admin.staff", _l("Staff accounts"),
     _l("Invite, roles, teams, availability.")),
    ("staff.admin_teams", "admin.routing", _l("Teams"),
     _l("Who works together and how leads are shared.")),
    ("staff.admin_rules", "admin.routing", _l("Routing rules"),
     _l("Which team gets which lead.")),
    ("staff.admin_consult_types", "admin.consults", _l("Consult types"),
     _l("Phone, video and in-person consults, and who holds them.")),
    ("staff.article_links", "admin.articles", _l("Links for articles"),
     _l("The clinic's articles and campaigns: their links and embed snippets.")),
    ("staff.admin_cadences", "admin.cadences", _l("Cadences and email templates"),
     _l("Follow-ups.")),
    ("staff.admin_templates", "admin.templates", _l("Message templates"),
     _l("What staff send patients by email and text, with versions.")),
    ("staff.admin_questionnaire", "admin.questionnaire", _l("Questionnaire and rules"),
     _l("Versions.")),
    ("staff.admin_dead_letters", "admin.mail", _l("Dead letters"),
     _l("Emails that gave up.")),
    ("staff.admin_webhooks", "admin.webhooks", _l("Webhooks"),
     _l("Signed event messages sent to the clinic's other systems.")),
    ("staff.admin_outbox", "admin.mail", _l("Captured mail"),
     _l("Mail kept locally instead of sent.")),
    ("staff.admin_texts", "admin.mail", _l("Captured texts"),
     _l("Text messages kept locally instead of sent.")),
    ("staff.admin_audit", "admin.audit", _l("Audit log"),
     _l("Who did what, and the chain check.")),
    ("staff.admin_retention", "admin.retention", _l("Retention and erasure"),
     _l("Erasure requests.")),
    ("staff.admin_api_keys", "admin.api_keys", _l("API keys"),
     _l("Keys for the clinic's other systems, with what each may do.")),
    ("staff.admin_imports", "admin.import", _l("Import leads"),
     _l("Leads from a spreadsheet or another system's CSV export.")),
)
# fmt: on


def optional_url(endpoint: str, **values) -> str | None:
    """The page's address, or None while that page is not built."""
    try:
        return url_for(endpoint, **values)
    except BuildError:
        return None


def lead_url(lead_id: int | None) -> str | None:
    """The lead page, for linking a lead id shown on an admin page."""
    if lead_id is None:
        return None
    return optional_url("staff.lead", lead_id=lead_id) or f"/staff/leads/{lead_id}"


@bp.context_processor
def _admin_helpers() -> dict:
    return {"admin_lead_url": lead_url, "admin_optional_url": optional_url}


def audit_page_view(**detail) -> None:
    """Record a view of an admin page that shows no lead data, and commit."""
    audit("admin.viewed", target=request.endpoint, detail=detail or None)
    db.session.commit()


@bp.get("/admin/")
@requires("admin.staff")
def admin_home():
    """Links to every admin page the user may open, the outbox backlog and dead letters."""
    pages = [
        (optional_url(endpoint), title, purpose)
        for endpoint, permission, title, purpose in ADMIN_PAGES
        if allowed(permission)
    ]
    backlog = outbox_backlog(now=utcnow())
    dead = count_dead_sends()
    audit_page_view()
    return render_template("staff/admin/home.html", pages=pages, backlog=backlog, dead=dead)
