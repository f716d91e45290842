"""The run that creates every enabled plan's due tasks (and queues the SMS of questionnaire plans)."""

from __future__ import annotations

import logging
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from huitouke.audiences.conditions import DefinitionError
from huitouke.core.errors import ApplicationError
from huitouke.visits import questionnaire
from huitouke.visits.models import VisitPlan, VisitTask
from huitouke.visits.run import PlanRunResult, plan_run

log = logging.getLogger(__name__)


def visits_plan_run(*, at: datetime | None = None, dry_run: bool = False) -> list[PlanRunResult]:
    """Create the due tasks of every enabled plan at `at` (default now): exactly one task per (plan, customer,
    occasion) however often it runs. Each plan runs in its own transaction; with `dry_run` nothing is written and
    `created` says how many would be. Skips are counted by reason: opted_out, no_phone, open_task, held_out
    (held-out customers get a cancelled, held_out row so the plan can compare them), merged."""
    moment = at or timezone.now()
    if moment.tzinfo is None:
        raise ApplicationError("the time needs a time zone", field="at")
    results = []
    for plan in VisitPlan.objects.filter(enabled=True).select_related("shop", "segment").order_by("pk"):
        try:
            with transaction.atomic():
                result = plan_run(plan, at=moment, dry_run=dry_run)
                if dry_run:
                    transaction.set_rollback(True)
                elif result.created and plan.channel == VisitPlan.Channel.SMS_QUESTIONNAIRE:
                    _questionnaires_send(plan, moment)
        except (ApplicationError, DefinitionError) as exc:
            # One broken plan (a segment whose tag or level was removed) must not stop the others.
            log.warning("visit plan %s could not run: %s", plan.pk, exc)
            result = PlanRunResult(plan=plan.name, plan_id=plan.pk, error=str(getattr(exc, "message", exc)))
        results.append(result)
    return results


def _questionnaires_send(plan: VisitPlan, at: datetime) -> int:
    """Queue the questionnaire SMS of the tasks this run created (in the run's transaction: both or neither)."""
    from huitouke.messaging.services import message_enqueue_many

    new = VisitTask.objects.filter(plan=plan, created_at=at, held_out=False, status=VisitTask.Status.DUE)
    tasks = list(new.order_by("pk").values_list("pk", "customer_id"))
    return message_enqueue_many(messages=questionnaire.questionnaire_messages(plan, tasks, at), now=at)
