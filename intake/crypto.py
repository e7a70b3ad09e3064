"""Authenticated encryption of health answers with rotatable keys.

Each value is sealed with AES-256-GCM under the newest key. The stored token names the key it was
sealed with (``v1.<key id>.<nonce + ciphertext>``), so older keys keep opening older rows until
``intake crypto reencrypt`` moves them to the newest. The associated data binds a token to its row:
a ciphertext copied onto another inquiry fails to open rather than showing someone else's answers.
"""

from __future__ import annotations

import base64
import hashlib
import json
import os
from dataclasses import dataclass

from cryptography.hazmat.primitives.ciphers.aead import AESGCM

VERSION = "v1"


class InvalidKeyError(ValueError):
    """An encryption key is malformed."""


class DecryptionError(ValueError):
    """A token is damaged, bound to another row, or sealed with a key no longer configured."""


def generate_key() -> str:
    """A fresh 256-bit key in the form INTAKE_ENCRYPTION_KEYS takes."""
    return base64.urlsafe_b64encode(AESGCM.generate_key(bit_length=256)).decode().rstrip("=")


def _decode_key(text: str) -> bytes:
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
    except ValueError as exc:
        raise InvalidKeyError("an encryption key is not valid base64url") from exc
    if len(raw) != 32:
        raise InvalidKeyError(
            "each encryption key must be 32 bytes (run `intake crypto generate-key`)"
        )
    return raw


def key_id(raw: bytes) -> str:
    return hashlib.sha256(raw).hexdigest()[:12]


@dataclass(frozen=True)
class Keyring:
    """The configured keys, newest first; the first one seals, any of them opens."""

    keys: tuple[tuple[str, bytes], ...]

    @classmethod
    def from_config(cls, encoded: list[str]) -> Keyring:
        if not encoded:
            raise InvalidKeyError("at least one encryption key is needed")
        return cls(tuple((key_id(raw), raw) for raw in map(_decode_key, encoded)))

    @property
    def current_id(self) -> str:
        return self.keys[0][0]

    def seal(self, plaintext: bytes, *, context: str) -> str:
        kid, raw = self.keys[0]
        nonce = os.urandom(12)
        sealed = AESGCM(raw).encrypt(nonce, plaintext, context.encode())
        body = base64.urlsafe_b64encode(nonce + sealed).decode()
        return f"{VERSION}.{kid}.{body}"

    def open(self, token: str, *, context: str) -> bytes:
        try:
            version, kid, body = token.split(".", 2)
        except ValueError as exc:
            raise DecryptionError("not an encrypted value") from exc
        raw = dict(self.keys).get(kid)
        if version != VERSION or raw is None:
            raise DecryptionError(f"no configured key with id {kid}")
        blob = base64.urlsafe_b64decode(body)
        try:
            return AESGCM(raw).decrypt(blob[:12], blob[12:], context.encode())
        except Exception as exc:  # cryptography raises InvalidTag, kept opaque on purpose
            raise DecryptionError("the value failed its integrity check") from exc

    def seal_json(self, value, *, context: str) -> str:
        return self.seal(json.dumps(value, sort_keys=True).encode(), context=context)

    def open_json(self, token: str, *, context: str):
        return json.loads(self.open(token, context=context))

    def is_current(self, token: str) -> bool:
        return token.split(".", 2)[1:2] == [self.current_id]
