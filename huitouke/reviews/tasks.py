"""The background import behind the review upload page (a core Job with progress and a summary)."""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Any

from django.conf import settings
from huey import crontab

from huitouke.core.audit import record
from huitouke.core.fleet import fleet_periodic_task, queue_task
from huitouke.core.models import AuditEntry
from huitouke.core.services import job_fail, job_finish, job_progress, job_start
from huitouke.orders.importers.rows import ImportFileError
from huitouke.reviews.importer import parse_reviews
from huitouke.reviews.selectors import shop_named

log = logging.getLogger(__name__)

IMPORT_JOB_KIND = "reviews_import"
PROGRESS_EVERY = 5_000


def _counted(rows: Any, job_id: int) -> Any:
    for n, row in enumerate(rows, start=1):
        if n % PROGRESS_EVERY == 0:
            job_progress(job_id=job_id, done=n, stage="reviews")
        yield row


def reviews_import_job(job_id: int) -> None:
    """Run one review import Job: parse, store, record the summary; a file that cannot be read fails the Job
    with the reason."""
    from huitouke.core.errors import ApplicationError
    from huitouke.reviews.services import reviews_import_rows

    job = job_start(job_id=job_id)
    if job.status != job.Status.RUNNING:
        return
    params = job.params
    try:
        shop = shop_named(params.get("shop", ""))
        parsed = parse_reviews(Path(params["path"]), mapping=params.get("mapping"), tz=shop.timezone)
        rows: Any = _counted(parsed.rows, job_id)
        result = reviews_import_rows(
            shop=shop,
            rows=rows,
            report_path=Path(settings.HUITOUKE_HOME) / "reports" / f"review-errors-job{job_id}.csv",
            layout=parsed.layout,
            columns=parsed.columns,
            tid_header=parsed.tid_header,
        )
    except (ImportFileError, ApplicationError) as exc:
        job_fail(job_id=job_id, error=getattr(exc, "message", str(exc)))
        return
    except Exception as exc:  # the job must end visibly; the traceback goes to the worker's log
        log.exception("review import job %s failed", job_id)
        job_fail(job_id=job_id, error=f"unexpected error: {exc}")
        return
    record(
        actor=job.created_by,
        action=AuditEntry.Action.IMPORT,
        target_type="reviews",
        target_id=job_id,
        result=result.as_json(),
    )
    job_finish(job_id=job_id, result={**result.as_json(), "layout": result.layout})


@queue_task("imports")
def reviews_import_task(job_id: int) -> None:
    reviews_import_job(job_id)


@queue_task("default")
def credit_figures_task(shop_id: int, asked_at: str) -> None:
    """Recompute one shop's stored credit figure (reviews.credit_figures), unless a later ask did it already."""
    import datetime as dt

    from huitouke.reviews.credit_figures import credit_figures_recompute

    credit_figures_recompute(shop_id=shop_id, asked_at=dt.datetime.fromisoformat(asked_at))


@queue_task("default")
def review_figures_task(shop_id: int, asked_at: str) -> None:
    """Recompute one shop's stored review analytics (reviews.analytics_figures), unless a later ask did it."""
    import datetime as dt

    from huitouke.reviews.analytics_figures import review_figures_recompute

    review_figures_recompute(shop_id=shop_id, asked_at=dt.datetime.fromisoformat(asked_at))


def credit_recompute_all() -> dict[str, int]:
    """Recompute and store the credit ledger of every shop with reviews: default good ratings that came due and
    rating periods that ended since the last write move the ledger on days without imports. Returns the reviews
    written per shop name."""
    from huitouke.orders.models import Shop
    from huitouke.reviews.crediting import credit_recompute

    written = {}
    for shop in Shop.objects.filter(reviews__isnull=False).distinct().order_by("pk"):
        written[shop.name] = credit_recompute(shop=shop).written
    log.info("nightly credit: %s", written)
    return written


def credit_recompute_due() -> dict[str, int]:
    """Recompute and store the credit ledger (and the page's figure) of every shop that has begun a new day in its
    own time zone since its credit was stored (`credit_figures_due`): default good ratings that came due and
    rating periods that ended move the ledger on days without imports. Returns the reviews written per shop name."""
    from huitouke.reviews.credit_figures import credit_figures_due
    from huitouke.reviews.crediting import credit_recompute

    written = {}
    for shop in credit_figures_due():
        try:
            written[shop.name] = credit_recompute(shop=shop).written
        except Exception:  # one shop's failure must not hold the others' credit back; it is tried again next time
            log.exception("credit of a new shop day: shop %s failed", shop.pk)
    if written:
        log.info("credit of a new shop day: %s", written)
    return written


@fleet_periodic_task(crontab(minute="*/15"))
def credit_new_day() -> dict[str, int]:
    """Every quarter of an hour: `credit_recompute_due`, so each shop's credit moves on once a day, just after its
    own midnight, and the first visit of its day reads it counted."""
    return credit_recompute_due()
