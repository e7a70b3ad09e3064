"""Patient emails in the lead's language, staff emails in English, and Spanish headers that
travel as RFC 2047 encoded-words over a real SMTP connection."""

from __future__ import annotations

import re
from email import message_from_bytes, policy
from email.header import decode_header, make_header
from urllib.parse import parse_qs, urlsplit

from bs4 import BeautifulSoup
from flask_babel import get_locale

from intake.messaging.mail import Message, deliver, render_message
from intake.messaging.previews import render_preview, subject_for
from tests.conftest import wire_header
from tests.factories import NOW, make_inquiry, make_lead, make_send, make_staff
from tests.messaging.conftest import Recorder, smtp_server

SPANISH_SUBJECTS = {
    ("confirmation", 0): "Hemos recibido su solicitud",
    ("resume_reminder", 1): "Su solicitud está guardada y le espera",
    ("resume_link", 0): "Su enlace para continuar su solicitud",
    ("nurture", 1): "¿Qué puede esperar cuando hablemos?",
    ("nurture", 2): "Cómo preparar sus preguntas",
    ("nurture", 3): "Cómo se estudia la terapia con células madre",
    ("nurture", 4): "Aquí estamos cuando usted quiera",
}
ENGLISH_WORDS = ("Hello", "inquiry", "email", "Please", "the clinic", "The patient team")


def spanish_emails() -> dict[tuple[str, int], Message]:
    lead = make_lead(consents=(), language="es", first_name="Begoña")
    draft = make_inquiry(lead, unique_key=True)
    messages = {}
    for template, step in SPANISH_SUBJECTS:
        inquiry = draft if template.startswith("resume") else None
        send = make_send(template, step=step, lead=lead, inquiry=inquiry)
        messages[template, step] = render_message(send=send, now=NOW)
    return messages


def query(url: str) -> dict:
    return parse_qs(urlsplit(url).query)


def test_a_spanish_lead_gets_every_patient_email_in_spanish_with_links_to_spanish_pages(ctx):
    messages = spanish_emails()

    for (template, step), message in messages.items():
        assert message.subject == SPANISH_SUBJECTS[template, step]
        assert message.text.startswith("Hola, Begoña:\n")
        assert "Para dejar de recibir correos sobre su solicitud, abra este enlace:" in message.text
        assert "una solicitud a la clínica." in message.text  # the default name, in Spanish
        soup = BeautifulSoup(message.html, "html.parser")
        words = re.sub(r"https?://\S+", "", message.text) + soup.get_text()
        for english in ENGLISH_WORDS:
            assert english not in words, english
        assert soup.html["lang"] == "es" and soup.title.string == message.subject
        assert soup.p.string == "Hola, Begoña:"
        assert soup.footer.a.string == "Dejar de recibir correos sobre su solicitud"
        unsubscribe = message.headers["List-Unsubscribe"].strip("<>")
        assert query(unsubscribe) == {"lang": ["es"]} and unsubscribe in message.text
    for key in (("resume_reminder", 1), ("resume_link", 0)):
        soup = BeautifulSoup(messages[key].html, "html.parser")
        resume = soup.find("a", href=lambda href: "/inquiry/resume/" in href)["href"]
        assert query(resume) == {"lang": ["es"]} and resume in messages[key].text
    reminder = messages["resume_reminder", 1].text
    assert "Funciona durante 14 días, o hasta que envíe la solicitud." in reminder
    nurture = [messages["nurture", step].text for step in (1, 2, 3, 4)]
    assert len(set(nurture)) == 4 and "Un cordial saludo," in nurture[0]
    assert "terapia con células madre mesenquimales" in nurture[2]


def test_each_email_keeps_its_own_language_whatever_was_rendered_before_or_around_it(app):
    """The nurture notes are imported by the templates: never cached in the first language
    used. A staff email rendered during a Spanish patient request stays English."""
    with app.app_context():
        english_lead, spanish_lead = make_lead(consents=()), make_lead(consents=(), language="es")
        staff = make_staff(name="Casey", email="casey@clinic.example")
        english_lead.owner_id = staff.id

        def nurture(lead) -> Message:
            return render_message(send=make_send("nurture", step=1, lead=lead), now=NOW)

        first, spanish, again = nurture(english_lead), nurture(spanish_lead), nurture(english_lead)
        with app.test_request_context("/inquiry", headers={"Accept-Language": "es"}):
            assert str(get_locale()) == "es"
            during = nurture(english_lead)
            notice = render_message(
                send=make_send("staff_new_lead", lead=english_lead, staff=staff), now=NOW
            )
            assert str(get_locale()) == "es"  # given back as it was

    assert first.text == again.text == during.text and first.html == again.html == during.html
    assert first.subject == "What to expect when we talk" and "Hello Ada," in first.text
    assert 'lang="en"' in first.html and query(first.headers["List-Unsubscribe"][1:-1]) == {
        "lang": ["en"]
    }
    assert spanish.subject == "¿Qué puede esperar cuando hablemos?"
    assert "Una persona de nuestro equipo se pondrá" in spanish.text
    assert notice.subject == "A new lead has been assigned to you"
    assert "An automatic message from the patient inquiry system." in notice.text
    assert 'lang="en"' in notice.html and "Hola" not in notice.text


def test_spanish_subject_and_from_name_travel_as_encoded_words_and_the_body_as_utf8(
    app_factory,
):
    app = app_factory(INTAKE_MAIL_FROM="Clínica Peñalara <no-reply@intake.local>")
    recorder = Recorder()
    with app.app_context(), smtp_server(recorder) as server:
        app.config["SMTP_URL"] = f"smtp://127.0.0.1:{server.port}"
        lead = make_lead(consents=(), language="es", first_name="Begoña")
        nurture = render_message(send=make_send("nurture", step=1, lead=lead), now=NOW)
        short = Message(
            recipient="ada.byron@example.org", subject="Su solicitud está guardada",
            text="Hola, Begoña:\nEstá guardada.\n", html="<p>Está guardada.</p>\n",
            headers={}, message_id="<0123456789abcdef@intake.local>",
        )  # fmt: skip
        deliver(nurture)
        deliver(short)

    for envelope, message in zip(recorder.envelopes, (nurture, short), strict=True):
        raw = envelope.content
        raw.decode("ascii")  # 7-bit clean: no server needs SMTPUTF8 or 8BITMIME for it
        subject, sender = wire_header(raw, "Subject"), wire_header(raw, "From")
        assert b"=?utf-8?" in subject and "á".encode() not in subject
        assert str(make_header(decode_header(subject.decode("ascii")))) == message.subject
        assert b"=?utf-8?" in sender and sender.endswith(b" <no-reply@intake.local>")
        received = message_from_bytes(raw, policy=policy.default)
        assert received["Subject"] == message.subject
        assert received["From"].addresses[0].display_name == "Clínica Peñalara"
        for kind, body in (("plain", message.text), ("html", message.html)):
            part = received.get_body((kind,))
            assert part.get_content_charset() == "utf-8"
            assert part["Content-Transfer-Encoding"] in ("quoted-printable", "base64")
            assert part.get_content().replace("\r\n", "\n").strip() == body.strip()


def test_previews_are_english_and_a_patient_email_can_be_previewed_in_spanish(ctx):
    english = render_preview(template="nurture", step=3, kind="html")
    spanish = render_preview(template="nurture", step=3, kind="html", language="es")
    staff = render_preview(template="sla_reminder", step=1, kind="text", language="es")

    assert 'lang="en"' in english and "Mesenchymal stem cell (MSC) therapy" in english
    assert 'lang="es"' in spanish and "células madre mesenquimales" in spanish
    assert "<title>Cómo se estudia la terapia con células madre</title>" in spanish
    assert subject_for("confirmation", 1) == "We have received your inquiry"
    assert subject_for("confirmation", 1, "es") == "Hemos recibido su solicitud"
    assert subject_for("sla_reminder", 1, "es") == "Reminder: a lead is waiting for first contact"
    assert "Hola" not in staff and "An automatic message" in staff
