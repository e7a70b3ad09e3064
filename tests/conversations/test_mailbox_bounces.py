"""Bounces in the reply mailbox (RFC 3464 delivery status notifications, as Postfix writes them)
suppress the address that failed for good and are recorded on the lead whose email bounced."""

from __future__ import annotations

from intake.extensions import db
from intake.messaging.unsubscribe import is_suppressed
from intake.models import ConversationMessage, Lead, Suppression
from tests.conversations.conftest import count, patient, sends_of, sweep, thread
from tests.factories import make_send, make_staff

BOUNCE = """\
From: MAILER-DAEMON@mx.example.org (Mail Delivery System)
To: no-reply@intake.local
Subject: Undelivered Mail Returned to Sender
Message-ID: <{report_id}@mx.example.org>
Date: Tue,  3 Mar 2026 14:05:00 +0000 (UTC)
Auto-Submitted: auto-replied
MIME-Version: 1.0
Content-Type: multipart/report; report-type=delivery-status;
	boundary="B7A2B1C0D9.1772546700/mx.example.org"

This is a MIME-encapsulated message.

--B7A2B1C0D9.1772546700/mx.example.org
Content-Description: Notification
Content-Type: text/plain; charset=us-ascii

This is the mail system at host mx.example.org.

I'm sorry to have to inform you that your message could not
be delivered to one or more recipients.

<{recipient}>: host mail.example.org[192.0.2.25] said: 550 5.1.1
    <{recipient}>: Recipient address rejected: User unknown

--B7A2B1C0D9.1772546700/mx.example.org
Content-Description: Delivery report
Content-Type: message/delivery-status

Reporting-MTA: dns; mx.example.org
X-Postfix-Queue-ID: B7A2B1C0D9
X-Postfix-Sender: rfc822; no-reply@intake.local
Arrival-Date: Tue,  3 Mar 2026 14:00:00 +0000 (UTC)

Final-Recipient: rfc822; {recipient}
Original-Recipient: rfc822;{recipient}
Action: {action}
Status: {status}
Remote-MTA: dns; mail.example.org
Diagnostic-Code: smtp; 550 5.1.1 <{recipient}>: Recipient address rejected: User
    unknown

--B7A2B1C0D9.1772546700/mx.example.org
Content-Description: Undelivered Message Headers
Content-Type: {returned_type}

{returned}
--B7A2B1C0D9.1772546700/mx.example.org--
"""


def bounce(
    *, report_id: str, recipient: str, returned: str, action="failed", status="5.1.1",
    returned_type="text/rfc822-headers",
) -> bytes:  # fmt: skip
    text = BOUNCE.format(
        report_id=report_id, recipient=recipient, returned=returned, action=action,
        status=status, returned_type=returned_type,
    )  # fmt: skip
    return text.replace("\n", "\r\n").encode()


def test_a_bounce_suppresses_the_address_and_is_recorded_on_the_lead(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    with mailbox_app.app_context():  # the confirmation is on the thread, as staff-written mail is
        outgoing = ConversationMessage(
            lead_id=ada.lead_id, direction="out", channel="email", kind="message",
            send_id=ada.send_id,
        )  # fmt: skip
        db.session.add(outgoing)
        db.session.commit()
        outgoing_id = outgoing.id
    report = bounce(report_id="r1", recipient="ada.byron@example.org", returned=ada.headers)
    dovecot.append(report)

    assert sweep(mailbox_app)["bounce"] == 1
    assert sweep(mailbox_app)["bounce"] == 0
    with mailbox_app.app_context():
        assert is_suppressed("Ada.Byron@example.org")
    assert thread(mailbox_app, ada.lead_id)[1:] == [
        ("bounce", "Undelivered Mail Returned to Sender", None, outgoing_id)
    ]
    # A bounce is no reply: the cadence goes on (the suppression stops its emails at send time).
    assert sends_of(mailbox_app, ada.lead_id)["nurture"] == ["scheduled", "scheduled"]


def test_a_delayed_delivery_suppresses_nothing(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    dovecot.append(
        bounce(report_id="r2", recipient="ada.byron@example.org", returned=ada.headers,
               action="delayed", status="4.4.1"),
        bounce(report_id="r3", recipient="ada.byron@example.org", returned=ada.headers,
               action="failed", status="4.4.7"),
    )  # fmt: skip

    assert sweep(mailbox_app)["bounce"] == 2
    assert count(mailbox_app, Suppression) == 0


def test_a_returned_whole_message_names_the_lead_too(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    whole = f"{ada.headers}Content-Type: text/plain; charset=utf-8\n\nHola Ada\n"
    dovecot.append(
        bounce(report_id="r4", recipient="ada.byron@example.org", returned=whole,
               returned_type="message/rfc822")
    )  # fmt: skip

    sweep(mailbox_app)
    assert [row[0] for row in thread(mailbox_app, ada.lead_id)] == ["bounce"]
    with mailbox_app.app_context():
        assert is_suppressed("ada.byron@example.org")


def test_a_staff_email_bounce_is_suppressed_and_on_no_patients_thread(mailbox_app, dovecot):
    ada = patient(mailbox_app)
    with mailbox_app.app_context():
        staff = make_staff(email="casey@clinic.example")
        send = make_send("staff_new_lead", lead=db.session.get(Lead, ada.lead_id),
                         staff=staff)  # fmt: skip
        send.status, send.message_id = "sent", "<staff-notice@intake.local>"
        db.session.commit()
    returned = "To: casey@clinic.example\nMessage-ID: <staff-notice@intake.local>\n"
    dovecot.append(bounce(report_id="r5", recipient="casey@clinic.example", returned=returned))

    assert sweep(mailbox_app)["bounce"] == 1
    assert thread(mailbox_app, ada.lead_id) == []
    with mailbox_app.app_context():
        assert is_suppressed("casey@clinic.example")


def test_a_bounce_found_only_by_the_reply_address_suppresses_only_that_leads_address(
    mailbox_app, dovecot
):
    ada = patient(mailbox_app)
    returned = f"To: someone@example.org\nReply-To: {ada.reply_to}\nMessage-ID: <unknown@x>\n"
    dovecot.append(
        bounce(report_id="r6", recipient="ada.byron@example.org", returned=returned),
        bounce(report_id="r7", recipient="someone.else@example.org", returned=returned),
    )

    assert sweep(mailbox_app)["bounce"] == 2
    with mailbox_app.app_context():
        assert is_suppressed("ada.byron@example.org")
        assert not is_suppressed("someone.else@example.org")


def test_a_bounce_of_nothing_we_sent_is_recorded_nowhere_and_suppresses_nothing(
    mailbox_app, dovecot
):
    returned = "To: ada.byron@example.org\nMessage-ID: <not-ours@example.org>\n"
    dovecot.append(bounce(report_id="r8", recipient="ada.byron@example.org", returned=returned))

    assert sweep(mailbox_app)["unmatched"] == 1
    assert count(mailbox_app, Suppression) == 0
    assert count(mailbox_app, ConversationMessage) == 0
