"""Headers parsed once and shared between messages (``mail._HeaderClasses``) write the same bytes
as headers parsed afresh for each message, message after message."""

from __future__ import annotations

import random
from email import policy

from intake.messaging import mail
from intake.messaging.mail import Message

FRESH = policy.SMTP.clone(cte_type="7bit")  # the standard registry: every header parsed anew


def message(number: int) -> Message:
    spanish = number % 2 == 1
    return Message(
        recipient=f"patient{number}@example.org",
        subject="Tenemos su consulta, señora Muñoz" if spanish else "We have your inquiry",
        text="Hola, ñandú.\n" * (number % 3 + 1),
        html=f"<p>{'Gracias, ü' if spanish else 'Thank you'} {number}</p>",
        headers={
            "Date": "Tue, 03 Mar 2026 14:00:00 +0000",
            "Auto-Submitted": "auto-generated",
            "List-Unsubscribe": f"<https://intake.test/unsubscribe/t{number}>",
            "List-Unsubscribe-Post": "List-Unsubscribe=One-Click",
            "Reply-To": f"replies+t{number}@intake.test",
        },
        message_id=f"<{number:032d}@intake.test>",
    )


def wire(email) -> bytes:
    return email.as_bytes(policy=policy.SMTP)


def test_shared_headers_write_the_same_bytes_as_fresh_ones(ctx, monkeypatch):
    shared = []
    for number in range(6):
        random.seed(number)  # the same multipart boundary on both sides
        shared.append(wire(mail._build(message(number))))
    monkeypatch.setattr(mail, "WIRE_POLICY", FRESH)
    for number in range(6):
        random.seed(number)
        assert wire(mail._build(message(number))) == shared[number], number
    assert "=?utf-8?" in shared[1].decode()  # the Spanish subject, as encoded-words
