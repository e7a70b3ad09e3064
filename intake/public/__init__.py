"""The public inquiry, for patients and caregivers."""

from flask import Blueprint, Flask, current_app

from intake.config import for_language
from intake.i18n import current_language

bp = Blueprint("public", __name__)


def register(app: Flask) -> None:
    """Attach the public views to the blueprint (once per process) and add it to ``app``."""
    from intake import i18n
    from intake.public import consult_views, embed, later, notices, unsubscribe, views  # noqa: F401

    app.register_blueprint(bp)
    app.context_processor(i18n.template_values)
    app.context_processor(_clinic_name)


def _clinic_name() -> dict:
    """The clinic's name in the page's language (``INTAKE_CLINIC_NAME_ES`` on Spanish pages)."""
    config = current_app.config
    return {"clinic_name": for_language(config, "INTAKE_CLINIC_NAME", current_language())}
