"""The public inquiry, for patients and caregivers."""

from flask import Blueprint, Flask

bp = Blueprint("public", __name__)


def register(app: Flask) -> None:
    """Attach the public views to the blueprint (once per process) and add it to ``app``."""
    from intake.public import later, notices, unsubscribe, views  # noqa: F401

    app.register_blueprint(bp)
