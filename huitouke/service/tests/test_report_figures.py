"""The recovery effect as a stored figure: the page reads what was stored for today instead of counting a year of
orders, an earlier day's figures are recomputed, analytics' refresh (after imports, nightly) recomputes them for
all shops and for each shop viewed, and managers can ask for a recompute."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huitouke.analytics.models import FigureSnapshot
from huitouke.analytics.snapshots import snapshots_refresh
from huitouke.service import report_figures as rf
from huitouke.service import report_selectors as rs
from huitouke.service.tests.conftest import sh


def _buy(customer: Any, shop: Any, no: str, day: date) -> None:
    from huitouke.orders.tests.factories import OrderFactory

    OrderFactory.create(shop=shop, customer=customer, order_no=no, ordered_at=sh(day.year, day.month, day.day, 10))


@pytest.fixture
def history(shop: Any) -> Any:
    """Two customers without tickets whose first purchase lies 200 days back: one bought again 30 days later."""
    from huitouke.customers.tests.factories import CustomerFactory

    start = timezone.localdate() - timedelta(days=200)
    again, once = CustomerFactory.create(name="回头"), CustomerFactory.create(name="一次")
    _buy(again, shop, "A1", start)
    _buy(again, shop, "A2", start + timedelta(days=30))
    _buy(once, shop, "O1", start)
    return start


@pytest.mark.django_db
def test_stored_figures_are_the_counts_of_the_day_and_stay_until_recomputed(shop: Any, history: date) -> None:
    from huitouke.customers.tests.factories import CustomerFactory

    today = timezone.localdate()
    stored = rf.recovery_figures(shop=None)
    assert stored.value.today == today
    assert stored.value.counts[90]["no_ticket"] == (2, 1)
    assert stored.value.counts == {days: rs.recovery_counts(days=days, today=today) for days in rs.RECOVERY_WINDOWS}
    # an import adds a buyer: the page keeps reading the stored figure (no count of orders) until a recompute
    _buy(CustomerFactory.create(name="新客"), shop, "N1", history)
    with CaptureQueriesContext(connection) as seen:
        again = rf.recovery_figures(shop=None)
    assert again.value.counts[90]["no_ticket"] == (2, 1)
    assert again.computed_at == stored.computed_at
    assert not [q for q in seen.captured_queries if "orders_order" in q["sql"]]
    assert "service.recovery" in snapshots_refresh()  # what the refresh after an import and the nightly job run
    assert rf.recovery_figures(shop=None).value.counts[90]["no_ticket"] == (3, 1)


@pytest.mark.django_db
def test_figures_of_an_earlier_day_are_recomputed(shop: Any, history: date) -> None:
    today = timezone.localdate()
    rf.recovery_figures(shop=None, today=today - timedelta(days=1))
    stored = rf.recovery_figures(shop=None, today=today)
    assert stored.value.today == today
    assert stored.value.counts[180]["no_ticket"] == rs.recovery_counts(days=180, today=today)["no_ticket"] == (2, 1)


@pytest.mark.django_db
def test_refresh_covers_each_shop_viewed_and_drops_deleted_shops(shop: Any, history: date) -> None:
    from huitouke.orders.models import Shop
    from huitouke.orders.tests.factories import ShopFactory

    other = ShopFactory.create(name="二店")
    gone = ShopFactory.create(name="关店")
    assert rf.recovery_figures(shop=other).value.counts[90]["no_ticket"] == (0, 0)
    rf.recovery_figures(shop=gone)
    Shop.objects.filter(pk=gone.pk).delete()
    assert rf.recovery_figures_refresh() == ["service.recovery", f"service.recovery:shop={other.pk}"]
    assert sorted(FigureSnapshot.objects.filter(key__startswith="service.").values_list("key", flat=True)) == [
        "service.recovery",
        f"service.recovery:shop={other.pk}",
    ]
    assert rf.recovery_figures(shop=shop).value.counts[90]["no_ticket"] == (2, 1)


@pytest.mark.django_db
def test_page_shows_when_computed_and_managers_recompute(
    client: Any, shop: Any, history: date, agent: Any, manager: Any
) -> None:
    from huitouke.customers.tests.factories import CustomerFactory

    client.force_login(manager)
    page = client.get("/service/reports/recovery/", {"shop": shop.name})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="recovery-computed"' in text
    assert 'id="recovery-recompute"' in text
    before = FigureSnapshot.objects.get(key=f"service.recovery:shop={shop.pk}")
    _buy(CustomerFactory.create(name="新客"), shop, "N1", history)
    client.force_login(agent)
    assert client.post("/service/reports/recovery/refresh/").status_code == 403
    client.force_login(manager)
    assert client.get("/service/reports/recovery/refresh/").status_code == 405
    answer = client.post("/service/reports/recovery/refresh/", {"shop": shop.name})
    assert answer.status_code == 302
    assert answer["Location"] == "/service/reports/recovery/?shop=%E8%8C%B6%E5%B0%8F%E9%93%BA"
    after = FigureSnapshot.objects.get(key=f"service.recovery:shop={shop.pk}")
    assert after.computed_at > before.computed_at
    assert rf.recovery_figures(shop=shop).value.counts[90]["no_ticket"] == (3, 1)
