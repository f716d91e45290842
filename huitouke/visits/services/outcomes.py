"""The outcome of a visit and its effects (retry, opt-out, new-product consent, follow-up ticket, callback,
last contact), a customer's questionnaire answer, the opt-out and the audited phone reveal."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.care.triggers import clock
from huitouke.core.errors import ApplicationError, ConflictError
from huitouke.core.models import AuditEntry
from huitouke.core.services import audit_log
from huitouke.visits import questionnaire, schedule
from huitouke.visits.models import VisitOptOut, VisitPlan, VisitTask

FOLLOW_UP_TICKET = "ticket"


class QuestionnaireClosedError(ConflictError):
    """The questionnaire link's task is done, cancelled or past the link's validity."""


def visit_questionnaire_answer(
    *,
    task: VisitTask,
    satisfaction: Any,
    answers: dict[str, Any],
    feedback: str = "",
    new_products_opt_in: bool = False,
    at: datetime | None = None,
) -> VisitTask:
    """Record a customer's answer to a questionnaire link as the visit's outcome (reached, no agent): the same
    effects as a call (contact, consent to new-product notices when ticked). Raises QuestionnaireClosedError when
    the task is no longer due or its link ran out; ApplicationError naming the field for a bad answer."""
    now = at or timezone.now()
    if not questionnaire.is_open(task, now):
        raise QuestionnaireClosedError(_("This questionnaire is closed."), field="token")
    try:
        score = int(str(satisfaction).strip())
    except ValueError as exc:
        raise ApplicationError(_("Please choose how satisfied you are, from 1 to 5."), field="satisfaction") from exc
    if not 1 <= score <= 5:
        raise ApplicationError(_("Please choose how satisfied you are, from 1 to 5."), field="satisfaction")
    clean: dict[str, Any] = {}
    for q in task.plan.questions or []:
        raw = str(answers.get(q["key"], "")).strip()
        if raw:
            clean[q["key"]] = int(raw) if q["kind"] == "rating" and raw.isascii() and raw.isdigit() else raw
    return visit_outcome_record(
        task=task,
        actor=None,
        outcome=VisitTask.Outcome.REACHED,
        satisfaction=score,
        feedback=feedback,
        answers=clean,
        new_products_opt_in=True if new_products_opt_in else None,
        at=now,
    )


def _follow_up(value: Any) -> str | date | None:
    if value in (None, ""):
        return None
    if value == FOLLOW_UP_TICKET:
        return FOLLOW_UP_TICKET
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ApplicationError(
            _('The follow-up is "ticket", a date like 2026-05-17, or empty.'), field="follow_up"
        ) from exc


def _answers(plan: VisitPlan, answers: Any) -> dict[str, Any]:
    if answers in (None, ""):
        return {}
    if not isinstance(answers, dict):
        raise ApplicationError(_("The answers are an object keyed by question."), field="answers")
    by_key = {q["key"]: q for q in plan.questions or []}
    out: dict[str, Any] = {}
    for key, value in answers.items():
        q = by_key.get(key)
        where = f"answers.{key}"
        if q is None:
            raise ApplicationError(_("The script has no question with this key."), field=where)
        if q["kind"] == "rating":
            if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= 5:
                raise ApplicationError(_("A rating is a whole number from 1 to 5."), field=where)
        elif q["kind"] == "choice":
            if value not in q.get("choices", []):
                raise ApplicationError(_("Pick one of the question's choices."), field=where)
        else:
            value = str(value)[:2000]
        out[key] = value
    return out


def visit_outcome_record(
    *,
    task: VisitTask,
    actor: Any,
    outcome: str,
    satisfaction: int | None = None,
    feedback: str = "",
    answers: dict[str, Any] | None = None,
    new_products_opt_in: bool | None = None,
    follow_up: str | date | None = None,
    at: datetime | None = None,
) -> VisitTask:
    """Record what came of a visit and act on it, all in one transaction:
    - no_answer: the task stays due and is tried again retry_hours later (outside quiet hours) until the plan's
      attempts are used up, then it is done with no_answer;
    - asked_not_to_be_visited: the customer is opted out of every visit plan;
    - new_products_opt_in True/False: joins/leaves the new-products group (audiences.consent_group_set);
    - follow_up "ticket": opens a service ticket with the feedback, owned by the visiting agent;
      follow_up DATE: a callback task on that day for the same agent;
    - any outcome but no_answer counts as contact (care's "not contacted for N days").
    Raises ConflictError when the task is not due any more; ApplicationError naming a bad field."""
    from huitouke.audiences.services import consent_group_set
    from huitouke.customers.services import customer_contacted_mark

    now = at or timezone.now()
    if outcome not in VisitTask.Outcome.values:
        raise ApplicationError(
            _("Unknown outcome; use %(list)s.") % {"list": ", ".join(VisitTask.Outcome.values)}, field="outcome"
        )
    if satisfaction is not None and (isinstance(satisfaction, bool) or not 1 <= int(satisfaction) <= 5):
        raise ApplicationError(_("Satisfaction is a whole number from 1 to 5."), field="satisfaction")
    follow = _follow_up(follow_up)
    if isinstance(follow, date) and follow < clock.local_today(now, task.plan.shop.timezone or clock.DEFAULT_TZ):
        raise ApplicationError(_("The callback date lies in the past."), field="follow_up")
    with transaction.atomic():
        locked = VisitTask.objects.select_for_update().select_related("plan", "plan__shop", "customer").get(pk=task.pk)
        if locked.status != VisitTask.Status.DUE:
            raise ConflictError(_("This visit is already finished."), field="status")
        plan = locked.plan
        clean_answers = _answers(plan, answers)
        locked.attempts += 1
        locked.outcome = outcome
        locked.satisfaction = satisfaction
        locked.feedback = (feedback or "")[:4000]
        locked.answers = clean_answers
        locked.done_by = actor if getattr(actor, "is_authenticated", False) else None
        tz = plan.shop.timezone or clock.DEFAULT_TZ
        if outcome == VisitTask.Outcome.NO_ANSWER and schedule.may_retry(locked.attempts, plan.attempts):
            locked.next_attempt_at = schedule.retry_at(now, plan.retry_hours, tz, plan.quiet_start, plan.quiet_end)
            locked.due_at = locked.next_attempt_at
        else:
            locked.status = VisitTask.Status.DONE
            locked.done_at = now
            locked.next_attempt_at = None
        if outcome != VisitTask.Outcome.NO_ANSWER:
            customer_contacted_mark(customer=locked.customer, at=now)
        if outcome == VisitTask.Outcome.ASKED_NOT_TO_BE_VISITED:
            visit_opt_out(customer=locked.customer, source=f"visit:{locked.pk}")
        if new_products_opt_in is not None and outcome == VisitTask.Outcome.REACHED:
            locked.new_products_opt_in = new_products_opt_in
            consent_group_set(customer=locked.customer, member=new_products_opt_in, source=f"visit:{locked.pk}")
        if follow == FOLLOW_UP_TICKET:
            locked.ticket = _ticket_open(locked, actor)
        elif isinstance(follow, date):
            locked.callback_on = follow
            _callback(locked, follow, tz)
        locked.save()
    return locked


def _ticket_open(task: VisitTask, actor: Any) -> Any:
    from huitouke.service.models import TicketChannel, TicketType
    from huitouke.service.services import ticket_create, ticket_take

    channel = TicketChannel.PHONE if task.plan.channel == VisitPlan.Channel.PHONE else TicketChannel.WANGWANG
    ticket = ticket_create(
        customer=task.customer,
        type=TicketType.INQUIRY,
        channel=channel,
        subject=_("Follow-up of a return visit (%(plan)s)") % {"plan": task.plan.name},
        description=task.feedback,
        shop=task.plan.shop,
        actor=actor,
    )
    if getattr(actor, "is_authenticated", False):
        ticket = ticket_take(ticket=ticket, user=actor)
    return ticket


def _callback(task: VisitTask, day: date, tz: str) -> VisitTask:
    due = schedule.day_due(day, tz, task.plan.quiet_end)
    created, _new = VisitTask.objects.get_or_create(
        plan=task.plan,
        customer=task.customer,
        occasion=f"callback:{task.pk}",
        defaults={"assignee": task.done_by or task.assignee, "due_at": due},
    )
    return created


def visit_opt_out(*, customer: Any, source: str) -> VisitOptOut:
    """Opt the customer out of return visits (no plan creates tasks for them) and cancel their open tasks."""
    opt, _new = VisitOptOut.objects.get_or_create(customer=customer, defaults={"source": source[:32]})
    VisitTask.objects.filter(customer=customer, status=VisitTask.Status.DUE).exclude(
        occasion__startswith="callback:"
    ).update(status=VisitTask.Status.CANCELLED, updated_at=timezone.now())
    return opt


def visit_phone_reveal(*, task: VisitTask, actor: Any, reason: str) -> str:
    """The customer's full phone number for the visiting agent, leaving one audit entry (who, why, when).
    Raises ApplicationError when no reason is given."""
    why = (reason or "").strip()
    if not why:
        raise ApplicationError(_("Say why you need the full number."), field="reason")
    audit_log(
        actor=actor,
        action=AuditEntry.Action.UNMASK,
        target_type="customer",
        target_id=task.customer_id,
        field="phone",
        reason=why[:200],
        visit_task=task.pk,
    )
    return str(task.customer.phone)
