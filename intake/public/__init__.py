"""The public inquiry, for patients and caregivers."""

from flask import Blueprint

bp = Blueprint("public", __name__)

import intake.public.unsubscribe  # noqa: E402,F401  (registers the unsubscribe routes)
from intake.public import views  # noqa: E402,F401  (registers the routes)
