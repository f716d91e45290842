"""Formatting of analytics table cells by column kind."""

from __future__ import annotations

from datetime import date
from decimal import Decimal
from typing import Any

from django import template
from django.contrib.humanize.templatetags.humanize import intcomma

register = template.Library()


@register.filter
def cell(value: Any, kind: str) -> str:
    """A cell as the page shows it: — for nothing, thousands separators, ¥ for money, % for shares."""
    if value is None or value == "":
        return "—"
    if kind == "int":
        return str(intcomma(int(value)))
    if kind == "money":
        return "¥" + str(intcomma(f"{Decimal(value):.2f}"))
    if kind == "percent":
        return f"{float(value) * 100:.1f}%"
    if kind == "number":
        number = float(value)
        return str(intcomma(int(number))) if number == int(number) and abs(number) >= 100 else f"{number:.2f}"
    if kind == "days":
        return f"{float(value):.1f}"
    if kind == "date" and isinstance(value, date):
        return value.isoformat()
    return str(value)
