"""The review analytics page's stored figure (reviews.analytics_figures): a visit reads it instead of every review,
order line and order of the shop; it equals the live computation; reviews written, a new day, the refresh after
an import bring it up to date."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huitouke.analytics.models import FigureSnapshot
from huitouke.analytics.snapshots import snapshots_refresh
from huitouke.orders.models import Order, Shop
from huitouke.orders.tests.factories import OrderFactory
from huitouke.reviews.analytics_figures import (
    review_figures,
    review_figures_compute,
    review_figures_recompute,
    review_figures_refresh,
)
from huitouke.reviews.services import review_save
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]


@pytest.fixture
def archive():
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    FigureSnapshot.objects.all().delete()
    return shop, orders


def _reads_reviews(queries: list[dict[str, str]]) -> bool:
    return any('"reviews_review"' in q["sql"] for q in queries)


def _key(shop: Shop) -> str:
    return f"reviews.analytics:shop={shop.pk}"


def _summary(value) -> tuple:
    return (
        [(m.month, m.good, m.neutral, m.bad) for m in value.trend],
        [(p.title, p.lines, p.reviews, p.bad) for p in value.products],
        [(w.word, w.reviews, w.bad) for w in value.words],
        [(a.kind, a.reviews, a.repurchased, a.churned, a.waiting) for a in value.afterwards],
    )


def test_the_stored_figure_equals_the_live_computation(archive):
    shop, orders = archive
    review_save(
        shop=shop,
        order_no=orders[4].order_no,
        role="buyer",
        result="neutral",
        content="起球了，描述不符",
        created_at=dt.datetime(2025, 6, 24, 2, 0, tzinfo=dt.UTC),
    )
    OrderFactory(
        shop=shop,
        order_no="9001000000000201",
        customer=orders[1].customer,
        status=Order.Status.COMPLETED,
        ordered_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
    )
    stored = review_figures(shop=shop)
    assert FigureSnapshot.objects.filter(key=_key(shop)).count() == 1
    live = review_figures_compute(shop=shop, now=stored.value.at)
    assert stored.value == live
    assert _summary(review_figures(shop=shop).value) == _summary(live)
    trend, _products, words, afterwards = _summary(live)
    assert trend == [("2025-06", 1, 2, 1)]
    assert words == [("不符", 2, 2), ("描述", 2, 2), ("起球", 2, 2)]
    assert afterwards == [("negative", 3, 1, 0, 2), ("good", 1, 0, 0, 1)]


def test_a_visit_reads_the_stored_figure_and_says_when_it_was_computed(archive, client_as):
    shop, _orders = archive
    marketer = client_as("marketer")
    with CaptureQueriesContext(connection) as first:
        page = marketer.get("/reviews/analytics/")
    assert page.status_code == 200
    assert _reads_reviews(first.captured_queries)  # nothing stored yet: computed once
    with CaptureQueriesContext(connection) as second:
        again = marketer.get("/reviews/analytics/")
    assert not _reads_reviews(second.captured_queries)
    html = again.content.decode()
    assert html.split('id="trend-table"')[1] == page.content.decode().split('id="trend-table"')[1]
    computed = FigureSnapshot.objects.get(key=_key(shop)).computed_at
    assert 'id="analytics-computed"' in html
    assert timezone.localtime(computed).strftime("%Y-%m-%d %H:%M") in html.split('id="analytics-computed"')[1]
    # one product's trend is read now, the rest still comes from the stored figure
    with CaptureQueriesContext(connection) as one:
        product = marketer.get("/reviews/analytics/?product=6001").content.decode()
    assert len([q for q in one.captured_queries if '"reviews_review"' in q["sql"]]) == 1
    assert "2025-06" in product.split('id="trend-table"')[1]


def test_a_review_written_moves_the_figure(archive, django_capture_on_commit_callbacks):
    shop, orders = archive
    before = review_figures(shop=shop)
    with django_capture_on_commit_callbacks(execute=True):
        review_save(
            shop=shop,
            order_no=orders[4].order_no,
            role="buyer",
            result="bad",
            content="质量太差",
            created_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
        )
    after = review_figures(shop=shop)
    assert after.value != before.value
    assert after.value == review_figures_compute(shop=shop, now=after.value.at)
    assert ("2025-07", 0, 0, 1) in _summary(after.value)[0]


def test_a_new_day_recomputes(archive, review_clock):
    shop, _orders = archive
    review_figures(shop=shop)
    with CaptureQueriesContext(connection) as same_day:
        review_figures(shop=shop)
    assert not _reads_reviews(same_day.captured_queries)
    review_clock.tick(dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as next_day:
        figure = review_figures(shop=shop)
    assert _reads_reviews(next_day.captured_queries)
    assert figure.value.at == timezone.now()


def test_an_ask_answered_by_a_later_one_is_skipped(archive):
    shop, _orders = archive
    asked = timezone.now()
    assert review_figures_recompute(shop_id=shop.pk, asked_at=asked) is False  # nobody looked yet: nothing kept
    review_figures(shop=shop)
    FigureSnapshot.objects.filter(key=_key(shop)).update(computed_at=asked + dt.timedelta(seconds=5))
    assert review_figures_recompute(shop_id=shop.pk, asked_at=asked) is False
    assert review_figures_recompute(shop_id=shop.pk, asked_at=asked + dt.timedelta(seconds=6)) is True
    assert review_figures_recompute(shop_id=10**9, asked_at=asked) is False


def test_the_refresh_after_an_import_recomputes_stored_shops_and_drops_deleted_ones(archive):
    shop, _orders = archive
    review_figures(shop=shop)
    FigureSnapshot.objects.create(key="reviews.analytics:shop=999999", value=b"", computed_at=timezone.now())
    FigureSnapshot.objects.filter(key=_key(shop)).update(computed_at=timezone.now() - dt.timedelta(hours=1))
    assert review_figures_refresh() == [_key(shop)]
    assert FigureSnapshot.objects.get(key=_key(shop)).computed_at == timezone.now()
    assert not FigureSnapshot.objects.filter(key="reviews.analytics:shop=999999").exists()
    assert "reviews.analytics" in snapshots_refresh()
