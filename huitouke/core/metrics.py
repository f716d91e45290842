"""Prometheus metrics (prometheus-client): the per-request counters of the web processes and a registry of
collectors that read the fleet's state from the database and the queue at scrape time.

Per-process numbers (requests, latency) are kept by each web process; under `huitouke serve` they live in
prometheus-client's multiprocess files, so any process answering /metrics reports the sum of all of them. Numbers
that describe the whole fleet (queue depth, messages by status, jobs, breaches) are read when scraped, so several
machines report the same truth and no worker has to be scraped itself.
"""

from __future__ import annotations

import functools
import ipaddress
import os
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING

from django.conf import settings

if TYPE_CHECKING:
    from prometheus_client import Counter, Histogram
    from prometheus_client.core import Metric

#: seconds; pages answer in tens of milliseconds, reports in seconds
LATENCY_BUCKETS = (0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0)

#: collectors registered by the apps (a lower app never imports a higher one): each yields finished metrics
_collectors: list[Callable[[], Iterable[Metric]]] = []


@functools.cache
def _instruments() -> tuple[Counter, Histogram]:
    """Created on first use, not at import: under `huitouke serve` the web processes must create them after the
    server chose prometheus-client's multiprocess storage."""
    from prometheus_client import Counter, Histogram

    requests = Counter(
        "huitouke_http_requests_total",
        "HTTP requests answered, by view, method and status",
        ["view", "method", "status"],
        registry=None,
    )
    latency = Histogram(
        "huitouke_http_request_duration_seconds",
        "Time to answer an HTTP request, by view",
        ["view"],
        buckets=LATENCY_BUCKETS,
        registry=None,
    )
    return requests, latency


def observe_request(*, view: str, method: str, status: int, seconds: float) -> None:
    requests, latency = _instruments()
    requests.labels(view=view, method=method, status=str(status)).inc()
    latency.labels(view=view).observe(seconds)


def collector_register(collect: Callable[[], Iterable[Metric]]) -> None:
    """Add a scrape-time collector (called once per scrape; it should cost a few indexed queries)."""
    if collect not in _collectors:
        _collectors.append(collect)


class _Registered:
    def collect(self) -> Iterable[Metric]:
        for collect in _collectors:
            yield from collect()


def render() -> bytes:
    """The text exposition of every metric: this process's (or all web processes') and the fleet collectors'."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    registry = CollectorRegistry(auto_describe=False)
    folder = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if folder:
        MultiProcessCollector(registry, path=folder)
    else:
        for instrument in _instruments():
            registry.register(instrument)
    registry.register(_Registered())
    return bytes(generate_latest(registry))


def scrape_allowed(*, remote_addr: str, authorization: str, proxied: bool = False) -> bool:
    """Whether a scrape may read the metrics: the right bearer token (HUITOUKE_METRICS_TOKEN), or an address in
    HUITOUKE_METRICS_ALLOWED_NETWORKS (default: the loopback networks only). A request that came through a proxy
    (`proxied`: it carries X-Forwarded-For) needs the token: behind nginx on the same machine every visitor's
    address is the loopback one."""
    import hmac

    token = settings.HUITOUKE_METRICS_TOKEN
    if token and authorization.startswith("Bearer "):
        return hmac.compare_digest(authorization.removeprefix("Bearer ").strip(), token)
    if proxied:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in ipaddress.ip_network(net, strict=False) for net in settings.HUITOUKE_METRICS_ALLOWED_NETWORKS)
