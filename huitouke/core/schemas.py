"""The base of every API request body: text without control characters, refused naming the field."""

from __future__ import annotations

from typing import Any

from ninja import Schema
from pydantic import field_validator

from huitouke.core.text import CONTROLS_MESSAGE, controls_in


class TextInput(Schema):
    """Base of request bodies: no field's text (nested lists and dicts included) holds a control character
    (`core.text`): PostgreSQL cannot store NUL, and XLSX exports cannot hold the others. The error names the
    field (422, the project's error shape)."""

    @field_validator("*", mode="after")
    @classmethod
    def _no_controls(cls, value: Any) -> Any:
        if controls_in(value):
            raise ValueError(CONTROLS_MESSAGE)
        return value
