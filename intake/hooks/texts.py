"""The text provider's inbound webhook (Twilio): ``POST /hooks/texts/twilio``.

Configure it at the provider as ``INTAKE_BASE_URL`` + ``/hooks/texts/twilio`` (HTTP POST). The
request is checked with the provider's own validator over that public address (a proxy in front
may change the Host the app sees) and the form it sent; unsigned or wrongly signed requests get
403 and nothing is recorded. Without ``SMS_URL`` the route is 404. A form post from a server, not
a browser: CSRF tokens do not apply, the signature takes their place.
"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from flask import Response, abort, current_app, request
from twilio.request_validator import RequestValidator
from twilio.twiml.messaging_response import MessagingResponse

from intake.conversations.texts import help_reply, receive_text
from intake.extensions import csrf, db
from intake.hooks import bp
from intake.log import add_ids
from intake.messaging.texts import text_provider
from intake.models.types import utcnow

logger = logging.getLogger(__name__)
csrf.exempt(bp)


def public_url() -> str:
    """The address the provider requested, as it was configured there: INTAKE_BASE_URL with
    this request's path and query."""
    base = urlsplit(current_app.config["INTAKE_BASE_URL"])
    query = request.query_string.decode("latin-1")
    address = f"{base.scheme}://{base.netloc}{base.path.rstrip('/')}{request.path}"
    return f"{address}?{query}" if query else address


def _signed(auth_token: str) -> bool:
    signature = request.headers.get("X-Twilio-Signature", "")
    return bool(signature) and RequestValidator(auth_token).validate(
        public_url(), request.form, signature
    )


@bp.post("/texts/twilio")
def inbound_text():
    """A patient's text: verified, recorded once on its lead, answered in TwiML."""
    provider = text_provider()
    if provider is None:
        abort(404)
    if not _signed(provider.auth_token):
        logger.warning("inbound text refused", extra={"reason": "signature"})
        abort(403)
    message_sid, sender = request.form.get("MessageSid", ""), request.form.get("From", "")
    if not message_sid or not sender:
        abort(400)
    outcome = receive_text(
        sender=sender, body=request.form.get("Body", ""), external_id=message_sid, now=utcnow()
    )
    db.session.commit()
    answer = MessagingResponse()
    if outcome is not None and outcome.kind == "help":
        answer.message(help_reply(outcome.language))
    if outcome is not None:
        add_ids(lead_id=outcome.lead_id)
    logger.info(
        "inbound text",
        extra={
            "kind": outcome.kind if outcome else None,
            "lead_id": outcome.lead_id if outcome else None,
            "recorded": bool(outcome and outcome.recorded),
        },
    )
    return Response(str(answer), mimetype="text/xml")
