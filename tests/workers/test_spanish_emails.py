"""A Spanish lead's emails with real parts: the resume reminder, the confirmation and the first
nurture note go through the outbox, a real Celery worker process and a real SMTP server, and
arrive in Spanish with encoded-word headers and UTF-8 bodies. The owner's notice of the same lead
stays English."""

from __future__ import annotations

from datetime import timedelta
from email import message_from_bytes
from email.header import decode_header, make_header
from urllib.parse import parse_qs, urlsplit

import pytest
from bs4 import BeautifulSoup

from intake.extensions import db
from intake.models import Lead, Send
from intake.models.types import utcnow
from tests.conftest import ABOUT_MS, CONSENT, CONTACT, HEALTH, page, send_step, wire_header
from tests.live import wait_until
from tests.workers.conftest import (
    PATIENT,
    Sink,
    add_coordinator,
    publish,
    sends,
    the_lead,
    zone_where_it_is,
)

pytestmark = pytest.mark.timeout(240)

REMINDER = "Su solicitud está guardada y le espera"
CONFIRMATION = "Hemos recibido su solicitud"
FIRST_NOTE = "¿Qué puede esperar cuando hablemos?"


class RawSink(Sink):
    """The sink, also keeping each message's bytes as they crossed the wire."""

    def __init__(self) -> None:
        super().__init__()
        self.raw: dict[str, bytes] = {}

    async def handle_DATA(self, server, session, envelope):  # noqa: N802 (aiosmtpd's API)
        reply = await super().handle_DATA(server, session, envelope)
        with self.lock:
            self.raw[message_from_bytes(envelope.content)["Message-ID"]] = envelope.content
        return reply


@pytest.fixture
def sink_class():
    return RawSink


def due_now(app, cadence: str) -> None:
    """The clock moves on: step 1 of the cadence is due."""
    with app.app_context():
        row = db.session.scalars(
            db.select(Send).where(Send.cadence == cadence, Send.step == 1)
        ).one()
        row.due_at = utcnow() - timedelta(minutes=1)
        db.session.commit()


def arrived(sink: RawSink, subject: str):
    """The one message with this (decoded) subject, and its bytes as sent."""
    [mail] = sink.wait_for(lambda m: m["Subject"] == subject)
    wait_until(lambda: mail["Message-ID"] in sink.raw, timeout=5)
    return mail, sink.raw[mail["Message-ID"]]


def assert_spanish(mail, raw: bytes, subject: str, *phrases: str) -> dict:
    """Encoded headers, UTF-8 parts, Spanish words and ``lang="es"``; the links, by path."""
    assert mail["To"] == PATIENT
    raw.decode("ascii")  # 7-bit clean headers and bodies
    on_wire = wire_header(raw, "Subject")
    assert (b"=?utf-8?" in on_wire) is not subject.isascii()  # encoded-words where needed
    assert str(make_header(decode_header(on_wire.decode("ascii")))) == subject
    text_part, html_part = mail.get_body(("plain",)), mail.get_body(("html",))
    for part in (text_part, html_part):
        assert part.get_content_type() in ("text/plain", "text/html")
        assert part.get_content_charset() == "utf-8"
        assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
    text = text_part.get_content().replace("\r\n", "\n")
    html = BeautifulSoup(html_part.get_content(), "html.parser")
    assert text.startswith("Hola, Ada:")
    for phrase in ("Para dejar de recibir correos sobre su solicitud", *phrases):
        assert phrase in text, phrase
    assert "Hello" not in text and "inquiry sent to" not in text
    assert html.html["lang"] == "es" and html.title.get_text() == subject
    assert html.p.get_text() == "Hola, Ada:"
    links = {urlsplit(a["href"]).path.split("/")[1]: a["href"] for a in html.find_all("a")}
    assert all(parse_qs(urlsplit(link).query) == {"lang": ["es"]} for link in links.values())
    return links


def test_a_spanish_leads_reminder_confirmation_and_nurture_note_arrive_in_spanish(
    worker_app, smtp_sink, start_worker
):
    sink, _ = smtp_sink
    add_coordinator(worker_app)
    start_worker()
    client = worker_app.test_client()
    assert client.get("/inquiry?lang=es").status_code == 200  # from a Spanish article's link
    send_step(client, "/inquiry", {**CONTACT, "consent_resume": "y"})
    lead_id = the_lead(worker_app).id
    with worker_app.app_context():
        lead = db.session.get(Lead, lead_id)
        assert lead.language == "es"
        lead.time_zone = zone_where_it_is(13)  # daytime: no quiet hours hold the messages
        db.session.commit()

    publish(worker_app, "outbox.relay")  # plans the resume reminders of the started inquiry
    wait_until(lambda: len(sends(worker_app, "resume_reminder")) == 3)
    due_now(worker_app, "resume_reminder")
    publish(worker_app, "periodic.sweep_sends")
    reminder, raw = arrived(sink, REMINDER)
    links = assert_spanish(
        reminder, raw, REMINDER, "Funciona durante 14 días, o hasta que envíe la solicitud."
    )
    assert links["inquiry"].startswith("https://intake.test/inquiry/resume/")
    unsubscribe = urlsplit(links["unsubscribe"])  # opened on another device: no session
    opened = worker_app.test_client().get(f"{unsubscribe.path}?{unsubscribe.query}")
    assert page(opened).html["lang"] == "es"  # the emailed link opens the page in Spanish

    for url, answers in (
        ("/inquiry/about_ms", ABOUT_MS),
        ("/inquiry/health", HEALTH),
        ("/inquiry/consent", CONSENT),
    ):
        assert send_step(client, url, answers).status_code in (302, 303)
    publish(worker_app, "outbox.relay")  # the confirmation goes at once; nurture is planned
    confirmation, raw = arrived(sink, CONFIRMATION)
    assert_spanish(
        confirmation,
        raw,
        CONFIRMATION,
        "Gracias por su solicitud.",
        "una solicitud a la clínica.",
    )
    for notice in sink.wait_for(lambda m: m["To"] == "coordinator@clinic.example"):
        assert notice["Subject"] == "A new lead has been assigned to you"  # staff: English
        assert 'lang="en"' in notice.get_body(("html",)).get_content()

    wait_until(lambda: len(sends(worker_app, "nurture")) == 4)
    due_now(worker_app, "nurture")
    publish(worker_app, "periodic.sweep_sends")
    note, raw = arrived(sink, FIRST_NOTE)
    assert_spanish(
        note,
        raw,
        FIRST_NOTE,
        "Una persona de nuestro equipo se pondrá en contacto con usted",
        "Un cordial saludo,\nEl equipo de atención al paciente de la clínica",
    )
    wait_until(lambda: sends(worker_app, "nurture")[0].status == "sent")
