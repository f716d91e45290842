"""Personal data at rest: encryption of contact data and the keyed digests that keep it searchable (pure, no ORM).

A customer's phone, email, real name and street address are stored as Fernet tokens (AES-128-CBC + HMAC-SHA256,
from `cryptography`). `PiiCipher` holds the keys: the first one encrypts, every one decrypts, so keys are rotated by
putting a new key first, re-encrypting (`huitouke pii-rekey`) and then dropping the old one.

What search needs is stored beside the token as a keyed digest (HMAC-SHA256 under a separate hash key, cut to 128
bits): the normalised whole phone, its last four digits, the lower-case email and the real name. A digest answers
"equal?" and nothing else, so search by these is exact (no prefixes) and fast (an index on the digest column).

A value holding "*" (a phone masked by a platform export, 138****5678, kept but never used to send) is stored with
a leading "*" before its token, so that SQL can still tell a masked phone from a usable one (`LIKE '*%'`).

A value that is not a Fernet token is read back as it is: rows written before encryption was introduced (or by a
bulk path that stored clear text) stay readable, and `pii-rekey` encrypts them.

No Django here: the import's parsing child process and the demo generator seal values with a `PiiCipher` they
were handed (it pickles as its keys).
"""

from __future__ import annotations

import hashlib
import hmac
import re
from collections.abc import Sequence

from cryptography.fernet import Fernet, InvalidToken, MultiFernet

#: Every Fernet token starts with these characters (version byte 0x80 and the high bytes of a timestamp).
TOKEN_MARK = "gAAAAA"
#: Put before the token of a value that holds "*" (a masked value).
MASKED_MARK = "*"
#: The digests stored per customer, by column.
DIGEST_KINDS = ("phone", "last4", "email", "name")
DIGEST_LENGTH = 32

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
    return bool(value) and value.startswith((TOKEN_MARK, MASKED_MARK + TOKEN_MARK))


class PiiCipher:
    """Seals and opens personal data and computes its search digests with one set of keys.

    `keys`: Fernet keys, the first encrypts and all decrypt; `hash_key`: the HMAC key of the digests."""

    def __init__(self, keys: Sequence[bytes | str], hash_key: bytes | str) -> None:
        if not keys:
            raise ValueError("at least one encryption key is needed")
        self.keys = tuple(k.encode() if isinstance(k, str) else k for k in keys)
        self.hash_key = hash_key.encode() if isinstance(hash_key, str) else hash_key
        self._fernet = MultiFernet([Fernet(k) for k in self.keys])

    def __reduce__(self) -> tuple[type[PiiCipher], tuple[tuple[bytes, ...], bytes]]:
        return (PiiCipher, (self.keys, self.hash_key))

    def seal(self, value: str) -> str:
        """The stored form of `value`: a token under the first key; '' stays '' (so "is it set?" needs no key)."""
        if not value or is_sealed(value):
            return value or ""
        token = self._fernet.encrypt(value.encode()).decode()
        return MASKED_MARK + token if MASKED_MARK in value else token

    def open(self, stored: str) -> str:
        """The clear value of a stored one; clear text stored before encryption is returned as it is."""
        if not is_sealed(stored):
            return stored or ""
        try:
            return self._fernet.decrypt(stored.removeprefix(MASKED_MARK).encode()).decode()
        except InvalidToken as exc:
            raise PiiKeyError(
                "stored personal data cannot be decrypted: a key in use was removed from HUITOUKE_PII_KEYS"
                " (or the secret key changed)"
            ) from exc

    def reseal(self, stored: str) -> str:
        """`stored` under the first key (a token under an older key re-encrypted, clear text encrypted)."""
        if not stored:
            return ""
        if not is_sealed(stored):
            return self.seal(stored)
        if self.is_current(stored):
            return stored
        return self.seal(self.open(stored))

    def is_current(self, stored: str) -> bool:
        """Whether `stored` is a token the first key decrypts (nothing for `pii-rekey` to do)."""
        if not is_sealed(stored):
            return not stored
        try:
            Fernet(self.keys[0]).decrypt(stored.removeprefix(MASKED_MARK).encode())
        except InvalidToken:
            return False
        return True

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
