"""Endpoints other services call: the text provider's inbound-message webhook.

Nothing here trusts a caller for who it says it is: every request must carry the provider's
signature over its exact URL and body, or it is refused and nothing is recorded."""

from flask import Blueprint, Flask

bp = Blueprint("hooks", __name__, url_prefix="/hooks")


def register(app: Flask) -> None:
    """Attach the webhook views to the blueprint (once per process) and add it to ``app``."""
    from intake.hooks import texts  # noqa: F401  (the inbound-text webhook)

    app.register_blueprint(bp)
