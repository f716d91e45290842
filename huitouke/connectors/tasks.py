"""The live feed's background work: care's reaction to order events, stored webhooks, store backfills and
silence alerts. Registered at start-up (apps.py)."""

from __future__ import annotations

import logging

from huey import crontab

from huitouke.care.ticks import care_react
from huitouke.connectors.backfill import shopify_sync, woocommerce_sync
from huitouke.connectors.models import Source
from huitouke.connectors.services import after_write_register
from huitouke.connectors.webhooks import delivery_process, process_hook_register
from huitouke.core.errors import ApplicationError
from huitouke.core.fleet import fleet_periodic_task, queue_task
from huitouke.core.services import (
    JobTimeLimitExceeded,
    job_fail,
    job_finish,
    job_progress,
    job_register,
    job_start,
)

log = logging.getLogger(__name__)

#: the Job kind of the "Backfill now" button
SYNC_JOB_KIND = "store_sync"


@queue_task("default")
def care_react_task(customer_ids: list[int]) -> dict[str, int]:
    """Care's order-event rules for customers whose orders just arrived or changed (one worker cycle after the
    write instead of the next five-minute tick)."""
    report = care_react(customer_ids=customer_ids)
    enqueued = sum(r.enqueued for r in report.rules)
    if enqueued or report.failed:
        log.info("care reaction: %s messages for %s customers", enqueued, len(customer_ids))
    return {"rules": len(report.rules), "enqueued": enqueued}


@queue_task("imports")
def delivery_process_task(delivery_id: int) -> str:
    """Write one stored webhook (acknowledged already)."""
    return delivery_process(delivery_id=delivery_id).status


@queue_task("imports")
def store_sync_task(job_id: int) -> None:
    """The "Backfill now" button: the store's backfill from its stored cursor, pages as the Job's progress."""
    job = job_start(job_id=job_id)
    if job.status != job.Status.RUNNING:
        return
    try:
        source = Source.objects.select_related("shop").get(pk=job.params["source_id"])
        sync = shopify_sync if source.kind == Source.Kind.SHOPIFY else woocommerce_sync
        report = sync(source=source, progress=lambda pages: job_progress(job_id=job_id, done=pages, stage="orders"))
    except (ApplicationError, JobTimeLimitExceeded, Source.DoesNotExist) as exc:
        job_fail(job_id=job_id, error=getattr(exc, "message", str(exc)))
        return
    except Exception as exc:  # the job must end visibly; the trace goes to the worker's log
        log.exception("store backfill job %s failed", job_id)
        job_fail(job_id=job_id, error=f"unexpected error: {exc}")
        return
    job_finish(job_id=job_id, result=report.as_json())


@fleet_periodic_task(crontab(minute="*"))
def deliveries_retry_periodic() -> int:
    """Every minute: webhooks stored more than two minutes ago and still queued (the worker that had them died,
    or the queue lost them) are written now; writing one twice is harmless (the upsert finds it unchanged)."""
    from huitouke.connectors.webhooks import deliveries_stuck

    count = 0
    for delivery_id in deliveries_stuck():
        delivery_process(delivery_id=delivery_id)
        count += 1
    return count


@fleet_periodic_task(crontab(minute="*"))
def silence_check_periodic() -> int:
    """Every minute: alert (robot/e-mail) about connected sources silent longer than their shop allows."""
    from huitouke.connectors.health import silence_alerts_send

    return silence_alerts_send()


def _react(customer_ids: list[int]) -> None:
    care_react_task(customer_ids)


def _process(delivery_id: int) -> None:
    delivery_process_task(delivery_id)


def _sync(job_id: int) -> None:
    store_sync_task(job_id)


def register() -> None:
    """Hook the care reaction onto every live write and the worker onto every stored webhook."""
    after_write_register(_react)
    process_hook_register(_process)
    job_register(SYNC_JOB_KIND, _sync)
