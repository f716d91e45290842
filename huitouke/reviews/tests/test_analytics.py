"""Review analytics: words of bad reviews (jieba, stop words removed) and what the reviewers did next."""

from __future__ import annotations

from datetime import UTC, datetime
from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory
from huitouke.reviews.analytics import bad_review_words, rating_trend, reviewers_afterwards
from huitouke.reviews.services import review_save
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive
from huitouke.reviews.words import review_words, word_counts


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("起球严重，和描述不符", {"起球", "严重", "描述", "不符"}),
        ("很暖和，颜色好看", {"暖和", "颜色", "好看"}),
        ("一般", set()),  # a stop word
        ("", set()),
        ("Arrived LATE, the box was crushed!!", {"arrived", "late", "box", "crushed"}),
        ("买 用 123 ok", set()),  # single characters, numbers and two-letter words are not words here
    ],
)
def test_review_words(text, words):
    assert review_words(text) == words


def test_word_counts_count_each_review_once_per_word():
    counts = word_counts([("物流太慢，物流差", True), ("物流很快", False), ("质量不好", True)])
    assert counts == {"物流": (2, 1), "太慢": (1, 1), "很快": (1, 0), "质量": (1, 1), "不好": (1, 1)}


@pytest.mark.django_db
def test_bad_words_and_what_the_reviewers_did_next(review_clock):
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    review_save(
        shop=shop,
        order_no=orders[4].order_no,
        role="buyer",
        result="neutral",
        content="起球了，描述不符",
        created_at=datetime(2025, 6, 24, 2, 0, tzinfo=UTC),
    )
    words = [(w.word, w.reviews, w.bad) for w in bad_review_words(shop=shop)]
    assert words == [("不符", 2, 2), ("描述", 2, 2), ("起球", 2, 2)]
    # bob (bad review 2025-06-21) orders again on 2025-07-01; dan (中评 06-23) and fay (中评 06-24) do not
    OrderFactory(
        shop=shop,
        order_no="9001000000000201",
        customer=orders[1].customer,
        status=Order.Status.COMPLETED,
        ordered_at=datetime(2025, 7, 1, tzinfo=UTC),
    )
    soon = {
        a.kind: (a.reviews, a.repurchased, a.churned, a.waiting)
        for a in reviewers_afterwards(shop=shop, now=datetime(2025, 7, 10, tzinfo=UTC))
    }
    assert soon == {"negative": (3, 1, 0, 2), "good": (1, 0, 0, 1)}
    later = {
        a.kind: (a.reviews, a.repurchased, a.churned, a.waiting)
        for a in reviewers_afterwards(shop=shop, now=datetime(2026, 1, 1, tzinfo=UTC))
    }
    assert later == {"negative": (3, 1, 2, 0), "good": (1, 0, 1, 0)}
    assert [(m.month, m.good, m.neutral, m.bad) for m in rating_trend(shop=shop, product="6001")] == [
        ("2025-06", 1, 0, 1)
    ]


@pytest.mark.django_db
def test_analytics_page_shows_words_and_afterwards(review_clock, client_as):
    golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    html = client_as("marketer").get("/reviews/analytics/?product=6001").content.decode()
    assert 'id="word-table"' in html
    assert 'id="after-table"' in html
    assert "2025-06" in html.split('id="trend-table"')[1]
