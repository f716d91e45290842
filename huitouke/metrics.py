"""The fleet's metrics, read at scrape time from the database and the queue (registered into core.metrics).

- huitouke_queue_depth{queue}: tasks waiting in each queue (Huey: imports, sending, default);
- huitouke_messages{status,channel}: the outbox and send record by status and channel;
- huitouke_messages_sent_total{channel}: messages handed to a provider (a counter: `rate()` gives the dispatch rate);
- huitouke_messages_enqueued_total{source}: messages created by care rules, campaigns, visits … (care and campaign
  enqueues);
- huitouke_jobs{kind,status}: background jobs (imports, exports …) by status;
- huitouke_sla_breaches_total{clock}: SLA breaches recorded by the tick;
- huitouke_periodic_runs_total{task}: periodic runs claimed (exactly one per period across the fleet).

Each scrape costs a handful of GROUP BY queries; the result is kept for HUITOUKE_METRICS_CACHE_SECONDS so several
scrapers (or a fast scrape interval) do not multiply them.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from django.conf import settings
from django.db.models import Count

from huitouke.core.fleet import queue_depths
from huitouke.core.metrics import collector_register
from huitouke.core.models import Job, PeriodicRun
from huitouke.messaging.models import Message
from huitouke.service.models import SlaBreach

if TYPE_CHECKING:
    from prometheus_client.core import Metric

log = logging.getLogger(__name__)
_UP_DOC = "1 when the database and the queue answered the last fleet scrape"
_lock = threading.Lock()
_cache: tuple[float, list[Metric]] = (0.0, [])


def _gauge(name: str, doc: str, labels: list[str], rows: Iterable[tuple[tuple[str, ...], float]]) -> Metric:
    from prometheus_client.core import GaugeMetricFamily

    metric = GaugeMetricFamily(name, doc, labels=labels)
    for values, number in rows:
        metric.add_metric(list(values), number)
    return metric


def _counter(name: str, doc: str, labels: list[str], rows: Iterable[tuple[tuple[str, ...], float]]) -> Metric:
    from prometheus_client.core import CounterMetricFamily

    metric = CounterMetricFamily(name, doc, labels=labels)
    for values, number in rows:
        metric.add_metric(list(values), number)
    return metric


def fleet_metrics() -> list[Metric]:
    """Read every fleet-wide metric now (no cache)."""
    by_status = Message.objects.values_list("status", "channel").annotate(n=Count("id")).order_by()
    sent = Message.objects.filter(sent_at__isnull=False).values_list("channel").annotate(n=Count("id")).order_by()
    sources = Message.objects.values_list("source_kind").annotate(n=Count("id")).order_by()
    jobs = Job.objects.values_list("kind", "status").annotate(n=Count("id")).order_by()
    breaches = SlaBreach.objects.values_list("clock").annotate(n=Count("id")).order_by()
    periodic = PeriodicRun.objects.values_list("task").annotate(n=Count("id")).order_by()
    return [
        _gauge(
            "huitouke_queue_depth", "Tasks waiting in each background queue", ["queue"],
            (((name,), depth) for name, depth in queue_depths().items()),
        ),
        _gauge("huitouke_messages", "Messages by status and channel", ["status", "channel"],
               (((s, c), n) for s, c, n in by_status)),
        _counter("huitouke_messages_sent", "Messages handed to a provider, by channel", ["channel"],
                 (((c,), n) for c, n in sent)),
        _counter("huitouke_messages_enqueued", "Messages created, by source (care, campaign …)", ["source"],
                 (((s,), n) for s, n in sources)),
        _gauge("huitouke_jobs", "Background jobs by kind and status", ["kind", "status"],
               (((k, s), n) for k, s, n in jobs)),
        _counter("huitouke_sla_breaches", "SLA breaches recorded, by clock", ["clock"],
                 (((c,), n) for c, n in breaches)),
        _counter("huitouke_periodic_runs", "Periodic task runs claimed across the fleet", ["task"],
                 (((t,), n) for t, n in periodic)),
    ]  # fmt: skip


def cached_fleet_metrics() -> list[Metric]:
    """The fleet metrics, at most HUITOUKE_METRICS_CACHE_SECONDS old; when the database or the queue does not
    answer, only `huitouke_fleet_metrics_up 0` (the scrape itself still succeeds, with the request metrics)."""
    global _cache
    with _lock:
        at, metrics = _cache
        if not metrics or time.monotonic() - at >= settings.HUITOUKE_METRICS_CACHE_SECONDS:
            try:
                metrics = [*fleet_metrics(), _gauge("huitouke_fleet_metrics_up", _UP_DOC, [], [((), 1)])]
            except Exception as exc:  # a database or Redis outage must not turn the scrape into a 500
                log.warning("fleet metrics unavailable: %s", exc)
                return [_gauge("huitouke_fleet_metrics_up", _UP_DOC, [], [((), 0)])]
            _cache = (time.monotonic(), metrics)
        return metrics


def register() -> None:
    collector_register(cached_fleet_metrics)
