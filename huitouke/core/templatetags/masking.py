"""Template filters that show personal data as the viewer may see it.

The view puts one `Masker` into the context (`masker`); every phone, email, address and buyer handle goes through these
filters. Without a Masker the value is masked: forgetting to pass one can never reveal data.

    {% load masking %}
    {{ customer.phone|phone_for:masker }}  {{ customer.email|email_for:masker }}  {{ customer|address_for:masker }}
    {{ identity.handle|handle_for:masker }}
"""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.core.pii import Masker

register = template.Library()

_MASKED = Masker(unmasked=False)


def _masker(value: Any) -> Masker:
    return value if isinstance(value, Masker) else _MASKED


def masked_address(obj: Any, masker: Masker) -> str:
    """Masker.street for anything with province, city and address attributes (a customer)."""
    return masker.street(
        province=str(getattr(obj, "province", "") or ""),
        city=str(getattr(obj, "city", "") or ""),
        address=str(getattr(obj, "address", "") or ""),
    )


@register.filter
def phone_for(value: Any, masker: Any = None) -> str:
    """The phone number as `masker` allows (masked without a masker)."""
    return _masker(masker).phone(str(value or ""))


@register.filter
def email_for(value: Any, masker: Any = None) -> str:
    """The email address as `masker` allows (masked without a masker)."""
    return _masker(masker).email(str(value or ""))


@register.filter
def handle_for(value: Any, masker: Any = None) -> str:
    """A buyer handle (or "platform:handle") as `masker` allows: an email or phone used as a handle is masked."""
    return _masker(masker).identifier(str(value or ""))


@register.filter
def address_for(obj: Any, masker: Any = None) -> str:
    """The street address of a customer (or anything with province/city/address) as `masker` allows."""
    return masked_address(obj, _masker(masker))


@register.filter
def free_address_for(value: Any, masker: Any = None) -> str:
    """A one-line address with no known region part (an order's delivery address) as `masker` allows."""
    return _masker(masker).address(str(value or ""))
