"""Extension points through which apps above `messaging` take part in the contact policy.

Inbound hooks: a customer's SMS reply that is not an opt-out is handed to the apps that keep conversations (the
`service` app adds it to the customer's ticket).

Suppression hooks: marketing is not sent while the customer has an open after-sales ticket (the `service` app)
or left a negative review recently (the `reviews` app). Those apps register a hook at start-up; the dispatcher
asks every hook about the customers of each batch of marketing messages and suppresses the ones a hook names,
with the reason the hook gives (`open_ticket`, `negative_review` …).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SuppressionCheck:
    """The question a hook answers: which of these customers must not get marketing now?"""

    customer_ids: tuple[int, ...]
    now: datetime
    #: the shop's "no marketing after a negative review" period (ContactPolicy.negative_review_days)
    negative_review_days: int = 30
    shop_id: int | None = None


#: returns {customer_id: reason} for the customers that must not get marketing (reason: a Message.Reason value)
SuppressionHook = Callable[[SuppressionCheck], Mapping[int, str]]


@dataclass(frozen=True)
class InboundReply:
    """A customer's SMS reply that is not an opt-out (上行短信), for the apps that hold conversations (the
    service desk adds it to the customer's ticket). `customer_ids`: the active customers with that phone."""

    phone: str
    text: str
    customer_ids: tuple[int, ...]


#: called with every inbound reply that is not an opt-out; returns how many records it added the reply to
InboundHook = Callable[[InboundReply], int]


#: called for each manual task shown to `user`: (label, url) of a helper page for it (the service desk's canned
#: replies for the task's customer), or None
TaskLink = Callable[[Any, Any], "tuple[str, str] | None"]


@dataclass
class _Registry:
    suppression_hooks: dict[str, SuppressionHook] = field(default_factory=dict)
    inbound_hooks: dict[str, InboundHook] = field(default_factory=dict)
    task_links: dict[str, TaskLink] = field(default_factory=dict)


registry = _Registry()


def register_suppression_hook(key: str, hook: SuppressionHook) -> None:
    """Add (or replace) the hook named `key`."""
    registry.suppression_hooks[key] = hook


def unregister_suppression_hook(key: str) -> None:
    registry.suppression_hooks.pop(key, None)


def register_inbound_hook(key: str, hook: InboundHook) -> None:
    """Add (or replace) the inbound-reply hook named `key`."""
    registry.inbound_hooks[key] = hook


def register_task_link(key: str, link: TaskLink) -> None:
    """Add (or replace) a link shown beside each manual task (messaging/task_list.html)."""
    registry.task_links[key] = link


def task_links(message: Any, user: Any) -> list[tuple[str, str]]:
    """The registered links for one manual task, for `user`."""
    return [link for hook in registry.task_links.values() if (link := hook(message, user)) is not None]
