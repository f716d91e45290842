"""Every non-trivial read of return visits: an agent's queue, the task list of the API, a customer's past visits,
the dashboard counts and the "what visits teach" report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from django.db import connection
from django.db.models import Avg, Count, Exists, OuterRef, Q, QuerySet
from django.db.models.functions import TruncMonth

from huitouke.campaigns.stats import Estimate, rate_difference
from huitouke.care.triggers import clock
from huitouke.core.errors import NotFoundError
from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Customer
from huitouke.orders.models import Order, OrderLine
from huitouke.visits.models import VisitOptOut, VisitPlan, VisitTask
from huitouke.visits.words import ProductWords, words_by_product

DUE, OVERDUE, DONE = "due", "overdue", "done"
#: the report reads the words of at most this many latest feedbacks
FEEDBACK_LIMIT = 2000
TASK_STATUSES = (DUE, OVERDUE, DONE)


def visit_agents() -> QuerySet[Any]:
    """The active staff who can work visits (owners, managers, agents): the choices of a plan's agents."""
    from django.contrib.auth import get_user_model

    from huitouke.core.roles import AGENT, MANAGER, OWNER

    users = get_user_model().objects.filter(is_active=True)
    staff = Q(groups__name__in=[OWNER, MANAGER, AGENT]) | Q(is_superuser=True)
    return users.filter(staff).distinct().order_by("username")


def plan_list(*, shop_id: int | None = None) -> QuerySet[VisitPlan]:
    qs = VisitPlan.objects.select_related("shop", "segment").prefetch_related("agents").order_by("name", "pk")
    return qs.filter(shop_id=shop_id) if shop_id else qs


def plan_get(*, plan_id: int) -> VisitPlan:
    try:
        return plan_list().get(pk=plan_id)
    except VisitPlan.DoesNotExist as exc:
        raise NotFoundError("no such visit plan", field="id") from exc


def task_get(*, task_id: int) -> VisitTask:
    try:
        return VisitTask.objects.select_related("plan", "plan__shop", "customer", "assignee", "ticket").get(pk=task_id)
    except VisitTask.DoesNotExist as exc:
        raise NotFoundError("no such visit task", field="id") from exc


def _day_end(today: date, tz: str = clock.DEFAULT_TZ) -> tuple[datetime, datetime]:
    return clock.day_bounds(today, tz)


def task_list(*, assignee_id: int | None, status: str | None, today: date) -> QuerySet[VisitTask]:
    """Tasks by assignee (None: everyone's) and status: due (due today, not yet done), overdue (due before today),
    done; no status: the day's queue (due and overdue). Open ones oldest first, done ones newest first."""
    start, end = _day_end(today)
    qs = VisitTask.objects.select_related("plan", "customer", "assignee").filter(held_out=False)
    if assignee_id is not None:
        qs = qs.filter(assignee_id=assignee_id)
    if status == DONE:
        return qs.filter(status=VisitTask.Status.DONE).order_by("-done_at", "-id")
    qs = qs.filter(status=VisitTask.Status.DUE)
    if status == DUE:
        qs = qs.filter(due_at__gte=start, due_at__lt=end)
    elif status == OVERDUE:
        qs = qs.filter(due_at__lt=start)
    else:
        qs = qs.filter(due_at__lt=end)
    return qs.order_by("due_at", "id")


def agent_queue(*, user_id: int, today: date, include_pool: bool = True, limit: int = 100) -> list[VisitTask]:
    """The agent's work for today: their due and overdue tasks and the pool's unassigned ones, oldest first, at
    most `limit`, each with `plan_name`, `customer_name` and `customer_phone` (the only columns a queue row shows;
    the customer's encrypted columns are not read). One statement: a limited scan of the queue index for the agent
    and one for the pool (so a long backlog costs no more than a short one), then only those rows are joined."""
    _start, end = _day_end(today)
    t, p, c = (connection.ops.quote_name(m._meta.db_table) for m in (VisitTask, VisitPlan, Customer))
    when = connection.ops.adapt_datetimefield_value(end)
    pick = (
        f"SELECT * FROM (SELECT id, due_at FROM {t} WHERE {{who}} AND status = %s AND due_at < %s"
        " ORDER BY due_at, id LIMIT %s) AS {name}"
    )
    parts = [pick.format(who="assignee_id = %s", name="mine")]
    params: list[Any] = [user_id, VisitTask.Status.DUE, when, limit]
    if include_pool:
        parts.append(pick.format(who="assignee_id IS NULL", name="pool"))
        params += [VisitTask.Status.DUE, when, limit]
    sql = (
        f"SELECT t.id, t.plan_id, t.customer_id, t.occasion, t.assignee_id, t.due_at, t.status, t.attempts,"
        f" t.held_out, p.name AS plan_name, c.name AS customer_name, c.phone AS customer_phone"
        f" FROM ({' UNION ALL '.join(parts)}) picked JOIN {t} t ON t.id = picked.id"
        f" JOIN {p} p ON p.id = t.plan_id JOIN {c} c ON c.id = t.customer_id"
        " WHERE t.held_out = %s ORDER BY picked.due_at, picked.id LIMIT %s"
    )
    tasks = list(VisitTask.objects.raw(sql, [*params, False, limit]))
    cipher = pii_cipher()
    for task in tasks:  # the raw column is the stored token: open it as the model field would
        phone = getattr(task, "customer_phone", "")
        task.customer_phone = cipher.open(phone) if phone else ""  # type: ignore[attr-defined]
    return tasks


def queue_counts(*, user_id: int, today: date) -> dict[str, int]:
    """Today's figures of an agent's queue: due today, overdue, done today — one statement over two index
    ranges (the open backlog up to tonight, today's done tasks)."""
    start, end = _day_end(today)
    due, done = VisitTask.Status.DUE, VisitTask.Status.DONE
    row = (
        VisitTask.objects.filter(assignee_id=user_id)
        .filter(Q(status=due, due_at__lt=end) | Q(status=done, done_at__gte=start, done_at__lt=end))
        .aggregate(
            due=Count("id", filter=Q(status=due, due_at__gte=start)),
            overdue=Count("id", filter=Q(status=due, due_at__lt=start)),
            done=Count("id", filter=Q(status=done)),
        )
    )
    return {k: int(v or 0) for k, v in row.items()}


def visits_for_customer(*, customer_id: int, limit: int = 20) -> list[VisitTask]:
    return list(
        VisitTask.objects.select_related("plan", "done_by")
        .filter(customer_id=customer_id, held_out=False)
        .order_by("-due_at", "-id")[:limit]
    )


def is_opted_out(*, customer_id: int) -> bool:
    return VisitOptOut.objects.filter(customer_id=customer_id).exists()


@dataclass(frozen=True)
class RateRow:
    key: str
    tasks: int
    done: int
    reached: int
    completion: float | None
    reach: float | None


@dataclass
class VisitReport:
    """What visits teach: completion and reach per plan and agent, satisfaction, opt-ins, tickets, uplift."""

    by_plan: list[RateRow] = field(default_factory=list)
    by_agent: list[RateRow] = field(default_factory=list)
    by_month: list[RateRow] = field(default_factory=list)
    words: list[ProductWords] = field(default_factory=list)
    satisfaction: dict[int, int] = field(default_factory=dict)
    satisfaction_by_month: list[tuple[str, float, int]] = field(default_factory=list)
    opt_ins: int = 0
    tickets: int = 0
    uplift: dict[str, Any] = field(default_factory=dict)


def _rates(qs: QuerySet[VisitTask], key: str) -> list[RateRow]:
    rows = (
        qs.values(key)
        .annotate(
            n=Count("id"),
            done=Count("id", filter=Q(status=VisitTask.Status.DONE)),
            reached=Count("id", filter=Q(outcome=VisitTask.Outcome.REACHED, status=VisitTask.Status.DONE)),
        )
        .order_by(key)
    )
    out = []
    for r in rows:
        n, done, reached = int(r["n"]), int(r["done"]), int(r["reached"])
        out.append(
            RateRow(str(r[key] or "—"), n, done, reached, done / n if n else None, reached / done if done else None)
        )
    return out


def _monthly_rates(qs: QuerySet[VisitTask]) -> list[RateRow]:
    """Completion and reach by the month the tasks fell due (the period view of the per-plan table)."""
    rows = (
        qs.annotate(month=TruncMonth("due_at"))
        .values("month")
        .annotate(
            n=Count("id"),
            done=Count("id", filter=Q(status=VisitTask.Status.DONE)),
            reached=Count("id", filter=Q(outcome=VisitTask.Outcome.REACHED, status=VisitTask.Status.DONE)),
        )
        .order_by("month")
    )
    out = []
    for r in rows:
        if r["month"] is None:
            continue
        n, done, reached = int(r["n"]), int(r["done"]), int(r["reached"])
        out.append(
            RateRow(
                r["month"].strftime("%Y-%m"),
                n,
                done,
                reached,
                done / n if n else None,
                reached / done if done else None,
            )
        )
    return out


def feedback_by_product(done: QuerySet[VisitTask], *, limit: int = FEEDBACK_LIMIT) -> list[tuple[str, str]]:
    """(product title, feedback) for the latest `limit` finished visits with feedback: the products of the order
    the visit was about (occasion order:<id>), otherwise of the customer's latest order before the visit."""
    rows = list(
        done.exclude(feedback="")
        .order_by("-done_at", "-id")
        .values_list("occasion", "customer_id", "feedback", "done_at")[:limit]
    )
    named = {int(o[6:]) for o, _c, _f, _d in rows if o.startswith("order:") and o[6:].isdigit()}
    others = {c for o, c, _f, _d in rows if not o.startswith("order:")}
    history: dict[int, list[tuple[Any, int]]] = {}
    for customer_id, order_id, at in (
        Order.objects.filter(customer_id__in=others)
        .order_by("ordered_at", "id")
        .values_list("customer_id", "id", "ordered_at")
    ):
        history.setdefault(customer_id, []).append((at, order_id))
    order_of: list[int | None] = []
    for occasion, customer_id, _f, done_at in rows:
        if occasion.startswith("order:") and occasion[6:].isdigit():
            order_of.append(int(occasion[6:]))
        else:
            before = [oid for at, oid in history.get(customer_id, []) if done_at is None or at <= done_at]
            order_of.append(before[-1] if before else None)
    wanted = named | {o for o in order_of if o is not None}
    titles: dict[int, list[str]] = {}
    for order_id, title in (
        OrderLine.objects.filter(order_id__in=wanted).order_by("order_id", "line_no").values_list("order_id", "title")
    ):
        if title not in titles.setdefault(order_id, []):
            titles[order_id].append(title)
    return [
        (title, feedback)
        for (_o, _c, feedback, _d), order_id in zip(rows, order_of, strict=True)
        for title in titles.get(order_id or 0, [])
    ]


def visit_report(*, start: datetime, end: datetime, plan_id: int | None = None) -> VisitReport:
    """The report over tasks due or done in [start, end) (held-out rows only for the uplift). Repurchase: an order
    placed after the task was created, by the visited (done, reached) and the held-out customers of the same plans."""
    # Due or finished in the window: a questionnaire answered before its task fell due counts when answered.
    base = VisitTask.objects.filter(Q(due_at__gte=start, due_at__lt=end) | Q(done_at__gte=start, done_at__lt=end))
    if plan_id:
        base = base.filter(plan_id=plan_id)
    worked = base.filter(held_out=False).exclude(status=VisitTask.Status.CANCELLED)
    report = VisitReport(
        by_plan=_rates(worked, "plan__name"),
        by_agent=_rates(worked, "assignee__username"),
        by_month=_monthly_rates(worked),
    )
    done = worked.filter(status=VisitTask.Status.DONE)
    rated = done.filter(satisfaction__isnull=False)
    for score, n in rated.values_list("satisfaction").annotate(n=Count("id")).values_list("satisfaction", "n"):
        report.satisfaction[int(score or 0)] = int(n)
    by_month = (
        rated.annotate(month=TruncMonth("done_at"))
        .values("month")
        .annotate(mean=Avg("satisfaction"), n=Count("id"))
        .order_by("month")
    )
    report.satisfaction_by_month = [
        (r["month"].strftime("%Y-%m"), float(r["mean"]), int(r["n"])) for r in by_month if r["month"] is not None
    ]
    report.words = words_by_product(feedback_by_product(done))
    report.opt_ins = done.filter(new_products_opt_in=True).count()
    report.tickets = done.filter(ticket__isnull=False).count()
    bought = Exists(Order.objects.filter(customer_id=OuterRef("customer_id"), ordered_at__gt=OuterRef("created_at")))
    marked = base.annotate(bought=bought)
    treated = marked.filter(held_out=False, status=VisitTask.Status.DONE, outcome=VisitTask.Outcome.REACHED)
    held = marked.filter(held_out=True)
    n_t, c_t = treated.count(), treated.filter(bought=True).count()
    n_h, c_h = held.count(), held.filter(bought=True).count()
    est: Estimate = rate_difference(c_t, n_t, c_h, n_h)
    report.uplift = {
        "visited": n_t,
        "visited_bought": c_t,
        "held_out": n_h,
        "held_out_bought": c_h,
        "estimate": est,
    }
    return report
