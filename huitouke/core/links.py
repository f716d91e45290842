"""Short signed tokens for links that customers follow from a message (short enough for an SMS).

A token is a value in base 36 (letters and digits), a dot and the first 12 characters of its HMAC-SHA256
signature as django.core.signing.Signer computes it (the secret key and a salt per kind of link):
`1z.Ab3_kQ9xYw2L`. A forged or cut token reads as None.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re

from django.conf import settings
from django.utils.crypto import constant_time_compare

SIGNATURE_CHARS = 12
_TOKEN = re.compile(r"^([0-9a-z]{1,14})\.([A-Za-z0-9_-]{12})$")
_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


def b36(n: int) -> str:
    """A non-negative integer in base 36 (lower case)."""
    if n < 0:
        raise ValueError("b36 takes a non-negative integer")
    out = ""
    while True:
        n, r = divmod(n, 36)
        out = _DIGITS[r] + out
        if n == 0:
            return out


class ShortSigner:
    """Signs and reads the tokens of one kind of link. The key is derived once (an enqueue of many marketing
    messages signs two tokens per message: keep one signer for the whole batch)."""

    def __init__(self, salt: str) -> None:
        self.key = hashlib.sha256(f"{salt}signer".encode() + settings.SECRET_KEY.encode()).digest()

    def signature(self, value: str) -> str:
        digest = hmac.digest(self.key, value.encode(), "sha256")
        return base64.urlsafe_b64encode(digest)[:SIGNATURE_CHARS].decode()

    def sign(self, value: str) -> str:
        """`value` (base-36 characters) with its signature."""
        return f"{value}.{self.signature(value)}"

    def value(self, token: str) -> str | None:
        """The value a token carries, or None when it is malformed or its signature is wrong."""
        match = _TOKEN.match(token or "")
        if not match or not constant_time_compare(match.group(2), self.signature(match.group(1))):
            return None
        return match.group(1)


def short_token(salt: str, value: str) -> str:
    return ShortSigner(salt).sign(value)


def short_token_value(salt: str, token: str) -> str | None:
    return ShortSigner(salt).value(token)
