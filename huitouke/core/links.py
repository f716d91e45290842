"""Short signed tokens for links that customers follow from a message (short enough for an SMS).

A token is a value in base 36 (letters and digits), a dot and the first 12 characters of its HMAC-SHA256
signature (django.core.signing with the secret key and a salt per kind of link): `1z.Ab3_kQ9xYw2L`. Pure of the
database; a forged or cut token reads as None.
"""

from __future__ import annotations

import re

from django.core import signing
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


def _signature(salt: str, value: str) -> str:
    return signing.Signer(salt=salt, algorithm="sha256").signature(value)[:SIGNATURE_CHARS]


def short_token(salt: str, value: str) -> str:
    """`value` (base-36 characters) signed under `salt`."""
    return f"{value}.{_signature(salt, value)}"


def short_token_value(salt: str, token: str) -> str | None:
    """The value a token signed under `salt` carries, or None when it is malformed or its signature is wrong."""
    match = _TOKEN.match(token or "")
    if not match or not constant_time_compare(match.group(2), _signature(salt, match.group(1))):
        return None
    return match.group(1)
