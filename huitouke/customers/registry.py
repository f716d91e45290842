"""Extension points through which apps above `customers` add to the archive without `customers` importing them.

DESIGN.md: a lower app defines a small registry and a higher app registers into it at start-up (AppConfig.ready).
- list filters and annotations: `orders` adds the shop filter, `loyalty` the level column and filter;
- timeline sources: every app that has events about a customer (orders, later messages, tickets, visits, reviews);
- detail panels: sections of the 360 page (orders with their lines);
- merge hooks: move the rows an app keeps per customer when two customers are merged;
- bulk actions: buttons of the list's bulk bar that post the ticked customers (or the list's filters) to a page
  of a higher app (`campaigns`: send them a message).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from django.db.models import QuerySet

    from huitouke.customers.models import Customer


@dataclass(frozen=True)
class ListFilter:
    """A filter offered on the customer list, in the API and in exports. `apply` gets the raw string value."""

    key: str
    label: Any
    choices: Callable[[], list[tuple[str, str]]]
    apply: Callable[[QuerySet[Customer], str], QuerySet[Customer]]


@dataclass(frozen=True)
class Annotation:
    """A per-customer value computed by another app; `annotate` adds an attribute named `key` to each row."""

    key: str
    label: Any
    annotate: Callable[[QuerySet[Customer]], QuerySet[Customer]]


@dataclass(frozen=True)
class TimelineEvent:
    """One entry of the 360 timeline. `kind` picks the icon/colour; `url` links to the source when there is one."""

    at: datetime
    kind: str
    title: str
    body: str = ""
    url: str = ""


@dataclass(frozen=True)
class DetailPanel:
    """A section of the customer 360 page rendered from `template` with the context `context(customer, request)`."""

    key: str
    title: Any
    template: str
    context: Callable[[Customer, Any], dict[str, Any]]
    order: int = 100


@dataclass(frozen=True)
class BulkAction:
    """A button of the customer list's bulk bar. It posts `ids` (the ticked customers), `scope` ("all": every
    customer the filters match) and `query` (the list's query string) to the URL named `url_name`; users without
    `permission` do not see it."""

    key: str
    label: Any
    url_name: str
    permission: str
    order: int = 100


MergeHook = Callable[["Customer", "Customer"], None]
TimelineSource = Callable[["Customer", int], Iterable[TimelineEvent]]


@dataclass
class _Registry:
    filters: dict[str, ListFilter] = field(default_factory=dict)
    annotations: dict[str, Annotation] = field(default_factory=dict)
    timeline_sources: dict[str, TimelineSource] = field(default_factory=dict)
    panels: dict[str, DetailPanel] = field(default_factory=dict)
    merge_hooks: dict[str, MergeHook] = field(default_factory=dict)
    bulk_actions: dict[str, BulkAction] = field(default_factory=dict)


registry = _Registry()


def register_filter(item: ListFilter) -> None:
    registry.filters[item.key] = item


def register_annotation(item: Annotation) -> None:
    registry.annotations[item.key] = item


def register_timeline_source(key: str, source: TimelineSource) -> None:
    """`source(customer, limit)` yields at most `limit` of the customer's newest events."""
    registry.timeline_sources[key] = source


def register_panel(panel: DetailPanel) -> None:
    registry.panels[panel.key] = panel


def register_merge_hook(key: str, hook: MergeHook) -> None:
    """`hook(source, target)` runs inside the merge transaction, before the source is retired."""
    registry.merge_hooks[key] = hook


def register_bulk_action(action: BulkAction) -> None:
    registry.bulk_actions[action.key] = action
