"""The dispatcher: claims due messages, applies the contact policy, sends through the channel adapters and
records what happened. Any number of workers may run it at once.

One batch:
1. claim (one transaction): up to N rows that are due (queued/held with next_attempt_at <= now) or whose claim
   expired (sending, lease_until < now: a worker died holding them), with SELECT … FOR UPDATE SKIP LOCKED on
   PostgreSQL (SQLite: the transaction is IMMEDIATE, so the claim is atomic). Customers with budgeted messages
   are also locked (pg_try_advisory_xact_lock) so two workers never spend one contact budget twice;
2. decide, in the same transaction: gather the facts (consent, erasure, address, suppression hooks, recent
   contacts) and call policy.decide for each row. Rows to send become `sending` with a lease; the others
   become held / suppressed / expired / failed with their reason;
3. send (outside any transaction), per channel setting, in the provider's batch size, within the channel's
   rate limit (a token bucket row shared by every worker);
4. record each chunk's results at once: sent (with the provider id), back to queued with exponential backoff
   (retrying), failed (rejected, or every attempt used), or handed to the agents (manual tasks).

A worker killed between 2 and 4 leaves its rows `sending`; when their lease ends another worker claims and
sends them again, with the same idempotency key (webhooks send it as Idempotency-Key, email as Message-ID).
"""

from __future__ import annotations

import time as clock
from datetime import datetime

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from huitouke.messaging.dispatch.decide import _decide
from huitouke.messaging.dispatch.record import _write_plan
from huitouke.messaging.dispatch.rows import (
    _LOCK_BASE,
    Cursor,
    DispatchStats,
    _claim,
    _load,
    backoff_seconds,
    worker_name,
)
from huitouke.messaging.dispatch.send import ChannelAdapters, _Adapters, _send, rate_acquire
from huitouke.messaging.models import Message

__all__ = [
    "_LOCK_BASE",
    "ChannelAdapters",
    "DispatchStats",
    "backoff_seconds",
    "dispatch_batch",
    "messages_dispatch",
    "next_due_in",
    "rate_acquire",
    "worker_name",
]


# --- the loop ------------------------------------------------------------------------------------------------


def dispatch_batch(
    *,
    worker: str,
    batch_size: int,
    adapters: _Adapters | None = None,
    after: Cursor | None = None,
    at: datetime | None = None,
) -> tuple[DispatchStats, Cursor | None, bool]:
    """Claim, decide, send and record one batch. Returns what happened, the cursor for the next batch of the
    same run, and whether the due rows after `after` ran out (the run then starts again from the top).

    `at` replays a run at a past instant (the demo's history); by default the run happens now."""
    if adapters is None:
        own = _Adapters()
        try:
            return dispatch_batch(worker=worker, batch_size=batch_size, adapters=own, after=after, at=at)
        finally:
            own.close()
    stats = DispatchStats()
    now = at or timezone.now()
    with transaction.atomic():
        ids, cursor, taken = _claim(now, batch_size, after)
        exhausted = taken < batch_size - (len(ids) - taken)
        if not ids:
            return stats, cursor, exhausted
        rows = _load(ids)
        stats.claimed = len(rows)
        plan = _decide(rows, now, stats)
        _write_plan(plan, now, worker)
    stats.batches = 1
    if plan.send:
        _send(plan, adapters, stats, at)
    return stats, cursor, exhausted


def messages_dispatch(
    *,
    worker: str = "",
    batch_size: int | None = None,
    max_seconds: float | None = None,
    at: datetime | None = None,
    adapters: _Adapters | None = None,
) -> DispatchStats:
    """Send everything that is due, batch after batch, until nothing is due or `max_seconds` have passed.
    Safe to run in any number of workers at once. Returns the totals.

    A run walks the due rows in order with a cursor; when it reaches the end it starts once more from the top
    (for rows that became due behind it: a more urgent message, one another worker was deciding) and stops when
    a pass from the top finds nothing it can take.

    `at` replays the run at a past instant and `adapters` stands in for the channels' adapters: the demo uses both
    to leave the send records of its history without contacting anyone."""
    worker = worker or worker_name()
    size = batch_size or int(settings.HUITOUKE_DISPATCH_BATCH)
    total = DispatchStats()
    started = clock.monotonic()
    adapters = adapters or _Adapters()
    cursor: Cursor | None = None
    try:
        while True:
            from_top = cursor is None
            stats, cursor, exhausted = dispatch_batch(
                worker=worker, batch_size=size, adapters=adapters, after=cursor, at=at
            )
            total.add(stats)
            if from_top and exhausted and stats.claimed == stats.skipped:
                break  # nothing due, or only rows another worker is deciding
            if exhausted:
                cursor = None
            if max_seconds is not None and clock.monotonic() - started >= max_seconds:
                break
    finally:
        adapters.close()
    return total


def next_due_in(*, now: datetime | None = None) -> float | None:
    """Seconds until something becomes due (a held or retried message, or a claim that ends), or None."""
    now = now or timezone.now()
    times = []
    for priority in range(10):
        first = (
            Message.objects.filter(status__in=Message.PENDING, priority=priority)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if first is not None:
            times.append(first)
    lease = (
        Message.objects.filter(status=Message.Status.SENDING, lease_until__isnull=False)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first()
    )
    if lease is not None:
        times.append(lease)
    if not times:
        return None
    return max((min(times) - now).total_seconds(), 0.0)
