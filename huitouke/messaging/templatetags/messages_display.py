"""Template filters for send records: the address as the viewer may see it, and status badges."""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.core.pii import Masker
from huitouke.messaging.models import Message

register = template.Library()

_MASKED = Masker(unmasked=False)


@register.filter
def to_for(message: Any, masker: Any = None) -> str:
    """A message's address: phones and emails masked unless `masker` allows them (masked without one)."""
    m = masker if isinstance(masker, Masker) else _MASKED
    value = str(getattr(message, "to_address", "") or "")
    channel = getattr(message, "channel", "")
    if channel == "sms":
        return m.phone(value)
    if channel == "email":
        return m.email(value)
    return value


@register.filter
def status_label(status: str) -> str:
    """A message status code in the page's language."""
    return str(dict(Message.Status.choices).get(status, status))
