"""The variables of canned replies and how a reply is filled from its context. Pure: no ORM, no settings.

A reply is text with `{variable}` placeholders (`{{`/`}}` for literal braces, as in messaging templates). Its
values come from the live context of the ticket, customer and order at the moment of use (never stored with the
reply). A reply whose variable has no non-blank value is refused: `fill` returns no text and names what is
missing, so that the agent types the value in or picks another reply. Nothing blank can go out.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass

from huitouke.messaging.rendering import TemplateTextError, parse

#: The variables a canned reply may use, in the order the editor lists them.
REPLY_VARIABLES = (
    "name",
    "nick",
    "shop",
    "order_no",
    "items",
    "carrier",
    "tracking_no",
    "refund_amount",
    "agent",
    "ticket_no",
    "self_service_link",
)

#: The longest value an agent may type into a fill-in field.
VALUE_MAX = 500

__all__ = ["REPLY_VARIABLES", "VALUE_MAX", "Filled", "TemplateTextError", "fill", "placeholders_left", "variables_of"]


@dataclass(frozen=True)
class Filled:
    """A filled reply: `text` is None while `missing` names variables without a value."""

    text: str | None
    missing: tuple[str, ...] = ()


def variables_of(body: str) -> tuple[str, ...]:
    """The variables a reply uses, each once, in order of first appearance. Raises TemplateTextError (with the
    position) for a stray brace or a variable that is not one of REPLY_VARIABLES."""
    seen: dict[str, None] = {}
    for is_var, value in parse(body, known=REPLY_VARIABLES):
        if is_var:
            seen.setdefault(value, None)
    return tuple(seen)


def _clean(value: object) -> str:
    return "" if value is None else str(value).strip()


def fill(body: str, context: Mapping[str, object], values: Mapping[str, object] | None = None) -> Filled:
    """Fill the reply's variables: what the agent typed (`values`) first, then the context. Any variable left
    without a non-blank value is reported in `missing` (in order of appearance) and no text is returned."""
    typed = values or {}
    out: list[str] = []
    missing: dict[str, None] = {}
    for is_var, part in parse(body, known=REPLY_VARIABLES):
        if not is_var:
            out.append(part)
            continue
        value = _clean(typed.get(part)) or _clean(context.get(part))
        if value:
            out.append(value)
        else:
            missing.setdefault(part, None)
    if missing:
        return Filled(text=None, missing=tuple(missing))
    return Filled(text="".join(out))


_PLACEHOLDER = re.compile(r"(?<!\{)\{\s*(" + "|".join(REPLY_VARIABLES) + r")\s*\}(?!\})")


def placeholders_left(text: str) -> tuple[str, ...]:
    """Variables of the library still standing as `{placeholder}` in a text about to be sent (an agent edited a
    reply by hand): such a text would reach the customer with a hole in it."""
    seen: dict[str, None] = {}
    for m in _PLACEHOLDER.finditer(text):
        seen.setdefault(m.group(1), None)
    return tuple(seen)
