"""The staff workspace under ``/staff/``: every route needs a signed-in member of staff with a
second factor and the route's declared permission; a route that declares none is refused.

Each area (``leads/``, ``admin/``, ``auth/``) holds its views and forms; ``queries/`` holds the
read models the screens draw from."""

from flask import Blueprint, Flask

bp = Blueprint("staff", __name__, url_prefix="/staff")


def register(app: Flask) -> None:
    """Attach every staff view to the blueprint (once per process) and add it to ``app``."""
    from intake.staff import access, display  # noqa: F401  (the guard, loader, error pages, filters)
    from intake.staff.admin import (  # noqa: F401
        api_key_views,
        article_views,
        audit_views,
        config_views,
        consult_type_views,
        home_views,
        hours_views,
        import_views,
        mail_views,
        retention_views,
        routing_views,
        staff_views,
        template_views,
        text_views,
        webhook_views,
    )
    from intake.staff.auth import account_views, views  # noqa: F401
    from intake.staff.calendar import calendar_views, feed_views  # noqa: F401
    from intake.staff.leads import (  # noqa: F401
        consult_views,
        dashboard_views,
        duplicate_views,
        lead_views,
        message_views,
        queue_views,
        task_views,
    )

    app.register_blueprint(bp)
