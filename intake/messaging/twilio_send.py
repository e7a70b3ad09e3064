"""Sending a text through Twilio's official library (intake.messaging.texts decides when).

Its own module so that the library and its HTTP stack load only in a process that sends texts,
never in a web worker that only counts segments or reads the provider's settings."""

from __future__ import annotations

from twilio.base.exceptions import TwilioRestException, TwilioServiceException
from twilio.http.http_client import TwilioHttpClient
from twilio.rest import Client

from intake.messaging import texts
from intake.messaging.texts import (
    TWILIO_API,
    PermanentTextError,
    TextMessage,
    TextProvider,
    TransientTextError,
    classify,
)


class RebasedHttpClient(TwilioHttpClient):
    """The library's own HTTP client, sending what it would send to https://api.twilio.com to
    ``api_base`` instead (the same path, query, body and auth); noting whether the provider
    accepted (a 2xx answer), which a body it cannot read afterwards does not undo."""

    def __init__(self, *, api_base: str, timeout: float) -> None:
        super().__init__(timeout=timeout)
        self.api_base = api_base
        self.accepted = False

    def request(self, method: str, url: str, *args, **kwargs):
        if self.api_base != TWILIO_API:
            if not url.startswith(TWILIO_API + "/"):
                raise PermanentTextError("UnexpectedProviderURL")
            url = self.api_base + url.removeprefix(TWILIO_API)
        response = super().request(method, url, *args, **kwargs)
        self.accepted = 200 <= response.status_code < 300
        return response

    def close(self) -> None:
        if self.session is not None:
            self.session.close()


# Only what the URL says: no TWILIO_REGION or TWILIO_EDGE of the process environment moves the
# requests elsewhere (an empty mapping would make the library read os.environ).
_NO_ENVIRONMENT = {"INTAKE_SMS": "SMS_URL"}


def send(message: TextMessage, provider: TextProvider) -> None:
    """One request to the provider's Messages resource through its official library."""
    http = RebasedHttpClient(api_base=provider.api_base, timeout=texts.TIMEOUT_SECONDS)
    client = Client(
        provider.account_sid,
        provider.auth_token,
        http_client=http,
        environment=_NO_ENVIRONMENT,
    )
    try:
        client.messages.create(to=message.recipient, body=message.body, **provider.sender)
    except (TwilioRestException, TwilioServiceException) as exc:
        # from None: the provider's message may repeat the number
        raise classify(type(exc).__name__, exc.status, exc.code) from None
    except OSError as exc:  # requests' errors: refused, reset, timed out
        raise TransientTextError(type(exc).__name__) from None
    except ValueError as exc:  # an answer that is not JSON
        if not http.accepted:
            raise TransientTextError(type(exc).__name__) from None
    finally:
        http.close()
