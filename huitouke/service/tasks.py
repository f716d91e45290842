"""The background after-sales import behind the upload page (a core Job with progress), and the managers' e-mail /
group-robot alert of a negative review, run by the worker."""

from __future__ import annotations

import logging

from huitouke.core.audit import record
from huitouke.core.fleet import queue_task
from huitouke.core.models import AuditEntry
from huitouke.core.services import job_fail, job_finish, job_progress, job_register, job_start

log = logging.getLogger(__name__)

IMPORT_JOB_KIND = "aftersales_import"


@queue_task("imports")
def aftersales_import_task(job_id: int) -> None:
    from huitouke.core.errors import ApplicationError
    from huitouke.service.importers import ImportFileError
    from huitouke.service.services.aftersales_import import aftersales_import

    job = job_start(job_id=job_id)
    if job.status != job.Status.RUNNING:
        return
    params = job.params
    try:
        result = aftersales_import(
            path=params["path"],
            shop=params.get("shop", ""),
            layout=params.get("layout", "auto"),
            mapping=params.get("mapping"),
            progress=lambda done: job_progress(job_id=job_id, done=done, stage="refunds"),
            report_name=f"job{job_id}",
        )
    except (ImportFileError, ApplicationError) as exc:
        job_fail(job_id=job_id, error=getattr(exc, "message", str(exc)))
        return
    except Exception as exc:  # the job must end visibly; the traceback goes to the worker's log
        log.exception("after-sales import job %s failed", job_id)
        job_fail(job_id=job_id, error=f"unexpected error: {exc}")
        return
    record(
        actor=job.created_by,
        action=AuditEntry.Action.IMPORT,
        target_type="aftersales",
        target_id=job_id,
        result=result.as_json(),
    )
    job_finish(job_id=job_id, result={**result.as_json(), "layout": result.layout})
    recovery_figures_task()  # the imported tickets move the stored recovery effect


@queue_task("default")
def recovery_figures_task() -> None:
    """Recompute the stored recovery figures (after an after-sales import, or the report's "Recompute")."""
    from huitouke.service.report_figures import recovery_figures_refresh

    recovery_figures_refresh()


@queue_task("default")
def negative_review_alert_task(review_id: int) -> None:
    """Send the managers' alert of one negative review (once; see service.services.review_alerts)."""
    from huitouke.service.services.review_alerts import negative_review_alert_send

    negative_review_alert_send(review_id=review_id)


def register() -> None:
    job_register(IMPORT_JOB_KIND, aftersales_import_task)


@queue_task("default")
def performance_figures_task(start: str, end: str, shop_id: int | None) -> None:
    """Recompute the stored staff performance figures of one period and shop (the report's "Recompute")."""
    from datetime import date

    from huitouke.service.performance_figures import performance_recompute

    performance_recompute(start=date.fromisoformat(start), end=date.fromisoformat(end), shop_id=shop_id)
