"""The credit of each shop moves on once a day just after its own midnight (the worker's quarter-hour task), so
the credit page's first visit of a day reads a stored figure instead of reading every rating."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO
from typing import Any, cast

import pytest
from django.core.management import call_command

from huitouke.orders.models import Order, Shop
from huitouke.orders.tests.factories import OrderFactory
from huitouke.reviews.credit_figures import credit_figures, credit_figures_due
from huitouke.reviews.models import Review
from huitouke.reviews.tasks import credit_new_day, credit_recompute_due
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = pytest.mark.django_db


def _rated_shop_in(zone: str, name: str = "西岸店") -> Shop:
    order = cast(
        Order, OrderFactory(shop__name=name, shop__timezone=zone, ordered_at=datetime(2025, 6, 20, tzinfo=UTC))
    )
    Review.objects.create(
        shop=order.shop,
        order=order,
        customer=order.customer,
        result="good",
        created_at=datetime(2025, 6, 25, tzinfo=UTC),
        tid=order.order_no,
    )
    return order.shop


def test_each_shop_is_recounted_once_just_after_its_own_midnight(review_clock):
    shanghai, _orders = golden_archive()  # Asia/Shanghai, UTC+8
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    los_angeles = _rated_shop_in("America/Los_Angeles")  # UTC-7 in July
    credit_recompute_due()  # whatever the import left: now both are counted for today (2025-07-10 12:00 UTC)
    assert credit_figures_due() == []
    assert credit_recompute_due() == {}

    review_clock.move_to("2025-07-10 15:59:00+00:00")  # 23:59 in Shanghai, 08:59 in Los Angeles
    assert credit_figures_due() == []
    review_clock.move_to("2025-07-10 16:01:00+00:00")  # Shanghai's new day only
    assert credit_figures_due() == [shanghai]
    assert credit_new_day.call_local() == {"店A": 0}
    assert credit_figures_due() == []
    counted = credit_figures(shop=shanghai).computed_at
    assert counted == datetime(2025, 7, 10, 16, 1, tzinfo=UTC)  # the page reads what the task stored

    review_clock.move_to("2025-07-11 07:01:00+00:00")  # 00:01 in Los Angeles
    assert credit_figures_due() == [los_angeles]
    assert credit_recompute_due() == {"西岸店": 0}
    assert credit_figures_due() == []
    assert credit_figures(shop=shanghai).computed_at == counted  # Shanghai's day has not turned again


def test_a_shop_without_reviews_is_never_due_and_one_never_counted_is(review_clock):
    OrderFactory(shop__name="空店")
    assert credit_figures_due() == []
    shop = _rated_shop_in("Asia/Shanghai")
    assert credit_figures_due() == [shop]


def test_one_shops_failure_does_not_hold_the_others_back(review_clock, monkeypatch, caplog):
    from huitouke.reviews import crediting

    broken = _rated_shop_in("Asia/Shanghai")
    _rated_shop_in("Asia/Shanghai", name="另一店")
    real = crediting.credit_recompute

    def failing(*, shop: Shop, **kwargs: Any) -> Any:
        if shop.pk == broken.pk:
            raise RuntimeError("boom")
        return real(shop=shop, **kwargs)

    monkeypatch.setattr(crediting, "credit_recompute", failing)
    assert credit_recompute_due() == {"另一店": 1}  # its one rating scored for the first time
    assert f"shop {broken.pk} failed" in caplog.text
    assert credit_figures_due() == [broken]  # tried again at the next quarter of an hour
