"""Date and date-time fields as plain text in the ISO order (2025-05-12, 2025-05-12 09:30).

A browser's own date picker shows its dates in the browser's language (mm/dd/yyyy in an English Chromium), not the
page's: a Chinese page would ask for 05/12/2025. These fields show the same year-month-day order on every page,
with a pattern the browser checks and an example as placeholder; the server parses the ISO forms as before.
A half-typed date does not match the pattern, and htmx checks a form before its live request: the live forms
wait until the date is complete instead of reporting it as wrong.
"""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

#: What the template inputs and the widgets below share.
DATE_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}"
DATETIME_PATTERN = r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}(:[0-9]{2})?"


class DateTextInput(forms.DateInput):
    """A date as YYYY-MM-DD text."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {
            "inputmode": "numeric",
            "pattern": DATE_PATTERN,
            "placeholder": _("e.g. 2025-05-12"),
            "maxlength": "10",
            "class": "date-input",
            "autocomplete": "off",
        }
        super().__init__(attrs={**base, **(attrs or {})}, format="%Y-%m-%d")


class DateTimeTextInput(forms.DateTimeInput):
    """A date and time as YYYY-MM-DD HH:MM text."""

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        base = {
            "pattern": DATETIME_PATTERN,
            "placeholder": _("e.g. 2025-05-12 09:30"),
            "maxlength": "19",
            "class": "date-input",
            "autocomplete": "off",
        }
        super().__init__(attrs={**base, **(attrs or {})}, format="%Y-%m-%d %H:%M")
