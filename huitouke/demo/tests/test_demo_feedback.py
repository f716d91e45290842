"""The demo's reviews, credit and return visits: built through the reviews and visits services, the same for the
same seed and day, on both databases."""

from __future__ import annotations

from collections import Counter
from datetime import date

import pytest

from huitouke.demo.services import demo_build
from huitouke.orders.models import Order, Shop
from huitouke.reviews.models import Review, ReviewCase, ReviewEvent
from huitouke.service.models import Ticket
from huitouke.visits.models import VisitPlan, VisitTask

TODAY = date(2025, 11, 20)


@pytest.mark.django_db
def test_demo_builds_reviews_credit_and_visits() -> None:
    # when
    summary = demo_build(customers=300, seed=5, today=TODAY)

    # then: buyers rated a share of the Taobao shop's completed orders, mostly good
    taobao = Shop.objects.get(platform="taobao")
    reviews = Review.objects.filter(shop=taobao)
    results = Counter(reviews.values_list("result", flat=True))
    assert dict(results) == {"good": 275, "neutral": 18, "bad": 10}
    assert summary.reviews == reviews.count() == 303
    assert reviews.filter(anonymous=True).count() == 26
    assert reviews.filter(is_default=True, content="").count() == 35
    assert reviews.exclude(follow_up="").count() == 27
    assert reviews.filter(dsr_service__isnull=False).count() == 162
    assert not reviews.exclude(order__status=Order.Status.COMPLETED).exists()
    assert all(r.content for r in reviews.exclude(result="good"))
    # replies: thanks to some good ones, explanations of older negative ones
    assert reviews.filter(result="good").exclude(reply="").count() == 9
    assert reviews.exclude(result="good").exclude(reply="").count() == 16
    # every review was imported: one "rated" event each
    assert ReviewEvent.objects.filter(kind="rated").count() == 303
    # the negative reviews of the last 30 days opened their cases and tickets; the shop explained some
    cases = list(ReviewCase.objects.select_related("review"))
    assert all(c.review.is_negative for c in cases)
    assert sorted(c.outcome for c in cases) == ["explained", "explained"]
    tickets = Ticket.objects.filter(type="negative_review")
    assert sorted(c.ticket_id or 0 for c in cases) == sorted(tickets.values_list("pk", flat=True))
    assert all(c.took_seconds is None or c.took_seconds > 0 for c in cases)
    # the stored credit ledger gives the shop a level
    assert summary.credit_level == 6
    assert sum(reviews.values_list("credit__points", flat=True)) == 264
    assert reviews.filter(credit__isnull=True).count() == 0

    # two of the five suggested visit plans are on; a week of runs left tasks, most earlier ones done
    plans = dict(VisitPlan.objects.filter(shop=taobao).values_list("trigger", "enabled"))
    assert len(plans) == 5
    assert {t for t, on in plans.items() if on} == {"after_delivery", "every_n_days"}
    tasks = VisitTask.objects.filter(plan__shop=taobao)
    assert summary.visit_tasks == tasks.count() == 6
    assert Counter(tasks.values_list("plan__trigger", "status", "outcome")) == {
        ("after_delivery", "done", "reached"): 2,
        ("after_delivery", "done", "wrong_number"): 1,
        ("every_n_days", "done", "reached"): 1,
        ("after_delivery", "due", "no_answer"): 1,
        ("after_delivery", "due", ""): 1,
    }
    assert not tasks.filter(plan__trigger="after_delivery", assignee=None).exists()
    assert all(t.done_by_id and t.satisfaction in (4, 5) for t in tasks.filter(outcome="reached"))


@pytest.mark.django_db
def test_demo_feedback_is_the_same_for_the_same_seed() -> None:
    def snapshot() -> list[tuple[object, ...]]:
        return list(Review.objects.order_by("tid").values_list("tid", "result", "content", "anonymous", "created_at"))

    demo_build(customers=80, seed=11, today=TODAY)
    first = snapshot()
    demo_build(customers=80, seed=11, today=TODAY, reset=True)
    assert snapshot() == first
    assert first
