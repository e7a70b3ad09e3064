"""Text messages: parts counted as the provider counts them, the local capture, and the official
library's real requests caught by a loopback HTTP server standing in for the provider."""

from __future__ import annotations

import base64
import json
import math
import threading
from contextlib import contextmanager
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs

import pytest
from hypothesis import given
from hypothesis import strategies as st

from intake.extensions import db
from intake.messaging import texts
from intake.messaging.texts import (
    GSM_BASIC,
    GSM_EXTENSION,
    PermanentTextError,
    TextMessage,
    TransientTextError,
    deliver_text,
    segments,
    text_message_id,
    text_provider,
)
from intake.models import CapturedText
from tests.live import free_port

SID, TOKEN = "AC0123456789abcdef0123456789abcdef", "s3cret-token"
NUMBER, SENDER = "+12025550143", "+15550100"
TEXT = TextMessage(recipient=NUMBER, body="Hi Ada, can we call you today?", message_id="text-1")
GSM_TEXT = st.text(alphabet=sorted(GSM_BASIC | GSM_EXTENSION), max_size=700)
BASIC_TEXT = st.text(alphabet=sorted(GSM_BASIC), max_size=700)


# Counting parts ----------------------------------------------------------------------------


def test_the_gsm_tables_are_the_standards_own():
    assert len(GSM_BASIC) == 127 and len(GSM_EXTENSION) == 10  # 128 less the escape; 10 more
    assert {"é", "ñ", "Ü", "€", "{", "\n"} <= GSM_BASIC | GSM_EXTENSION
    assert not {"á", "í", "ó", "ú", "ç", "`", "’"} & (GSM_BASIC | GSM_EXTENSION)


@pytest.mark.parametrize(
    ("body", "parts"),
    [
        ("", 0),
        ("a", 1),
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("a" * 306, 2),
        ("a" * 307, 3),
        ("€" * 80, 1),  # two septets each: 160
        ("€" * 81, 2),
        ("a" * 159 + "€", 2),  # 161 septets
        # An extension pair is never split between parts: the euro sign moves to the second.
        ("a" * 152 + "€" + "a" * 152, 3),
        ("á" * 70, 1),  # one character outside GSM: UCS-2 for the whole text
        ("a" * 69 + "á", 1),
        ("a" * 70 + "á", 2),
        ("á" * 134, 2),
        ("á" * 135, 3),
        ("😀" * 35, 1),  # two UTF-16 code units each: 70
        ("😀" * 36, 2),
        # Nor a surrogate pair: the emoji moves to the second part.
        ("á" * 66 + "😀" + "á" * 66, 3),
    ],
)
def test_parts_are_counted_as_the_provider_counts_them(body, parts):
    assert segments(body) == parts


@given(BASIC_TEXT)
def test_basic_gsm_text_takes_160_in_one_part_and_153_a_part_when_split(body):
    n = len(body)
    assert segments(body) == (0 if n == 0 else 1 if n <= 160 else math.ceil(n / 153))


@given(st.text(max_size=400).filter(lambda body: any(ord(c) > 0xFFFF for c in body) is False))
def test_text_outside_gsm_takes_70_in_one_part_and_67_a_part(body):
    if all(char in GSM_BASIC | GSM_EXTENSION for char in body):
        return
    n = len(body)
    assert segments(body) == (1 if n <= 70 else math.ceil(n / 67))


@given(st.text(max_size=400), st.text(max_size=400))
def test_a_longer_text_never_takes_fewer_parts(start, more):
    assert segments(start + more) >= segments(start)
    assert (segments(start) == 0) == (start == "")


@given(GSM_TEXT)
def test_every_part_holds_at_most_what_the_limits_allow(body):
    septets = sum(2 if char in GSM_EXTENSION else 1 for char in body)
    parts = segments(body)
    assert parts * (160 if parts == 1 else 153) >= septets
    assert parts <= max(1, math.ceil(septets / 152)) if body else parts == 0


def test_a_ledger_row_always_gets_the_same_text_id_and_another_row_another():
    assert text_message_id("7:conversation:1") == text_message_id("7:conversation:1")
    assert text_message_id("7:conversation:1") != text_message_id("7:conversation:2")
    assert len(text_message_id("7:conversation:1")) <= 200


# The local capture -------------------------------------------------------------------------


def test_without_sms_url_a_text_is_captured_once_however_often_delivered(app_factory):
    app = app_factory(SMS_URL=None)
    calls = []
    with app.app_context():
        for _ in range(2):
            deliver_text(TEXT, accepted=lambda: calls.append(1))
            db.session.commit()
        [captured] = db.session.scalars(db.select(CapturedText)).all()
    assert (captured.message_id, captured.recipient, captured.body) == ("text-1", NUMBER, TEXT.body)
    assert captured.segments == 1 and calls == [1, 1]


@pytest.mark.parametrize(
    ("message", "invalid_number"),
    [
        (TextMessage(recipient="2025550143", body="Hi", message_id="t"), True),
        (TextMessage(recipient="+1 202 555 0143", body="Hi", message_id="t"), True),
        (TextMessage(recipient=NUMBER, body="", message_id="t"), False),
    ],
)
def test_a_text_to_no_e164_number_or_without_words_is_refused_for_good(
    app, message, invalid_number
):
    with app.app_context():
        with pytest.raises(PermanentTextError) as refused:
            deliver_text(message, accepted=pytest.fail)
        assert db.session.scalars(db.select(CapturedText)).all() == []
    assert refused.value.invalid_number is invalid_number
    assert "2025550143" not in str(refused.value)


# The provider adapter: the official library against a loopback server -------------------


@contextmanager
def provider(status: int = 201, answer: dict | None = None, *, silent: bool = False):
    """A loopback HTTP server answering every request with ``status`` and ``answer`` (JSON), or
    never answering (``silent``); yields its URL and the requests it received."""
    received, release = [], threading.Event()

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            received.append({"path": self.path, "headers": dict(self.headers), "body": body})
            if silent:
                release.wait(5)
                return
            payload = json.dumps(answer if answer is not None else created(body)).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(payload)))
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"127.0.0.1:{server.server_address[1]}", received
    finally:
        release.set()
        server.shutdown()
        server.server_close()
        thread.join()


def created(body: bytes) -> dict:
    """Twilio's answer to a new message (abridged): its id and what it took."""
    form = {name: values[0] for name, values in parse_qs(body.decode()).items()}
    return {"sid": "SM" + "0" * 32, "account_sid": SID, "status": "queued", "to": form.get("To"),
            "from": form.get("From"), "body": form.get("Body"), "num_segments": "1"}  # fmt: skip


def sms_url(host: str, sender: str = "from=%2B15550100") -> str:
    return f"twilio://{SID}:{TOKEN}@{host}?{sender}&scheme=http"


def test_the_library_posts_the_message_to_the_accounts_messages_resource_with_basic_auth(
    app_factory,
):
    calls = []
    with provider() as (host, received):
        app = app_factory(SMS_URL=sms_url(host))
        with app.app_context():
            deliver_text(TEXT, accepted=lambda: calls.append(1))
            assert db.session.scalars(db.select(CapturedText)).all() == []
    [request] = received
    assert request["path"] == f"/2010-04-01/Accounts/{SID}/Messages.json"
    expected = base64.b64encode(f"{SID}:{TOKEN}".encode()).decode()
    assert request["headers"]["Authorization"] == f"Basic {expected}"
    form = parse_qs(request["body"].decode())
    assert form == {"To": [NUMBER], "From": [SENDER], "Body": [TEXT.body]}
    assert calls == [1]


def test_a_messaging_service_can_send_instead_of_one_number(app_factory):
    with provider() as (host, received):
        app = app_factory(SMS_URL=sms_url(host, "messaging_service_sid=MG0123"))
        with app.app_context():
            deliver_text(TEXT)
    form = parse_qs(received[0]["body"].decode())
    assert form["MessagingServiceSid"] == ["MG0123"] and "From" not in form


@pytest.mark.parametrize(("status", "code"), [(500, 20500), (503, 20503), (429, 20429)])
def test_a_busy_or_failing_provider_is_worth_retrying(app_factory, status, code):
    answer = {"code": code, "message": f"Trouble for {NUMBER}", "status": status}
    with provider(status, answer) as (host, _received):
        app = app_factory(SMS_URL=sms_url(host))
        with app.app_context(), pytest.raises(TransientTextError) as failed:
            deliver_text(TEXT, accepted=pytest.fail)
    assert (failed.value.status, failed.value.code) == (status, code)
    assert str(failed.value) == f"TwilioRestException {code}"


@pytest.mark.parametrize(
    ("code", "opted_out", "invalid_number"),
    [(21610, True, False), (21211, False, True), (21614, False, True), (21408, False, False)],
)
def test_a_refusal_is_for_good_and_says_whether_the_patient_opted_out_or_the_number_is_wrong(
    app_factory, code, opted_out, invalid_number
):
    answer = {"code": code, "message": f"The 'To' number {NUMBER} is refused",
              "more_info": f"https://www.twilio.com/docs/errors/{code}", "status": 400}  # fmt: skip
    with provider(400, answer) as (host, _received):
        app = app_factory(SMS_URL=sms_url(host))
        with app.app_context(), pytest.raises(PermanentTextError) as refused:
            deliver_text(TEXT, accepted=pytest.fail)
    error = refused.value
    assert (error.opted_out, error.invalid_number, error.code) == (opted_out, invalid_number, code)
    assert NUMBER not in str(error) and TEXT.body not in str(error)
    assert error.__cause__ is None and error.__suppress_context__


def test_a_refused_connection_and_a_silent_provider_are_worth_retrying(app_factory, monkeypatch):
    monkeypatch.setattr(texts, "TIMEOUT_SECONDS", 0.5)
    app = app_factory(SMS_URL=sms_url(f"127.0.0.1:{free_port()}"))
    with app.app_context(), pytest.raises(TransientTextError, match="ConnectionError"):
        deliver_text(TEXT, accepted=pytest.fail)
    with provider(silent=True) as (host, _received):
        app = app_factory(SMS_URL=sms_url(host))
        with app.app_context(), pytest.raises(TransientTextError, match="Timeout"):
            deliver_text(TEXT, accepted=pytest.fail)


@pytest.mark.parametrize(
    "url",
    [
        "smtp://AC1:t@api.twilio.com?from=%2B15550100",  # not twilio
        "twilio://api.twilio.com?from=%2B15550100",  # no account
        "twilio://AC1:t@api.twilio.com",  # nobody to send from
        "twilio://AC1:t@api.twilio.com?from=%2B1555&messaging_service_sid=MG1",  # both
        "twilio://AC1:t@api.example.org?from=%2B15550100&scheme=http",  # plain http, not loopback
        "twilio://AC1:t@127.0.0.1:99999?from=%2B15550100",  # no such port
    ],
)
def test_an_sms_url_that_cannot_work_is_refused_without_repeating_it(app, url):
    with app.app_context(), pytest.raises(PermanentTextError) as refused:
        text_provider(url)
    assert str(refused.value) == "InvalidSMSURL"


def test_the_provider_of_an_sms_url(app):
    with app.app_context():
        real = text_provider("twilio://AC1:to%2Fken@api.twilio.com?from=%2B15550100")
        local = text_provider("twilio://AC1:t@127.0.0.1:8080?messaging_service_sid=MG1&scheme=http")
        assert text_provider("") is None
    assert (real.account_sid, real.auth_token) == ("AC1", "to/ken")
    assert real.api_base == "https://api.twilio.com" and real.sender == {"from_": "+15550100"}
    assert local.api_base == "http://127.0.0.1:8080"
    assert local.sender == {"messaging_service_sid": "MG1"}
    assert "to/ken" not in repr(real)
