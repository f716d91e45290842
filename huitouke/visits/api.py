"""REST endpoints of return visits: plans (list, create), tasks (list by assignee and status), a visit's outcome.

Thin: parse (schemas) -> check the permission -> one service/selector -> respond. Phones in task answers go
through the Masker: agents see them masked (the full number is revealed only on the task page, audited).
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from huitouke.care.triggers import clock
from huitouke.core.api import Int64, errors, masker_for, require_perms
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import Masker
from huitouke.core.services import audit_unmasked
from huitouke.orders.models import Shop
from huitouke.visits import selectors, services
from huitouke.visits.models import VisitPlan, VisitTask
from huitouke.visits.schemas import OutcomeIn, PlanIn, PlanOut, TaskFilterIn, TaskOut, TaskPage

router = Router(tags=["visits"])

VIEW_PLAN, ADD_PLAN = "visits.view_visitplan", "visits.add_visitplan"
WORK = "visits.work_visittask"
PAGE_SIZE = 50


def plan_out(p: VisitPlan) -> PlanOut:
    return PlanOut(
        id=p.pk,
        name=p.name,
        shop=p.shop.name,
        trigger=p.trigger,
        days=p.days,
        holidays=list(p.holidays or []),
        segment_id=p.segment_id,
        level_ids=list(p.level_ids or []),
        channel=p.channel,
        script=p.script,
        questions=list(p.questions or []),
        attempts=p.attempts,
        retry_hours=p.retry_hours,
        assignment=p.assignment,
        agents=sorted(a.get_username() for a in p.agents.all()),
        daily_capacity=p.daily_capacity,
        quiet_start=p.quiet_start,
        quiet_end=p.quiet_end,
        holdout_share=p.holdout_share,
        enabled=p.enabled,
    )


def task_out(t: VisitTask, masker: Masker, today_start: Any) -> TaskOut:
    return TaskOut(
        id=t.pk,
        plan_id=t.plan_id,
        plan=t.plan.name,
        customer_id=t.customer_id,
        customer=t.customer.name,
        phone=masker.phone(t.customer.phone),
        occasion=t.occasion,
        assignee=t.assignee.get_username() if t.assignee else None,
        due_at=timezone.localtime(t.due_at),
        status=t.status,
        overdue=t.status == VisitTask.Status.DUE and t.due_at < today_start,
        attempts=t.attempts,
        outcome=t.outcome,
        satisfaction=t.satisfaction,
        answers=t.answers or {},
        feedback=t.feedback,
        new_products_opt_in=t.new_products_opt_in,
        ticket_id=t.ticket_id,
        callback_on=t.callback_on,
        done_at=timezone.localtime(t.done_at) if t.done_at else None,
    )


@router.get("/visits/plans", response={200: list[PlanOut]}, summary="List visit plans")
def plan_list(request: HttpRequest) -> list[PlanOut]:
    require_perms(request, VIEW_PLAN)
    return [plan_out(p) for p in selectors.plan_list()[:500]]


def _shop(name: str | None) -> Shop:
    if name:
        shop = Shop.objects.filter(name=name).first()
        if shop is None:
            raise NotFoundError(f"no shop named {name!r}", field="shop")
        return shop
    shops = list(Shop.objects.order_by("name")[:2])
    if len(shops) == 1:
        return shops[0]
    raise ApplicationError("name the shop", field="shop")


@router.post("/visits/plans", openapi_extra=errors(409), response={201: PlanOut}, summary="Create a visit plan")
def plan_create(request: HttpRequest, payload: PlanIn) -> Status[PlanOut]:
    """Create a plan: whom (segment_id, level_ids, or the trigger's customers), when (trigger, days, holidays),
    how (channel, script, questions), attempts and retries, who (assignment, agent_ids, daily_capacity), quiet
    hours and a holdout share (0–0.5)."""
    require_perms(request, ADD_PLAN)
    values = payload.model_dump(exclude={"shop"})
    values["questions"] = list(values["questions"])
    values["questions"] = [{k: v for k, v in q.items() if v is not None} for q in values["questions"]]
    agent_ids = values.pop("agent_ids")
    plan = services.visit_plan_create(shop=_shop(payload.shop), actor=request.user, agent_ids=agent_ids, **values)
    return Status(201, plan_out(selectors.plan_get(plan_id=plan.pk)))


@router.get("/visits/tasks", response={200: TaskPage}, summary="List visit tasks")
def task_list(request: HttpRequest, filters: Query[TaskFilterIn]) -> dict[str, Any]:
    """Tasks of one assignee (username; default everyone's) by status: due (today), overdue, done; none = the
    day's queue. 50 a page."""
    require_perms(request, WORK)
    assignee_id = None
    if filters.assignee:
        user = get_user_model().objects.filter(username=filters.assignee).first()
        if user is None:
            raise NotFoundError(f"no user named {filters.assignee!r}", field="assignee")
        assignee_id = user.pk
    today = clock.local_today(timezone.now(), clock.DEFAULT_TZ)
    qs = selectors.task_list(assignee_id=assignee_id, status=filters.status, today=today)
    offset = (filters.page - 1) * PAGE_SIZE
    rows = list(qs[offset : offset + PAGE_SIZE])
    masker = masker_for(request)
    audit_unmasked(
        actor=request.user,
        unmasked=masker.unmasked,
        target_type="customer",
        ids=[t.customer_id for t in rows if t.customer.phone],
    )
    start, _end = clock.day_bounds(today, clock.DEFAULT_TZ)
    return {"items": [task_out(t, masker, start) for t in rows], "count": qs.count(), "page": filters.page}


@router.post(
    "/visits/tasks/{task_id}/outcome",
    openapi_extra=errors(404, 409),
    response={200: TaskOut},
    summary="Record a visit's outcome",
)
def task_outcome(request: HttpRequest, task_id: Int64, payload: OutcomeIn) -> TaskOut:
    """Record the outcome (reached, no_answer, wrong_number, refused, asked_not_to_be_visited) with satisfaction
    1–5, feedback, answers, new_products_opt_in and follow_up ("ticket", a date YYYY-MM-DD, or null)."""
    require_perms(request, WORK)
    task = selectors.task_get(task_id=task_id)
    done = services.visit_outcome_record(
        task=task,
        actor=request.user,
        outcome=payload.outcome,
        satisfaction=payload.satisfaction,
        feedback=payload.feedback,
        answers=payload.answers,
        new_products_opt_in=payload.new_products_opt_in,
        follow_up=payload.follow_up,
    )
    today = clock.local_today(timezone.now(), clock.DEFAULT_TZ)
    start, _end = clock.day_bounds(today, clock.DEFAULT_TZ)
    masker = masker_for(request)
    audit_unmasked(actor=request.user, unmasked=masker.unmasked, target_type="customer", ids=[done.customer_id])
    return task_out(selectors.task_get(task_id=done.pk), masker, start)
