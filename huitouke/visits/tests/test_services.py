"""Plan runs and outcomes against the real database: exactly once, skips by reason, assignment and capacity,
and the effects of an outcome (retry, opt-out, consent, ticket, callback, last contact), the audited reveal."""

from __future__ import annotations

from datetime import datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huitouke.core.errors import ApplicationError, ConflictError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Consent, Customer
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import OrderFactory
from huitouke.visits import services
from huitouke.visits.models import VisitOptOut, VisitTask

SH = ZoneInfo("Asia/Shanghai")
AT = datetime(2026, 5, 17, 10, 0, tzinfo=SH)


def _plan(shop: Any, agents: list[Any], **values: Any) -> Any:
    base: dict[str, Any] = {"name": "回访", "trigger": "after_delivery", "days": 7, "channel": "phone"}
    base.update(values)
    return services.visit_plan_create(shop=shop, agent_ids=[a.pk for a in agents], **base)


def _delivered(shop: Any, customer: Customer, when: datetime) -> Any:
    return OrderFactory.create(shop=shop, customer=customer, ordered_at=when - timedelta(days=3), delivered_at=when)


@pytest.mark.django_db
def test_after_delivery_creates_one_task_per_order_once_however_often_it_runs(shop: Any, agent: Any) -> None:
    plan = _plan(shop, [agent])
    a = CustomerFactory.create(phone="13800000001")
    b = CustomerFactory.create(phone="13800000002")
    _delivered(shop, a, datetime(2026, 5, 10, 15, 0, tzinfo=SH))
    _delivered(shop, b, datetime(2026, 5, 9, 15, 0, tzinfo=SH))  # a missed day: caught up
    _delivered(shop, b, datetime(2026, 5, 11, 15, 0, tzinfo=SH))  # 6 days ago: not yet

    first = services.visits_plan_run(at=AT)
    again = services.visits_plan_run(at=AT + timedelta(hours=1))

    assert [r.as_json() for r in first] == [{"plan": "回访", "created": 2, "skipped": {}}]
    assert [r.as_json() for r in again] == [{"plan": "回访", "created": 0, "skipped": {}}]
    tasks = list(VisitTask.objects.filter(plan=plan).order_by("customer_id"))
    assert [(t.customer_id, t.assignee_id, t.status) for t in tasks] == [
        (a.pk, agent.pk, "due"),
        (b.pk, agent.pk, "due"),
    ]
    assert all(t.occasion.startswith("order:") for t in tasks)


@pytest.mark.django_db
def test_dry_run_writes_nothing_and_counts_what_it_would_create(shop: Any, agent: Any) -> None:
    _plan(shop, [agent])
    _delivered(shop, CustomerFactory.create(phone="13800000001"), datetime(2026, 5, 10, 15, 0, tzinfo=SH))
    assert [r.created for r in services.visits_plan_run(at=AT, dry_run=True)] == [1]
    assert VisitTask.objects.count() == 0


@pytest.mark.django_db
def test_skips_are_counted_by_reason(shop: Any, agent: Any) -> None:
    ok = CustomerFactory.create(phone="13800000001")
    plan = _plan(shop, [agent], trigger="one_off", days=0, customer_ids=[ok.pk])
    no_phone = CustomerFactory.create(phone="")
    masked = CustomerFactory.create(phone="138****0003")
    opted = CustomerFactory.create(phone="13800000004")
    VisitOptOut.objects.create(customer=opted)
    busy = CustomerFactory.create(phone="13800000005")
    VisitTask.objects.create(plan=plan, customer=busy, occasion="callback:1", due_at=AT)
    services.visit_plan_update(plan=plan, customer_ids=[ok.pk, no_phone.pk, masked.pk, opted.pk, busy.pk])

    (result,) = services.visits_plan_run(at=AT)

    assert result.as_json() == {
        "plan": "回访",
        "created": 1,
        "skipped": {"no_phone": 2, "open_task": 1, "opted_out": 1},
    }


@pytest.mark.django_db
def test_holdout_rows_are_kept_cancelled_for_comparison(shop: Any, agent: Any) -> None:
    from huitouke.visits import schedule

    customers = [CustomerFactory.create(phone=f"1380000{i:04d}") for i in range(200)]
    plan = _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk for c in customers], holdout_share="0.3")
    expected = sum(schedule.is_held_out(plan.seed, c.pk, 0.3) for c in customers)

    (result,) = services.visits_plan_run(at=AT)

    assert result.skipped == {"held_out": expected}
    assert result.created == 200 - expected
    assert VisitTask.objects.filter(held_out=True, status="cancelled").count() == expected
    services.visits_plan_run(at=AT)
    assert VisitTask.objects.count() == 200


@pytest.mark.django_db
def test_round_robin_with_capacity_spills_to_the_next_mornings(shop: Any, make_user: Any) -> None:
    a1, a2 = make_user("agent", "a1"), make_user("agent", "a2")
    customers = [CustomerFactory.create(phone=f"1390000{i:04d}") for i in range(7)]
    _plan(
        shop,
        [a1, a2],
        trigger="one_off",
        customer_ids=[c.pk for c in customers],
        daily_capacity=2,
        quiet_start=time(21, 0),
        quiet_end=time(9, 0),
    )

    services.visits_plan_run(at=AT)

    tasks = list(VisitTask.objects.order_by("customer_id"))
    assert [t.assignee_id for t in tasks] == [a1.pk, a2.pk, a1.pk, a2.pk, a1.pk, a2.pk, a1.pk]
    due = [t.due_at.astimezone(SH) for t in tasks]
    assert due[:4] == [AT] * 4
    # 2 agents × 2 a day: four today, the rest on the next morning after the quiet hours
    assert due[4:] == [datetime(2026, 5, 18, 9, 0, tzinfo=SH)] * 3


@pytest.mark.django_db
def test_every_n_days_visits_level_members_once_per_period(shop: Any, agent: Any) -> None:
    from huitouke.loyalty.models import Level, Membership

    vip = Level.objects.create(shop=shop, rank=1, name="VIP")
    members = [CustomerFactory.create(phone=f"1370000{i:04d}") for i in range(30)]
    for c in members:
        Membership.objects.create(customer=c, shop=shop, level=vip)
    CustomerFactory.create(phone="13600000000")  # not a member
    _plan(shop, [agent], trigger="every_n_days", days=10, level_ids=[vip.pk], daily_capacity=0)

    created = 0
    for day in range(10):
        created += services.visits_plan_run(at=AT + timedelta(days=day))[0].created
    # every member exactly once in 10 days; a run on day 10 starts the next period for some
    assert created == 30
    assert VisitTask.objects.values("customer_id").distinct().count() == 30


@pytest.mark.django_db
def test_before_holiday_and_after_ticket(shop: Any, agent: Any) -> None:
    from huitouke.service.services import ticket_create, ticket_status_set, ticket_take

    c = CustomerFactory.create(phone="13800000001")
    _plan(shop, [agent], name="中秋", trigger="before_holiday", days=3, holidays=["mid_autumn"], daily_capacity=0)
    assert services.visits_plan_run(at=datetime(2026, 9, 22, 10, 0, tzinfo=SH))[0].created == 1
    assert VisitTask.objects.get(customer=c).occasion == "mid_autumn:2026"

    ticket = ticket_create(customer=c, type="quality", channel="phone", subject="broken", shop=shop, actor=agent)
    ticket_take(ticket=ticket, user=agent)
    services.visit_plan_create(
        shop=shop, name="recovery", trigger="after_ticket_resolved", days=7, assignment="ticket_owner"
    )
    ticket_status_set(ticket=ticket, status="resolved", actor=agent, note="fixed on the phone")
    ticket.refresh_from_db()
    assert ticket.resolved_at is not None
    later = ticket.resolved_at + timedelta(days=7)
    results = {r.plan: r.created for r in services.visits_plan_run(at=later)}
    assert results["recovery"] == 1
    task = VisitTask.objects.get(plan__name="recovery")
    assert (task.occasion, task.assignee_id) == (f"ticket:{ticket.pk}", agent.pk)


@pytest.mark.django_db
def test_no_answer_retries_then_ends(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk], attempts=2, retry_hours=3)
    services.visits_plan_run(at=AT)
    task = VisitTask.objects.get()

    task = services.visit_outcome_record(task=task, actor=agent, outcome="no_answer", at=AT)
    assert (task.status, task.attempts, task.next_attempt_at) == ("due", 1, AT + timedelta(hours=3))
    task = services.visit_outcome_record(task=task, actor=agent, outcome="no_answer", at=AT + timedelta(hours=3))
    assert (task.status, task.attempts, task.outcome) == ("done", 2, "no_answer")
    c.refresh_from_db()
    assert c.last_contacted_at is None
    with pytest.raises(ConflictError):
        services.visit_outcome_record(task=task, actor=agent, outcome="reached")


@pytest.mark.django_db
def test_reached_with_opt_in_ticket_and_contact(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk], questions=[{"text": "How was it?", "kind": "rating"}])
    services.visits_plan_run(at=AT)
    task = VisitTask.objects.get()

    task = services.visit_outcome_record(
        task=task,
        actor=agent,
        outcome="reached",
        satisfaction=2,
        feedback="the lid leaks",
        answers={"q1": 2},
        new_products_opt_in=True,
        follow_up="ticket",
        at=AT,
    )

    assert (task.status, task.satisfaction, task.answers) == ("done", 2, {"q1": 2})
    assert task.ticket is not None
    assert (task.ticket.owner_id, task.ticket.description, task.ticket.customer_id) == (agent.pk, "the lid leaks", c.pk)
    granted = set(
        Consent.objects.filter(customer=c, purpose="new_products", granted=True).values_list("channel", flat=True)
    )
    assert granted == {"sms", "email", "im"}
    c.refresh_from_db()
    assert c.last_contacted_at == AT


@pytest.mark.django_db
def test_callback_date_and_opt_out(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    plan = _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk], quiet_start=time(21, 0), quiet_end=time(9, 0))
    services.visits_plan_run(at=AT)
    task = VisitTask.objects.get()

    services.visit_outcome_record(task=task, actor=agent, outcome="reached", follow_up="2026-05-18", at=AT)
    callback = VisitTask.objects.get(occasion=f"callback:{task.pk}")
    assert (callback.assignee_id, callback.due_at) == (agent.pk, datetime(2026, 5, 18, 9, 0, tzinfo=SH))

    services.visit_outcome_record(task=callback, actor=agent, outcome="asked_not_to_be_visited", at=AT)
    assert VisitOptOut.objects.filter(customer=c).exists()
    services.visit_plan_update(plan=plan, name="again", customer_ids=[c.pk])
    VisitTask.objects.all().delete()
    assert services.visits_plan_run(at=AT)[0].skipped == {"opted_out": 1}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"outcome": "maybe"}, "outcome"),
        ({"outcome": "reached", "satisfaction": 6}, "satisfaction"),
        ({"outcome": "reached", "follow_up": "tomorrow"}, "follow_up"),
        ({"outcome": "reached", "follow_up": "2026-05-01"}, "follow_up"),
        ({"outcome": "reached", "answers": {"nope": 1}}, "answers.nope"),
    ],
)
def test_bad_outcome_input_names_the_field_and_writes_nothing(
    shop: Any, agent: Any, values: dict[str, Any], field: str
) -> None:
    c = CustomerFactory.create(phone="13800000001")
    _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk])
    services.visits_plan_run(at=AT)
    task = VisitTask.objects.get()
    with pytest.raises(ApplicationError) as err:
        services.visit_outcome_record(task=task, actor=agent, at=AT, **values)
    assert err.value.field == field
    task.refresh_from_db()
    assert (task.status, task.attempts) == ("due", 0)


@pytest.mark.django_db
def test_reveal_is_audited_with_who_and_why(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    _plan(shop, [agent], trigger="one_off", customer_ids=[c.pk])
    services.visits_plan_run(at=AT)
    task = VisitTask.objects.get()
    with pytest.raises(ApplicationError):
        services.visit_phone_reveal(task=task, actor=agent, reason=" ")
    assert services.visit_phone_reveal(task=task, actor=agent, reason="calling now") == "13800000001"
    entry = AuditEntry.objects.get(action="unmask")
    assert (entry.actor_id, entry.target_id, entry.detail["reason"]) == (agent.pk, str(c.pk), "calling now")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"trigger": "every_n_days", "days": 0}, "days"),
        ({"trigger": "before_holiday", "holidays": []}, "holidays"),
        ({"trigger": "before_holiday", "holidays": ["xmas"]}, "holidays"),
        ({"holdout_share": "0.9"}, "holdout_share"),
        ({"questions": [{"text": "pick", "kind": "choice", "choices": ["a"]}]}, "questions[0].choices"),
        ({"quiet_start": "25:00", "quiet_end": "09:00"}, "quiet_start"),
        ({"segment_id": 987654}, "segment_id"),
        ({"level_ids": [987654]}, "level_ids"),
        ({"trigger": "one_off", "customer_ids": [987654]}, "customer_ids"),
        ({"assignment": "pool", "segment_id": 987654}, "segment_id"),
    ],
)
def test_bad_plans_name_the_field(shop: Any, agent: Any, values: dict[str, Any], field: str) -> None:
    with pytest.raises(ApplicationError) as err:
        _plan(shop, [agent], **values)
    assert err.value.field == field


@pytest.mark.django_db
def test_a_segment_narrows_the_holiday_visit(shop: Any, agent: Any) -> None:
    from huitouke.audiences.models import Segment

    zj = CustomerFactory.create(phone="13800000001", province="浙江省")
    CustomerFactory.create(phone="13800000002", province="江苏省")
    segment = Segment.objects.create(
        name="浙江", definition={"conditions": [{"field": "region", "provinces": ["浙江省"]}]}
    )
    _plan(
        shop,
        [agent],
        trigger="before_holiday",
        days=3,
        holidays=["mid_autumn"],
        segment_id=segment.pk,
        daily_capacity=0,
    )
    (result,) = services.visits_plan_run(at=datetime(2026, 9, 22, 10, 0, tzinfo=SH))
    assert result.created == 1
    assert list(VisitTask.objects.values_list("customer_id", flat=True)) == [zj.pk]


@pytest.mark.django_db
def test_a_one_off_plan_over_a_segment_visits_its_members_once(shop: Any, agent: Any) -> None:
    from huitouke.audiences.models import Segment

    zj = [CustomerFactory.create(phone=f"1380000000{i}", province="浙江省") for i in range(2)]
    CustomerFactory.create(phone="13800000009", province="江苏省")
    segment = Segment.objects.create(
        name="浙江", definition={"conditions": [{"field": "region", "provinces": ["浙江省"]}]}
    )
    _plan(shop, [agent], trigger="one_off", segment_id=segment.pk)

    (first,) = services.visits_plan_run(at=AT)
    (again,) = services.visits_plan_run(at=AT + timedelta(days=30))

    assert (first.created, again.created) == (2, 0)
    assert sorted(VisitTask.objects.values_list("customer_id", "occasion")) == [(c.pk, "once") for c in zj]
    with pytest.raises(ApplicationError) as err:
        _plan(shop, [agent], name="空", trigger="one_off")
    assert err.value.field == "customer_ids"


@pytest.mark.django_db
def test_after_first_and_after_every_confirmed_order(shop: Any, agent: Any) -> None:
    c = CustomerFactory.create(phone="13800000001")
    first = OrderFactory.create(
        shop=shop,
        customer=c,
        ordered_at=datetime(2026, 3, 1, 9, tzinfo=SH),
        confirmed_at=datetime(2026, 3, 10, 20, tzinfo=SH),
    )
    second = OrderFactory.create(
        shop=shop,
        customer=c,
        ordered_at=datetime(2026, 4, 1, 9, tzinfo=SH),
        confirmed_at=datetime(2026, 4, 10, 11, tzinfo=SH),
    )
    _plan(shop, [agent], name="首单", trigger="after_first_order_confirmed", days=5, daily_capacity=0)
    _plan(shop, [agent], name="每单", trigger="after_every_order", days=5, daily_capacity=0)

    def run(month: int, day: int) -> dict[str, Any]:
        at = datetime(2026, month, day, 10, tzinfo=SH)
        return {r.plan: (r.created, r.skipped) for r in services.visits_plan_run(at=at)}

    assert run(3, 14) == {"首单": (0, {}), "每单": (0, {})}  # 4 days after the first confirmation: not yet
    assert run(3, 15) == {"首单": (1, {}), "每单": (1, {})}
    assert run(3, 16) == {"首单": (0, {}), "每单": (0, {})}  # its catch-up day: nothing twice
    # The second order while the first visit of "every order" is still open: not stacked on it …
    assert run(4, 15) == {"首单": (0, {}), "每单": (0, {"open_task": 1})}
    open_visit = VisitTask.objects.get(plan__name="每单")
    services.visit_outcome_record(task=open_visit, actor=agent, outcome="reached", at=AT)
    # … and made the next day, inside the catch-up window, once the first is done; "first order" never again.
    assert run(4, 16) == {"首单": (0, {}), "每单": (1, {})}
    assert sorted(VisitTask.objects.values_list("plan__name", "occasion")) == [
        ("每单", f"order:{first.pk}"),
        ("每单", f"order:{second.pk}"),
        ("首单", f"order:{first.pk}"),
    ]
