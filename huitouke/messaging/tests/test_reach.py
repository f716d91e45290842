"""marketing_reach pinned figure by figure: each customer's latest marketing or new-products answer on the channel
(of two given at once, the refusal), counted over the customers asked about only."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from huitouke.customers.models import Consent, Customer
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Channel
from huitouke.messaging.selectors import marketing_reach

T0 = datetime(2026, 3, 1, 9, 0, tzinfo=UTC)


def _answer(customer: Customer, channel: str, purpose: str, granted: bool, minutes: int = 0) -> None:
    c = Consent.objects.create(customer=customer, channel=channel, purpose=purpose, granted=granted)
    Consent.objects.filter(pk=c.pk).update(updated_at=T0 + timedelta(minutes=minutes))


@pytest.mark.django_db
def test_marketing_reach_counts_each_customers_latest_answer() -> None:
    names = ("无", "同意", "拒绝", "后拒", "后同意", "同时", "邮件", "关怀", "新品", "不在内")
    silent, yes, no, then_no, then_yes, same, email, care, news, outside = (
        CustomerFactory.create(name=n) for n in names
    )
    _answer(yes, "sms", "marketing", True)
    _answer(no, "sms", "marketing", False)
    _answer(then_no, "sms", "marketing", True, 0)
    _answer(then_no, "sms", "new_products", False, 5)
    _answer(then_yes, "sms", "marketing", False, 0)
    _answer(then_yes, "sms", "new_products", True, 5)
    _answer(same, "sms", "marketing", True, 3)
    _answer(same, "sms", "new_products", False, 3)
    _answer(email, "email", "marketing", False)
    _answer(care, "sms", "care", False)
    _answer(news, "sms", "new_products", False)
    _answer(outside, "sms", "marketing", False)
    asked = Customer.objects.exclude(pk=outside.pk).exclude(pk=silent.pk - 1000)
    sms = marketing_reach(customers=asked, channel=Channel.SMS, shop_id=None)
    assert sms is not None
    assert (sms.total, sms.unanswered, sms.refused) == (9, 3, 4)  # 无 邮件 关怀 / 拒绝 后拒 同时 新品
    mail = marketing_reach(customers=asked, channel=Channel.EMAIL, shop_id=None)
    assert mail is not None
    assert (mail.total, mail.unanswered, mail.refused) == (9, 8, 1)
    none = marketing_reach(customers=Customer.objects.none(), channel=Channel.SMS, shop_id=None)
    assert none is not None
    assert (none.total, none.unanswered, none.refused) == (0, 0, 0)
