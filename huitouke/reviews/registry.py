"""Extension points through which apps below `reviews` hear about reviews.

Negative-review hooks: when a buyer leaves a neutral or bad rating (or a shop score of 2 or less), `reviews`
opens a case and calls every registered hook with it; the `service` app registers one that alerts the managers
and opens a `negative_review` ticket, and returns the ticket's id; another queues the managers' e-mail and
group-robot alert.

Alert destination checks: the group-robot URL of the credit settings is checked when it is saved by every
registered check (the `service` app registers the outbound-safety check of messaging, which `reviews` may not
import); each raises ApplicationError naming the field.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class NegativeReview:
    """What a hook is told about a negative review."""

    review_id: int
    shop_id: int
    order_id: int
    customer_id: int
    result: str
    content: str
    created_at: datetime


#: returns the id of the ticket it opened (or None)
NegativeReviewHook = Callable[[NegativeReview], int | None]

_negative_hooks: dict[str, NegativeReviewHook] = {}


def register_negative_review_hook(key: str, hook: NegativeReviewHook) -> None:
    """Add (or replace) the hook named `key`."""
    _negative_hooks[key] = hook


def unregister_negative_review_hook(key: str) -> None:
    _negative_hooks.pop(key, None)


def negative_review_hooks() -> list[NegativeReviewHook]:
    return list(_negative_hooks.values())


@dataclass(frozen=True)
class ExplanationRequest:
    """A review someone is about to explain (解释) publicly: which texts to suggest. `user` is who writes it."""

    review_id: int
    shop_id: int
    order_id: int
    customer_id: int
    language: str
    user: object


@dataclass(frozen=True)
class Suggestion:
    """A suggested explanation: where it comes from (a canned reply's title) and its text, filled in."""

    title: str
    text: str


#: returns filled suggestions, best first (the service app fills its canned replies of the review scenario)
ExplanationSource = Callable[[ExplanationRequest], list[Suggestion]]

_explanation_sources: dict[str, ExplanationSource] = {}


def register_explanation_source(key: str, source: ExplanationSource) -> None:
    """Add (or replace) the source of suggested explanations named `key`."""
    _explanation_sources[key] = source


def explanation_suggestions(request: ExplanationRequest, limit: int = 3) -> list[Suggestion]:
    """Suggestions from every registered source, at most `limit`."""
    out: list[Suggestion] = []
    for source in _explanation_sources.values():
        out.extend(source(request))
    return out[:limit]


#: checks a staff alert URL when it is saved: (url, field) -> None, raises ApplicationError naming `field`
DestinationCheck = Callable[[str, str], None]

_destination_checks: dict[str, DestinationCheck] = {}


def register_destination_check(key: str, check: DestinationCheck) -> None:
    """Add (or replace) the destination check named `key`."""
    _destination_checks[key] = check


def destination_check(url: str, *, field: str) -> None:
    """Run every registered check on `url` (raises the first check's ApplicationError)."""
    for check in _destination_checks.values():
        check(url, field)
