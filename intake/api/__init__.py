"""Machine-facing endpoints: health and readiness, and the REST API (``intake.api.v1``)."""

from flask import Blueprint, Flask

bp = Blueprint("api", __name__)


def register(app: Flask) -> None:
    """Attach the API views to the blueprint (once per process) and add it to ``app``."""
    from intake.api import metrics, v1, views  # noqa: F401

    app.register_blueprint(bp)
    v1.register(app)
