"""The worker's side of messaging (Huey tasks, run by `huitouke worker`).

- `messages_dispatch_task`: sends everything due, up to ~50 s per run; a run that stops on time queues the next
  one. With `follow=True` (queued when a worker starts) it also comes back when a hold or a claim ends soon, so a
  killed worker's rows are picked up within a lease without waiting for the tick.
- `messages_tick`: every minute (once across the fleet), queues a dispatch run that releases what became due
  (quiet hours ending, budgets freeing, retries, expired claims), and folds the kept message counts' deltas
  (messaging.tallies) into their totals.
- After an enqueue commits, `dispatch_wake` queues up to HUITOUKE_DISPATCH_PARALLEL dispatch runs (one per batch
  of new rows), so many workers share a large send.
"""

from __future__ import annotations

import logging
import math
import time

from django.conf import settings
from huey import crontab

from huitouke.core.fleet import fleet_periodic_task, queue_task
from huitouke.messaging.dispatch import messages_dispatch, next_due_in
from huitouke.messaging.services import enqueue_listener_register
from huitouke.messaging.tallies import tallies_fold

log = logging.getLogger(__name__)

#: one run's time budget: the tick comes every minute, so a run never outlives two ticks
RUN_SECONDS = 50.0
#: how far ahead a following run looks for work before it stops and leaves the rest to the tick
FOLLOW_HORIZON = 300.0


@queue_task("sending")
def messages_dispatch_task(follow: bool = False) -> dict[str, int]:
    """Dispatch until nothing is due or the time budget is used; then queue the next run when needed."""
    started = time.monotonic()
    stats = messages_dispatch(max_seconds=RUN_SECONDS)
    if stats.batches:
        log.info("dispatch: %s", stats.as_json())
    if time.monotonic() - started >= RUN_SECONDS:
        messages_dispatch_task(follow=follow)  # stopped on time: work is left
        return stats.as_json()
    due_in = next_due_in()
    if follow and due_in is not None and due_in <= FOLLOW_HORIZON:
        messages_dispatch_task.schedule(kwargs={"follow": True}, delay=max(math.ceil(due_in), 1))
    return stats.as_json()


@fleet_periodic_task(crontab(minute="*"))
def messages_tick() -> dict[str, int]:
    """Every minute (once across the fleet): queue a dispatch run on the `sending` queue, which sends what became
    due (held messages whose time came, retries, expired claims). Sending stays with the workers that take that
    queue, so a worker dedicated to imports or to the default queue never sends. Then it folds the kept message
    counts' delta rows (PostgreSQL) into one total per key, so a page reads a few rows per source."""
    messages_dispatch_task()
    return {"queued": 1, "tallies_folded": tallies_fold()}


def dispatch_wake(added: int) -> None:
    """Queue dispatch runs for `added` new messages: one per batch, at most HUITOUKE_DISPATCH_PARALLEL."""
    runs = min(
        max(math.ceil(added / max(int(settings.HUITOUKE_DISPATCH_BATCH), 1)), 1), settings.HUITOUKE_DISPATCH_PARALLEL
    )
    for _ in range(max(runs, 1)):
        messages_dispatch_task()


def dispatch_start() -> None:
    """What a starting worker does first: one following dispatch run (finishes what a stopped worker left)."""
    messages_dispatch_task(follow=True)


enqueue_listener_register(dispatch_wake)
