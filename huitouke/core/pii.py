"""Masking of personal data (pure functions, no ORM).

Agents and marketers see 138****5678, z***@example.com and 浙江省杭州市**** unless they hold `core.unmask_pii`;
identifiers that are contact data (a Shopify email or a phone used as a buyer handle, "shopify:a@b.com" as a
message address) are masked by the same rules (shopify:a***@b.com), and never become a display name.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

UNMASK_PERMISSION = "core.unmask_pii"
EXPORT_PERMISSION = "core.export_customers"


def mask_phone(value: str) -> str:
    """Keep the first three and last four digits of a phone number: 13812345678 -> 138****5678."""
    if not value:
        return ""
    digits = value.strip()
    if len(digits) <= 4:
        return "*" * len(digits)
    if len(digits) < 8:
        return digits[:1] + "*" * (len(digits) - 3) + digits[-2:]
    return digits[:3] + "****" + digits[-4:]


def mask_email(value: str) -> str:
    """Keep the first character of the local part and the domain: zhang@example.com -> z***@example.com."""
    if not value:
        return ""
    local, sep, domain = value.partition("@")
    if not sep:
        return local[:1] + "***"
    return f"{local[:1]}***@{domain}"


def mask_address(value: str, *, keep: str = "") -> str:
    """Keep the province/city part and hide the street: 浙江省杭州市西湖区文三路1号 -> 浙江省杭州市****.

    `keep` is the known region prefix (province + city); without it the first six characters are kept.
    """
    if not value:
        return ""
    prefix = keep if keep and value.startswith(keep) else value[: min(6, max(len(value) // 2, 1))]
    return prefix + "****"


#: An email address inside an identifier (a Shopify/WooCommerce handle, "shopify:a@b.com", a display name); a
#: cut-off one ("hwilson@") too.
_EMAIL_IN = re.compile(r"[^\s@:|;,<>()\[\]\"']+@[^\s@:|;,<>()\[\]\"']*")
#: A phone number inside an identifier: a run of at least PHONE_RUN digits, optionally after "+". Shorter runs
#: (a customer number, a year in a nickname) are not contact data. customers.selectors applies the same rule in
#: SQL (a handle containing "@" or PHONE_RUN digits in a row); keep the two in step.
PHONE_RUN = 7
_PHONE_IN = re.compile(rf"\+?[0-9]{{{PHONE_RUN},}}")


def is_contact_like(value: str) -> bool:
    """True when `value` holds contact data: an email address or a phone number (a run of PHONE_RUN digits)."""
    return bool(value) and ("@" in value or _PHONE_IN.search(value) is not None)


def mask_identifier(value: str) -> str:
    """An identifier (buyer handle, "platform:handle" address, display name) with the contact data in it masked by
    the phone and email rules: hwilson@yahoo.com -> h***@yahoo.com, shopify:ab@x.com -> shopify:a***@x.com,
    13812345678 -> 138****5678. Anything else (a 淘宝会员名, "id:1042") is returned as it is."""
    if not value or not is_contact_like(value):
        return value or ""
    masked = _EMAIL_IN.sub(lambda m: mask_email(m.group(0)), value)
    return _PHONE_IN.sub(lambda m: mask_phone(m.group(0)), masked)


def name_from_handle(handle: str, real_name: str = "") -> str:
    """The display name a new customer gets from their buyer handle: the handle itself (a 淘宝会员名), unless it is
    contact data (a Shopify email, a phone), which is no name to show to every role: then the real name when
    there is one, else the masked handle. Display names are shown unmasked everywhere, so they never hold
    contact data."""
    if not is_contact_like(handle):
        return handle
    return real_name if real_name and not is_contact_like(real_name) else mask_identifier(handle)


@dataclass(frozen=True)
class Masker:
    """Applies the masking rules for one viewer; `unmasked` is True for viewers allowed to see everything."""

    unmasked: bool

    def phone(self, value: str) -> str:
        return value if self.unmasked else mask_phone(value)

    def email(self, value: str) -> str:
        return value if self.unmasked else mask_email(value)

    def address(self, value: str, *, keep: str = "") -> str:
        return value if self.unmasked else mask_address(value, keep=keep)

    def identifier(self, value: str) -> str:
        """A buyer handle or display name: contact data in it (an email or phone used as a handle) is masked."""
        return value if self.unmasked else mask_identifier(value)

    def to_address(self, channel: str, value: str) -> str:
        """Where a message goes: a phone for SMS, an email for email, "platform:handle" (or a phone) for manual
        and platform messages (any contact data in it masked), a webhook URL for staff alerts."""
        if self.unmasked or not value:
            return value
        if channel == "sms":
            return mask_phone(value)
        if channel == "email":
            return mask_email(value)
        return mask_identifier(value)

    def street(self, *, province: str, city: str, address: str) -> str:
        """The street part of an address kept as province/city/street: shown whole, or as province + city +
        '****' when masked (province and city are shown on their own anyway, so nothing more is revealed)."""
        if self.unmasked or not address:
            return address
        keep = f"{province or ''}{city or ''}"
        return self.address(keep + address, keep=keep) if keep else "****"
