"""How each live source is doing (the health page), and the alert when a connected source falls silent."""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.core.mail import send_mail
from django.db.models import Count, Q, Sum
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.connectors.models import Source, SourceEvent
from huitouke.connectors.remote import RemoteError, call

log = logging.getLogger(__name__)

#: the days the health page's per-day figures are averaged over
WINDOW_DAYS = 7


@dataclass(frozen=True)
class SourceHealth:
    """One source on the health page."""

    source: Source
    last_event_at: datetime | None
    events_per_day: float
    orders_per_day: float
    failures: int
    reasons: list[tuple[datetime, str]]
    silent: bool


def is_silent(source: Source, now: datetime) -> bool:
    """Connected, with a silence limit, and nothing received for longer than it (since it was set up, when
    nothing ever came)."""
    if not source.enabled or not source.silence_minutes:
        return False
    since = source.last_event_at or source.created_at
    return now - since > timedelta(minutes=source.silence_minutes)


def source_health_list(*, now: datetime | None = None) -> list[SourceHealth]:
    """Every source with its last event, events and orders per day and failures over the last WINDOW_DAYS days,
    and the five latest failure reasons. Three queries whatever the number of sources."""
    now = now or timezone.now()
    start = now - timedelta(days=WINDOW_DAYS)
    sources = list(Source.objects.select_related("shop").order_by("shop__name", "kind"))
    figures: dict[int, dict[str, Any]] = {
        row["source_id"]: dict(row)
        for row in SourceEvent.objects.filter(at__gte=start, source__in=sources)
        .values("source_id")
        .annotate(events=Count("id"), orders=Sum("orders"), failures=Count("id", filter=Q(ok=False)))
    }
    reasons: dict[int, list[tuple[datetime, str]]] = {}
    for source_id, at, reason in (
        SourceEvent.objects.filter(ok=False, at__gte=start, source__in=sources)
        .order_by("-at")
        .values_list("source_id", "at", "reason")[:500]
    ):
        if len(reasons.setdefault(source_id, [])) < 5:
            reasons[source_id].append((at, reason))
    out = []
    for source in sources:
        f: dict[str, Any] = figures.get(source.pk, {})
        out.append(
            SourceHealth(
                source=source,
                last_event_at=source.last_event_at,
                events_per_day=round((f.get("events") or 0) / WINDOW_DAYS, 1),
                orders_per_day=round((f.get("orders") or 0) / WINDOW_DAYS, 1),
                failures=f.get("failures") or 0,
                reasons=reasons.get(source.pk, []),
                silent=is_silent(source, now),
            )
        )
    return out


def silence_alerts_send(*, now: datetime | None = None) -> int:
    """Alert once per silence: every connected source silent past its limit and not alerted yet gets an
    e-mail and/or a group-robot message; the alert re-arms when something arrives. Returns the alerts sent."""
    now = now or timezone.now()
    sent = 0
    candidates = Source.objects.filter(enabled=True, silence_minutes__gt=0, silence_alerted_at__isnull=True)
    for source in candidates.select_related("shop"):
        if not is_silent(source, now):
            continue
        since = source.last_event_at or source.created_at
        text = _("Huitouke: %(shop)s · %(source)s has sent nothing since %(since)s UTC (limit %(minutes)s min).") % {
            "shop": source.shop.name,
            "source": source.get_kind_display(),
            "since": f"{since:%Y-%m-%d %H:%M}",
            "minutes": source.silence_minutes,
        }
        if source.alert_email:
            subject = _("Huitouke: an order source is silent")
            send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, [source.alert_email])
        if source.alert_robot_url:
            try:
                call(
                    source.alert_robot_url,
                    method="POST",
                    body={"msgtype": "text", "text": {"content": text}},
                    field="alert_robot_url",
                )
            except RemoteError:
                log.warning("silence alert robot of source %s unreachable", source.pk)
        Source.objects.filter(pk=source.pk).update(silence_alerted_at=now)
        sent += 1
    return sent
