"""The results page keeps the orders side of a campaign's results (campaigns.selectors.campaign_order_figures):
a visit reads the kept figures instead of joining the recipients with every order of the window; they are counted
again 10 minutes after a count made while the window was open, after an import (campaign_figures_refresh), and
always equal a count made now."""

from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from freezegun import freeze_time

from huitouke.analytics.models import FigureSnapshot
from huitouke.analytics.snapshots import snapshots_refresh
from huitouke.campaigns.models import Campaign, CampaignRecipient
from huitouke.campaigns.selectors import OPEN_WINDOW_RECOUNT, campaign_figures_refresh, campaign_results
from huitouke.campaigns.services import campaign_launch
from huitouke.campaigns.tests.test_services import NOW, _campaign, _customers
from huitouke.messaging.models import Template
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def launched():
    template = Template.objects.create(channel="sms", purpose="marketing", language="zh-hans", name="上新", body="亲")
    shop = ShopFactory.create(name="茶小铺")
    _customers(6)
    campaign = _campaign(template, shop, share="0")
    campaign_launch(campaign=campaign, now=NOW)
    treated = list(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True))
    return campaign, shop, sorted(treated)


def _buy(shop, customer_id: int, at, amount: str) -> None:
    OrderFactory.create(customer_id=customer_id, shop=shop, ordered_at=at, paid_amount=Decimal(amount))


def _orders_read(sqls: list[dict[str, str]]) -> int:
    return sum('"orders_order"' in q["sql"] or "orders_order o" in q["sql"] for q in sqls)


def _revenue(campaign: Campaign, *, kept: bool) -> tuple[int, Decimal]:
    r = campaign_results(Campaign.objects.get(pk=campaign.pk), kept=kept)
    return r.treated.converted, r.treated.revenue


def test_kept_while_fresh_counted_again_when_stale_and_after_an_import(launched, client_as):
    campaign, shop, treated = launched
    client = client_as("marketer")
    _buy(shop, treated[0], NOW + timedelta(days=1), "100")
    with freeze_time(NOW + timedelta(days=2)):  # the 7-day window is open
        with CaptureQueriesContext(connection) as first:
            assert client.get(f"/campaigns/{campaign.pk}/").status_code == 200
        assert _orders_read(first.captured_queries) == 2  # nothing kept yet: the groups and the days
        assert FigureSnapshot.objects.filter(key=f"campaigns.orders:{campaign.pk}").count() == 1
        _buy(shop, treated[1], NOW + timedelta(days=2), "50")
        with CaptureQueriesContext(connection) as second:
            html = client.get(f"/campaigns/{campaign.pk}/").content.decode()
        assert _orders_read(second.captured_queries) == 0
        assert 'id="orders-counted"' in html
        assert _revenue(campaign, kept=True) == (1, Decimal("100.00"))  # kept: the new order not yet in
        assert _revenue(campaign, kept=False) == (2, Decimal("150.00"))
    with freeze_time(NOW + timedelta(days=2) + OPEN_WINDOW_RECOUNT + timedelta(seconds=1)):
        assert _revenue(campaign, kept=True) == (2, Decimal("150.00"))  # counted again: the window is open
    with freeze_time(NOW + timedelta(days=8)):  # the window closed after that count: counted once more, then kept
        assert _revenue(campaign, kept=True) == (2, Decimal("150.00"))
        _buy(shop, treated[2], NOW + timedelta(days=3), "30")  # an import brings an order of the window later
        assert _revenue(campaign, kept=True) == (2, Decimal("150.00"))
    with freeze_time(NOW + timedelta(days=30)):
        assert _revenue(campaign, kept=True) == (2, Decimal("150.00"))
        assert "campaigns.orders" in snapshots_refresh()  # the refresh after an import counts them again
        assert _revenue(campaign, kept=True) == _revenue(campaign, kept=False) == (3, Decimal("180.00"))


def test_the_refresh_drops_the_figures_of_old_campaigns(launched):
    campaign, _shop, _treated = launched
    with freeze_time(NOW + timedelta(days=2)):
        campaign_results(campaign, kept=True)
    with freeze_time(NOW + timedelta(days=401)):
        assert campaign_figures_refresh() == 0
    assert not FigureSnapshot.objects.filter(key__startswith="campaigns.orders:").exists()
    with freeze_time(NOW + timedelta(days=100)):
        assert campaign_figures_refresh() == 1
    assert FigureSnapshot.objects.filter(key=f"campaigns.orders:{campaign.pk}").count() == 1
