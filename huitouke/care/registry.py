"""Extension points of care: filters the after-delivery rule (which asks for a review) applies to its orders, and
whether a live order source is connected (`connectors` registers it: the rule pages then say that order-event
rules react within a minute).

`reviews` is not among care's dependencies, so the project wiring (huitouke/extensions.py) registers the filter
that drops the orders the buyer has already reviewed.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.db.models import QuerySet

#: takes the orders the after-delivery rule would message and returns the ones it still should
OrderFilter = Callable[[QuerySet[Any]], QuerySet[Any]]

_review_request_filters: dict[str, OrderFilter] = {}


def register_review_request_filter(key: str, flt: OrderFilter) -> None:
    """Add (or replace) the filter named `key`."""
    _review_request_filters[key] = flt


def unregister_review_request_filter(key: str) -> None:
    _review_request_filters.pop(key, None)


def review_request_filters() -> list[OrderFilter]:
    return list(_review_request_filters.values())


#: answers whether a live order source (push, store webhooks, watched folder) is connected
_live_source_checks: dict[str, Callable[[], bool]] = {}


def register_live_source_check(key: str, check: Callable[[], bool]) -> None:
    """Add (or replace) the check named `key`."""
    _live_source_checks[key] = check


def live_source_connected() -> bool:
    """Whether any registered check sees a connected live order source."""
    return any(check() for check in _live_source_checks.values())
