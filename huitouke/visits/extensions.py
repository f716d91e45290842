"""What visits adds to lower apps at start-up: the 360 timeline's visits and the dashboard's visits tile."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from django.urls import reverse
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _


def _timeline(customer: Any, limit: int) -> Iterable[Any]:
    from huitouke.customers.registry import TimelineEvent
    from huitouke.visits.selectors import visits_for_customer

    for task in visits_for_customer(customer_id=customer.pk, limit=limit):
        if task.status == task.Status.DONE and task.done_at:
            title = gettext("Return visit (%(plan)s): %(outcome)s") % {
                "plan": task.plan.name,
                "outcome": task.get_outcome_display(),
            }
            body = task.feedback
            if task.satisfaction:
                body = (gettext("Satisfaction %(n)d/5") % {"n": task.satisfaction}) + (f" · {body}" if body else "")
            yield TimelineEvent(at=task.done_at, kind="visit", title=title, body=body)


def _tile(today: date, user: Any) -> Any:
    from huitouke.analytics.registry import TileValue
    from huitouke.visits.selectors import queue_counts

    counts = queue_counts(user_id=user.pk, today=today)
    return TileValue(
        value=str(counts["due"] + counts["overdue"]),
        note=gettext("%(overdue)d overdue, %(done)d done today") % counts,
        url=reverse("visits:queue"),
    )


def register() -> None:
    from huitouke.analytics.registry import Tile, register_tile
    from huitouke.analytics.snapshots import register_refresher
    from huitouke.customers.registry import register_timeline_source
    from huitouke.visits import report_figures

    register_timeline_source("visits", _timeline)
    register_tile(Tile(key="visits", title=_("My return visits"), value=_tile, order=60, per_user=True))
    register_refresher(report_figures.KEY, report_figures.visit_report_refresh)
