"""Machine-facing endpoints: health and readiness."""

from flask import Blueprint

bp = Blueprint("api", __name__)

from intake.api import views  # noqa: E402,F401  (registers the routes)
