"""The public inquiry, for patients and caregivers."""

from flask import Blueprint, Flask

bp = Blueprint("public", __name__)


def register(app: Flask) -> None:
    """Attach the public views to the blueprint (once per process) and add it to ``app``."""
    from intake import i18n
    from intake.public import later, notices, unsubscribe, views  # noqa: F401

    app.register_blueprint(bp)
    app.context_processor(i18n.template_values)
