"""The latest refresh run, scores and the movements between RFM groups."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import (
    Count,
    Max,
    QuerySet,
)

from huitouke.analytics import rfm
from huitouke.analytics.models import CustomerScore, RfmSnapshot, ScoreRun
from huitouke.customers.models import Customer

# --- refresh runs and scores -----------------------------------------------------------------------------------


def score_run_latest() -> ScoreRun | None:
    """The newest refresh, or None before the first one."""
    return ScoreRun.objects.order_by("-started_at", "-id").first()


def score_run_since(moment: datetime) -> bool:
    """Whether a refresh has started at or after `moment`."""
    return ScoreRun.objects.filter(started_at__gte=moment).exists()


def score_for_customer(*, customer_id: int) -> CustomerScore | None:
    """The customer's current scores, or None (no counted order, or no refresh yet)."""
    return CustomerScore.objects.filter(customer_id=customer_id).first()


def segment_distribution() -> dict[str, int]:
    """Scored customers per RFM segment key, in segment order (zeros included), counted from the scores."""
    counts = dict(CustomerScore.objects.values_list("segment").annotate(n=Count("customer_id")).order_by())
    return {key: int(counts.get(key, 0)) for key in rfm.KEYS}


@dataclass(frozen=True)
class Movement:
    """Customers who moved from one RFM segment to another between two snapshot weeks."""

    source: str
    target: str
    customers: int
    previous_week: date
    week: date

    @property
    def filter_value(self) -> str:
        """The customer-list filter value selecting these movers (`rfm_move=…`)."""
        return f"{self.source}:{self.target}:{self.week.isoformat()}"


def movements_latest(*, limit: int = 10) -> list[Movement]:
    """The biggest movements between segments recorded by the latest refresh (its week against the previous
    snapshot week), biggest first."""
    run = score_run_latest()
    if run is None or run.previous_week is None:
        return []
    return [
        Movement(source=a, target=b, customers=int(n), previous_week=run.previous_week, week=run.week)
        for a, b, n in run.movements[:limit]
    ]


def movers_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    """Customers whose segment was `source` in the snapshot week before `week` and is `target` in `week`
    (value `source:target:YYYY-MM-DD`); nobody for a malformed value."""
    parts = value.split(":")
    if len(parts) != 3 or parts[0] not in rfm.BY_KEY or parts[1] not in rfm.BY_KEY:
        return qs.none()
    try:
        week = date.fromisoformat(parts[2])
    except ValueError:
        return qs.none()
    previous = RfmSnapshot.objects.filter(week__lt=week).aggregate(w=Max("week"))["w"]
    if previous is None:
        return qs.none()
    now_in = RfmSnapshot.objects.filter(week=week, segment=parts[1]).values("customer_id")
    was_in = RfmSnapshot.objects.filter(week=previous, segment=parts[0]).values("customer_id")
    return qs.filter(pk__in=now_in).filter(pk__in=was_in)
