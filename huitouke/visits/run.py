"""Creating a plan's due tasks, set-based: one aggregate over the candidates (to count the skips by reason) and
one INSERT … SELECT … ON CONFLICT DO NOTHING, whatever the number of customers. Assignment (round-robin with the
daily capacity spilling to later days, ticket owner, pool) and the holdout draw are computed in the statement
with the formulas of visits/schedule.py.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from django.db import connection

from huitouke.care.triggers import clock
from huitouke.customers.models import Customer
from huitouke.loyalty.models import Membership
from huitouke.orders.models import Order
from huitouke.service.models import Ticket
from huitouke.visits import schedule
from huitouke.visits.models import VisitOptOut, VisitPlan, VisitTask
from huitouke.visits.questionnaire import VALID_DAYS as QUESTIONNAIRE_DAYS

#: a run spreads its tasks over at most this many days ahead (the rest go onto the last of them)
MAX_SPILL_DAYS = 366
#: the one-off list's limit (it is a list kept on the plan)
MAX_ONE_OFF = 10_000


@dataclass
class PlanRunResult:
    """What one run did for one plan: tasks created and the candidates skipped, by reason; `error` says why a
    plan could not run at all (its segment no longer reads, …) — the other plans still run."""

    plan: str
    plan_id: int
    created: int = 0
    skipped: dict[str, int] = field(default_factory=dict)
    error: str = ""

    def as_json(self) -> dict[str, Any]:
        skipped = dict(sorted(self.skipped.items()))
        out: dict[str, Any] = {"plan": self.plan, "created": self.created, "skipped": skipped}
        if self.error:
            out["error"] = self.error
        return out


def _t(model: type[Any]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def _dt(value: datetime) -> Any:
    return connection.ops.adapt_datetimefield_value(value)


def _candidates(plan: VisitPlan, today: date, tz: str) -> tuple[str, list[Any]]:
    """SELECT customer_id, occasion, owner_id of the plan's occasions due on the shop day `today`."""
    kind = plan.trigger
    if kind in (schedule.AFTER_DELIVERY, schedule.AFTER_FIRST_ORDER, schedule.AFTER_EVERY_ORDER):
        column = "delivered_at" if kind == schedule.AFTER_DELIVERY else "confirmed_at"
        start, end = clock.days_bounds(*schedule.event_window(today, plan.days), tz)
        sql = (
            f"SELECT o.customer_id AS customer_id, 'order:' || o.id AS occasion, NULL AS owner_id FROM {_t(Order)} o"
            f" WHERE o.shop_id = %s AND o.{column} >= %s AND o.{column} < %s"
        )
        params: list[Any] = [plan.shop_id, _dt(start), _dt(end)]
        if kind == schedule.AFTER_FIRST_ORDER:
            sql += (
                f" AND NOT EXISTS (SELECT 1 FROM {_t(Order)} p WHERE p.customer_id = o.customer_id"
                " AND p.shop_id = o.shop_id AND p.confirmed_at < o.confirmed_at)"
            )
        return sql, params
    if kind == schedule.AFTER_TICKET:
        start, end = clock.days_bounds(*schedule.event_window(today, plan.days), tz)
        return (
            (
                f"SELECT t.customer_id AS customer_id, 'ticket:' || t.id AS occasion, t.owner_id AS owner_id"
                f" FROM {_t(Ticket)} t WHERE t.shop_id = %s AND t.resolved_at >= %s AND t.resolved_at < %s"
            ),
            [plan.shop_id, _dt(start), _dt(end)],
        )
    if kind == schedule.EVERY_N_DAYS:
        n = max(plan.days, 1)
        ed = schedule.epoch_day(today)
        catch = min(schedule.CATCH_UP_DAYS, n - 1)
        return (
            (
                f"SELECT c.id AS customer_id, 'every:' || ((%s + c.id %% %s) / %s) AS occasion, NULL AS owner_id"
                f" FROM {_t(Customer)} c WHERE c.merged_into_id IS NULL AND ((%s + c.id %% %s) %% %s) <= %s"
            ),
            [ed, n, n, ed, n, n, catch],
        )
    if kind == schedule.BEFORE_HOLIDAY:
        due = schedule.holidays_due(today, plan.holidays or [], plan.days)
        if not due:
            return "", []
        parts, params = [], []
        for key, holiday in due:
            parts.append(
                f"SELECT c.id AS customer_id, %s AS occasion, NULL AS owner_id FROM {_t(Customer)} c"
                " WHERE c.merged_into_id IS NULL"
            )
            params.append(schedule.holiday_occasion(key, holiday))
        return " UNION ALL ".join(parts), params
    if kind == schedule.ONE_OFF:
        ids = [int(i) for i in (plan.customer_ids or [])][:MAX_ONE_OFF]
        if not ids:
            if plan.segment_id is None and not plan.level_ids:
                return "", []
            # No list: everyone in the plan's segment and/or levels, once (_audience narrows it).
            everyone = f"SELECT c.id AS customer_id, 'once' AS occasion, NULL AS owner_id FROM {_t(Customer)} c"
            return everyone + " WHERE c.merged_into_id IS NULL", []
        marks = ", ".join(["%s"] * len(ids))
        return (
            (
                f"SELECT c.id AS customer_id, 'once' AS occasion, NULL AS owner_id FROM {_t(Customer)} c"
                f" WHERE c.id IN ({marks})"
            ),
            list(ids),
        )
    raise ValueError(f"unknown trigger {kind!r}")


def _audience(plan: VisitPlan, now: datetime) -> tuple[str, list[Any]]:
    """Extra conditions on cand.customer_id for the plan's segment and levels."""
    sql, params = "", []
    if plan.segment_id is not None:
        from huitouke.audiences.selectors import segment_customers

        assert plan.segment is not None
        inner, inner_params = segment_customers(plan.segment.definition, now=now).values("id").query.sql_with_params()
        sql += f" AND cand.customer_id IN ({inner})"
        params += list(inner_params)
    levels = [int(i) for i in (plan.level_ids or [])]
    if levels:
        marks = ", ".join(["%s"] * len(levels))
        sql += f" AND cand.customer_id IN (SELECT m.customer_id FROM {_t(Membership)} m WHERE m.level_id IN ({marks}))"
        params += levels
    return sql, params


def _flagged(plan: VisitPlan, today: date, tz: str, now: datetime) -> tuple[str, list[Any]]:
    cand, params = _candidates(plan, today, tz)
    if not cand:
        return "", []
    aud, aud_params = _audience(plan, now)
    share = round(float(plan.holdout_share) * schedule.HOLDOUT_MODULUS)
    phone = plan.channel in (VisitPlan.Channel.PHONE, VisitPlan.Channel.SMS_QUESTIONNAIRE)
    tasks = _t(VisitTask)
    sql = (
        "SELECT DISTINCT cand.customer_id AS customer_id, cand.occasion AS occasion, cand.owner_id AS owner_id,"
        " CASE"
        f" WHEN EXISTS (SELECT 1 FROM {_t(VisitOptOut)} x WHERE x.customer_id = cand.customer_id) THEN 'opted_out'"
        " WHEN c.merged_into_id IS NOT NULL THEN 'merged'"
        + (" WHEN c.phone = '' OR c.phone LIKE '%%*%%' THEN 'no_phone'" if phone else "")
        + f" WHEN EXISTS (SELECT 1 FROM {tasks} o WHERE o.plan_id = %s AND o.customer_id = cand.customer_id"
        " AND o.status = 'due') THEN 'open_task'"
        " WHEN ((cand.customer_id * %s + %s) %% %s) < %s THEN 'held_out'"
        " ELSE '' END AS reason"
        f" FROM ({cand}) cand JOIN {_t(Customer)} c ON c.id = cand.customer_id"
        f" WHERE NOT EXISTS (SELECT 1 FROM {tasks} t WHERE t.plan_id = %s AND t.customer_id = cand.customer_id"
        " AND t.occasion = cand.occasion)" + aud
    )
    return sql, [
        plan.pk,
        schedule.HOLDOUT_FACTOR,
        plan.seed,
        schedule.HOLDOUT_MODULUS,
        share,
        *params,
        plan.pk,
        *aud_params,
    ]


def _used_today(agent_ids: list[int], today: date, tz: str) -> int:
    if not agent_ids:
        return 0
    start, end = clock.day_bounds(today, tz)
    return VisitTask.objects.filter(
        assignee_id__in=agent_ids, status=VisitTask.Status.DUE, due_at__gte=start, due_at__lt=end
    ).count()


def plan_run(plan: VisitPlan, *, at: datetime, dry_run: bool) -> PlanRunResult:
    """Create the plan's tasks due at `at` (inside the caller's transaction) and count the skips."""
    result = PlanRunResult(plan=plan.name, plan_id=plan.pk)
    tz = plan.shop.timezone or clock.DEFAULT_TZ
    today = clock.local_today(at, tz)
    flagged, params = _flagged(plan, today, tz, at)
    if not flagged:
        return result
    counts: dict[str, int] = {}
    with connection.cursor() as cur:
        if connection.vendor == "postgresql":
            # The statements are cheap to run but large to plan: PostgreSQL's JIT spent seconds compiling them
            # (benchmarks/visits.py); off for this transaction only.
            cur.execute("SET LOCAL jit = off")
        cur.execute(f"SELECT f.reason, COUNT(*) FROM ({flagged}) f GROUP BY f.reason", params)
        for reason, n in cur.fetchall():
            counts[str(reason)] = int(n)
    new = counts.pop("", 0)
    result.skipped = counts
    if dry_run:
        result.created = new
        return result
    if new or counts.get("held_out"):
        # A questionnaire's task falls due to an agent only once its link has run out unanswered.
        delay = QUESTIONNAIRE_DAYS if plan.channel == VisitPlan.Channel.SMS_QUESTIONNAIRE else 0
        result.created = _insert(
            plan, flagged, params, at=at, today=today, tz=tz, new=new, held=counts.get("held_out", 0), delay=delay
        )
    return result


def _insert(
    plan: VisitPlan,
    flagged: str,
    params: list[Any],
    *,
    at: datetime,
    today: date,
    tz: str,
    new: int,
    held: int,
    delay: int = 0,
) -> int:
    now = _dt(at)
    at, today = at + timedelta(days=delay), today + timedelta(days=delay)
    now_due = schedule.next_allowed(at, tz, plan.quiet_start, plan.quiet_end)
    agent_ids = sorted(plan.agents.values_list("id", flat=True))
    assignee_sql, due_sql, extra = "NULL", "%s", [_dt(now_due)]
    rr = plan.assignment == VisitPlan.Assignment.ROUND_ROBIN and agent_ids
    if rr:
        a, cap = len(agent_ids), plan.daily_capacity
        used = _used_today(agent_ids, today, tz)
        rn = "(ROW_NUMBER() OVER (ORDER BY f.customer_id, f.occasion) - 1)"
        assignee_sql = f"CASE (({plan.rotation % a} + {rn}) %% {a})"
        assignee_sql += "".join(f" WHEN {i} THEN {int(pk)}" for i, pk in enumerate(agent_ids)) + " END"
        if cap:
            days = min(math.ceil((used + max(new, 1)) / (a * cap)), MAX_SPILL_DAYS)
            stamps = [now_due] + [
                schedule.day_due(today + timedelta(days=k), tz, plan.quiet_end) for k in range(1, days + 1)
            ]
            due_sql = f"CASE (({used} + {rn}) / {a * cap})"
            due_sql += "".join(f" WHEN {k} THEN %s" for k in range(len(stamps) - 1))
            due_sql += " ELSE %s END"
            extra = [_dt(s) for s in stamps]
    elif plan.assignment == VisitPlan.Assignment.TICKET_OWNER:
        assignee_sql = (
            f"COALESCE(f.owner_id, (SELECT t.owner_id FROM {_t(Ticket)} t WHERE t.customer_id = f.customer_id"
            " AND t.owner_id IS NOT NULL ORDER BY t.created_at DESC LIMIT 1))"
        )
    answers = "CAST('{}' AS jsonb)" if connection.vendor == "postgresql" else "'{}'"
    cols = (
        "created_at, updated_at, plan_id, customer_id, occasion, assignee_id, due_at, status, attempts, outcome,"
        " answers, feedback, held_out"
    )
    total = 0
    with connection.cursor() as cur:
        if new:
            cur.execute(
                f"INSERT INTO {_t(VisitTask)} ({cols}) SELECT %s, %s, %s, f.customer_id, f.occasion, {assignee_sql},"
                f" {due_sql}, 'due', 0, '', {answers}, '', %s FROM ({flagged}) f WHERE f.reason = ''"
                " ON CONFLICT DO NOTHING",
                [now, now, plan.pk, *extra, False, *params],
            )
            total = max(cur.rowcount, 0)
    if held:
        with connection.cursor() as cur:
            cur.execute(
                f"INSERT INTO {_t(VisitTask)} ({cols}) SELECT %s, %s, %s, f.customer_id, f.occasion, NULL, %s,"
                f" 'cancelled', 0, '', {answers}, '', %s FROM ({flagged}) f WHERE f.reason = 'held_out'"
                " ON CONFLICT DO NOTHING",
                [now, now, plan.pk, now, True, *params],
            )
    if rr and total:
        VisitPlan.objects.filter(pk=plan.pk).update(rotation=(plan.rotation + total) % len(agent_ids))
    return total
