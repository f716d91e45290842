"""The analytics refresh against the database: hand-computed RFM rows, the weekly snapshot and its movements,
the CLV predictions and the refusal to predict from too little data."""

from __future__ import annotations

import json
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from io import StringIO

import numpy as np
import pytest
from django.core.management import call_command
from freezegun import freeze_time

from huitouke.analytics import clv, selectors
from huitouke.analytics.models import CustomerScore, RfmSnapshot, ScoreRun
from huitouke.analytics.services import scores_refresh, week_of
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Order
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

NOW = datetime(2025, 6, 18, 4, 0, tzinfo=UTC)  # 12:00 on Wednesday 18 June in Shanghai


def at(day: date, hour: int = 2) -> datetime:
    return datetime(day.year, day.month, day.day, hour, 0, tzinfo=UTC)


def buy(customer, day: date, amount: str, status=Order.Status.COMPLETED, refund: str = "0", hour: int = 2):
    return OrderFactory.create(
        customer=customer,
        ordered_at=at(day, hour),
        paid_amount=Decimal(amount),
        total_amount=Decimal(amount),
        refund_amount=Decimal(refund),
        status=status,
    )


@pytest.fixture
def five():
    """Five customers whose R, F and M each rank them 5..1 (hand-checked below), plus one who never paid."""
    today = date(2025, 6, 18)
    people = CustomerFactory.create_batch(5)
    plan = [  # days before today of each order, amount of each
        ([1, 30, 60, 90], ["300", "200", "200", "200"]),  # R 1 day, F 4, M 900
        ([10, 40, 100], ["150", "150", "100"]),  # 10 days, 3, 400
        ([40, 120], ["100", "50"]),  # 40 days, 2, 150
        ([200], ["60"]),  # 200 days, 1, 60
        ([400], ["20"]),  # 400 days, 1, 20
    ]
    for person, (days, amounts) in zip(people, plan, strict=True):
        for d, amount in zip(days, amounts, strict=True):
            buy(person, today - timedelta(days=d), amount)
    unpaid = CustomerFactory.create(name="没付款")
    buy(unpaid, today, "99", status=Order.Status.PENDING)
    buy(people[4], today - timedelta(days=3), "500", status=Order.Status.CLOSED)  # not counted
    customer_stats_refresh()
    return people, unpaid


def test_refresh_scores_each_buyer_by_hand(five):
    people, unpaid = five
    with freeze_time(NOW):
        result = scores_refresh()
    assert result.customers == 5
    rows = {s.customer_id: s for s in CustomerScore.objects.all()}
    assert unpaid.pk not in rows
    got = [
        (rows[p.pk].recency_days, rows[p.pk].frequency, rows[p.pk].monetary, rows[p.pk].r_score,
         rows[p.pk].f_score, rows[p.pk].m_score, rows[p.pk].segment)
        for p in people
    ]  # fmt: skip
    assert got == [
        (1, 4, Decimal("900.00"), 5, 5, 5, "champions"),
        (10, 3, Decimal("400.00"), 4, 4, 4, "loyal"),
        (40, 2, Decimal("150.00"), 3, 3, 3, "need_attention"),
        (200, 1, Decimal("60.00"), 2, 1, 2, "about_to_sleep"),
        (400, 1, Decimal("20.00"), 1, 1, 1, "lost"),
    ]
    # F and M are the archive's own order count and total spent
    for p in people:
        p.refresh_from_db()
        assert (rows[p.pk].frequency, rows[p.pk].monetary) == (p.order_count, p.total_spent)
    assert result.segments["champions"] == 1
    assert sum(result.segments.values()) == 5
    # too few buyers for the CLV models: no predictions, and the reason is kept
    assert result.bgnbd is None
    assert "at least 20 customers; there are 5" in result.fit_error
    assert all(rows[p.pk].p_alive is None and rows[p.pk].clv is None for p in people)
    run = ScoreRun.objects.get()
    assert run.week == date(2025, 6, 16)
    assert run.distribution == result.segments == selectors.segment_distribution()
    assert run.fit_error == result.fit_error


def test_refunds_reduce_monetary_and_the_day_is_the_local_one():
    shop = ShopFactory.create(name="茶叶店")
    customer = CustomerFactory.create()
    # 17 June 17:30 UTC is 18 June 01:30 in Shanghai: bought "today", recency 0
    OrderFactory.create(
        shop=shop, customer=customer, ordered_at=datetime(2025, 6, 17, 17, 30, tzinfo=UTC),
        paid_amount=Decimal("120.50"), refund_amount=Decimal("20.25"),
    )  # fmt: skip
    OrderFactory.create(
        shop=shop, customer=customer, ordered_at=datetime(2025, 6, 17, 15, 59, tzinfo=UTC),  # 23:59 on the 17th
        paid_amount=Decimal("10"),
    )  # fmt: skip
    with freeze_time(NOW):
        scores_refresh()
    score = CustomerScore.objects.get()
    assert (score.recency_days, score.frequency, score.monetary) == (0, 2, Decimal("110.25"))


def test_snapshot_movements_between_weeks(five):
    people, _ = five
    with freeze_time(NOW):
        first = scores_refresh()
    assert first.previous_week is None
    assert first.movements == []
    # a week later the champion's recent orders are refunded away and the lost customer comes back big
    Order.objects.filter(customer=people[0]).exclude(ordered_at__lt=at(date(2025, 4, 1))).update(
        status=Order.Status.REFUNDED
    )
    for k in range(4):
        buy(people[4], date(2025, 6, 20) + timedelta(days=k), "400")
    with freeze_time(NOW + timedelta(days=7)):
        second = scores_refresh()
    assert second.week == date(2025, 6, 23)
    assert second.previous_week == date(2025, 6, 16)
    segments_before = dict(RfmSnapshot.objects.filter(week=date(2025, 6, 16)).values_list("customer_id", "segment"))
    segments_now = dict(RfmSnapshot.objects.filter(week=date(2025, 6, 23)).values_list("customer_id", "segment"))
    expected: dict[tuple[str, str], int] = {}
    for cid, segment in segments_now.items():
        before = segments_before.get(cid)
        if before and before != segment:
            expected[(before, segment)] = expected.get((before, segment), 0) + 1
    assert {(a, b): n for a, b, n in second.movements} == expected
    assert ("lost", "champions") in expected
    assert ScoreRun.objects.count() == 2
    latest = ScoreRun.objects.first()
    assert latest is not None
    assert latest.movements == [list(m) for m in second.movements]


def test_refresh_twice_in_a_week_rewrites_that_week(five):
    with freeze_time(NOW):
        scores_refresh()
    with freeze_time(NOW + timedelta(days=2)):
        again = scores_refresh()
    assert again.previous_week is None
    assert RfmSnapshot.objects.count() == 5
    assert CustomerScore.objects.count() == 5


def test_old_snapshot_weeks_are_dropped(five):
    people, _ = five
    RfmSnapshot.objects.create(
        week=date(2025, 1, 6), customer=people[0], segment="lost", r_score=1, f_score=1, m_score=1
    )
    with freeze_time(NOW):
        scores_refresh()
    assert not RfmSnapshot.objects.filter(week=date(2025, 1, 6)).exists()


def _population(n: int, seed: int = 5) -> None:
    """n customers buying from a BG/NBD process over the year before NOW (orders at 02:00 UTC), spending from a
    Gamma-Gamma process (each customer's own mean spend varies)."""
    rng = np.random.default_rng(seed)
    shop = ShopFactory.create(name="大店")
    today = date(2025, 6, 18)
    customers = CustomerFactory.create_batch(n)
    orders = []
    for c in customers:
        lam, p, nu = rng.gamma(0.8, 1 / 40), rng.beta(1, 3), rng.gamma(3.0, 1 / 60)
        t = float(rng.uniform(0, 360))
        days = [int(t)]
        while True:
            t += rng.exponential(1 / lam)
            if t >= 365:
                break
            days.append(int(t))
            if rng.random() < p:
                break
        for i, d in enumerate(days):
            orders.append(
                Order(
                    shop=shop,
                    customer=c,
                    order_no=f"{c.pk}-{i}",
                    status=Order.Status.COMPLETED,
                    ordered_at=at(today - timedelta(days=364 - d)),
                    paid_amount=Decimal(f"{rng.gamma(4.0, 1 / nu):.2f}"),
                )
            )
    Order.objects.bulk_create(orders)
    customer_stats_refresh()


def test_predictions_follow_the_fitted_models():
    _population(300)
    with freeze_time(NOW):
        result = scores_refresh()
    assert result.fit_error == ""
    assert result.bgnbd is not None
    assert result.gamma_gamma is not None
    bg = clv.BgNbdParams(**{k: result.bgnbd[k] for k in ("r", "alpha", "a", "b", "loglik", "se")}, customers=0)
    gg = clv.GammaGammaParams(**{k: result.gamma_gamma[k] for k in ("p", "q", "gamma", "loglik", "customers")}, se={})
    scores = list(CustomerScore.objects.select_related("customer"))
    assert len(scores) == result.customers
    today = date(2025, 6, 18)
    checked = 0
    for s in scores[:40]:
        days = sorted(
            {
                o.ordered_at.date()  # 02:00 UTC is 10:00 in Shanghai: the same day
                for o in Order.objects.filter(customer_id=s.customer_id)
            }
        )
        amounts = [
            sum(o.paid_amount for o in Order.objects.filter(customer_id=s.customer_id) if o.ordered_at.date() == d)
            for d in days
        ]
        x, t_x, T = len(days) - 1, (days[-1] - days[0]).days, (today - days[0]).days
        m = float(sum(amounts[1:]) / x) if x else float("nan")
        p_alive = clv.bgnbd_p_alive(bg, np.array([x]), np.array([t_x]), np.array([T]))[0]
        expected = clv.bgnbd_expected_purchases(bg, 90, np.array([x]), np.array([t_x]), np.array([T]))[0]
        value = clv.clv(bg, gg, np.array([x]), np.array([t_x]), np.array([T]), np.array([m]))[0]
        assert s.p_alive == pytest.approx(p_alive, abs=1e-6)
        assert s.expected_purchases == pytest.approx(expected, abs=1e-6)
        assert s.clv is not None
        assert float(s.clv) == pytest.approx(value, abs=0.006)
        wait = clv.bgnbd_next_purchase_wait(bg, np.array([x]), np.array([t_x]), np.array([T]))[0]
        if np.isnan(wait) or wait > 365:
            assert s.next_purchase_on is None
        else:
            assert s.next_purchase_on == today + timedelta(days=int(np.ceil(wait)))
        checked += 1
    assert checked == 40
    alive = [s.p_alive for s in scores if s.p_alive is not None]
    assert len(alive) == len(scores)
    assert 0 <= min(alive) <= max(alive) <= 1


def test_command_prints_json_and_a_summary(five):
    out = StringIO()
    with freeze_time(NOW):
        call_command("analytics_refresh", "--json", stdout=out)
    payload = json.loads(out.getvalue())
    assert payload["customers"] == 5
    assert payload["segments"]["lost"] == 1
    assert payload["week"] == "2025-06-16"
    assert payload["bgnbd"] is None
    assert "at least 20 customers" in payload["fit_error"]
    out = StringIO()
    with freeze_time(NOW):
        call_command("analytics_refresh", stdout=out)
    text = out.getvalue()
    assert "5 customers scored" in text
    assert "Champions" in text
    assert "No predictions: BG/NBD needs at least 20 customers" in text


def test_week_of_is_the_monday():
    assert week_of(date(2025, 6, 18)) == date(2025, 6, 16)
    assert week_of(date(2025, 6, 16)) == date(2025, 6, 16)
    assert week_of(date(2025, 6, 22)) == date(2025, 6, 16)
