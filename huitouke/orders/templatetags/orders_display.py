"""Order-import values as a person reads them."""

from __future__ import annotations

from django import template

from huitouke.orders.forms import FORMAT_CHOICES

register = template.Library()


@register.filter
def format_label(code: str) -> str:
    """An import format code (taobao, generic …) by its name in the page's language."""
    return str(dict(FORMAT_CHOICES).get(code, code))
