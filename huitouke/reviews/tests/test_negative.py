"""A negative review end to end: case, ticket owned by the order's last agent (or the queue), managers alerted,
marketing paused for the shop's days, the outcome and its time; care's review request skips reviewed orders."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from django.core.management import call_command
from freezegun import freeze_time

from huitouke.care.registry import review_request_filters
from huitouke.messaging.registry import SuppressionCheck, registry
from huitouke.orders.models import Order
from huitouke.reviews.models import Review, ReviewCase
from huitouke.reviews.services import review_case_outcome_set
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive
from huitouke.service.models import Notification, Ticket
from huitouke.service.services import ticket_create, ticket_take

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]

NOW = datetime(2025, 6, 25, 4, 0, tzinfo=UTC)


def imp(name: str) -> None:
    call_command("import_reviews", str(GOLDEN / name), "--json", stdout=open("/dev/null", "w"))  # noqa: SIM115


@freeze_time(NOW)
def test_bad_review_opens_a_ticket_for_the_last_agent_alerts_managers_and_pauses_marketing(agent, manager):
    _shop, orders = golden_archive()
    bob_order = orders[1]
    earlier = ticket_create(
        customer=bob_order.customer, type="logistics", channel="phone", subject="late", order=bob_order
    )
    ticket_take(ticket=earlier, user=agent)
    imp("traderate_gb18030.csv")

    bob = Review.objects.get(tid=bob_order.order_no)
    case = bob.case
    assert case.ticket_id is not None
    ticket = Ticket.objects.get(pk=case.ticket_id)
    assert (ticket.type, ticket.channel, ticket.owner_id, ticket.order_id) == (
        "negative_review",
        "review",
        agent.pk,
        bob_order.pk,
    )
    assert ticket.subject == f"差评 · {bob_order.order_no}"
    assert list(Notification.objects.filter(kind="neg_review", ticket=ticket).values_list("user_id", flat=True)) == [
        manager.pk
    ]
    dan = Review.objects.get(tid=orders[3].order_no)
    assert dan.case.ticket_id is not None
    assert Ticket.objects.get(pk=dan.case.ticket_id).owner_id is None  # no earlier ticket: the queue

    hook = registry.suppression_hooks["reviews"]
    ids = (orders[0].customer_id, bob_order.customer_id, orders[3].customer_id)
    check = SuppressionCheck(customer_ids=ids, now=NOW, negative_review_days=30, shop_id=bob_order.shop_id)
    assert dict(hook(check)) == {bob_order.customer_id: "negative_review", orders[3].customer_id: "negative_review"}
    later = SuppressionCheck(customer_ids=ids, now=NOW + timedelta(days=31), negative_review_days=30)
    assert dict(hook(later)) == {}

    with freeze_time(NOW + timedelta(hours=3)):
        review_case_outcome_set(review=dan, outcome="contacted")
    dan.case.refresh_from_db()
    assert (dan.case.outcome, dan.case.took_seconds) == ("contacted", 3 * 3600)

    with freeze_time(NOW + timedelta(days=2)):
        imp("traderate_later_gb18030.csv")
    case.refresh_from_db()
    assert (case.outcome, case.took_seconds) == (ReviewCase.Outcome.CHANGED, 2 * 86400)
    assert dict(hook(check)) == {orders[3].customer_id: "negative_review"}  # bob's rating is good now
    imp("traderate_gb18030.csv")  # the old export again: no second case, no second ticket
    assert Ticket.objects.filter(type="negative_review").count() == 2


def test_outcome_needs_a_known_value():
    from huitouke.core.errors import ApplicationError

    with pytest.raises(ApplicationError, match="outcome: expected"):
        review_case_outcome_set(review=Review(), outcome="solved")


def test_care_review_request_skips_orders_already_reviewed():
    _shop, orders = golden_archive()
    imp("traderate_gb18030.csv")
    qs = Order.objects.filter(pk__in=[o.pk for o in orders])
    for flt in review_request_filters():
        qs = flt(qs)
    # buyer reviews exist for orders 1, 2 and 4; order 3 has only the shop's rating of the buyer; 5 none
    assert sorted(qs.values_list("order_no", flat=True)) == [orders[2].order_no, orders[4].order_no]


def test_an_old_export_opens_no_cases(review_clock):
    golden_archive()
    review_clock.move_to("2026-01-01 00:00:00+00:00")
    imp("traderate_gb18030.csv")
    assert Review.objects.count() == 4
    assert ReviewCase.objects.count() == 0
    assert Ticket.objects.count() == 0


def test_dashboard_tile_counts_the_cases_of_30_days_and_those_still_open(django_assert_num_queries):
    from datetime import date

    from django.utils.translation import gettext as _

    from huitouke.reviews.extensions import tile_value

    _shop, orders = golden_archive()
    imp("traderate_gb18030.csv")
    dan = Review.objects.get(tid=orders[3].order_no)
    review_case_outcome_set(review=dan, outcome="contacted")
    ReviewCase.objects.exclude(pk=dan.case.pk).update(outcome=ReviewCase.Outcome.OPEN)
    with django_assert_num_queries(1):  # one pass over the cases joined to their reviews
        value = tile_value(date(2025, 7, 10))
    assert (value.value, value.note) == ("2", _("%(open)s still being handled") % {"open": 1})
    Review.objects.filter(pk=dan.pk).update(created_at=datetime(2025, 6, 1, tzinfo=UTC))  # past the 30 days
    value = tile_value(date(2025, 7, 10))
    assert (value.value, value.note) == ("1", _("%(open)s still being handled") % {"open": 1})
