"""Secrets at rest: integration secrets are stored encrypted (Fernet: AES-128-CBC with
HMAC-SHA256) under a key derived from `STRATA_SECRET_KEY`, and never returned."""

import base64
import hashlib

from cryptography.fernet import Fernet, InvalidToken


class SecretKeyMismatch(RuntimeError):
    """A stored secret does not decrypt: STRATA_SECRET_KEY changed since it was saved."""


class SecretBox:
    def __init__(self, key: str) -> None:
        if len(key) < 16:
            raise ValueError("the secret key must be at least 16 characters")
        # Any passphrase works: Fernet wants 32 url-safe base64 bytes, so derive them.
        derived = hashlib.sha256(b"strata-secrets:" + key.encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(derived))

    def seal(self, plaintext: str | None) -> bytes | None:
        return None if plaintext is None else self._fernet.encrypt(plaintext.encode())

    def open(self, token: bytes | None) -> str | None:
        if token is None:
            return None
        try:
            return self._fernet.decrypt(token).decode()
        except InvalidToken:
            raise SecretKeyMismatch(
                "a stored integration secret cannot be decrypted: STRATA_SECRET_KEY is not "
                "the key it was saved with"
            ) from None
