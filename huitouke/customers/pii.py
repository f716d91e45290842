"""Looking customers up by their encrypted contact data: equality of the keyed digests (core.pii_crypto).

Phone, email, real name and street address are stored encrypted, so SQL can only compare their digests. Every
lookup by a whole phone number, its last four digits, an email or a real name goes through these conditions.
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q

from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import DIGEST_FIELDS


def phone_match(phone: str) -> Q:
    """Customers whose phone is this whole number (spaces, dashes, +86 ignored), or this masked one as stored."""
    digest = pii_cipher().phone_digest(phone)
    return Q(phone_digest=digest) if digest else Q(pk__in=[])


def last4_match(digits: str) -> Q:
    """Customers whose phone ends with these four digits."""
    digest = pii_cipher().last4_digest(digits)
    return Q(phone_last4_digest=digest) if digest else Q(pk__in=[])


def email_match(email: str) -> Q:
    """Customers with this email (case ignored)."""
    digest = pii_cipher().email_digest(email)
    return Q(email_digest=digest) if digest else Q(pk__in=[])


def real_name_match(name: str) -> Q:
    """Customers with exactly this real name (case ignored)."""
    digest = pii_cipher().name_digest(name)
    return Q(real_name_digest=digest) if digest else Q(pk__in=[])


def digest_values(values: dict[str, Any]) -> dict[str, str]:
    """The digest columns that go with the encrypted values in `values` (for writes that bypass `save()`:
    `bulk_update`, `QuerySet.update`)."""
    cipher = pii_cipher()
    out: dict[str, str] = {}
    for field, digests in DIGEST_FIELDS.items():
        if field in values:
            for name in digests:
                kind = {"phone_digest": "phone", "phone_last4_digest": "last4"}.get(name, field.replace("real_", ""))
                out[name] = cipher.digest_of(kind, str(values[field] or ""))
    return out
