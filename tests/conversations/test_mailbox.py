"""The reply mailbox sweep against a real Dovecot: replies matched by the reply address or by
In-Reply-To/References, forged tokens recorded nowhere, automatic answers recorded but changing
nothing, each message once however often (and however many at once) the sweep runs, and a
mailbox that goes down losing nothing (R8's mailbox half)."""

from __future__ import annotations

import logging
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from intake.conversations.mailbox import MailboxError, mailbox_settings, sweep_mailbox
from intake.extensions import db
from intake.models import ConversationMessage, Lead, MailboxState, Send, StaffUser
from tests.conversations.conftest import (
    LATER,
    count,
    email,
    patient,
    place,
    sends_of,
    sweep,
    thread,
)
from tests.factories import make_send
from workers.tasks import sweep_replies

SPANISH = "Hola, sí: llámenme mañana por la tarde, después de las 5. ¡Gracias! — Adá Peña"
NOTHING = {"reply": 0, "auto_reply": 0, "bounce": 0, "duplicate": 0, "unmatched": 0}


def test_a_reply_to_the_reply_address_is_recorded_once_with_its_consequences(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    [uid] = dovecot.append(
        email(to=ada.reply_to, body=SPANISH, subject="Re: Recibimos su consulta",
              message_id="<reply-1@mail.example.org>")
    )  # fmt: skip

    assert sweep(mailbox_app) == {**NOTHING, "reply": 1}
    assert sweep(mailbox_app) == NOTHING  # nothing new: nothing twice

    assert thread(mailbox_app, ada.lead_id) == [
        ("reply", "Re: Recibimos su consulta", SPANISH, None)
    ]
    assert sends_of(mailbox_app, ada.lead_id) == {
        "confirmation": ["sent"],
        "nurture": ["cancelled", "cancelled"],  # the patient answered: no more nudges
        "staff_reply": ["scheduled"],  # the owner is told, with a link only
    }
    with mailbox_app.app_context():
        lead = db.session.get(Lead, ada.lead_id)
        assert (lead.status, lead.first_contacted_at) == ("contacted", LATER)
        notice = db.session.scalars(db.select(Send).where(Send.cadence == "staff_reply")).one()
        assert notice.staff_user_id == ada.owner_id
    assert place(mailbox_app)[1] == uid
    assert b"\\Seen" in dovecot.flags()[uid]


def test_a_reply_without_the_token_is_found_by_in_reply_to_or_references(mailbox_app, dovecot):
    ada, grace = patient(mailbox_app), patient(mailbox_app, email="grace@example.org")
    dovecot.append(
        email(to="replies@intake.local", body="Por In-Reply-To", message_id="<a@example.org>",
              In_Reply_To=ada.message_id),
        email(to="replies@intake.local", body="By References", message_id="<b@example.org>",
              References=f"<older@example.org> {grace.message_id}"),
    )  # fmt: skip

    assert sweep(mailbox_app) == {**NOTHING, "reply": 2}
    assert [body for _kind, _subject, body, _id in thread(mailbox_app, ada.lead_id)] == [
        "Por In-Reply-To"
    ]
    assert [body for _kind, _subject, body, _id in thread(mailbox_app, grace.lead_id)] == [
        "By References"
    ]


def test_a_reply_to_a_message_staff_wrote_points_at_it(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    with mailbox_app.app_context():
        lead = db.session.get(Lead, ada.lead_id)
        send = make_send("conversation", lead=lead)  # whatever cadence staff messages use
        send.status, send.message_id = "sent", "<written-by-staff@intake.local>"
        written = ConversationMessage(
            lead_id=lead.id, direction="out", channel="email", kind="message", send_id=send.id,
            staff_user_id=ada.owner_id,
        )  # fmt: skip
        db.session.add(written)
        db.session.commit()
        written_id = written.id
    dovecot.append(
        email(to=ada.reply_to, body="con token", message_id="<r1@x>",
              In_Reply_To="<written-by-staff@intake.local>"),
        email(to="replies@intake.local", body="sin token", message_id="<r2@x>",
              In_Reply_To="<written-by-staff@intake.local>"),
    )  # fmt: skip

    sweep(mailbox_app)
    assert thread(mailbox_app, ada.lead_id)[1:] == [
        ("reply", "Re: your inquiry", "con token", written_id),
        ("reply", "Re: your inquiry", "sin token", written_id),
    ]


def test_a_reply_to_a_staff_email_is_not_the_patients(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    with mailbox_app.app_context():
        lead, owner = db.session.get(Lead, ada.lead_id), db.session.get(StaffUser, ada.owner_id)
        notice = make_send("staff_new_lead", lead=lead, staff=owner)
        notice.status, notice.message_id = "sent", "<notice@intake.local>"
        db.session.commit()
    dovecot.append(
        email(to="replies@intake.local", sender="casey@clinic.example", body="on it",
              In_Reply_To="<notice@intake.local>")
    )  # fmt: skip

    assert sweep(mailbox_app) == {**NOTHING, "unmatched": 1}
    assert thread(mailbox_app, ada.lead_id) == []


def test_forged_unknown_or_unmatched_replies_are_recorded_nowhere(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    token = ada.reply_to.split("+")[1].split("@")[0]
    forged = [
        "replies+" + "a" * 20 + "@intake.local",  # well formed, nobody's
        f"replies+{token}x@intake.local",  # one character more
        f"replies+{token[:-1]}@intake.local",
        f"replies+{token[:-1]}_@intake.local",
    ]
    messages = [
        email(to=address, body=f"forged {n}", message_id=f"<forged-{n}@example.org>",
              In_Reply_To=ada.message_id)  # a real In-Reply-To does not rescue a forged token
        for n, address in enumerate(forged)
    ]  # fmt: skip
    messages.append(email(to="replies@intake.local", body="about nothing of ours"))
    messages.append(email(to="replies@intake.local", body="?", In_Reply_To="<nope@example.org>"))
    uids = dovecot.append(*messages)

    assert sweep(mailbox_app) == {**NOTHING, "unmatched": len(messages)}
    assert count(mailbox_app, ConversationMessage) == 0
    assert sends_of(mailbox_app, ada.lead_id)["nurture"] == ["scheduled", "scheduled"]
    assert place(mailbox_app)[1] == uids[-1]  # read, and not read again


def test_automatic_answers_are_recorded_and_change_nothing(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    automatic = [
        {"Auto_Submitted": "auto-replied"},
        {"Auto_Submitted": 'auto-generated; owner-email="ada@example.org"'},
        {"Precedence": "bulk"},
        {"Precedence": "Auto_Reply"},
        {"X_Autoreply": "yes"},
        {"X_Autorespond": "Out of office"},
    ]
    dovecot.append(
        *(
            email(to=ada.reply_to, subject="Fuera de la oficina", body="Vuelvo el lunes.",
                  message_id=f"<auto-{n}@example.org>", **headers)
            for n, headers in enumerate(automatic)
        )
    )  # fmt: skip

    assert sweep(mailbox_app) == {**NOTHING, "auto_reply": len(automatic)}
    assert {row[0] for row in thread(mailbox_app, ada.lead_id)} == {"auto_reply"}
    assert sends_of(mailbox_app, ada.lead_id) == {
        "confirmation": ["sent"],
        "nurture": ["scheduled", "scheduled"],
    }
    with mailbox_app.app_context():
        assert db.session.get(Lead, ada.lead_id).status == "new"


def test_auto_submitted_no_is_a_person_writing(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    [uid] = dovecot.append(email(to=ada.reply_to, body="Sí, gracias.", Auto_Submitted="no"))

    assert sweep(mailbox_app) == {**NOTHING, "reply": 1}
    with mailbox_app.app_context():  # no Message-ID: named by the folder and its UID
        [external_id] = db.session.scalars(db.select(ConversationMessage.external_id))
    assert external_id == f"imap:{place(mailbox_app)[0]}:{uid}"


def test_an_html_only_reply_is_kept_as_text_never_as_html(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    message = email(to=ada.reply_to, message_id="<html@example.org>")
    message.set_content(
        "<html><head><title>t</title><style>p{color:red}</style></head><body>"
        "<p>Hola &amp; gracias,<br>prefiero <b>la tarde</b>.</p>"
        "<script>alert('x')</script><img src=x onerror=alert(1)><div>Adá</div></body></html>",
        subtype="html",
    )
    dovecot.append(message)

    sweep(mailbox_app)
    [(kind, _subject, body, _id)] = thread(mailbox_app, ada.lead_id)
    assert (kind, body) == ("reply", "Hola & gracias,\nprefiero la tarde.\n\nAdá")


def test_a_mailbox_that_is_down_is_a_clear_error_and_nothing_is_lost(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    dovecot.append(
        *(email(to=ada.reply_to, body=f"uno {n}", message_id=f"<{n}@x>") for n in (1, 2))
    )
    dovecot.stop()

    with pytest.raises(MailboxError, match=r"^reply mailbox unreadable: ConnectionRefusedError$"):
        sweep(mailbox_app)
    assert count(mailbox_app, ConversationMessage) == 0

    dovecot.start()
    dovecot.append(email(to=ada.reply_to, body="tres", message_id="<3@x>"))
    assert sweep(mailbox_app) == {**NOTHING, "reply": 3}
    assert sweep(mailbox_app) == NOTHING
    bodies = [body for _kind, _subject, body, _id in thread(mailbox_app, ada.lead_id)]
    assert bodies == ["uno 1", "uno 2", "tres"]


class Killed(Exception):
    """The worker dying between handling a message and committing it."""


def test_a_sweep_killed_before_a_commit_reads_that_message_again(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    uids = dovecot.append(
        *(email(to=ada.reply_to, body=f"n{n}", message_id=f"<k{n}@x>") for n in range(3))
    )
    commits = []

    def commit_then_die() -> None:
        commits.append(1)
        if len(commits) == 3:  # the place, the first message, then killed on the second
            raise Killed
        db.session.commit()

    with mailbox_app.app_context(), pytest.raises(Killed):
        sweep_mailbox(now=LATER, commit=commit_then_die)
    assert place(mailbox_app)[1] == uids[0]
    assert [row[2] for row in thread(mailbox_app, ada.lead_id)] == ["n0"]
    assert b"\\Seen" not in dovecot.flags()[uids[1]]

    assert sweep(mailbox_app) == {**NOTHING, "reply": 2}
    assert [row[2] for row in thread(mailbox_app, ada.lead_id)] == ["n0", "n1", "n2"]


def test_a_sweep_reads_a_bounded_number_and_the_next_reads_on(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    uids = dovecot.append(
        *(email(to=ada.reply_to, body=f"n{n}", message_id=f"<b{n}@x>") for n in range(5))
    )

    assert sweep(mailbox_app, limit=2)["reply"] == 2
    assert place(mailbox_app)[1] == uids[1]
    assert sweep(mailbox_app, limit=2)["reply"] == 2
    assert sweep(mailbox_app, limit=2)["reply"] == 1
    assert [row[2] for row in thread(mailbox_app, ada.lead_id)] == [f"n{n}" for n in range(5)]


def test_a_changed_uidvalidity_reads_again_and_records_nothing_twice(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    dovecot.append(*(email(to=ada.reply_to, body=f"n{n}", message_id=f"<v{n}@x>") for n in (1, 2)))
    sweep(mailbox_app)
    validity, _last = place(mailbox_app)
    with mailbox_app.app_context():
        db.session.execute(update(MailboxState).values(uid_validity=validity - 1))
        db.session.commit()

    assert sweep(mailbox_app) == {**NOTHING, "duplicate": 2}
    assert place(mailbox_app) == (validity, 2)
    assert len(thread(mailbox_app, ada.lead_id)) == 2


def test_two_sweeps_at_once_record_each_message_once(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    dovecot.append(
        *(email(to=ada.reply_to, body=f"n{n}", message_id=f"<t{n}@x>") for n in range(6))
    )
    start, results = threading.Barrier(2), []

    def run() -> None:
        start.wait()
        results.append(sweep(mailbox_app))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for one in threads:
        one.start()
    for one in threads:
        one.join(timeout=60)

    assert sum(result["reply"] for result in results) == 6
    assert len(thread(mailbox_app, ada.lead_id)) == 6
    assert sends_of(mailbox_app, ada.lead_id)["staff_reply"] == ["scheduled"] * 6


def test_without_a_mailbox_the_sweep_does_nothing(app):
    assert sweep(app) == NOTHING
    assert count(app, MailboxState) == 0


def test_a_refused_login_is_a_clear_error_naming_no_secret(app_factory, dovecot):
    app = app_factory(REPLY_MAILBOX_URL=dovecot.url.replace(":s3cret@", ":wrong@"))

    with pytest.raises(MailboxError) as raised:
        sweep(app)
    assert str(raised.value) == "reply mailbox unreadable: LoginError"


def test_the_mailbox_url_names_server_folder_and_security():
    plain = mailbox_settings("imap://clinic%40example.org:p%40ss@mail.example.org/Replies%20In")
    secure = mailbox_settings("imaps://u:p@mail.example.org")
    starttls = mailbox_settings("imap://u:p@mail.example.org:1143/?starttls=true")

    assert (plain.username, plain.password, plain.port, plain.folder) == (
        "clinic@example.org", "p@ss", 143, "Replies In",
    )  # fmt: skip
    assert (secure.secure, secure.port, secure.folder, secure.starttls) == (
        True, 993, "INBOX", False,
    )  # fmt: skip
    assert (starttls.secure, starttls.starttls, starttls.port) == (False, True, 1143)
    with pytest.raises(ValueError):
        mailbox_settings("pop3://u:p@mail.example.org")


def test_the_periodic_task_reads_the_mailbox_then_hands_the_owners_notice_on(
    mailbox_app, dovecot, caplog
):
    ada = patient(mailbox_app)
    dovecot.append(email(to=ada.reply_to, body=SPANISH))
    with mailbox_app.app_context():
        assert sweep_replies.run() == {**NOTHING, "reply": 1}
        notice = db.session.scalars(db.select(Send).where(Send.cadence == "staff_reply")).one()
        assert notice.enqueued_at is not None  # handed to a delivery task

    dovecot.stop()
    with mailbox_app.app_context(), caplog.at_level(logging.WARNING):
        assert sweep_replies.run() == {"error": "reply mailbox unreadable: ConnectionRefusedError"}
    logged = " ".join(f"{record.getMessage()} {record.__dict__}" for record in caplog.records)
    assert "reply mailbox sweep failed" in logged
    for secret in ("s3cret", "byron", "llámenme", "replies+", str(dovecot.port)):
        assert secret not in logged.lower()
    assert len(thread(mailbox_app, ada.lead_id)) == 1


def test_a_reply_to_an_erased_lead_is_recorded_nowhere(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    with mailbox_app.app_context():
        db.session.get(Lead, ada.lead_id).erased_at = LATER - timedelta(hours=1)
        db.session.commit()
    dovecot.append(email(to=ada.reply_to, body="hola"))

    assert sweep(mailbox_app) == {**NOTHING, "unmatched": 1}
