"""The wording check (seed 001's rules, as gentle hints): a reply that does not open with the shop's greeting
(亲 by default), words the shop has banned (by default 肯定, 保证, 绝对 — promise only what you can keep), a text
too long for one SMS. Pure: no ORM. Hints never block a reply; the agent decides.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass, field

from huitouke.messaging.rendering import SMS_SINGLE, sms_count

DEFAULT_GREETING = "亲"
DEFAULT_BANNED = ("肯定", "保证", "绝对")
DEFAULT_SMS_LIMIT = SMS_SINGLE

_CJK = re.compile(r"[\u3400-\u9fff]")
#: What may come before the greeting: blanks, quotes and brackets ("【店名】亲，…" still opens with it).
_LEAD = re.compile(r"^[\s\"'“‘(（]*(【[^】]*】)?[\s]*")


@dataclass(frozen=True)
class Rules:
    """One shop's wording rules. An empty greeting or banned list switches that check off; `sms_limit` 0 too."""

    enabled: bool = True
    greeting: str = DEFAULT_GREETING
    banned: tuple[str, ...] = DEFAULT_BANNED
    sms_limit: int = DEFAULT_SMS_LIMIT


@dataclass(frozen=True)
class Hint:
    """One thing the rules flag. `code`: greeting, banned or too_long; `words` the greeting wanted or the banned
    words found; `length` and `parts` the SMS count for too_long."""

    code: str
    words: tuple[str, ...] = field(default=())
    length: int = 0
    parts: int = 0


def opens_with(text: str, greeting: str) -> bool:
    return text[len(_LEAD.match(text).group(0)) :].startswith(greeting)  # type: ignore[union-attr]  # always matches


def check(text: str, rules: Rules, *, signature: str = "") -> list[Hint]:
    """The hints for `text` under `rules`, in a fixed order (greeting, banned, too_long). The greeting is asked
    of Chinese texts only (an English reply opens otherwise); banned words are found anywhere, case-insensitive,
    each named once; the length is counted as SMS are billed (messaging's count, with the shop's signature)."""
    body = text.strip()
    if not rules.enabled or not body:
        return []
    hints: list[Hint] = []
    greeting = rules.greeting.strip()
    if greeting and _CJK.search(body) and not opens_with(body, greeting):
        hints.append(Hint("greeting", words=(greeting,)))
    lowered = body.casefold()
    found = tuple(dict.fromkeys(w for w in rules.banned if w.strip() and w.strip().casefold() in lowered))
    if found:
        hints.append(Hint("banned", words=found))
    if rules.sms_limit > 0:
        count = sms_count(body, signature=signature)
        if count.length > rules.sms_limit:
            hints.append(Hint("too_long", length=count.length, parts=max(count.parts, 2)))
    return hints


def banned_from_text(value: str) -> tuple[str, ...]:
    """A banned-word list typed as text (comma, 、, ， or line separated): trimmed, each once, at most 50."""
    words = [w.strip() for w in re.split(r"[,，、;；\n]+", value or "")]
    return tuple(dict.fromkeys(w for w in words if w))[:50]


def banned_to_text(words: Sequence[str]) -> str:
    return "、".join(words)
