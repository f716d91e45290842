"""Extension points of care: filters the after-delivery rule (which asks for a review) applies to its orders.

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
