"""Wiring of the review pages: list filters and masking, outcome, credit page figures and what-if, settings,
upload with the recognised layout and with a mapping."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.core.models import Job
from huitouke.reviews.models import CreditSettings, Review
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]


@pytest.fixture
def archive():
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    call_command("credit", stdout=StringIO())
    return shop, orders


def test_list_filters_and_masks(archive, client_as, django_assert_max_num_queries):
    Review.objects.filter(nick="tb_bob").update(nick="13812345678")
    agent = client_as("agent")
    with django_assert_max_num_queries(12):
        page = agent.get("/reviews/?result=bad")
    html = page.content.decode()
    assert page.status_code == 200
    assert "13812345678" not in html
    assert "9001000000000002" in html
    assert "9001000000000001" not in html
    not_scored = agent.get("/reviews/?scored=no").content.decode()
    assert "9001000000000003" in not_scored
    assert "9001000000000002" not in not_scored
    by_reason = agent.get("/reviews/?scored=no&reason=rates_buyer").content.decode()
    assert "9001000000000003" in by_reason
    assert "9001000000000003" not in agent.get("/reviews/?scored=no&reason=monthly_cap").content.decode()
    worded = agent.get("/reviews/?text=起球").content.decode()
    assert "9001000000000002" in worded
    assert "9001000000000001" not in worded


def test_list_rows_show_labels_links_excerpts_and_the_case(archive, client_as):
    """What the list works out per row in the view (core.rows): the role and rating labels, the review's and the
    customer's links, the text cut like truncatechars:80, the open case's outcome with its form for agents and
    without it for marketers (who may not change reviews)."""
    from django.template.defaultfilters import truncatechars
    from django.utils import translation

    from huitouke.reviews.models import Result, Role

    bob = Review.objects.get(tid="9001000000000002")
    Review.objects.filter(pk=bob.pk).update(content="起球" * 60)
    agent = client_as("agent")
    agent.cookies["django_language"] = "zh-hans"
    html = agent.get("/reviews/?result=bad").content.decode()
    row = html[html.index('<tr class="review-bad">') :]
    row = row[: row.index("</tr>")]
    with translation.override("zh-hans"):
        expected = [str(Role.BUYER.label), str(Result.BAD.label), truncatechars("起球" * 60, 80)]
        outcome = str(bob.case.get_outcome_display())
    assert [text in row for text in expected] == [True, True, True]
    assert f'<a href="/reviews/{bob.pk}/">9001000000000002</a>' in row
    assert f'<a href="/customers/{bob.customer_id}/">' in row
    assert outcome in row
    assert row.count(f'action="/reviews/{bob.pk}/outcome/"') == 1
    assert row.count('name="outcome"') == 1
    marketer = client_as("marketer").get("/reviews/?result=bad")
    assert marketer.status_code == 200
    assert f'<a href="/reviews/{bob.pk}/">9001000000000002</a>' in marketer.content.decode()
    assert 'action="/reviews/' not in marketer.content.decode()


def test_outcome_is_recorded(archive, client_as):
    bob = Review.objects.get(tid="9001000000000002")
    answer = client_as("agent").post(f"/reviews/{bob.pk}/outcome/", {"outcome": "contacted"})
    assert answer.status_code == 302
    bob.case.refresh_from_db()
    assert bob.case.outcome == "contacted"


def test_credit_page_and_what_if(archive, client_as):
    manager = client_as("manager")
    page = manager.get("/reviews/credit/")
    html = page.content.decode()
    assert page.status_code == 200
    assert 'id="credit-score"><strong>0</strong>' in html  # +1 −1 0; the default good of order 3 not due yet
    assert "credit-history" in html
    answer = manager.get("/reviews/credit/?order_no=9001000000000005&result=good").content.decode()
    assert 'id="what-if-answer"' in answer
    unknown = manager.get("/reviews/credit/?order_no=404&result=good").content.decode()
    assert "order 404 is not in the archive" in unknown


def test_settings_save_and_recompute(archive, client_as):
    shop, _orders = archive
    owner = client_as("owner")
    answer = owner.post(
        f"/reviews/credit/settings/?shop={shop.pk}",
        {
            "preset": "taobao",
            "rating_period_days": 15,
            "default_good_after_days": 15,
            "monthly_cap": 6,
            "same_item_days": 14,
        },
    )
    assert answer.status_code == 302
    assert CreditSettings.objects.get(shop=shop).preset == "taobao"
    assert client_as("agent").get(f"/reviews/credit/settings/?shop={shop.pk}").status_code == 403


def test_upload_recognised_and_mapped(archive, client_as, django_capture_on_commit_callbacks):
    shop, _orders = archive
    manager = client_as("manager")
    with (GOLDEN / "traderate.xlsx").open("rb") as fh:
        answer = manager.post("/reviews/import/", {"file": fh, "shop": shop.pk})
    assert answer.status_code == 302
    confirm = manager.get(answer["Location"])
    assert 'id="mapping-form"' not in confirm.content.decode()  # the layout was recognised
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(answer["Location"])
    job = Job.objects.get(kind="reviews_import")
    assert job.result is not None
    assert (job.status, job.result["updated"], job.result["unchanged"]) == ("done", 1, 1)
    with (GOLDEN / "generic.csv").open("rb") as fh:
        answer = manager.post("/reviews/import/", {"file": fh, "shop": shop.pk})
    assert 'id="mapping-form"' in manager.get(answer["Location"]).content.decode()
    with django_capture_on_commit_callbacks(execute=True):
        manager.post(answer["Location"], {"tid": "单号", "result": "打分", "created": "时间", "content": "留言"})
    second = Job.objects.filter(kind="reviews_import").latest("pk")
    assert second.result is not None
    assert (second.status, second.result["created"]) == ("done", 1)  # a review of the whole order (no oid)


def test_360_timeline_and_dashboard_tile(archive, client_as):
    _shop, orders = archive
    owner = client_as("owner")
    page = owner.get(f"/customers/{orders[1].customer_id}/").content.decode()
    assert "kind-review" in page
    assert "9001000000000002" in page
    from datetime import date

    from huitouke.analytics.registry import tiles

    tile = next(t for t in tiles() if t.key == "reviews")
    assert tile.value(date(2025, 7, 1)).value == "2"  # bob's bad and dan's neutral review, both open
    assert tile.value(date(2025, 9, 1)).value == "0"  # older than 30 days


def test_review_analytics_figures(archive, client_as):
    from huitouke.reviews.analytics import product_review_stats, rating_trend

    shop, _orders = archive
    assert [(m.month, m.good, m.neutral, m.bad) for m in rating_trend(shop=shop)] == [("2025-06", 1, 1, 1)]
    # 羊毛围巾 (6001): orders 1 and 2, reviewed good and bad; 棉袜 (6002): orders 3–5, one neutral review
    stats = [(p.title, p.lines, p.reviews, p.bad, p.bad_share) for p in product_review_stats(shop=shop)]
    assert stats == [("羊毛围巾", 2, 2, 1, 0.5), ("棉袜", 3, 1, 0, 0.0)]
    page = client_as("marketer").get("/reviews/analytics/")
    assert page.status_code == 200
    assert "rating-trend" in page.content.decode()
