"""The credit page's stored figure (reviews.credit_figures): a visit reads it instead of every rating; a review
written, the rule numbers changed or a new day bring it up to date; a burst of asks costs one recomputation."""

from __future__ import annotations

import datetime as dt
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huitouke.analytics.models import FigureSnapshot
from huitouke.reviews.credit_figures import credit_figures, credit_figures_recompute
from huitouke.reviews.crediting import credit_recompute
from huitouke.reviews.services import credit_settings_set, review_save
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]


@pytest.fixture
def archive():
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    return shop, orders


def _reads_reviews(queries: list[dict[str, str]]) -> bool:
    return any('"reviews_review"' in q["sql"] or "credit_calc" in q["sql"] for q in queries)


def _score(html: str) -> str:
    start = html.index('id="credit-score"><strong>') + len('id="credit-score"><strong>')
    return html[start : html.index("</strong>", start)]


def test_a_visit_reads_the_stored_figure_not_the_ratings(archive, client_as):
    shop, _orders = archive
    FigureSnapshot.objects.all().delete()
    manager = client_as("manager")
    with CaptureQueriesContext(connection) as first:
        page = manager.get("/reviews/credit/")
    assert page.status_code == 200
    assert _reads_reviews(first.captured_queries)  # nothing stored yet: computed once
    assert FigureSnapshot.objects.filter(key=f"reviews.credit:shop={shop.pk}").count() == 1
    with CaptureQueriesContext(connection) as second:
        again = manager.get("/reviews/credit/")
    assert not _reads_reviews(second.captured_queries)
    assert _score(again.content.decode()) == _score(page.content.decode()) == "0"
    assert 'id="credit-counted"' in again.content.decode()


def test_a_review_written_moves_the_figure(archive, client_as, django_capture_on_commit_callbacks):
    shop, orders = archive
    manager = client_as("manager")
    assert _score(manager.get("/reviews/credit/").content.decode()) == "0"
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        review_save(
            shop=shop,
            order_no=orders[4].order_no,
            role="buyer",
            result="good",
            created_at=dt.datetime(2025, 7, 1, tzinfo=dt.UTC),
        )
    # the worker is asked once the review is committed (the credit figure, the review analytics)
    assert sorted(c.__qualname__.split(".")[0] for c in callbacks) == ["credit_figures_ask", "review_figures_ask"]
    assert _score(manager.get("/reviews/credit/").content.decode()) == str(credit_recompute(shop=shop).score) == "1"


def test_rules_changed_or_a_new_day_recompute(archive, client_as, review_clock):
    shop, _orders = archive
    manager = client_as("manager")
    manager.get("/reviews/credit/")
    stored = FigureSnapshot.objects.get(key=f"reviews.credit:shop={shop.pk}")
    credit_settings_set(
        shop=shop, preset="taobao", rating_period_days=15, default_good_after_days=15, monthly_cap=6, same_item_days=14
    )
    after_rules = FigureSnapshot.objects.get(key=f"reviews.credit:shop={shop.pk}")
    assert after_rules.value != stored.value  # stored by the recomputation the settings ran
    assert credit_figures(shop=shop).value.rules.preset == "taobao"
    with CaptureQueriesContext(connection) as same_day:
        credit_figures(shop=shop)
    assert not _reads_reviews(same_day.captured_queries)
    review_clock.tick(dt.timedelta(days=1))
    with CaptureQueriesContext(connection) as next_day:
        figure = credit_figures(shop=shop)
    assert _reads_reviews(next_day.captured_queries)
    assert figure.value.at == timezone.now()


def test_an_ask_answered_by_a_later_one_is_skipped(archive):
    shop, _orders = archive
    asked = timezone.now()
    assert credit_figures_recompute(shop_id=shop.pk, asked_at=asked) is True
    FigureSnapshot.objects.filter(key=f"reviews.credit:shop={shop.pk}").update(
        computed_at=asked + dt.timedelta(seconds=5)
    )
    assert credit_figures_recompute(shop_id=shop.pk, asked_at=asked) is False
    assert credit_figures_recompute(shop_id=shop.pk, asked_at=asked + dt.timedelta(seconds=6)) is True
    assert credit_figures_recompute(shop_id=10**9, asked_at=asked) is False
