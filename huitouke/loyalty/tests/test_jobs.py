"""The nightly level task of the orchestrator (huitouke/jobs.py), run in-process against the database."""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal

import pytest
from freezegun import freeze_time

from huitouke.customers.tests.factories import CustomerFactory
from huitouke.jobs import levels_nightly
from huitouke.loyalty.models import LevelChange, LevelPolicy, Membership
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

SPECS = [LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("VIP", Decimal("1000"), 10, 95)]


def level_of(customer, shop):
    m = Membership.objects.filter(customer=customer, shop=shop).select_related("level").first()
    return m.level.name if m else None


def test_nightly_reviews_then_regrades():
    # given: a reviewing shop where a VIP's big order was refunded 60 days ago, and a customer not yet graded
    review_shop, lifetime_shop = ShopFactory.create(name="复审店"), ShopFactory.create(name="终身店")
    for shop in (review_shop, lifetime_shop):
        levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=review_shop, downgrade=LevelPolicy.Downgrade.REVIEW, grace_days=30)
    dropping, fresh = CustomerFactory.create_batch(2)
    big = OrderFactory.create(shop=review_shop, customer=dropping, paid_amount=Decimal("1500"))
    with freeze_time(datetime(2025, 7, 1, tzinfo=UTC)):
        levels_regrade()
    Order.objects.filter(pk=big.pk).update(refund_amount=Decimal("1400"))
    OrderFactory.create(shop=lifetime_shop, customer=fresh, paid_amount=Decimal("2000"))

    # when
    with freeze_time(datetime(2025, 9, 1, 19, 30, tzinfo=UTC)):
        counts = levels_nightly.call_local()

    # then: the review dropped the VIP after the grace period; the regrade graded the new customer
    assert level_of(dropping, review_shop) == "普通会员"
    assert level_of(fresh, lifetime_shop) == "VIP"
    assert counts == {"reviewed": 1, "review_changes": 1, "memberships": 2}
    assert list(LevelChange.objects.filter(customer=dropping).values_list("reason", flat=True)) == [
        LevelChange.Reason.REVIEW,
        LevelChange.Reason.REGRADE,
    ]
    assert LevelPolicy.objects.get(shop=review_shop).last_review_at is not None


def test_nightly_is_scheduled_at_half_past_three():
    # the periodic task instance answers whether it is due at a given (naive, local) minute
    assert levels_nightly.s().validate_datetime(datetime(2025, 9, 1, 3, 30))
    assert not levels_nightly.s().validate_datetime(datetime(2025, 9, 1, 3, 31))


def test_nightly_without_levels_does_nothing():
    ShopFactory.create()

    assert levels_nightly.call_local() == {"reviewed": 0, "review_changes": 0, "memberships": 0}


def test_levels_save_job_saves_or_fails_visibly():
    from huitouke.core.models import Job
    from huitouke.core.services import job_create
    from huitouke.jobs import levels_save_task

    shop = ShopFactory.create(name="大店")
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("1200"))
    levels = [
        {"name": "普通会员", "min_amount": "0.00", "min_orders": 1, "discount": 100},
        {"name": "VIP", "min_amount": "1000.00", "min_orders": 10, "discount": 95, "benefits": "包邮"},
    ]
    policy = {"window_months": None, "downgrade": "never", "grace_days": 30}
    ok = job_create(kind="levels_save", params={"shop_id": shop.pk, "levels": levels, **policy})
    bad = job_create(kind="levels_save", params={"shop_id": shop.pk, "levels": levels[::-1], **policy})

    levels_save_task.call_local(ok.pk)
    levels_save_task.call_local(bad.pk)

    ok.refresh_from_db()
    bad.refresh_from_db()
    assert ok.status == Job.Status.DONE
    assert ok.result == {"levels": 2, "regraded": "afresh", "memberships": 1, "changes": 1}
    assert level_of(c, shop) == "VIP"
    assert bad.status == Job.Status.FAILED
    assert "minimum amount must be higher than VIP's" in bad.error
