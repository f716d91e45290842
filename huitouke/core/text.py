"""Text the archive accepts: no control characters (#14 item 7).

A tag or name holding `\\x0b` or `\\x07` made every XLSX export fail (XML 1.0, and so XLSX, cannot hold C0
control characters but tab, LF and CR), and NUL cannot be stored by PostgreSQL at all. Lone surrogates cannot be
encoded as UTF-8, and U+FFFE/U+FFFF are not characters in XML either. This module is the one place that knows
which characters those are:

- `TextInput` (core.schemas) refuses them in every API body, naming the field;
- `ControlCharacterMiddleware` (core.middleware) strips them from every form post;
- the import parsers strip them from every cell (`strip_controls`);
- the XLSX exporters write `sheet_cells(row)`, so what is already stored never breaks an export.

Pure: no Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

#: the characters no text may hold
CONTROLS = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
#: why a text is refused (the API's message, next to the field)
CONTROLS_MESSAGE = "must not contain control characters (such as NUL, \\x07 or \\x0b)"


def has_controls(value: str) -> bool:
    """Whether `value` holds a character no text may hold."""
    return CONTROLS.search(value) is not None


def strip_controls(value: str) -> str:
    """`value` without the characters no text may hold (the same string when it has none: one scan)."""
    return CONTROLS.sub("", value) if CONTROLS.search(value) is not None else value


def controls_in(value: Any) -> bool:
    """Whether a JSON-like value (text, or lists and dicts of them, keys included) holds such a character."""
    if isinstance(value, str):
        return CONTROLS.search(value) is not None
    if isinstance(value, dict):
        return any(controls_in(k) or controls_in(v) for k, v in value.items())
    if isinstance(value, list | tuple | set | frozenset):
        return any(controls_in(v) for v in value)
    return False


def sheet_cells(row: Iterable[Any]) -> list[Any]:
    """A row for a spreadsheet: text cells without the characters XML cannot hold, everything else as it is."""
    return [strip_controls(v) if type(v) is str else v for v in row]
