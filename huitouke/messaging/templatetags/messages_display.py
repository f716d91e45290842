"""Template filters for send records: the address as the viewer may see it, and status badges."""

from __future__ import annotations

from typing import Any

from django import template

from huitouke.core.pii import Masker

register = template.Library()

_MASKED = Masker(unmasked=False)


@register.filter
def to_for(message: Any, masker: Any = None) -> str:
    """A message's address as `masker` allows (Masker.to_address; masked without a masker): phones, emails and
    handles that are contact data ("shopify:a***@gmail.com") are masked."""
    m = masker if isinstance(masker, Masker) else _MASKED
    return m.to_address(str(getattr(message, "channel", "") or ""), str(getattr(message, "to_address", "") or ""))
