"""Level reads against the database: the simulation (checked against hand-computed grades and against what saving
then does), the at-risk list with its amounts and deadlines, the grace clock, and the level-change trigger."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from huitouke.core.errors import ApplicationError
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.loyalty.models import Level, LevelChange, Membership
from huitouke.loyalty.selectors import (
    grading_size,
    level_changes_since,
    level_distribution,
    levels_simulate,
    members_at_risk,
)
from huitouke.loyalty.services import (
    LevelSpec,
    level_policy_set,
    levels_configure,
    levels_regrade,
    levels_review,
    levels_set,
)
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

TODAY = [
    LevelSpec("普通会员", Decimal("0.01"), 1, 100),
    LevelSpec("银卡", Decimal("200"), 3, 95),
    LevelSpec("金卡", Decimal("1000"), 6, 90),
]
LONG_AGO = datetime(2024, 1, 5, tzinfo=UTC)


def level_of(customer, shop):
    m = Membership.objects.filter(customer=customer, shop=shop).select_related("level").first()
    return m.level.name if m else None


@pytest.fixture
def graded_shop():
    """a: ¥50 once (普通会员, bought long ago); b: 3 × ¥10 (银卡 by orders); c: ¥1500 once (金卡 by amount);
    d: 2 × ¥150 (银卡 by amount); e: a closed order only (no level)."""
    shop = ShopFactory.create(name="山岚茶食")
    levels_set(shop=shop, specs=TODAY)
    a, b, c, d, e = CustomerFactory.create_batch(5)
    OrderFactory.create(shop=shop, customer=a, paid_amount=Decimal("50"), ordered_at=LONG_AGO)
    for _ in range(3):
        OrderFactory.create(shop=shop, customer=b, paid_amount=Decimal("10"))
    OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("1500"))
    for _ in range(2):
        OrderFactory.create(shop=shop, customer=d, paid_amount=Decimal("150"))
    OrderFactory.create(shop=shop, customer=e, paid_amount=Decimal("5000"), status=Order.Status.CLOSED)
    levels_regrade()
    assert [level_of(x, shop) for x in (a, b, c, d, e)] == ["普通会员", "银卡", "金卡", "银卡", None]
    return shop, (a, b, c, d, e)


def rows(sim):
    return [(r.rank, r.name_today, r.today, r.name_after, r.after) for r in sim.levels]


@freeze_time("2025-07-01")
def test_simulation_of_raised_and_added_thresholds_counts_each_level_and_the_moves(graded_shop):
    shop, _ = graded_shop
    edited = [
        LevelSpec("普通会员", Decimal("0.01"), 1, 100),
        LevelSpec("银卡", Decimal("400"), 3, 95),  # d (¥300, 2 orders) no longer reaches it
        LevelSpec("金卡", Decimal("1000"), 6, 90),
        LevelSpec("钻石", Decimal("1400"), 10, 85),  # c (¥1500) reaches the new top level
    ]

    sim = levels_simulate(shop=shop, specs=edited, window_months=None)

    assert sim.afresh
    assert rows(sim) == [
        (1, "普通会员", 1, "普通会员", 2),
        (2, "银卡", 2, "银卡", 1),
        (3, "金卡", 1, "金卡", 0),
        (4, "", 0, "钻石", 1),
    ]
    assert (sim.up, sim.down, sim.stay) == (1, 1, 2)
    assert (sim.members_today, sim.members_after, sim.buyers_without_level) == (4, 4, 0)
    assert [r.diff for r in sim.levels] == [1, -1, -1, 1]


@freeze_time("2025-07-01")
def test_saving_does_what_the_simulation_said(graded_shop):
    shop, (a, b, c, d, _e) = graded_shop
    edited = [
        LevelSpec("普通会员", Decimal("0.01"), 1, 100),
        LevelSpec("银卡", Decimal("400"), 3, 95),
        LevelSpec("钻石", Decimal("1400"), 10, 85),
    ]
    sim = levels_simulate(shop=shop, specs=edited, window_months=12)

    saved = levels_configure(shop=shop, specs=edited, window_months=12, downgrade="never", grace_days=30)

    # a's only order is older than 12 months: a leaves every level; d drops to 普通会员; c moves to 钻石 (rank 3)
    assert (sim.up, sim.down, sim.stay) == (0, 2, 2)
    assert (sim.buyers_without_level, sim.members_after) == (0, 3)
    assert level_distribution(shop_ids=[shop.pk]) == {r.name_after: r.after for r in sim.levels}
    assert (saved.regraded, saved.changes, saved.memberships) == ("afresh", 2, 3)
    assert [level_of(x, shop) for x in (a, b, c, d)] == [None, "银卡", "钻石", "普通会员"]
    moves = set(
        LevelChange.objects.filter(reason=LevelChange.Reason.LEVELS).values_list("customer_id", "from_name", "to_name")
    )
    assert moves == {(a.pk, "普通会员", ""), (d.pk, "银卡", "普通会员")}


@freeze_time("2025-07-01")
def test_same_thresholds_simulate_upgrades_only(graded_shop):
    shop, _ = graded_shop
    renamed = [LevelSpec(s.name + "+", s.min_amount, s.min_orders, s.discount) for s in TODAY]

    sim = levels_simulate(shop=shop, specs=renamed, window_months=12)

    # a no longer qualifies within 12 months but keeps the level: without new thresholds nobody moves down
    assert not sim.afresh
    assert rows(sim) == [(1, "普通会员", 1, "普通会员+", 1), (2, "银卡", 2, "银卡+", 2), (3, "金卡", 1, "金卡+", 1)]
    assert (sim.up, sim.down, sim.stay) == (0, 0, 4)


def test_renaming_keeps_memberships_and_their_rows(graded_shop):
    shop, (a, b, c, d, _e) = graded_shop
    ids = list(Level.objects.filter(shop=shop).order_by("rank").values_list("pk", flat=True))
    swapped = [
        LevelSpec("银卡", Decimal("0.01"), 1, 100),  # names swap between ranks 1 and 2
        LevelSpec("普通会员", Decimal("200"), 3, 95),
        LevelSpec("金卡", Decimal("1000"), 6, 88, benefits="包邮"),
    ]

    levels = levels_set(shop=shop, specs=swapped)

    assert [lv.pk for lv in levels] == ids
    assert [level_of(x, shop) for x in (a, b, c, d)] == ["银卡", "普通会员", "金卡", "普通会员"]
    assert not LevelChange.objects.filter(reason=LevelChange.Reason.LEVELS).exists()
    assert Level.objects.get(pk=ids[2]).benefits == "包邮"


def test_removing_the_top_level_moves_its_members_and_keeps_history_names(graded_shop):
    shop, (_a, _b, c, _d, _e) = graded_shop

    levels_set(shop=shop, specs=TODAY[:2])

    assert level_of(c, shop) == "银卡"
    change = LevelChange.objects.get(customer=c, reason=LevelChange.Reason.LEVELS)
    assert (change.from_name, change.to_name, change.from_rank, change.to_rank) == ("金卡", "银卡", 3, 2)
    assert change.from_level_id is None
    assert list(Level.objects.filter(shop=shop).values_list("name", flat=True)) == ["普通会员", "银卡"]


def test_grading_size_counts_the_shops_orders(graded_shop):
    shop, _ = graded_shop
    assert grading_size(shop=shop) == 8  # closed orders too: the grading reads them


# --- at risk and the grace clock -----------------------------------------------------------------------------


@pytest.fixture
def reviewing_shop():
    """A shop counting 12 months, dropping at review after 30 days. `lapsing` was 金卡 by a ¥1200 order of
    2025-02-20 and last qualified at the regrade of 2026-02-15; since 2026-02-20 only a ¥300 order counts.
    `steady` still reaches 银卡."""
    shop = ShopFactory.create(name="复审店")
    levels_set(shop=shop, specs=TODAY)
    level_policy_set(shop=shop, window_months=12, downgrade="review", grace_days=30)
    lapsing, steady = CustomerFactory.create_batch(2, phone="13812345678")
    OrderFactory.create(
        shop=shop, customer=lapsing, paid_amount=Decimal("1200"), ordered_at=datetime(2025, 2, 20, tzinfo=UTC)
    )
    OrderFactory.create(
        shop=shop, customer=lapsing, paid_amount=Decimal("300"), ordered_at=datetime(2026, 1, 10, tzinfo=UTC)
    )
    OrderFactory.create(
        shop=shop, customer=steady, paid_amount=Decimal("250"), ordered_at=datetime(2026, 1, 10, tzinfo=UTC)
    )
    with freeze_time("2025-03-01"):
        levels_regrade()
    with freeze_time("2026-02-15"):
        levels_regrade()  # still qualifies: the grace clock restarts
    return shop, lapsing, steady


def test_regrade_keeps_the_grace_clock_of_qualifying_members(reviewing_shop):
    shop, lapsing, steady = reviewing_shop
    clock = Membership.objects.get(customer=lapsing).qualified_at

    with freeze_time("2026-03-01"):
        levels_regrade()  # lapsing no longer qualifies: keeps 金卡 and the clock; steady qualifies: clock moves

    assert clock == datetime(2026, 2, 15, tzinfo=UTC)
    assert Membership.objects.get(customer=lapsing).qualified_at == clock
    assert Membership.objects.get(customer=steady).qualified_at == datetime(2026, 3, 1, tzinfo=UTC)
    assert level_of(lapsing, shop) == "金卡"


def test_review_counts_the_grace_period_from_qualified_at_not_from_updated_at(reviewing_shop):
    shop, lapsing, _steady = reviewing_shop
    # a later write to the row (e.g. an admin touch) must not restart the grace period
    Membership.objects.filter(customer=lapsing).update(updated_at=datetime(2026, 3, 5, tzinfo=UTC))

    levels_review(today=date(2026, 3, 15))  # 28 days after 2026-02-15: in grace
    assert level_of(lapsing, shop) == "金卡"
    levels_review(today=date(2026, 3, 17))  # the review after 30 days (end of 2026-03-17, shop time): drops
    assert level_of(lapsing, shop) == "银卡"  # ¥300 in the last 12 months
    assert Membership.objects.get(customer=lapsing).qualified_at is not None


@freeze_time("2026-03-01 04:00:00")
def test_at_risk_lists_who_drops_what_they_need_and_by_when(reviewing_shop):
    shop, lapsing, steady = reviewing_shop
    unknown = CustomerFactory.create(name="无时钟")
    OrderFactory.create(
        shop=shop, customer=unknown, paid_amount=Decimal("20"), ordered_at=datetime(2026, 2, 1, tzinfo=UTC)
    )
    Membership.objects.create(
        customer=unknown, shop=shop, level=Level.objects.get(shop=shop, rank=2), qualified_at=None
    )

    page = members_at_risk(shop=shop)

    assert page.reviewing
    assert page.count == 2
    first, second = page.members
    # no clock: drops at the next review, listed first
    assert (first.customer, first.level.name, first.deadline) == (unknown, "银卡", datetime(2026, 3, 1, 4, tzinfo=UTC))
    assert (first.amount, first.orders, first.amount_needed, first.orders_needed) == (
        Decimal("20.00"),
        1,
        Decimal("180.00"),
        2,
    )
    assert (second.customer, second.level.name) == (lapsing, "金卡")
    assert (second.amount, second.orders) == (Decimal("300.00"), 1)
    assert (second.amount_needed, second.orders_needed) == (Decimal("700.00"), 5)
    assert second.deadline == datetime(2026, 3, 17, tzinfo=UTC)
    assert steady not in [m.customer for m in page.members]


@freeze_time("2026-03-01")
def test_at_risk_pages(reviewing_shop):
    shop, lapsing, _steady = reviewing_shop

    assert [m.customer for m in members_at_risk(shop=shop, limit=1).members] == [lapsing]
    beyond = members_at_risk(shop=shop, offset=1, limit=1)
    assert (beyond.count, beyond.members) == (1, [])


def test_nobody_is_at_risk_when_the_shop_never_drops(graded_shop):
    shop, _ = graded_shop
    level_policy_set(shop=shop, window_months=1)  # a's order is long out of the window, but "never" keeps it

    page = members_at_risk(shop=shop)

    assert (page.reviewing, page.count, page.members) == (False, 0, [])


# --- level changes: the care app's trigger --------------------------------------------------------------------


def test_level_changes_since_by_direction():
    shop, other = ShopFactory.create(name="甲"), ShopFactory.create(name="乙")
    for s in (shop, other):
        levels_set(shop=s, specs=TODAY)
        level_policy_set(shop=s, downgrade="review", grace_days=0)
    c = CustomerFactory.create(name="升降")
    order = OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("50"))
    OrderFactory.create(shop=other, customer=c, paid_amount=Decimal("5000"))
    with freeze_time("2026-01-01"):
        levels_regrade()  # joins 普通会员 in 甲 (up), 金卡 in 乙
    Order.objects.filter(pk=order.pk).update(paid_amount=Decimal("1000"))
    with freeze_time("2026-02-01"):
        levels_regrade()  # 普通会员 -> 金卡 (up)
    Order.objects.filter(pk=order.pk).update(paid_amount=Decimal("300"))
    with freeze_time("2026-03-01"):
        levels_review()  # 金卡 -> 银卡 (down)

    ups = level_changes_since(shop=shop, since=datetime(2026, 1, 1, tzinfo=UTC))
    later = level_changes_since(shop=shop, since=datetime(2026, 1, 15, tzinfo=UTC), direction="any")
    downs = level_changes_since(shop=shop, since=datetime(2025, 1, 1, tzinfo=UTC), direction="down")

    assert [(x.customer, x.from_name, x.to_name, x.created_at.date()) for x in ups] == [
        (c, "", "普通会员", date(2026, 1, 1)),
        (c, "普通会员", "金卡", date(2026, 2, 1)),
    ]
    assert [(x.from_name, x.to_name) for x in later] == [("普通会员", "金卡"), ("金卡", "银卡")]
    assert [(x.from_name, x.to_name, x.reason) for x in downs] == [("金卡", "银卡", "review")]
    with pytest.raises(ApplicationError):
        level_changes_since(shop=shop, since=datetime(2026, 1, 1, tzinfo=UTC), direction="sideways")  # type: ignore[arg-type]


def test_level_changes_since_query_count(django_assert_num_queries):
    shop = ShopFactory.create()
    levels_set(shop=shop, specs=TODAY)
    for c in CustomerFactory.create_batch(3):
        OrderFactory.create(shop=shop, customer=c, paid_amount=Decimal("50"))
    levels_regrade()
    since = datetime.now(tz=UTC) - timedelta(days=1)

    with django_assert_num_queries(1):
        names = [x.customer.name for x in level_changes_since(shop=shop, since=since)]

    assert len(names) == 3


@freeze_time("2026-03-01")
def test_at_risk_queries_do_not_grow_with_the_page(reviewing_shop):
    shop, _lapsing, _steady = reviewing_shop

    def queries():
        with CaptureQueriesContext(connection) as ctx:
            page = members_at_risk(shop=shop)
            [list(m.customer.identities.all()) for m in page.members]
        return len(ctx.captured_queries), page.count

    few = queries()
    for c in CustomerFactory.create_batch(3):
        Membership.objects.create(customer=c, shop=shop, level=Level.objects.get(shop=shop, rank=3))
    many = queries()

    assert (few[1], many[1]) == (1, 4)
    assert few[0] == many[0]
