"""Template text with {variables}, and SMS length counting. Pure: no ORM, no settings.

A template is plain text in which `{name}` stands for a variable and `{{` / `}}` for literal braces. Rendering
never leaves a blank where a variable was: a variable the context lacks (or gives as empty) makes the result
report it in `missing`, and the caller suppresses the message (reason `missing_variable`).

SMS in China are counted per character (a Chinese character, a letter and a space count one each; characters
outside the Basic Multilingual Plane, such as emoji, count two): up to 70 is one message; a longer text is
split into parts of 67. The signature the gateway puts in front (【店名】) counts too.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

#: The variables templates may use, in the order the editor lists them.
VARIABLES = (
    "name",
    "nick",
    "shop",
    "level",
    "order_no",
    "product",
    "amount",
    "tracking_no",
    "carrier",
    "coupon",
    "date",
    "link",
)

SMS_SINGLE = 70
SMS_PART = 67
UNSUBSCRIBE_HINT = "回T退订"
UNSUBSCRIBE_HINT_EN = "Reply T to opt out"

_NAME = re.compile(r"[a-z_][a-z0-9_]*")


class TemplateTextError(ValueError):
    """The text is not a valid template: an unclosed or stray brace, or an unknown variable."""

    def __init__(self, message: str, *, position: int, variable: str = "") -> None:
        super().__init__(message)
        self.message = message
        self.position = position
        self.variable = variable


@dataclass(frozen=True)
class Rendered:
    text: str
    missing: tuple[str, ...] = ()

    @property
    def ok(self) -> bool:
        return not self.missing


def parse(text: str, *, known: tuple[str, ...] | None = VARIABLES) -> list[tuple[bool, str]]:
    """The template as (is_variable, text) parts. `known=None` accepts any well-formed variable name.

    Raises TemplateTextError naming the position (0-based) of the first problem."""
    parts: list[tuple[bool, str]] = []
    literal: list[str] = []
    i, n = 0, len(text)
    while i < n:
        ch = text[i]
        if ch == "{":
            if i + 1 < n and text[i + 1] == "{":
                literal.append("{")
                i += 2
                continue
            end = text.find("}", i + 1)
            if end < 0:
                raise TemplateTextError(f"unclosed {{ at position {i}", position=i)
            name = text[i + 1 : end].strip()
            if not _NAME.fullmatch(name):
                raise TemplateTextError(f"{{{name}}} at position {i} is not a variable name", position=i)
            if known is not None and name not in known:
                raise TemplateTextError(
                    f"unknown variable {{{name}}} at position {i}; use one of {', '.join(known)}",
                    position=i,
                    variable=name,
                )
            if literal:
                parts.append((False, "".join(literal)))
                literal = []
            parts.append((True, name))
            i = end + 1
        elif ch == "}":
            if i + 1 < n and text[i + 1] == "}":
                literal.append("}")
                i += 2
                continue
            raise TemplateTextError(f"stray }} at position {i} (write }}}} for a brace)", position=i)
        else:
            literal.append(ch)
            i += 1
    if literal:
        parts.append((False, "".join(literal)))
    return parts


def variables_in(text: str, *, known: tuple[str, ...] | None = VARIABLES) -> tuple[str, ...]:
    """The variables a template uses, each once, in order of first appearance."""
    seen: dict[str, None] = {}
    for is_var, value in parse(text, known=known):
        if is_var:
            seen.setdefault(value, None)
    return tuple(seen)


def _value(value: Any) -> str:
    if value is None:
        return ""
    return str(value).strip()


def render(text: str, context: Mapping[str, Any], *, known: tuple[str, ...] | None = VARIABLES) -> Rendered:
    """Fill the variables from `context`. A variable without a non-blank value is reported in `missing` (and
    the text then keeps its {placeholder}, so nothing blank can slip out by accident)."""
    out: list[str] = []
    missing: dict[str, None] = {}
    for is_var, value in parse(text, known=known):
        if not is_var:
            out.append(value)
            continue
        filled = _value(context.get(value))
        if filled:
            out.append(filled)
        else:
            missing.setdefault(value, None)
            out.append("{" + value + "}")
    return Rendered(text="".join(out), missing=tuple(missing))


# --- SMS -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class SmsCount:
    """How an SMS is billed: its length as the carriers count it and the number of messages it is split into."""

    length: int
    parts: int

    @property
    def per_part(self) -> int:
        return SMS_SINGLE if self.parts <= 1 else SMS_PART


def sms_length(text: str) -> int:
    """Characters as carriers count them: one per UTF-16 unit (emoji and rare characters count two)."""
    return len(text.encode("utf-16-le")) // 2


def sms_signed(body: str, signature: str) -> str:
    """The text as the phone shows it: 【signature】 in front (brackets added when missing)."""
    signature = signature.strip()
    if not signature:
        return body
    if not (signature.startswith("【") and signature.endswith("】")):
        signature = f"【{signature.strip('【】')}】"
    return signature + body


def sms_count(body: str, *, signature: str = "") -> SmsCount:
    """Length and parts of an SMS with its signature: 1..70 → 1 part, then ceil(length / 67)."""
    length = sms_length(sms_signed(body, signature))
    if length == 0:
        return SmsCount(0, 0)
    parts = 1 if length <= SMS_SINGLE else math.ceil(length / SMS_PART)
    return SmsCount(length, parts)


def unsubscribe_hint(language: str) -> str:
    return UNSUBSCRIBE_HINT_EN if language.startswith("en") else UNSUBSCRIBE_HINT


def sms_with_unsubscribe(body: str, language: str = "zh-hans") -> str:
    """A marketing SMS ends with the unsubscribe hint: 回T退订 (English texts: "Reply T to opt out"); added when
    the text ends with neither."""
    text = body.rstrip()
    if text.endswith(UNSUBSCRIBE_HINT) or text.lower().endswith(UNSUBSCRIBE_HINT_EN.lower()):
        return text
    hint = unsubscribe_hint(language)
    # after ASCII (a word, a number, a link) a space, so that a phone does not read the hint as part of a link
    if text and (hint == UNSUBSCRIBE_HINT_EN or (text[-1].isascii() and not text[-1].isspace())):
        return f"{text} {hint}"
    return text + hint


# --- the links of marketing messages -------------------------------------------------------------------------

_LINK_WORDS = {
    "zh-hans": ("退订", "消息设置", "不想再收到这类邮件？退订：", "想收到哪些消息，在这里设置："),
    "en": ("Opt out", "Settings", "Do not want these emails? Unsubscribe:", "Choose which messages you get:"),
}


def with_marketing_links(body: str, *, channel: str, language: str, unsubscribe_url: str, preferences_url: str) -> str:
    """A marketing text with the customer's unsubscribe and preferences links: one short line at the end of an
    SMS or a chat message (every character counts), a footer under an email. Added once: a text that carries
    both already is left as it is."""
    if unsubscribe_url in body and preferences_url in body:
        return body
    opt_out, settings_word, mail_opt_out, mail_settings = _LINK_WORDS["en" if language.startswith("en") else "zh-hans"]
    text = body.rstrip()
    if channel == "email":
        return f"{text}\n\n--\n{mail_settings} {preferences_url}\n{mail_opt_out} {unsubscribe_url}"
    return f"{text} {opt_out} {unsubscribe_url} {settings_word} {preferences_url}"
