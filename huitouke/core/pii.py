"""Masking of personal data (pure functions, no ORM).

Agents and marketers see 138****5678, z***@example.com and 浙江省杭州市**** unless they hold `core.unmask_pii`.
"""

from __future__ import annotations

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

    def street(self, *, province: str, city: str, address: str) -> str:
        """The street part of an address kept as province/city/street: shown whole, or as province + city +
        '****' when masked (province and city are shown on their own anyway, so nothing more is revealed)."""
        if self.unmasked or not address:
            return address
        keep = f"{province or ''}{city or ''}"
        return self.address(keep + address, keep=keep) if keep else "****"
