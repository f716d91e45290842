"""The demo shop: the pure generator (no DB) and the `demo` command against the real database."""

from __future__ import annotations

import re
import statistics
from collections import Counter, defaultdict
from datetime import date, datetime, timedelta
from decimal import Decimal
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import authenticate
from django.contrib.auth.models import User
from django.core.management import CommandError, call_command
from django.db.models import Sum
from django.utils import timezone, translation

from huitouke.analytics.models import CustomerScore, ScoreRun
from huitouke.analytics.reports import segment_label
from huitouke.campaigns.models import Campaign, CampaignRecipient
from huitouke.campaigns.selectors import campaign_results
from huitouke.care.models import CareRule
from huitouke.core.roles import role_of
from huitouke.customers.models import Consent, Customer, CustomerIdentity, CustomerTag, Note
from huitouke.demo.generator import (
    CUSTOMER_COLUMNS,
    LINE_COLUMNS,
    ORDER_COLUMNS,
    Chunk,
    DemoGenerator,
    lunar_new_year,
    rows_digest,
)
from huitouke.demo.services import DEMO_LEVELS, DEMO_LOGINS, demo_exists
from huitouke.loyalty.models import Level, Membership
from huitouke.messaging.models import Message
from huitouke.orders.models import Order, OrderLine, Shop

TODAY = date(2025, 11, 20)
COL_C = {name: i for i, name in enumerate(CUSTOMER_COLUMNS)}
COL_O = {name: i for i, name in enumerate(ORDER_COLUMNS)}
COL_L = {name: i for i, name in enumerate(LINE_COLUMNS)}
CHINESE_NAME = re.compile(r"^[\u4e00-\u9fff]{2,4}$")


def _generate(customers: int, seed: int = 42) -> tuple[DemoGenerator, Chunk]:
    gen = DemoGenerator(customers=customers, seed=seed, today=TODAY)
    merged = Chunk()
    for chunk in gen.chunks(chunk_size=1000):
        for table in Chunk.TABLES:
            getattr(merged, table).extend(getattr(chunk, table))
    return gen, merged


@pytest.fixture(scope="module")
def shop_rows() -> tuple[DemoGenerator, Chunk]:
    return _generate(3000)


def test_generator_same_seed_same_rows_and_other_seed_other_rows() -> None:
    # given two generators with the same seed and one with another seed
    def digest(seed: int) -> str:
        gen = DemoGenerator(customers=400, seed=seed, today=TODAY)
        return rows_digest(gen, gen.chunks(chunk_size=150))

    # then
    assert digest(7) == digest(7)
    assert digest(7) != digest(8)


def test_generator_counts_and_shape(shop_rows: tuple[DemoGenerator, Chunk]) -> None:
    gen, rows = shop_rows
    assert len(rows.customers) == 3000
    assert len(rows.identities) == 3000
    assert len(rows.orders) >= 4 * 3000
    assert len(rows.lines) > len(rows.orders)
    assert [r[4] for r in gen.shop_rows] == ["taobao", "shopify"]
    assert 40 <= len([p for p in gen.product_rows if p[3] == gen.shops["taobao"].id]) <= 60
    platforms = Counter(r[4] for r in rows.identities)
    assert 0.85 <= platforms["taobao"] / 3000 <= 0.95
    # one-time buyers make up 55-60%
    per_customer = Counter(o[COL_O["customer_id"]] for o in rows.orders)
    one_timers = sum(1 for n in per_customer.values() if n == 1)
    assert 0.5 <= one_timers / 3000 <= 0.65
    # ids link up
    customer_ids = {r[0] for r in rows.customers}
    assert set(per_customer) <= customer_ids
    order_ids = {o[0] for o in rows.orders}
    assert {ln[COL_L["order_id"]] for ln in rows.lines} <= order_ids


def test_generator_orders_fall_in_the_last_24_months_with_seasonal_peaks(
    shop_rows: tuple[DemoGenerator, Chunk],
) -> None:
    _gen, rows = shop_rows
    times = [datetime.fromisoformat(o[COL_O["ordered_at"]]) + timedelta(hours=8) for o in rows.orders]
    assert min(times).date() >= TODAY - timedelta(days=730)
    assert max(times).date() < TODAY
    months = Counter(t.strftime("%Y-%m") for t in times)
    full = {m: n for m, n in months.items() if m not in (min(months), max(months))}
    median = statistics.median(full.values())
    for peak in ("2024-06", "2024-11", "2024-12", "2025-06"):  # 618, 双11, 双12
        assert full[peak] > median, peak
    # the month before 春节 2025 (29 January) is a gift season
    assert full["2025-01"] > median


def test_generator_statuses_amounts_and_logistics(shop_rows: tuple[DemoGenerator, Chunk]) -> None:
    _gen, rows = shop_rows
    statuses = Counter(o[COL_O["status"]] for o in rows.orders)
    assert statuses["completed"] / len(rows.orders) > 0.8
    assert statuses["closed"] > 0
    assert statuses["refunded"] > 0
    assert statuses["shipped"] + statuses["paid"] + statuses["delivered"] > 0
    lines_of: dict[int, list[tuple[Any, ...]]] = defaultdict(list)
    for line in rows.lines:
        lines_of[line[COL_L["order_id"]]].append(line)
    for o in rows.orders[:2000]:
        lines = lines_of[o[0]]
        assert [ln[COL_L["line_no"]] for ln in lines] == list(range(1, len(lines) + 1))
        for ln in lines:
            assert Decimal(ln[COL_L["unit_price"]]) * ln[COL_L["quantity"]] == Decimal(ln[COL_L["amount"]])
        goods = sum(Decimal(ln[COL_L["amount"]]) for ln in lines)
        assert Decimal(o[COL_O["goods_amount"]]) == goods
        assert Decimal(o[COL_O["total_amount"]]) == goods + Decimal(o[COL_O["shipping_fee"]])
        if o[COL_O["shipped_at"]]:
            assert o[COL_O["logistics_company"]]
            assert o[COL_O["tracking_no"]]
    assert any(o[COL_O["buyer_remark"]] for o in rows.orders)
    carriers = {o[COL_O["logistics_company"]] for o in rows.orders}
    assert {"中通快递", "圆通速递", "顺丰速运", "韵达快递"} <= carriers


def test_generator_customers_look_like_real_buyers(shop_rows: tuple[DemoGenerator, Chunk]) -> None:
    _gen, rows = shop_rows
    taobao_ids = {r[3] for r in rows.identities if r[4] == "taobao"}
    taobao = [r for r in rows.customers if r[0] in taobao_ids]
    assert all(CHINESE_NAME.match(r[COL_C["name"]]) for r in taobao)
    handles = [r[5] for r in rows.identities]
    assert len(set(handles)) == len(handles)
    assert any(h.startswith("tb") for h in handles)
    phones = [r[COL_C["phone"]] for r in taobao if r[COL_C["phone"]]]
    masked = [p for p in phones if re.fullmatch(r"1[3-9]\d\*{4}\d{4}", p)]
    full = [p for p in phones if re.fullmatch(r"1[3-9]\d{9}", p)]
    assert 0.2 <= len(masked) / len(phones) <= 0.4
    assert len(masked) + len(full) == len(phones)
    assert any(r[COL_C["birthday_calendar"]] == "lunar" and r[COL_C["birthday"]] for r in rows.customers)
    assert len({r[COL_C["province"]] for r in taobao}) >= 25
    assert any(r[COL_C["email"]] for r in taobao)
    assert any(r[COL_C["pref_price"]] for r in rows.customers)
    assert rows.customertags
    assert rows.notes
    # the COPY writer relies on text free of tabs, newlines and backslashes
    for table in Chunk.TABLES:
        for row in getattr(rows, table)[:5000]:
            for value in row:
                assert not (isinstance(value, str) and set(value) & {"\t", "\n", "\\"}), (table, row)


def test_lunar_new_year_dates_are_the_real_ones() -> None:
    assert lunar_new_year(2024) == date(2024, 2, 10)
    assert lunar_new_year(2025) == date(2025, 1, 29)
    assert lunar_new_year(2026) == date(2026, 2, 17)


def _build(*args: str) -> str:
    out = StringIO()
    call_command("demo", "--no-serve", *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _snapshot() -> list[tuple[Any, ...]]:
    return list(CustomerIdentity.objects.order_by("id").values_list("handle", "customer__name", "customer__phone"))


@pytest.mark.django_db
def test_demo_command_builds_shop_with_stats_levels_and_logins() -> None:
    # when
    out = _build("--customers", "300", "--seed", "5")

    # then: the expected rows
    assert demo_exists()
    assert Shop.objects.filter(is_demo=True).count() == 2
    assert Customer.objects.count() == 300
    assert CustomerIdentity.objects.count() == 300
    assert Order.objects.count() >= 1200
    assert OrderLine.objects.count() > Order.objects.count()
    assert CustomerTag.objects.exists()
    assert Note.objects.exists()
    # the stats equal a computation over the orders
    counted: dict[int, list[Order]] = defaultdict(list)
    for order in Order.objects.filter(status__in=Order.COUNTED):
        counted[order.customer_id].append(order)
    for customer in Customer.objects.order_by("id")[::7]:
        mine = counted.get(customer.pk, [])
        assert customer.order_count == len(mine)
        assert customer.total_spent == sum((o.paid_amount - o.refund_amount for o in mine), Decimal(0))
        assert customer.last_order_at == (max(o.ordered_at for o in mine) if mine else None)
        assert customer.first_order_at == (min(o.ordered_at for o in mine) if mine else None)
    assert Customer.objects.aggregate(s=Sum("order_count"))["s"] == sum(len(v) for v in counted.values())
    # levels: the Taobao shop's four levels, each member at the highest level reached
    taobao = Shop.objects.get(platform="taobao")
    levels = list(Level.objects.filter(shop=taobao).order_by("rank"))
    assert [(lv.name, lv.discount) for lv in levels] == [(s.name, s.discount) for s in DEMO_LEVELS]
    members = Membership.objects.filter(shop=taobao).select_related("level", "customer")
    assert members.count() > 0
    for m in members[:50]:
        orders = [o for o in counted[m.customer_id] if o.shop_id == taobao.pk]
        spent = sum((o.paid_amount - o.refund_amount for o in orders), Decimal(0))
        best = max(lv.rank for lv in levels if spent >= lv.min_amount or len(orders) >= lv.min_orders)
        assert m.level.rank == best
    # one login per role, printed with its password
    for login in DEMO_LOGINS:
        user = authenticate(username=login.username, password=login.password)
        assert user is not None
        assert role_of(user) == login.role
        assert f"{login.username} / {login.password}" in out


@pytest.mark.django_db
def test_demo_command_again_without_reset_changes_nothing() -> None:
    _build("--customers", "120")
    before = (Customer.objects.count(), Order.objects.count(), OrderLine.objects.count())

    out = _build("--customers", "120")

    assert "exists already" in out
    assert (Customer.objects.count(), Order.objects.count(), OrderLine.objects.count()) == before


@pytest.mark.django_db
def test_demo_command_reset_rebuilds_the_same_shop() -> None:
    _build("--customers", "120", "--seed", "9")
    first = _snapshot()
    orders = Order.objects.count()
    Customer.objects.filter(pk=Customer.objects.order_by("id").first().pk).update(name="changed")  # type: ignore[union-attr]

    _build("--customers", "120", "--seed", "9", "--reset")

    assert _snapshot() == first
    assert Order.objects.count() == orders
    assert Shop.objects.count() == 2
    assert not Customer.objects.filter(name="changed").exists()


@pytest.mark.django_db
def test_demo_command_refuses_a_database_with_real_shops() -> None:
    Shop.objects.create(name="真实店铺", platform="taobao")

    with pytest.raises(CommandError, match="real shops"):
        _build("--customers", "50", "--reset")
    with pytest.raises(CommandError, match="real shops"):
        _build("--customers", "50")
    assert not Customer.objects.exists()


@pytest.mark.django_db
def test_demo_shows_a_shop_that_has_run_for_a_while(client: Any) -> None:
    """The first screen shows scores and movements, and care and a campaign have already sent something."""
    # when
    _build("--customers", "300", "--seed", "3")

    # then: two weekly score runs, the latest with movements from the week before
    runs = list(ScoreRun.objects.order_by("week"))
    assert len(runs) == 2
    assert runs[1].week - runs[0].week == timedelta(days=7)
    assert runs[1].previous_week == runs[0].week
    buyers = Customer.objects.filter(order_count__gt=0).count()
    assert runs[1].customers == buyers == CustomerScore.objects.count()
    assert sum(runs[1].distribution.values()) == buyers
    assert sum(n for _a, _b, n in runs[1].movements) > 0

    # the dashboard shows them (not "not computed yet")
    client.force_login(User.objects.get(username="owner"))
    page = client.get("/").content.decode()
    with translation.override("zh-hans"):
        never = translation.gettext(
            "The scores have not been computed yet. They are refreshed every night and after each import."
        ).split("。")[0]
        no_moves = translation.gettext("Movements appear once two weeks have been scored.")
    assert never == "评分尚未计算"  # the translated sentence
    assert never not in page
    assert no_moves not in page
    assert f"{runs[1].distribution['champions']:,}" in page
    top_move = max(runs[1].movements, key=lambda m: m[2])
    with translation.override("zh-hans"):
        assert segment_label(top_move[0]) in page
        assert segment_label(top_move[1]) in page

    # three care rules switched on, with sends on several days of the last week, decided by the dispatcher
    enabled = set(CareRule.objects.filter(enabled=True).values_list("key", flat=True))
    assert enabled == {"shipped", "delivered_followup", "birthday"}
    # still valid (as after a login today), not expired
    assert not CareRule.objects.filter(enabled=True, valid_until__lte=timezone.now() + timedelta(days=6)).exists()
    care = Message.objects.filter(source_kind="care")
    assert not care.filter(status__in=(*Message.PENDING, "sending", "failed")).exists()
    care_sent = care.filter(status="sent")
    assert care_sent.count() > 0
    assert len({m.date() for m in care_sent.values_list("sent_at", flat=True) if m}) >= 3
    assert not care_sent.filter(to_address="").exists()
    # nobody who refused care messages got one
    refused = Consent.objects.filter(purpose="care", granted=False).values("customer_id")
    assert not care_sent.filter(customer_id__in=refused).exists()

    # a member-day announcement a month ago: its holdout kept, every treated recipient's message decided, orders
    # attributed
    campaign = Campaign.objects.get()
    assert campaign.status == Campaign.Status.SENT
    assert campaign.kind == Campaign.Kind.ANNOUNCEMENT
    assert campaign.launched_at is not None
    assert (timezone.now() - campaign.launched_at).days >= 29
    assert campaign.targeted == CampaignRecipient.objects.filter(campaign=campaign).count() > 0
    assert campaign.held_out == CampaignRecipient.objects.filter(campaign=campaign, holdout=True).count() > 0
    messages = Message.objects.filter(source_kind="campaign")
    assert messages.count() == campaign.targeted - campaign.held_out
    sent = messages.filter(status="sent")
    assert sent.count() > 0
    assert not messages.exclude(status__in=("sent", "suppressed")).exists()
    opted_out = Consent.objects.filter(purpose="marketing", channel="sms", granted=False).values("customer_id")
    assert not sent.filter(customer_id__in=opted_out).exists()
    assert {d.date() for d in sent.values_list("sent_at", flat=True) if d} == {campaign.launched_at.date()}
    results = campaign_results(campaign)
    assert results.window_end <= timezone.now()  # the attribution window has closed
    assert results.treated.customers + results.holdout.customers == campaign.targeted
    assert results.treated.converted > 0
    assert results.treated.revenue > 0
    for group in (results.treated, results.holdout):  # in cents, as the page shows them (SQLite sums floats)
        assert group.revenue == group.revenue.quantize(Decimal("0.01"))
        assert len(str(group.revenue).partition(".")[2]) == 2
    assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
