"""What `reviews` adds to the apps below it through their registries: the customer's reviews on the 360
timeline (customers). The dashboard tile is registered by the project wiring (huitouke/extensions.py), since
analytics sits below reviews."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.conf import settings
from django.db.models import Count, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from huitouke.customers.models import Customer
from huitouke.customers.registry import TimelineEvent, register_timeline_source


def _review_events(customer: Customer, limit: int) -> list[TimelineEvent]:
    """The customer's ratings of the shop and the shop's ratings of them, newest first."""
    from huitouke.reviews.models import Result, Review, Role

    results = dict(Result.choices)
    events = []
    for r in Review.objects.filter(customer=customer).order_by("-created_at", "-id")[:limit]:
        if r.role == Role.BUYER:
            title = _("Rated order %(order)s: %(result)s") % {"order": r.tid, "result": results[r.result]}
        else:
            title = _("The shop rated order %(order)s: %(result)s") % {"order": r.tid, "result": results[r.result]}
        events.append(
            TimelineEvent(
                at=r.created_at,
                kind="review",
                title=title,
                body=r.content[:300],
                url=f"{reverse('reviews:list')}?product={r.num_iid}" if r.num_iid else reverse("reviews:list"),
            )
        )
    return events


def tile_value(today: date) -> Any:
    """The dashboard's review tile: the shop's negative reviews of the last 30 days and their open cases."""
    from datetime import datetime, time, timedelta
    from zoneinfo import ZoneInfo

    from huitouke.analytics.registry import TileValue
    from huitouke.reviews.models import ReviewCase

    since = datetime.combine(today - timedelta(days=30), time.min, tzinfo=ZoneInfo(settings.TIME_ZONE))
    # one pass over the cases (each joined to its review): counting twice read the reviews twice (2 × 40 ms)
    counts = ReviewCase.objects.filter(review__created_at__gte=since).aggregate(
        total=Count("id"), still_open=Count("id", filter=Q(outcome=ReviewCase.Outcome.OPEN))
    )
    total, still_open = counts["total"], counts["still_open"]
    note = _("%(open)s still being handled") % {"open": still_open}
    return TileValue(value=f"{total:,}", note=note, url=f"{reverse('reviews:list')}?result=bad")


def register() -> None:
    from huitouke.analytics.snapshots import register_refresher
    from huitouke.reviews import analytics_figures

    register_timeline_source("reviews", _review_events)
    register_refresher(analytics_figures.KEY, analytics_figures.review_figures_refresh)
