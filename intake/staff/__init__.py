"""The staff workspace under ``/staff/``: every route needs a signed-in member of staff with a
second factor and the route's declared permission; a route that declares none is refused."""

from flask import Blueprint

bp = Blueprint("staff", __name__, url_prefix="/staff")

from intake.staff import (  # noqa: E402,F401  (each module registers its routes on bp)
    access,  # noqa: E402,F401  (the guard, loader and error pages)
    account_admin_views,
    account_views,
    admin_audit_views,
    admin_config_views,
    admin_mail_views,
    admin_retention_views,
    admin_routing_views,
    admin_views,
    auth_views,
    dashboard_views,
    display,
    duplicate_views,
    lead_views,
    queue_views,
)
