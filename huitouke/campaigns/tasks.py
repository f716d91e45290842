"""The background launch of a campaign (a core Job with progress), run by the worker."""

from __future__ import annotations

import logging

from huitouke.core.fleet import queue_task
from huitouke.core.services import job_fail, job_finish, job_progress, job_register, job_start

log = logging.getLogger(__name__)

LAUNCH_JOB_KIND = "campaign_launch"


@queue_task("default")
def campaign_launch_task(job_id: int) -> None:
    from huitouke.campaigns.selectors import campaign_get
    from huitouke.campaigns.services import campaign_launch, campaign_launch_failed
    from huitouke.core.errors import ApplicationError

    job = job_start(job_id=job_id)
    if job.status != job.Status.RUNNING:
        return
    campaign = campaign_get(pk=job.params["campaign_id"])
    try:
        result = campaign_launch(
            campaign=campaign, progress=lambda done: job_progress(job_id=job_id, done=done, stage="messages")
        )
    except ApplicationError as exc:
        campaign_launch_failed(campaign=campaign)
        job_fail(job_id=job_id, error=exc.message)
        return
    except Exception as exc:  # the job must end visibly; the traceback goes to the worker's log
        log.exception("campaign launch job %s failed", job_id)
        campaign_launch_failed(campaign=campaign)
        job_fail(job_id=job_id, error=f"unexpected error: {exc}")
        return
    job_finish(
        job_id=job_id,
        result={
            "campaign_id": campaign.pk,
            "targeted": result.targeted,
            "held_out": result.held_out,
            "enqueued": result.enqueued,
        },
    )


def register() -> None:
    job_register(LAUNCH_JOB_KIND, campaign_launch_task)
