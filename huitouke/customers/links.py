"""The customer's own preferences page (what they want to hear about) as a short signed link, which every
marketing message carries and agents can send from the 360 page. The page itself belongs to `audiences`."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse

from huitouke.core.links import ShortSigner, b36, short_token, short_token_value

PREFERENCES_SALT = "huitouke.customers.preferences"


def preferences_token(customer_id: int, signer: ShortSigner | None = None) -> str:
    """The signed token of one customer's preferences page (about 15 characters); `signer`: one made with
    `preferences_signer()` for many tokens."""
    if signer is None:
        return short_token(PREFERENCES_SALT, b36(customer_id))
    return signer.sign(b36(customer_id))


def preferences_signer() -> ShortSigner:
    return ShortSigner(PREFERENCES_SALT)


def preferences_customer_id(token: str) -> int | None:
    """The customer a preferences token was made for; None for a malformed or forged one."""
    value = short_token_value(PREFERENCES_SALT, token)
    return int(value, 36) if value is not None else None


def preferences_url(customer_id: int) -> str:
    """The full link (HUITOUKE_PUBLIC_URL + /p/<token>/), in its shortest form."""
    return settings.HUITOUKE_PUBLIC_URL + reverse("preferences-link", args=[preferences_token(customer_id)])
