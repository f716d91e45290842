"""The numbers of a rule's results page, against hand-built send records: per activation (current first), by
status and reason, unsubscribes after a message reached the customer, orders within 7 days."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huitouke.care import selectors, sending, services
from huitouke.care.tests.factories import make_rule
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.orders.models import Order
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 17, 2, 0, tzinfo=UTC)


def message(activation_id: int, customer, status: str, reason: str = "", sent_at: datetime | None = None) -> Message:
    return Message.objects.create(
        customer=customer,
        channel="sms",
        purpose="care",
        source_kind="care",
        source_type_id=sending.activation_type_id(),
        source_id=activation_id,
        body="hi",
        idempotency_key=f"k{Message.objects.count()}",
        status=status,
        reason=reason,
        scheduled_at=T0,
        next_attempt_at=T0,
        sent_at=sent_at,
        contacted_at=sent_at,
    )


def test_results_per_activation_current_first():
    shop = ShopFactory.create(name="店")
    rule = make_rule("no_contact", now=T0)
    first = rule.activations.get()
    a, b, c, d, e = (CustomerFactory.create(name=n) for n in "abcde")
    sent = T0 + timedelta(hours=1)
    message(first.pk, a, "sent", sent_at=sent)
    message(first.pk, b, "delivered", sent_at=sent)
    message(first.pk, c, "suppressed", "opted_out")
    message(first.pk, d, "held", "quiet_hours")
    message(first.pk, e, "failed", "send_error")
    # a unsubscribed after the message reached them; b said no before it (does not count)
    Consent.objects.create(customer=a, channel="sms", purpose="care", granted=False)
    Consent.objects.filter(customer=a).update(updated_at=sent + timedelta(hours=2))
    Consent.objects.create(customer=b, channel="sms", purpose="care", granted=False)
    Consent.objects.filter(customer=b).update(updated_at=sent - timedelta(days=1))
    # b ordered 3 days after the message; a ordered 8 days after (outside the window)
    OrderFactory.create(shop=shop, customer=b, ordered_at=sent + timedelta(days=3))
    OrderFactory.create(shop=shop, customer=a, ordered_at=sent + timedelta(days=8))
    OrderFactory.create(shop=shop, customer=b, ordered_at=sent + timedelta(days=1), status=Order.Status.CLOSED)

    rule = services.care_rule_update(
        rule=rule,
        data=services.RuleInput(
            name=rule.name, trigger="no_contact", channel="sms", template_id=rule.template_id, params={"days": 60}
        ),
        now=T0 + timedelta(days=1),
    )
    second = rule.activations.get(number=2)
    message(second.pk, a, "queued")

    history = selectors.activation_results(rule=rule)
    assert [h.activation.number for h in history] == [2, 1]
    current, older = history[0].results, history[1].results
    assert (current.total, current.pending, current.sent) == (1, 1, 0)
    assert (older.total, older.sent, older.delivered, older.held, older.failed, older.suppressed) == (5, 2, 1, 1, 1, 1)
    assert older.reasons == {
        "suppressed": {"opted_out": 1},
        "held": {"quiet_hours": 1},
        "failed": {"send_error": 1},
    }
    assert (older.unsubscribed, older.ordered_within_7_days) == (1, 1)

    summary = selectors.rule_summaries([rule])[rule.pk]
    assert (summary.total, summary.pending) == (1, 1)  # the list shows the current activation only
    assert [m.customer for m in selectors.records_of(activation=first, status="held")] == [d]
    # the records list is counted from the grouped counts, not by counting the messages again: the same numbers
    for status, reason in (("", ""), ("held", ""), ("suppressed", "opted_out"), ("", "send_error"), ("sent", "x")):
        recount = selectors.records_of(activation=first, status=status, reason=reason).count()
        assert selectors.records_count(history[1].counts, status=status, reason=reason) == recount
    assert [selectors.records_count(history[1].counts, status=s) for s in ("", "held", "nothing")] == [5, 1, 0]


def test_rule_status():
    rule = make_rule("birthday", now=T0)
    assert selectors.rule_status(rule, T0) == "on"
    assert selectors.rule_status(rule, T0 + timedelta(days=8)) == "expired"
    services.care_rule_set_enabled(rule=rule, enabled=False, now=T0)
    rule.refresh_from_db()
    assert selectors.rule_status(rule, T0) == "off"
