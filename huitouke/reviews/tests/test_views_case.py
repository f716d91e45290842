"""Wiring of one review's page (credit sentence, suggested explanation from the canned replies, explanation and
outcome) and of the hand-entry form."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from huitouke.reviews.models import Review, ReviewCase, ReviewEvent
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]


@pytest.fixture
def english(client_as):
    def make(role: str):
        client = client_as(role)
        client.cookies["django_language"] = "en"
        return client

    return make


@pytest.fixture
def archive():
    shop, orders = golden_archive()
    call_command("import_reviews", str(GOLDEN / "traderate_gb18030.csv"), stdout=StringIO())
    return shop, orders


def test_bad_review_page_explains_its_point_suggests_an_explanation_and_saves_it(archive, english):
    bob = Review.objects.get(tid="9001000000000002")
    manager = english("manager")
    page = manager.get(f"/reviews/{bob.pk}/")
    html = page.content.decode()
    assert page.status_code == 200
    assert "This bad rating costs the shop 1 point." in html
    assert 'id="explain-suggestions"' in html
    suggestions = html.split('id="explain-suggestions"')[1].split("</ul>")[0]
    assert "Hi there, we are sorry order 9001000000000002 did not please you" in suggestions  # filled, no name
    assert "tb_bob" not in suggestions
    saved = manager.post(f"/reviews/{bob.pk}/", {"text": "  已为您换新，抱歉  "})
    assert (saved.status_code, saved["Location"]) == (302, f"/reviews/{bob.pk}/")
    bob.refresh_from_db()
    assert bob.reply == "已为您换新，抱歉"
    assert bob.case.outcome == ReviewCase.Outcome.EXPLAINED
    assert ReviewEvent.objects.filter(review=bob, kind="explained").count() == 1
    empty = manager.post(f"/reviews/{bob.pk}/", {"text": "   "})
    assert empty.status_code == 200  # the form again, with its error; nothing stored
    assert ReviewEvent.objects.filter(review=bob, kind="explained").count() == 1


def test_the_shops_rating_of_a_buyer_is_explained_as_such(archive, english):
    carol = Review.objects.get(tid="9001000000000003")
    html = english("agent").get(f"/reviews/{carol.pk}/").content.decode()
    assert "The shop&#x27;s rating of a buyer (counts for the buyer)" in html
    assert 'id="review-explain"' not in html  # the shop explains buyer reviews, not its own ratings


def test_agent_cannot_post_an_explanation(archive, client_as):
    bob = Review.objects.get(tid="9001000000000002")
    assert client_as("marketer").post(f"/reviews/{bob.pk}/", {"text": "x"}).status_code in (403, 404)
    bob.refresh_from_db()
    assert bob.reply == ""


def test_hand_entry_creates_then_updates_and_names_a_bad_order(archive, english):
    shop, orders = archive
    manager = english("manager")
    body = {
        "shop": shop.pk,
        "order_no": orders[4].order_no,
        "role": "buyer",
        "result": "neutral",
        "content": "还行",
        "created_at": "2025-06-25T09:30",
    }
    created = manager.post("/reviews/new/", body)
    review = Review.objects.get(tid=orders[4].order_no, role="buyer")
    assert (created.status_code, created["Location"]) == (302, f"/reviews/{review.pk}/")
    assert (review.result, review.content, review.created_at.isoformat()) == (
        "neutral",
        "还行",
        "2025-06-25T01:30:00+00:00",  # 09:30 in the shop's time zone (Asia/Shanghai)
    )
    assert (review.scores, review.points) == (True, 0)
    manager.post("/reviews/new/", {**body, "result": "good"})
    assert Review.objects.filter(tid=orders[4].order_no, role="buyer").count() == 1
    missing = manager.post("/reviews/new/", {**body, "order_no": "404"})
    assert missing.status_code == 200
    assert "order 404 is not in the archive of 店A" in missing.content.decode()
