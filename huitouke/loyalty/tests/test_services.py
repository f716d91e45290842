"""Level definitions and the lifetime regrade (issue #4 extends both)."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection, transaction
from freezegun import freeze_time

from huitouke.core.errors import ApplicationError
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, LevelChange, LevelPolicy, Membership
from huitouke.loyalty.services import (
    LevelSpec,
    RegradeResult,
    level_policy_set,
    levels_configure,
    levels_regrade,
    levels_regrade_report,
    levels_review,
    levels_set,
)
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

SPECS = [
    LevelSpec("普通会员", Decimal("0"), 1, 100),
    LevelSpec("高级会员", Decimal("200"), 3, 98),
    LevelSpec("VIP", Decimal("1000"), 10, 95),
]


def level_of(customer, shop):
    m = Membership.objects.filter(customer=customer, shop=shop).select_related("level").first()
    return m.level.name if m else None


def test_either_threshold_qualifies_and_closed_or_refunded_orders_do_not_count():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    by_amount, by_count, neither, refunded = CustomerFactory.create_batch(4)
    OrderFactory.create(shop=shop, customer=by_amount, paid_amount=Decimal("1000"))
    for _ in range(3):
        OrderFactory.create(shop=shop, customer=by_count, paid_amount=Decimal("1"))
    OrderFactory.create(shop=shop, customer=neither, status=Order.Status.CLOSED, paid_amount=Decimal("5000"))
    OrderFactory.create(
        shop=shop, customer=refunded, paid_amount=Decimal("1200"), refund_amount=Decimal("1100")
    )  # 100 net: 普通会员

    levels_regrade()

    assert level_of(by_amount, shop) == "VIP"
    assert level_of(by_count, shop) == "高级会员"
    assert level_of(neither, shop) is None
    assert level_of(refunded, shop) == "普通会员"


def test_regrade_is_per_shop_and_repeatable():
    s1, s2 = ShopFactory.create(name="a"), ShopFactory.create(name="b")
    levels_set(shop=s1, specs=SPECS)
    levels_set(shop=s2, specs=SPECS)
    c = CustomerFactory.create()
    OrderFactory.create(shop=s1, customer=c, paid_amount=Decimal("300"))
    OrderFactory.create(shop=s2, customer=c, paid_amount=Decimal("5"))

    first = levels_regrade()
    second = levels_regrade()

    assert first == second == 2
    assert (level_of(c, s1), level_of(c, s2)) == ("高级会员", "普通会员")


def test_regrade_limited_to_customers():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a, b = CustomerFactory.create(), CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("300"))

    assert levels_regrade(customer_ids=[a.pk]) == 1
    assert Membership.objects.count() == 1
    assert levels_regrade(customer_ids=[]) == 0


def test_regrade_takes_more_customers_than_one_statement_has_parameters():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))

    assert levels_regrade(customer_ids=[a.pk, *range(a.pk + 1, a.pk + 40_000)]) == 1
    assert levels_regrade(customer_ids=[a.pk, *range(a.pk + 1, a.pk + 40_000)]) == 1
    assert Membership.objects.get().customer == a


@pytest.mark.parametrize(
    ("specs", "field"),
    [
        ([LevelSpec("", Decimal("0"), 1, 100)], "levels[0].name"),
        ([LevelSpec("a", Decimal("0"), 1, 0)], "levels[0].discount"),
        ([LevelSpec("a", Decimal("100"), 1, 100), LevelSpec("b", Decimal("50"), 5, 95)], "levels[1].min_amount"),
        ([LevelSpec("a", Decimal("0"), 3, 100), LevelSpec("b", Decimal("50"), 3, 95)], "levels[1].min_orders"),
    ],
)
def test_levels_set_validates(specs, field):
    with pytest.raises(ApplicationError) as exc:
        levels_set(shop=ShopFactory.create(), specs=specs)
    assert exc.value.field == field


# --- policy: rolling window, downgrades with grace, history (issue #4) ---------------------------------------

NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def changes(customer):
    return list(
        LevelChange.objects.filter(customer=customer).order_by("id").values_list("from_name", "to_name", "reason")
    )


@freeze_time(NOW)
def test_rolling_window_excludes_old_orders():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, window_months=12)
    recent, old = CustomerFactory.create_batch(2)
    OrderFactory.create(shop=shop, customer=recent, paid_amount=Decimal("1000"), ordered_at=NOW - timedelta(days=300))
    OrderFactory.create(shop=shop, customer=old, paid_amount=Decimal("1000"), ordered_at=NOW - timedelta(days=400))
    OrderFactory.create(shop=shop, customer=old, paid_amount=Decimal("10"), ordered_at=NOW - timedelta(days=10))

    levels_regrade()

    assert (level_of(recent, shop), level_of(old, shop)) == ("VIP", "普通会员")


def test_closed_and_fully_refunded_orders_never_count():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=[LevelSpec("银卡", Decimal("500"), 2, 98)])
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("100"))
    OrderFactory.create(shop=shop, customer=c, status=Order.Status.CLOSED, paid_amount=Decimal("900"))
    OrderFactory.create(shop=shop, customer=c, status=Order.Status.REFUNDED, paid_amount=Decimal("900"))
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("900"), refund_amount=Decimal("900"))

    assert levels_regrade() == 0
    assert level_of(c, shop) is None

    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("900"), refund_amount=Decimal("899"))
    assert levels_regrade() == 1  # a partly refunded order counts (2 orders)
    assert level_of(c, shop) == "银卡"


def _lapsed_vip(shop):
    """A VIP by one big order on 2025-01-10 whose order then ages out of a 12-month window."""
    c = CustomerFactory.create()
    OrderFactory.create(
        shop=shop, customer=c, paid_amount=Decimal("1000"), ordered_at=datetime(2025, 1, 10, tzinfo=UTC)
    )
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("5"), ordered_at=datetime(2026, 1, 5, tzinfo=UTC))
    with freeze_time("2025-06-01"):
        levels_regrade()
    return c


def test_downgrade_never_keeps_the_level():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, window_months=12)  # downgrade "never" is the default
    c = _lapsed_vip(shop)

    with freeze_time("2026-03-01"):
        levels_regrade()
        review = levels_review()

    assert review == RegradeResult(0, 0)  # never-policy shops are not reviewed
    assert level_of(c, shop) == "VIP"
    assert changes(c) == [("", "VIP", "regrade")]


def test_review_drops_only_after_the_grace_period():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, window_months=12, downgrade="review", grace_days=30)
    c = _lapsed_vip(shop)
    with freeze_time("2025-12-20"):
        levels_regrade()  # still qualifies: the grace clock restarts on 2025-12-20
    with freeze_time("2026-01-15"):
        levels_regrade()  # no longer qualifies: a regrade never lowers
        assert level_of(c, shop) == "VIP"

    assert levels_review(today=date(2026, 1, 17)) == RegradeResult(1, 0)  # 28 days: in grace
    assert level_of(c, shop) == "VIP"
    assert levels_review(today=date(2026, 1, 19)) == RegradeResult(1, 1)  # 30 days passed
    assert level_of(c, shop) == "普通会员"
    assert changes(c) == [("", "VIP", "regrade"), ("VIP", "普通会员", "review")]
    assert LevelPolicy.objects.get(shop=shop).last_review_at is not None


def test_review_upgrades_and_ignores_orders_after_the_day():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, downgrade="review")
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"), ordered_at=datetime(2026, 1, 5, tzinfo=UTC))
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("900"), ordered_at=datetime(2026, 2, 5, tzinfo=UTC))

    levels_review(today=date(2026, 1, 31))
    assert level_of(c, shop) == "高级会员"
    levels_review(today=date(2026, 2, 28))
    assert level_of(c, shop) == "VIP"


def test_history_written_for_changes_only():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a, b = CustomerFactory.create_batch(2)
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("10"))

    first = levels_regrade_report()
    second = levels_regrade_report()
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("990"))
    third = levels_regrade_report()

    assert (first, second, third) == (RegradeResult(2, 2), RegradeResult(2, 0), RegradeResult(2, 1))
    assert changes(a) == [("", "高级会员", "regrade")]
    assert changes(b) == [("", "普通会员", "regrade"), ("普通会员", "VIP", "regrade")]
    up = LevelChange.objects.filter(customer=b).order_by("id").last()
    assert up is not None
    assert up.to_level is not None
    assert (up.from_rank, up.to_rank, up.is_upgrade, up.to_level.name) == (1, 3, True, "VIP")


def test_merge_records_history_with_reason_merge():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"))

    levels_regrade_report(customer_ids=[c.pk], reason=LevelChange.Reason.MERGE)

    assert changes(c) == [("", "高级会员", "merge")]


def test_level_policy_set_validates():
    with pytest.raises(ApplicationError) as exc:
        level_policy_set(shop=ShopFactory.create(), downgrade="sometimes")
    assert exc.value.field == "downgrade"


def test_regrade_command_json():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a, b = CustomerFactory.create_batch(2)
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("5000"))
    out = StringIO()

    call_command("regrade", "--json", stdout=out)
    again = StringIO()
    call_command("regrade", stdout=again)

    assert json.loads(out.getvalue()) == {
        "levels": {"普通会员": 0, "高级会员": 1, "VIP": 1},
        "changes": 2,
        "memberships": 2,
    }
    assert again.getvalue().splitlines()[-1] == "2 memberships, 0 level changes."


def test_level_status_says_what_the_next_level_needs(client_as):
    from huitouke.loyalty.selectors import customer_level_status

    shop = ShopFactory.create(name="山岚茶食")
    levels_set(
        shop=shop,
        specs=[LevelSpec("普通会员", Decimal("0"), 1, 100), LevelSpec("VIP", Decimal("500"), 4, 95)],
    )
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("180.00"))
    OrderFactory.create(shop=shop, customer=c, status=Order.Status.CLOSED, paid_amount=Decimal("999"))
    levels_regrade()

    [status] = customer_level_status(customer=c)

    assert status.level is not None
    assert (status.level.name, status.amount, status.orders) == ("普通会员", Decimal("180.00"), 1)
    nxt = status.next
    assert nxt is not None
    assert (nxt.next_name, nxt.amount_needed, nxt.orders_needed) == ("VIP", Decimal("320.00"), 3)
    page = client_as("agent").get(f"/customers/{c.pk}/").content.decode()
    assert "再消费 ¥320.00 或 再下 3 单 升至 VIP" in page


# --- saving from the levels page (levels_configure) and the grace clock ---------------------------------------


def test_configure_names_only_moves_nobody():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"))
    levels_regrade()
    renamed = [LevelSpec(s.name, s.min_amount, s.min_orders, s.discount - 1, "新权益") for s in SPECS]

    saved = levels_configure(shop=shop, specs=renamed, window_months=None, downgrade="never", grace_days=30)

    assert (saved.regraded, saved.changes, saved.memberships) == ("", 0, 1)
    assert list(Level.objects.filter(shop=shop).values_list("discount", "benefits")) == [
        (99, "新权益"),
        (97, "新权益"),
        (94, "新权益"),
    ]
    assert changes(c) == [("", "高级会员", "regrade")]


def test_configure_policy_change_moves_members_up_only():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, window_months=1)
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"), ordered_at=NOW - timedelta(days=100))
    with freeze_time(NOW):
        levels_regrade()
        assert level_of(c, shop) is None  # outside the 1-month window

        saved = levels_configure(shop=shop, specs=SPECS, window_months=12, downgrade="review", grace_days=10)

    assert (saved.regraded, saved.changes) == ("upgrades", 1)
    assert level_of(c, shop) == "高级会员"
    assert Membership.objects.get(customer=c).qualified_at == NOW


def test_configure_refuses_bad_levels_or_policy_and_writes_nothing():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)

    with pytest.raises(ApplicationError) as bad_level:
        levels_configure(shop=shop, specs=SPECS[::-1], window_months=None, downgrade="never", grace_days=30)
    with pytest.raises(ApplicationError) as bad_policy:
        levels_configure(shop=shop, specs=SPECS[:2], window_months=0, downgrade="never", grace_days=30)

    assert bad_level.value.field == "levels[1].min_amount"
    assert bad_policy.value.field == "window_months"
    assert Level.objects.filter(shop=shop).count() == 3
    assert not LevelPolicy.objects.filter(shop=shop, window_months=0).exists()


def test_joining_starts_the_grace_clock_under_any_policy():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"))

    with freeze_time(NOW):
        levels_regrade()
    with freeze_time(NOW + timedelta(days=5)):
        levels_regrade()  # "never": a confirmed member's row is not rewritten

    assert Membership.objects.get(customer=c).qualified_at == NOW


def test_redefinition_on_a_shop_with_members_records_moves_as_levels():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    a, b = CustomerFactory.create_batch(2)
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("300"))
    OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("1500"))
    levels_regrade()

    levels_set(shop=shop, specs=[LevelSpec("会员", Decimal("500"), 2, 98)])

    assert (level_of(a, shop), level_of(b, shop)) == (None, "会员")
    assert changes(a)[-1] == ("高级会员", "", "levels")
    assert changes(b)[-1] == ("VIP", "会员", "levels")
    assert Level.objects.filter(shop=shop).count() == 1


def test_whole_shop_grading_restores_the_planner_settings():
    if connection.vendor != "postgresql":
        pytest.skip("planner settings are PostgreSQL's")
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    OrderFactory.create(shop=shop, paid_amount=Decimal("300"))
    names = ["enable_indexscan", "enable_nestloop", "jit"]

    def current():
        with connection.cursor() as cur:
            cur.execute("SELECT " + ", ".join("current_setting(%s)" for _ in names), names)
            return cur.fetchone()

    with transaction.atomic():
        before = current()
        levels_regrade()
        after = current()

    assert after == before


def test_grace_clock_is_rewritten_at_most_hourly_under_a_review_policy():
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=SPECS)
    level_policy_set(shop=shop, downgrade="review")
    c = CustomerFactory.create()
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("300"))

    with freeze_time(NOW):
        levels_regrade()
    with freeze_time(NOW + timedelta(minutes=50)):
        levels_review()  # still qualifies, clock 50 minutes old: not rewritten
    clock_after_review = Membership.objects.get(customer=c).qualified_at
    with freeze_time(NOW + timedelta(minutes=70)):
        levels_regrade()

    assert clock_after_review == NOW
    assert Membership.objects.get(customer=c).qualified_at == NOW + timedelta(minutes=70)
