"""Text messages: count their parts as the provider does, and deliver them by the provider or keep
them locally.

``SMS_URL`` names the provider, e.g. ``twilio://ACCOUNT_SID:AUTH_TOKEN@api.twilio.com?from=%2B1555
0100`` (or ``messaging_service_sid=MG...``); unset, a text is kept in ``captured_texts`` for staff
to read, as mail is without ``SMTP_URL``. A host other than api.twilio.com sends the official
library's requests there instead (a loopback test server: ``twilio://AC1:t@127.0.0.1:8080?from=
%2B15550100&scheme=http``; plain http only to loopback). Nothing of a text's body or number is
logged or put in an error: errors name their class and code only. Callers check consent, STOP,
quiet hours and do-not-contact before delivering.
"""

from __future__ import annotations

import hashlib
import logging
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from urllib.parse import parse_qs, unquote, urlsplit

from flask import current_app

from intake.extensions import db, dialect_insert
from intake.models import CapturedText, Lead

logger = logging.getLogger(__name__)

# GSM 03.38: the basic character set (one septet each; 0x1B, the escape to the extension table,
# left out) and the extension table (escape + one septet: two each).
GSM_BASIC = frozenset(
    "@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./0123456789:;<=>?"
    "¡ABCDEFGHIJKLMNOPQRSTUVWXYZÄÖÑÜ§¿abcdefghijklmnopqrstuvwxyzäöñüà"
)
GSM_EXTENSION = frozenset("\f^{}\\[~]|€")
# (one part, each part of a split message): a split message gives 7 septets (GSM) or 3 UTF-16
# code units (UCS-2) of every part to the header that joins them again.
GSM_LIMITS = (160, 153)
UCS2_LIMITS = (70, 67)
E164 = re.compile(r"\+[1-9][0-9]{6,14}")
TWILIO_API = "https://api.twilio.com"
TWILIO_HOST = "api.twilio.com"
LOOPBACK_HOSTS = frozenset({"127.0.0.1", "::1", "localhost"})
TIMEOUT_SECONDS = 10.0
# Twilio error codes: the recipient texted STOP; the number is not one that can take texts.
OPTED_OUT_CODES = frozenset({21610})
INVALID_NUMBER_CODES = frozenset({21211, 21614})


@dataclass(frozen=True)
class TextMessage:
    recipient: str  # E.164
    body: str
    message_id: str


class TextError(Exception):
    """A delivery failed; the message holds the error class and code, never a number or words."""

    def __init__(self, error: str, code: int | None = None, *, status: int | None = None) -> None:
        super().__init__(f"{error} {code}" if code else error)
        self.code = code  # the provider's error code (Twilio's 21610), else the HTTP status
        self.status = status  # the HTTP status, when the provider answered


class TransientTextError(TextError):
    """Worth retrying later: 429, a 5xx answer, a refused or dropped connection, a timeout."""


class PermanentTextError(TextError):
    """Retrying will not help: any other 4xx answer, or settings that cannot work.
    ``opted_out`` when the provider says the recipient texted STOP (Twilio 21610);
    ``invalid_number`` when the number cannot take texts (21211, 21614)."""

    def __init__(
        self,
        error: str,
        code: int | None = None,
        *,
        status: int | None = None,
        opted_out: bool = False,
        invalid_number: bool = False,
    ) -> None:
        super().__init__(error, code, status=status)
        self.opted_out = opted_out
        self.invalid_number = invalid_number


def _parts(units: list[int], single: int, each: int) -> int:
    """How many parts: all in one when it fits, else filled in order, and a character (an
    extension pair, a surrogate pair) never split between two parts."""
    if sum(units) <= single:
        return 1 if units else 0
    parts, used = 1, 0
    for size in units:
        if used + size > each:
            parts, used = parts + 1, 0
        used += size
    return parts


@dataclass(frozen=True)
class Segments:
    encoding: str  # "GSM-7" or "UCS-2"
    length: int  # septets (GSM-7) or UTF-16 code units (UCS-2)
    count: int


def measure(body: str) -> Segments:
    """How the provider bills ``body``: its encoding, length and parts (0 for an empty body).

    GSM-7 when every character is in the GSM basic set or its extension table (which take two
    septets): 160 in one part, 153 a part when split; otherwise UCS-2, counted in UTF-16 code
    units: 70 in one part, 67 a part."""
    if all(char in GSM_BASIC or char in GSM_EXTENSION for char in body):
        units = [2 if char in GSM_EXTENSION else 1 for char in body]
        return Segments("GSM-7", sum(units), _parts(units, *GSM_LIMITS))
    units = [2 if ord(char) > 0xFFFF else 1 for char in body]
    return Segments("UCS-2", sum(units), _parts(units, *UCS2_LIMITS))


def segments(body: str) -> int:
    """How many parts the provider bills ``body`` as (0 for an empty body)."""
    return measure(body).count


def patient_number(lead: Lead) -> str | None:
    """The number texts go to: the patient's, else the caregiver's when they filled it in."""
    if lead.phone:
        return lead.phone
    if lead.filled_by == "someone_else" and lead.caregiver_phone:
        return lead.caregiver_phone
    return None


def text_message_id(send_key: str) -> str:
    """The same id for every attempt at one ledger row, so a second delivery is recognised."""
    return "text-" + hashlib.sha256(f"text:{send_key}".encode()).hexdigest()[:32]


@dataclass(frozen=True)
class TextProvider:
    """The provider ``SMS_URL`` names: the account, where its API is, and who texts come from."""

    account_sid: str
    auth_token: str = field(repr=False)
    api_base: str  # TWILIO_API, or the host the URL names instead
    sender: dict[str, str]  # {"from_": "+1555..."} or {"messaging_service_sid": "MG..."}


def text_provider(url: str | None = None) -> TextProvider | None:
    """The provider of ``url`` (default: the app's SMS_URL); None when texts are captured.

    Raises PermanentTextError("InvalidSMSURL") for a URL that cannot work, without repeating it
    (it holds the auth token)."""
    url = current_app.config.get("SMS_URL") if url is None else url
    if not url:
        return None
    try:
        return _parse_provider(url)
    except ValueError:  # urlsplit's own complaints (a bad port) included
        raise PermanentTextError("InvalidSMSURL") from None


def _parse_provider(url: str) -> TextProvider:
    parts = urlsplit(url)
    options = {name: values[-1] for name, values in parse_qs(parts.query).items()}
    host, port = parts.hostname or "", parts.port
    scheme = options.get("scheme", "https")
    if parts.scheme != "twilio" or not host or not parts.username or not parts.password:
        raise ValueError("not twilio://SID:TOKEN@host")
    if scheme not in ("https", "http") or (scheme == "http" and host not in LOOPBACK_HOSTS):
        raise ValueError("plain http only to a loopback host")
    sender = {
        key: options[name]
        for name, key in (("from", "from_"), ("messaging_service_sid", "messaging_service_sid"))
        if options.get(name)
    }
    if len(sender) != 1:
        raise ValueError("one of from= or messaging_service_sid=")
    netloc = f"[{host}]" if ":" in host else host
    base = TWILIO_API if (host, port, scheme) == (TWILIO_HOST, None, "https") else None
    return TextProvider(
        account_sid=unquote(parts.username),
        auth_token=unquote(parts.password),
        api_base=base or f"{scheme}://{netloc}{f':{port}' if port else ''}",
        sender=sender,
    )


def deliver_text(message: TextMessage, *, accepted: Callable[[], None] | None = None) -> None:
    """Send by the provider when SMS_URL is set; otherwise keep the text in the local capture.

    ``accepted`` runs the moment the provider has taken the text (its HTTP 201), so the caller
    can record it as sent with the smallest possible window for a second copy."""
    if not message.body:
        raise PermanentTextError("EmptyText")
    if not E164.fullmatch(message.recipient):
        raise PermanentTextError("InvalidRecipient", invalid_number=True)
    provider = text_provider()
    if provider is None:
        _capture(message)
    else:
        from intake.messaging.twilio_send import send  # the library loads only to send

        send(message, provider)
    logger.info(
        "text delivered",
        extra={
            "text_message_id": message.message_id,
            "segments": segments(message.body),
            "via": "twilio" if provider else "capture",
        },
    )
    if accepted:
        accepted()


def classify(error: str, status: int, code: int | None) -> TextError:
    """Transient or permanent by the HTTP status; named by class and the provider's code."""
    if status == 429 or status >= 500:
        return TransientTextError(error, code, status=status)
    return PermanentTextError(
        error,
        code,
        status=status,
        opted_out=code in OPTED_OUT_CODES,
        invalid_number=code in INVALID_NUMBER_CODES,
    )


def _capture(message: TextMessage) -> None:
    """Keep the text for staff to read; a second delivery of the same one adds nothing."""
    db.session.execute(
        dialect_insert()(CapturedText)
        .values(
            message_id=message.message_id,
            recipient=message.recipient,
            body=message.body,
            segments=segments(message.body),
        )
        .on_conflict_do_nothing(index_elements=["message_id"])
    )
