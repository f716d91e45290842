"""The follow-ups of a rule's messages (unsubscribed after, ordered within 7 days) are stored figures: the page
reads them without touching messages or orders, the care tick counts again only the activations whose reached
messages changed (at most every half hour), the nightly refresh counts every one again; and the rule page's
queries do not grow with its messages."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from freezegun import freeze_time

from huitouke.analytics.models import FigureSnapshot
from huitouke.care import follow_ups, selectors, services
from huitouke.care.tests.factories import make_rule
from huitouke.care.tests.test_selectors import T0, message
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

SENT = T0 + timedelta(hours=1)


def _follow_ups(rule):
    return [(h.results.unsubscribed, h.results.ordered_within_7_days) for h in selectors.activation_results(rule=rule)]


def _reads(sqls: list[str], table: str) -> list[str]:
    return [s for s in sqls if f'"{table}"' in s]


def test_the_page_reads_the_stored_figures_and_the_nightly_refresh_counts_them_again():
    shop = ShopFactory.create()
    rule = make_rule("no_contact", now=T0)
    activation = rule.activations.get()
    a, b = CustomerFactory.create(), CustomerFactory.create()
    message(activation.pk, a, "sent", sent_at=SENT)
    message(activation.pk, b, "delivered", sent_at=SENT)
    OrderFactory.create(shop=shop, customer=a, ordered_at=SENT + timedelta(days=2))
    with freeze_time(SENT + timedelta(days=3)):
        assert _follow_ups(rule) == [(0, 1)]  # nothing stored yet: counted and stored by this first read
    stored = FigureSnapshot.objects.get(key=f"care.follow_ups:{rule.pk}")
    assert selectors.activation_results(rule=rule)[0].results.follow_ups_at == stored.computed_at

    OrderFactory.create(shop=shop, customer=b, ordered_at=SENT + timedelta(days=4))
    with CaptureQueriesContext(connection) as captured:
        assert _follow_ups(rule) == [(0, 1)]  # the stored figure, not a recount
    sqls = [q["sql"] for q in captured.captured_queries]
    assert _reads(sqls, "messaging_message") == []
    assert _reads(sqls, "orders_order") == []
    assert _reads(sqls, "customers_consent") == []

    assert follow_ups.follow_ups_refresh(changed_only=True) == 0  # the tick: its reached messages did not change
    assert _follow_ups(rule) == [(0, 1)]
    assert follow_ups.follow_ups_refresh() == 1  # the nightly refresh counts every activation again
    assert _follow_ups(rule) == [(0, 2)]


def test_the_tick_counts_again_changed_activations_at_most_every_half_hour():
    shop = ShopFactory.create()
    rule = make_rule("no_contact", now=T0)
    activation = rule.activations.get()
    a, b = CustomerFactory.create(), CustomerFactory.create()
    message(activation.pk, a, "sent", sent_at=SENT)
    with freeze_time(SENT):
        assert follow_ups.follow_ups_refresh() == 1
    message(activation.pk, b, "sent", sent_at=SENT)
    OrderFactory.create(shop=shop, customer=b, ordered_at=SENT + timedelta(days=1))
    soon, later = SENT + timedelta(minutes=20), SENT + follow_ups.RECOUNT_EVERY + timedelta(seconds=1)
    assert follow_ups.follow_ups_refresh(changed_only=True, now=soon) == 0
    assert _follow_ups(rule) == [(0, 0)]
    assert follow_ups.follow_ups_refresh(changed_only=True, now=later) == 1
    assert _follow_ups(rule) == [(0, 1)]
    figure = FigureSnapshot.objects.get(key=f"care.follow_ups:{rule.pk}")
    assert figure.computed_at >= SENT  # stored now; the activation's own time is the tick's
    assert selectors.activation_results(rule=rule)[0].results.follow_ups_at == later


def test_a_new_activation_shows_not_counted_yet_until_the_tick(client_as):
    rule = make_rule("no_contact", now=T0)
    first = rule.activations.get()
    message(first.pk, CustomerFactory.create(), "sent", sent_at=SENT)
    follow_ups.follow_ups_refresh()
    rule = services.care_rule_update(
        rule=rule,
        data=services.RuleInput(
            name=rule.name, trigger="no_contact", channel="sms", template_id=rule.template_id, params={"days": 60}
        ),
        now=T0 + timedelta(days=1),
    )
    second = rule.activations.get(number=2)
    message(second.pk, CustomerFactory.create(), "sent", sent_at=SENT + timedelta(days=1))
    assert _follow_ups(rule) == [(None, None), (0, 0)]
    client = client_as("manager")
    client.cookies["django_language"] = "en"  # the page's words are matched in English
    html = client.get(reverse("care:detail", args=[rule.pk])).content.decode()
    assert html.count('colspan="2">not counted yet<') == 1
    assert html.count('class="muted follow-ups-at"') == 1
    assert follow_ups.follow_ups_refresh(changed_only=True) == 1
    assert _follow_ups(rule) == [(0, 0), (0, 0)]
    html = client.get(reverse("care:detail", args=[rule.pk])).content.decode()
    assert "not counted yet" not in html
    assert html.count('class="muted follow-ups-at"') == 2


def test_figures_of_deleted_rules_are_dropped():
    rule = make_rule("no_contact", now=T0)
    message(rule.activations.get().pk, CustomerFactory.create(), "sent", sent_at=SENT)
    follow_ups.follow_ups_refresh()
    assert FigureSnapshot.objects.filter(key=f"care.follow_ups:{rule.pk}").exists()
    services.care_rule_delete(rule=rule, now=T0 + timedelta(days=1))
    follow_ups.follow_ups_refresh(changed_only=True)
    assert not FigureSnapshot.objects.filter(key__startswith="care.follow_ups:").exists()


def _detail_queries(client, rule) -> list[str]:
    with CaptureQueriesContext(connection) as captured:
        response = client.get(reverse("care:detail", args=[rule.pk]))
    assert response.status_code == 200
    return [q["sql"] for q in captured.captured_queries]


def test_the_rule_page_runs_the_same_queries_however_many_messages(client_as):
    """The N+1 pattern of core/tests/test_urlmap.py, over the messages: sixteen times the messages (in every
    status) run the same statements, and the only one reading messages is the records page (50 rows)."""
    rule = make_rule("no_contact", now=T0)
    activation = rule.activations.get()
    customers = [CustomerFactory.create() for _ in range(4)]
    statuses = [("sent", ""), ("delivered", ""), ("suppressed", "opted_out"), ("held", "quiet_hours")]

    def add(i: int) -> None:
        status, reason = statuses[i % 4]
        message(
            activation.pk, customers[i % 4], status, reason, sent_at=SENT if status in ("sent", "delivered") else None
        )

    for i in range(4):
        add(i)
    follow_ups.follow_ups_refresh()
    client = client_as("manager")
    few = _detail_queries(client, rule)
    for i in range(60):
        add(i)
    follow_ups.follow_ups_refresh()
    many = _detail_queries(client, rule)
    assert Message.objects.count() == 64
    assert len(many) == len(few)
    on_messages = _reads(many, "messaging_message")
    assert len(on_messages) == 1
    assert "LIMIT 50" in on_messages[0]
    assert "COUNT(" not in on_messages[0].upper()
    assert _reads(many, "orders_order") == []
