"""Personal data at rest: encryption of contact data and the keyed digests that keep it searchable (pure, no ORM).

A customer's phone, email, real name and street address are stored as tokens of AES-256-GCM (from
`cryptography`, a fresh random nonce per value: two equal values give different tokens). The delivery details an
order keeps (receiver name, phone, address) use AES-SIV instead, which gives equal tokens for equal values under one
key: the import compares an order's stored values with a file's in SQL and must see "unchanged".

`PiiCipher` holds a ring of keys (HUITOUKE_PII_KEYS, 32-byte url-safe base64 keys as `Fernet.generate_key()` prints
them): the first one encrypts, every one decrypts, and each token names its key (8 hex characters of a hash of it),
so keys are rotated by putting a new key first, re-encrypting (`huitouke pii-rekey`) and then dropping the old one.
Compared with Fernet (what channel secrets use) a token is about half as long (66 characters for a phone against
100) and names its key, and the SIV mode gives what Fernet cannot (equal tokens); the cost per value is of the same
order, a few microseconds (benchmarks/pii_crypto.py prints both).

Token: ``pii1:<key id>:<base64(nonce + ciphertext)>`` (GCM) or ``piis:<key id>:<base64(ciphertext)>`` (SIV); base64
holds no tab, newline, backslash or "*", so tokens pass through COPY text and `LIKE '%*%'` unchanged.
A value holding "*" (a phone masked by a platform export, 138****5678, kept but never used to send) is stored with a
leading "*" before its token, so that SQL can still tell a masked phone from a usable one (`LIKE '%*%'`).

What search needs is stored beside the token as a keyed digest (HMAC-SHA256 under a separate hash key, cut to 128
bits): the normalised whole phone, its last four digits, the lower-case email and the real name. A digest answers
"equal?" and nothing else, so search by these is exact (no prefixes) and fast (an index on the digest column).

A value that is not a token is read back as it is: rows written before encryption was introduced stay readable,
and `pii-rekey` encrypts them.

No Django here: the import's parsing child process and the demo generator seal values with a `PiiCipher` they
were handed (it pickles as its keys).
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import os
import re
from collections.abc import Sequence

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM, AESSIV

#: The beginnings of the two kinds of token (random: GCM; fixed: SIV).
TOKEN_MARK = "pii1:"
FIXED_MARK = "piis:"
#: Put before the token of a value that holds "*" (a masked value).
MASKED_MARK = "*"
#: The digests stored per customer, by column.
DIGEST_KINDS = ("phone", "last4", "email", "name")
DIGEST_LENGTH = 32
_NONCE = 12

_PHONE_JUNK = re.compile(r"[\s\-()]")


class PiiKeyError(Exception):
    """A stored value cannot be decrypted with any configured key (HUITOUKE_PII_KEYS lost a key still in use)."""


def phone_normal(value: str) -> str:
    """The phone number as the archive compares it: spaces, dashes and brackets removed, a +86 prefix dropped."""
    phone = _PHONE_JUNK.sub("", value or "")
    return phone[3:] if phone.startswith("+86") else phone


def phone_last4(value: str) -> str:
    """The last four digits of a phone ('' when it has fewer, or when they are masked)."""
    tail = phone_normal(value)[-4:]
    return tail if len(tail) == 4 and tail.isdigit() else ""


def is_sealed(value: str) -> bool:
    """Whether a stored value is a token (masked or not) rather than clear text."""
    return bool(value) and value.removeprefix(MASKED_MARK).startswith((TOKEN_MARK, FIXED_MARK))


def _key_bytes(key: bytes | str) -> bytes:
    raw = key.encode() if isinstance(key, str) else key
    try:
        decoded = base64.urlsafe_b64decode(raw)
    except (binascii.Error, ValueError) as exc:
        raise ValueError("a personal-data key must be 32 bytes in url-safe base64 (Fernet.generate_key())") from exc
    if len(decoded) != 32:
        raise ValueError("a personal-data key must be 32 bytes in url-safe base64 (Fernet.generate_key())")
    return decoded


def _b64(data: bytes) -> str:
    return binascii.b2a_base64(data, newline=False).decode()


def _unb64(text: str) -> bytes:
    return binascii.a2b_base64(text)


class _Key:
    """One key of the ring: its id, its GCM cipher and its SIV cipher (a key derived from it)."""

    def __init__(self, key: bytes | str) -> None:
        raw = _key_bytes(key)
        self.id = hashlib.sha256(b"huitouke pii key id\x00" + raw).hexdigest()[:8]
        self.gcm = AESGCM(raw)
        self.siv = AESSIV(hashlib.sha512(b"huitouke pii siv\x00" + raw).digest())


class PiiCipher:
    """Seals and opens personal data and computes its search digests with one ring of keys.

    `keys`: the first encrypts and all decrypt; `hash_key`: the HMAC key of the digests."""

    def __init__(self, keys: Sequence[bytes | str], hash_key: bytes | str) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self.keys = tuple(k.encode() if isinstance(k, str) else k for k in keys)
        self.hash_key = hash_key.encode() if isinstance(hash_key, str) else hash_key
        ring = [_Key(k) for k in self.keys]
        self._first = ring[0]
        self._ring = {}
        for k in reversed(ring):  # the first of equal ids wins
            self._ring[k.id] = k

    def __reduce__(self) -> tuple[type[PiiCipher], tuple[tuple[bytes, ...], bytes]]:
        return (PiiCipher, (self.keys, self.hash_key))

    def seal(self, value: str) -> str:
        """The stored form of `value` (GCM, random nonce) under the first key; '' stays '' (so "is it set?" needs no
        key); a token is returned as it is."""
        if not value or self._is_token(value):
            return value or ""
        nonce = os.urandom(_NONCE)
        token = f"{TOKEN_MARK}{self._first.id}:{_b64(nonce + self._first.gcm.encrypt(nonce, value.encode(), None))}"
        return MASKED_MARK + token if MASKED_MARK in value else token

    def seal_fixed(self, value: str) -> str:
        """The stored form of `value` (SIV: the same token for the same value and key) under the first key."""
        if not value or self._is_token(value):
            return value or ""
        token = f"{FIXED_MARK}{self._first.id}:{_b64(self._first.siv.encrypt(value.encode(), None))}"
        return MASKED_MARK + token if MASKED_MARK in value else token

    def _is_token(self, value: str) -> bool:
        """A value sealed already (by a bulk path that seals before the field would): one this ring opens. Text
        that merely looks like a token (a name typed as "pii1:…") is sealed like any other."""
        if not is_sealed(value):
            return False
        try:
            self.open(value)
        except PiiKeyError:
            return False
        return True

    def open(self, stored: str) -> str:
        """The clear value of a stored one; clear text stored before encryption is returned as it is."""
        if not is_sealed(stored):
            return stored or ""
        token = stored.removeprefix(MASKED_MARK)
        mark, key_id, body = token[:5], token[5:13], token[14:]
        key = self._ring.get(key_id)
        if key is None:
            raise PiiKeyError(
                f"stored personal data was encrypted with key {key_id}, which is not in HUITOUKE_PII_KEYS"
                " (or the secret key changed)"
            )
        try:
            data = _unb64(body)
            if mark == FIXED_MARK:
                return key.siv.decrypt(data, None).decode()
            return key.gcm.decrypt(data[:_NONCE], data[_NONCE:], None).decode()
        except (InvalidTag, ValueError, binascii.Error) as exc:
            raise PiiKeyError(f"stored personal data under key {key_id} cannot be decrypted (damaged?)") from exc

    def reseal(self, stored: str) -> str:
        """`stored` under the first key, of the same kind (a token under an older key re-encrypted, clear text
        encrypted with GCM)."""
        if not stored:
            return ""
        if self.is_current(stored):
            return stored
        fixed = stored.removeprefix(MASKED_MARK).startswith(FIXED_MARK)
        clear = self.open(stored)
        return self.seal_fixed(clear) if fixed else self.seal(clear)

    def reseal_fixed(self, stored: str) -> str:
        """`stored` as an SIV token under the first key (clear text or a token under an older key)."""
        if not stored:
            return ""
        if self.is_current(stored) and stored.removeprefix(MASKED_MARK).startswith(FIXED_MARK):
            return stored
        return self.seal_fixed(self.open(stored))

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is a token under the first key (nothing for `pii-rekey` to do)."""
        if not is_sealed(stored):
            return not stored
        return stored.removeprefix(MASKED_MARK)[5:13] == self._first.id

    def digest(self, kind: str, value: str) -> str:
        """The keyed digest of an already normalised value ('' for an empty one)."""
        if not value:
            return ""
        mac = hmac.new(self.hash_key, kind.encode() + b"\x00" + value.encode(), hashlib.sha256)
        return mac.hexdigest()[:DIGEST_LENGTH]

    def phone_digest(self, phone: str) -> str:
        """Digest of a whole phone number (a masked one as it is stored: 138****5678 finds that stored value)."""
        return self.digest("phone", phone_normal(phone))

    def last4_digest(self, phone: str) -> str:
        return self.digest("last4", phone_last4(phone))

    def email_digest(self, email: str) -> str:
        return self.digest("email", (email or "").strip().lower())

    def name_digest(self, name: str) -> str:
        return self.digest("name", (name or "").strip().casefold())

    def digest_of(self, kind: str, value: str) -> str:
        """The digest of one of DIGEST_KINDS of a clear value, normalised by that kind's rule."""
        match kind:
            case "phone":
                return self.phone_digest(value)
            case "last4":
                return self.last4_digest(value)
            case "email":
                return self.email_digest(value)
            case "name":
                return self.name_digest(value)
        raise ValueError(f"unknown digest kind {kind!r}")

    def digests(self, *, phone: str, email: str, real_name: str) -> tuple[str, str, str, str]:
        """The four search digests of a customer, in DIGEST_KINDS order."""
        return (
            self.phone_digest(phone),
            self.last4_digest(phone),
            self.email_digest(email),
            self.name_digest(real_name),
        )
