"""What `analytics` adds to the rest: the scores panel of the 360 page, the RFM segment and movers filters of the
customer list (pages, API, exports), the merge hook, and the dashboard as the landing page."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.db.models import Exists, OuterRef, QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.analytics.registry import Tile, TileValue, register_tile
from huitouke.customers.models import Customer
from huitouke.customers.registry import DetailPanel, ListFilter, register_filter, register_merge_hook, register_panel


def _segment_choices() -> list[tuple[str, str]]:
    from huitouke.analytics.models import Segment

    return [(key, str(label)) for key, label in Segment.choices]


def _segment_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    from huitouke.analytics.models import CustomerScore, Segment

    if value not in Segment.values:
        return qs.none()
    return qs.filter(Exists(CustomerScore.objects.filter(customer=OuterRef("pk"), segment=value)))


def _move_choices() -> list[tuple[str, str]]:
    from huitouke.analytics.reports import segment_label
    from huitouke.analytics.selectors import movements_latest

    return [
        (m.filter_value, f"{segment_label(m.source)} → {segment_label(m.target)} ({m.customers})")
        for m in movements_latest(limit=20)
    ]


def _move_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    from huitouke.analytics.selectors import movers_filter

    return movers_filter(qs, value)


def _scores_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.analytics.reports import segment_label
    from huitouke.analytics.selectors import score_for_customer

    score = score_for_customer(customer_id=customer.pk)
    return {
        "score": score,
        "segment_name": segment_label(score.segment) if score else "",
        "one_time": bool(score and score.frequency <= 1),
    }


def _merge_scores(source: Customer, target: Customer) -> None:
    from huitouke.analytics.rollups import rollups_update
    from huitouke.analytics.services import score_forget

    score_forget(customer_id=source.pk)  # the target is rescored by the next refresh
    # the orders hook (registered first: orders precedes analytics in INSTALLED_APPS) has moved the orders
    rollups_update(customer_ids=[source.pk, target.pk])


def _follow_ups_tile(today: date, user: Any) -> TileValue:
    """The signed-in user's follow-ups due by today (overdue ones included), linking to their list."""
    from django.urls import reverse
    from django.utils.translation import gettext

    from huitouke.customers.selectors import follow_ups_open

    due = follow_ups_open(owner=user, due_by=today)
    count = due.count()
    overdue = due.filter(follow_up_on__lt=today).count()
    note = gettext("%(n)s overdue") % {"n": overdue} if overdue else ""
    return TileValue(value=str(count), note=note, url=reverse("customers:follow-ups"))


def register() -> None:
    from huitouke.analytics.level_figures import KEY as LEVELS_KEY
    from huitouke.analytics.level_figures import level_counts_store
    from huitouke.analytics.snapshots import register_refresher
    from huitouke.analytics.views import dashboard
    from huitouke.core.views import landing_register

    register_refresher(LEVELS_KEY, level_counts_store)

    register_tile(
        Tile(
            key="follow-ups",
            title=_("My follow-ups due"),
            value=_follow_ups_tile,
            order=5,
            permission="customers.view_customer",
            per_user=True,
        )
    )

    register_panel(
        DetailPanel(
            key="scores",
            title=_("RFM and outlook"),
            template="analytics/_customer_scores.html",
            context=_scores_context,
            order=7,
        )
    )
    register_filter(ListFilter(key="segment", label=_("RFM segment"), choices=_segment_choices, apply=_segment_filter))
    register_filter(
        ListFilter(key="rfm_move", label=_("Moved between segments"), choices=_move_choices, apply=_move_filter)
    )
    register_merge_hook("analytics", _merge_scores)
    landing_register(dashboard)
