"""Wiring of the visits pages: the queue (masked phones, counts), the task screen (context, filled script), the
audited reveal, the outcome form, plans, the report, the 360 timeline and the dashboard tile."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils import timezone

from huitouke.core.models import AuditEntry
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.visits import services
from huitouke.visits.models import VisitTask


@pytest.fixture
def day(shop: Any, client_as: Any) -> tuple[Client, Any, list[VisitTask]]:
    client = client_as("agent")
    me = get_user_model().objects.get(username="agent-client")
    customers = [CustomerFactory.create(name=f"顾客{i}", phone=f"1381234{i:04d}") for i in range(3)]
    services.visit_plan_create(
        shop=shop,
        name="售后回访",
        trigger="one_off",
        customer_ids=[c.pk for c in customers],
        agent_ids=[me.pk],
        script="您好 $name，我是 $shop 的客服。",
        questions=[{"text": "Happy with the tea?", "kind": "rating"}],
    )
    services.visits_plan_run(at=timezone.now())
    return client, me, list(VisitTask.objects.order_by("customer_id"))


@pytest.mark.django_db
def test_queue_lists_todays_tasks_with_masked_phones(day: Any, django_assert_max_num_queries: Any) -> None:
    client, _me, _tasks = day
    with django_assert_max_num_queries(12):
        page = client.get("/visits/")
    text = page.content.decode()
    assert page.status_code == 200
    assert "138****0000" in text
    assert "13812340000" not in text
    assert text.count('id="task-') == 3


@pytest.mark.django_db
def test_task_screen_fills_the_script_and_the_reveal_is_audited(day: Any) -> None:
    from huitouke.customers.models import CustomerIdentity

    client, me, tasks = day
    CustomerIdentity.objects.create(customer=tasks[0].customer, platform="taobao", handle="茶友小王")
    CustomerIdentity.objects.create(customer=tasks[0].customer, platform="jd", handle="13812340000")
    page = client.get(f"/visits/tasks/{tasks[0].pk}/").content.decode()
    assert "您好 顾客0，我是 茶小铺 的客服。" in page
    assert "13812340000" not in page
    handles = page.split('id="handles"')[1].split("</ul>")[0]
    assert 'data-copy-text="茶友小王"' in handles  # a 千牛 handle is copied with one click (page.js)
    assert handles.count("data-copy-text=") == 1  # a phone used as a handle is masked and not copyable
    assert client.post(f"/visits/tasks/{tasks[0].pk}/reveal/", {"reason": ""}).status_code == 400
    assert not AuditEntry.objects.filter(action="unmask").exists()
    shown = client.post(f"/visits/tasks/{tasks[0].pk}/reveal/", {"reason": "calling"})
    assert "13812340000" in shown.content.decode()
    entry = AuditEntry.objects.get(action="unmask")
    assert (entry.actor_id, entry.detail["reason"]) == (me.pk, "calling")


@pytest.mark.django_db
def test_outcome_form_records_and_returns_to_the_queue(day: Any) -> None:
    client, _me, tasks = day
    bad = client.post(f"/visits/tasks/{tasks[0].pk}/", {"outcome": "reached", "satisfaction": "9"})
    assert bad.status_code == 200
    assert 'id="form-error"' in bad.content.decode()
    ok = client.post(
        f"/visits/tasks/{tasks[0].pk}/",
        {"outcome": "reached", "satisfaction": "4", "answer_q1": "5", "feedback": "喜欢", "new_products_opt_in": "1"},
    )
    assert (ok.status_code, ok["Location"]) == (302, "/visits/")
    tasks[0].refresh_from_db()
    assert (tasks[0].status, tasks[0].satisfaction, tasks[0].answers, tasks[0].new_products_opt_in) == (
        "done",
        4,
        {"q1": 5},
        True,
    )
    assert client.get("/visits/").content.decode().count('id="task-') == 2


@pytest.mark.django_db
def test_report_timeline_and_tile(day: Any, client_as: Any) -> None:
    from huitouke.analytics.registry import tiles
    from huitouke.customers.selectors import customer_timeline

    _client, me, tasks = day
    services.visit_outcome_record(task=tasks[0], actor=me, outcome="reached", satisfaction=5, feedback="很好")
    services.visit_outcome_record(task=tasks[1], actor=me, outcome="refused")
    manager = client_as("manager")
    report = manager.get("/visits/report/").content.decode()
    assert "售后回访" in report
    assert "5/5: 1" in report
    plan = tasks[0].plan
    other = services.visit_plan_create(
        shop=plan.shop, name="另一个", trigger="one_off", customer_ids=[tasks[0].customer_id], assignment="pool"
    )
    assert "5/5: 1" in manager.get(f"/visits/report/?plan={plan.pk}&days=30").content.decode()
    assert "5/5: 1" not in manager.get(f"/visits/report/?plan={other.pk}").content.decode()
    assert "5/5: 1" in manager.get("/visits/report/?plan=x%00&days=zz").content.decode()
    events = [e for e in customer_timeline(customer=tasks[0].customer) if e.kind == "visit"]
    assert len(events) == 1
    assert "很好" in events[0].body
    tile = next(t for t in tiles() if t.key == "visits")
    value = tile.value(timezone.localdate(), me)
    assert (value.value, value.url) == ("1", "/visits/")
    assert manager.get("/visits/plans/").status_code == 200
    assert client_as("marketer").get("/visits/").status_code == 403


def test_question_lines_parse_and_print_back() -> None:
    from huitouke.visits.forms import questions_parse, questions_text

    text = "How was the tea? [1-5]\nBuy again? [yes / no/maybe]\n\n  Anything else?  "
    parsed = questions_parse(text)
    assert parsed == [
        {"key": "q1", "text": "How was the tea?", "kind": "rating"},
        {"key": "q2", "text": "Buy again?", "kind": "choice", "choices": ["yes", "no", "maybe"]},
        {"key": "q3", "text": "Anything else?", "kind": "text"},
    ]
    assert questions_text(parsed) == "How was the tea? [1-5]\nBuy again? [yes/no/maybe]\nAnything else?"


@pytest.mark.django_db
def test_a_manager_creates_and_edits_a_plan_on_the_page(shop: Any, client_as: Any, agent: Any) -> None:
    from huitouke.visits.models import VisitPlan

    manager = client_as("manager")
    assert manager.get("/visits/plans/new/").status_code == 200
    body = {
        "name": "VIP 每90天",
        "shop": shop.pk,
        "trigger": "every_n_days",
        "days": "90",
        "channel": "phone",
        "script": "您好 $name",
        "questions": "满意吗？ [1-5]\n还会再买吗？ [会/不会]",
        "attempts": "3",
        "retry_hours": "4",
        "assignment": "round_robin",
        "daily_capacity": "30",
        "quiet_start": "21:00",
        "quiet_end": "09:00",
        "holdout_percent": "10",
        "enabled": "on",
    }
    missing_agents = manager.post("/visits/plans/new/", body)
    assert missing_agents.status_code == 400
    assert 'id="field-agents"' in missing_agents.content.decode()
    agents_field = missing_agents.content.decode().split('id="field-agents"')[1].split("</fieldset>")[0]
    assert 'class="field-error"' in agents_field
    bad_ids = manager.post("/visits/plans/new/", {**body, "agents": [agent.pk], "customer_ids": "12, x9"})
    assert bad_ids.status_code == 400
    odd_digits = manager.post("/visits/plans/new/", {**body, "agents": [agent.pk], "customer_ids": "12 ²"})
    assert odd_digits.status_code == 400
    created = manager.post("/visits/plans/new/", {**body, "agents": [agent.pk]})
    assert created.status_code == 302
    plan = VisitPlan.objects.get()
    assert (plan.days, plan.daily_capacity, str(plan.holdout_share), str(plan.quiet_start)) == (
        90,
        30,
        "0.10",
        "21:00:00",
    )
    assert plan.questions[1] == {"key": "q2", "text": "还会再买吗？", "kind": "choice", "choices": ["会", "不会"]}
    assert list(plan.agents.values_list("pk", flat=True)) == [agent.pk]
    page = manager.get(f"/visits/plans/{plan.pk}/")
    assert "还会再买吗？ [会/不会]" in page.content.decode()
    saved = manager.post(f"/visits/plans/{plan.pk}/", {**body, "agents": [agent.pk], "days": "60"})
    plan.refresh_from_db()
    assert (saved.status_code, plan.days) == (302, 60)
    assert client_as("agent").get("/visits/plans/new/").status_code == 403


@pytest.mark.django_db
def test_suggested_plans_are_added_switched_off_once(shop: Any, client_as: Any) -> None:
    from huitouke.loyalty.models import Level
    from huitouke.visits.models import VisitPlan

    Level.objects.create(shop=shop, rank=1, name="普通会员")
    vip = Level.objects.create(shop=shop, rank=2, name="VIP")
    manager = client_as("manager")

    first = manager.post("/visits/plans/suggested/", {"shop": shop.pk})
    again = manager.post("/visits/plans/suggested/", {"shop": shop.pk})

    assert (first.status_code, again.status_code) == (302, 302)
    plans = list(VisitPlan.objects.order_by("pk"))
    assert [(p.trigger, p.days, p.channel, p.assignment, p.enabled) for p in plans] == [
        ("after_delivery", 7, "phone", "pool", False),
        ("every_n_days", 90, "phone", "pool", False),
        ("before_holiday", 3, "qianniu", "pool", False),
        ("after_ticket_resolved", 3, "phone", "ticket_owner", False),
        ("after_first_order_confirmed", 3, "sms_questionnaire", "pool", False),
    ]
    assert plans[1].level_ids == [vip.pk]
    assert plans[2].holidays == ["spring_festival", "mid_autumn"]
    assert all(str(p.quiet_start) == "21:00:00" for p in plans)
    assert manager.post("/visits/plans/suggested/", {"shop": "x"}).status_code == 302
    assert VisitPlan.objects.count() == 5
    assert client_as("agent").post("/visits/plans/suggested/", {"shop": shop.pk}).status_code == 403


@pytest.mark.django_db
def test_suggestions_for_the_best_members_need_levels(shop: Any) -> None:
    from huitouke.visits.models import VisitPlan

    added = services.visit_plans_suggested_install(shop=shop)

    assert [p.trigger for p in added] == ["after_delivery", "after_ticket_resolved", "after_first_order_confirmed"]
    assert VisitPlan.objects.filter(enabled=True).count() == 0


def _reads_tasks(queries: list[dict[str, str]]) -> bool:
    return any('"visits_visittask"' in q["sql"] for q in queries)


@pytest.mark.django_db
def test_the_report_is_stored_equal_to_the_live_computation_and_a_visit_reads_it(day: Any, client_as: Any) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from huitouke.analytics.models import FigureSnapshot
    from huitouke.visits.report_figures import visit_report_compute, visit_report_figures

    _client, me, tasks = day
    services.visit_outcome_record(task=tasks[0], actor=me, outcome="reached", satisfaction=5, feedback="很好")
    services.visit_outcome_record(task=tasks[1], actor=me, outcome="refused")
    manager = client_as("manager")
    with CaptureQueriesContext(connection) as first:
        page = manager.get("/visits/report/?days=30")
    assert _reads_tasks(first.captured_queries)  # nothing stored yet: computed once
    stored = visit_report_figures(days=30, plan_id=None)
    live = visit_report_compute(days=30, plan_id=None, now=stored.value.at)
    assert stored.value.report == live.report
    assert (live.report.satisfaction, [(p.key, p.tasks, p.done, p.reached) for p in live.report.by_plan]) == (
        {5: 1},
        [("售后回访", 3, 2, 1)],
    )
    with CaptureQueriesContext(connection) as second:
        again = manager.get("/visits/report/?days=30").content.decode()
    assert not _reads_tasks(second.captured_queries)
    assert again.split('id="by-plan"')[1] == page.content.decode().split('id="by-plan"')[1]
    at = timezone.localtime(FigureSnapshot.objects.get(key="visits.report:days=30:plan=all").computed_at)
    assert at.strftime("%Y-%m-%d %H:%M") in again.split('id="report-computed"')[1]


@pytest.mark.django_db
def test_the_report_moves_on_recompute_a_new_day_and_the_refresh(day: Any, client_as: Any) -> None:
    from datetime import timedelta

    from freezegun import freeze_time

    from huitouke.analytics.models import FigureSnapshot
    from huitouke.visits.report_figures import visit_report_figures, visit_report_refresh

    _agent, me, tasks = day
    plan = tasks[0].plan
    manager = client_as("manager")
    assert "5/5: 1" not in manager.get(f"/visits/report/?plan={plan.pk}").content.decode()
    services.visit_outcome_record(task=tasks[0], actor=me, outcome="reached", satisfaction=5, feedback="很好")
    assert "5/5: 1" not in manager.get(f"/visits/report/?plan={plan.pk}").content.decode()  # stored this morning
    back = manager.post("/visits/report/recompute/", {"plan": str(plan.pk), "days": "90"})
    assert back.status_code == 302
    assert back["Location"] == f"/visits/report/?days=90&plan={plan.pk}"
    assert "5/5: 1" in manager.get(back["Location"]).content.decode()
    services.visit_outcome_record(task=tasks[1], actor=me, outcome="reached", satisfaction=4)
    with freeze_time(timezone.now() + timedelta(days=1)):
        assert visit_report_figures(days=90, plan_id=plan.pk).value.report.satisfaction == {5: 1, 4: 1}  # a new day
    services.visit_outcome_record(task=tasks[2], actor=me, outcome="reached", satisfaction=3)
    FigureSnapshot.objects.create(key="visits.report:days=90:plan=999999", value=b"", computed_at=timezone.now())
    assert visit_report_refresh() == [f"visits.report:days=90:plan={plan.pk}"]
    assert not FigureSnapshot.objects.filter(key="visits.report:days=90:plan=999999").exists()
    assert "3/5: 1" in manager.get(f"/visits/report/?plan={plan.pk}").content.decode()
