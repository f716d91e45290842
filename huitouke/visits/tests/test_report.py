"""What visits teach, against hand-computed data: completion and reach by month, feedback words by product
(the order the visit was about, else the customer's latest order before it), and the pure word counting."""

from __future__ import annotations

from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory
from huitouke.visits import selectors, services
from huitouke.visits.models import VisitTask
from huitouke.visits.words import tokens, words_by_product

SH = ZoneInfo("Asia/Shanghai")


def test_tokens_keep_content_words_and_drop_fillers() -> None:
    assert tokens("这款茶叶味道很香，但是包装有点破损！The lid LEAKS.") == [
        "茶叶",
        "味道",
        "很香",
        "包装",
        "破损",
        "lid",
        "leaks",
    ]
    assert tokens("") == []
    assert tokens("嗯，好的，就是。") == []


def test_words_count_once_per_feedback_and_rank_products_by_feedback() -> None:
    pairs = [("龙井", "味道好，味道香"), ("杯子", "盖子漏水"), ("龙井", "味道一般，物流慢"), ("杯子", "")]
    assert [(p.product, p.feedbacks, p.words) for p in words_by_product(pairs, top=2)] == [
        ("杯子", 2, [("漏水", 1), ("盖子", 1)]),
        ("龙井", 2, [("味道", 2), ("一般", 1)]),
    ]


@pytest.mark.django_db
def test_report_by_month_and_words_by_product(shop: Any, agent: Any) -> None:
    plan = services.visit_plan_create(shop=shop, name="回访", trigger="after_delivery", days=7, agent_ids=[agent.pk])
    a, b = CustomerFactory.create(phone="13800000001"), CustomerFactory.create(phone="13800000002")
    tea = OrderFactory.create(shop=shop, customer=a, ordered_at=datetime(2026, 3, 1, 10, tzinfo=SH))
    OrderLineFactory.create(order=tea, title="龙井", line_no=1)
    cup = OrderFactory.create(shop=shop, customer=b, ordered_at=datetime(2026, 3, 2, 10, tzinfo=SH))
    OrderLineFactory.create(order=cup, title="紫砂杯", line_no=1)
    later = OrderFactory.create(shop=shop, customer=b, ordered_at=datetime(2026, 5, 1, 10, tzinfo=SH))
    OrderLineFactory.create(order=later, title="茶盘", line_no=1)

    def task(customer: Any, occasion: str, due: datetime, **done: Any) -> None:
        VisitTask.objects.create(plan=plan, customer=customer, occasion=occasion, due_at=due, assignee=agent, **done)

    march, april = datetime(2026, 3, 10, 10, tzinfo=SH), datetime(2026, 4, 10, 10, tzinfo=SH)
    finished = {"status": "done", "done_at": april}
    task(a, f"order:{tea.pk}", march, outcome="reached", feedback="茶叶味道很香", **finished)
    task(b, f"order:{cup.pk}", march, outcome="no_answer", **finished)
    task(a, "every:1", march)  # still due
    task(b, "once", april, outcome="reached", feedback="杯子漏水，味道也怪", **finished)  # latest order before: cup

    r = selectors.visit_report(start=datetime(2026, 3, 1, tzinfo=SH), end=datetime(2026, 5, 1, tzinfo=SH))

    assert [(m.key, m.tasks, m.done, m.reached, m.completion, m.reach) for m in r.by_month] == [
        ("2026-03", 3, 2, 1, 2 / 3, 1 / 2),
        ("2026-04", 1, 1, 1, 1.0, 1.0),
    ]
    assert [(p.product, p.feedbacks, p.words) for p in r.words] == [
        ("紫砂杯", 1, [("味道", 1), ("杯子", 1), ("漏水", 1)]),
        ("龙井", 1, [("味道", 1), ("很香", 1), ("茶叶", 1)]),
    ]
