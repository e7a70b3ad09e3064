"""Health answers are sealed with AES-GCM under rotatable keys, bound to their row."""

from __future__ import annotations

import pytest

from intake.crypto import DecryptionError, InvalidKeyError, Keyring, generate_key
from intake.extensions import db, encryption
from intake.inquiries.answers import read_answers
from intake.inquiries.keys import reencrypt_batch
from intake.models import Inquiry
from tests.conftest import complete_inquiry


def test_a_sealed_value_opens_only_in_its_own_context():
    keyring = Keyring.from_config([generate_key()])
    token = keyring.seal_json({"edss": "6"}, context="inquiry-answers:a")

    assert keyring.open_json(token, context="inquiry-answers:a") == {"edss": "6"}
    with pytest.raises(DecryptionError):
        keyring.open_json(token, context="inquiry-answers:b")


def test_a_tampered_value_fails_its_integrity_check():
    keyring = Keyring.from_config([generate_key()])
    token = keyring.seal(b"secret", context="c")
    version, kid, body = token.split(".")
    flipped = body[:-6] + ("A" if body[-6] != "A" else "B") + body[-5:]
    with pytest.raises(DecryptionError):
        keyring.open(f"{version}.{kid}.{flipped}", context="c")


def test_old_keys_still_open_and_the_newest_seals():
    old, new = generate_key(), generate_key()
    token = Keyring.from_config([old]).seal(b"answers", context="c")
    rotated = Keyring.from_config([new, old])

    assert rotated.open(token, context="c") == b"answers"
    assert not rotated.is_current(token)
    assert rotated.is_current(rotated.seal(b"answers", context="c"))
    with pytest.raises(DecryptionError, match="no configured key"):
        Keyring.from_config([new]).open(token, context="c")


@pytest.mark.parametrize("key", ["", "short", generate_key()[:-4]])
def test_malformed_keys_are_refused(key):
    with pytest.raises(InvalidKeyError):
        Keyring.from_config([key])


def test_reencrypt_moves_every_stored_value_to_the_newest_key(app_factory):
    old = generate_key()
    before = app_factory(INTAKE_ENCRYPTION_KEYS=[old])
    complete_inquiry(before.test_client())

    after = app_factory(INTAKE_ENCRYPTION_KEYS=[generate_key(), old])
    with after.app_context():
        assert reencrypt_batch() == 2  # the answers and the triggered rules
        db.session.commit()
        assert reencrypt_batch() == 0
        inquiry = db.session.scalars(db.select(Inquiry)).one()
        assert encryption.keyring.is_current(inquiry.answers_sealed)
        assert read_answers(inquiry)["ms_type"] == "RRMS"
