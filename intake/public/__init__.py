"""The public inquiry, for patients and caregivers."""

from flask import Blueprint

bp = Blueprint("public", __name__)

import intake.public.later  # noqa: E402,F401  (registers the shared-device route)
import intake.public.notices  # noqa: E402,F401  (registers /privacy and /terms)
import intake.public.unsubscribe  # noqa: E402,F401  (registers the unsubscribe routes)
from intake.public import views  # noqa: E402,F401  (registers the routes)
