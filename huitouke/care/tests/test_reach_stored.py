"""The reach of a marketing rule as a stored figure: equal to a recount when stored, kept through the day, counted
again when the rule or the shop's consent model changes, by analytics' refresh, and on the next day."""

from __future__ import annotations

from datetime import time, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone

from huitouke.analytics.models import FigureSnapshot
from huitouke.analytics.snapshots import snapshots_refresh
from huitouke.care import reach
from huitouke.care.models import CareRule
from huitouke.care.selectors import rule_get, rule_reach
from huitouke.care.tests.factories import make_rule
from huitouke.customers.services import consent_set
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.services import contact_policy_save

pytestmark = pytest.mark.django_db


def _policy(model: str) -> None:
    contact_policy_save(
        shop_id=None,
        quiet_start=time(0),
        quiet_end=time(0),
        budget_days=7,
        budget_marketing=5,
        budget_care=5,
        marketing_consent=model,
    )


@pytest.fixture
def world() -> CareRule:
    """Opt-in; three customers: one agreed, one never answered, one said no; a win-back rule (marketing)."""
    _policy("opt_in")
    agreed, _silent, refused = (CustomerFactory.create(name=n) for n in ("同意", "沉默", "拒绝"))
    consent_set(customer=agreed, channel="sms", purpose="marketing", granted=True, source="t")
    consent_set(customer=refused, channel="sms", purpose="marketing", granted=False, source="t")
    return rule_get(rule_id=make_rule("dormant", params={"days": 90}, send_time=time(11)).pk)


def _figures(rule: CareRule) -> tuple[int, int, int]:
    stored = reach.rule_reach_stored(rule_get(rule_id=rule.pk))
    assert stored is not None
    r = stored.value.reach
    return r.total, r.unanswered, r.refused


def test_stored_reach_is_the_count_and_is_kept_through_the_day(world: CareRule) -> None:
    live = rule_reach(world)
    assert live is not None
    assert _figures(world) == (live.total, live.unanswered, live.refused) == (3, 1, 1)
    CustomerFactory.create(name="新客")  # a new customer: the stored figure stays until it is counted again
    assert _figures(world) == (3, 1, 1)
    assert "care.reach" in snapshots_refresh()  # the refresh after imports and at night
    assert _figures(world) == (4, 2, 1)


def test_reach_is_counted_again_when_the_rule_the_model_or_the_day_changes(world: CareRule) -> None:
    assert _figures(world) == (3, 1, 1)
    CustomerFactory.create(name="新客")
    _policy("opt_out")  # the consent model changed: counted again, under the new model
    stored = reach.rule_reach_stored(rule_get(rule_id=world.pk))
    assert stored is not None
    assert (stored.value.model, stored.value.reach.total) == ("opt_out", 4)
    CustomerFactory.create(name="又一位")
    CareRule.objects.filter(pk=world.pk).update(updated_at=timezone.now() + timedelta(seconds=1))  # an edit
    assert _figures(world) == (5, 3, 1)
    CustomerFactory.create(name="明天")
    tomorrow = timezone.localdate() + timedelta(days=1)
    later = reach.rule_reach_stored(rule_get(rule_id=world.pk), today=tomorrow)
    assert later is not None
    assert (later.value.day, later.value.reach.total) == (tomorrow, 6)


def test_care_rules_store_nothing_and_refresh_drops_rules_gone(world: CareRule) -> None:
    birthday = make_rule("birthday", send_time=time(9))
    assert reach.rule_reach_stored(rule_get(rule_id=birthday.pk)) is None
    _figures(world)
    assert list(FigureSnapshot.objects.filter(key__startswith="care.").values_list("key", flat=True)) == [
        f"care.reach:{world.pk}"
    ]
    CareRule.objects.filter(pk=world.pk).update(archived_at=timezone.now())
    assert reach.reach_refresh() == []
    assert not FigureSnapshot.objects.filter(key__startswith="care.").exists()


def test_rule_page_says_when_the_reach_was_counted(world: CareRule, client_as) -> None:
    owner = client_as("owner")
    owner.cookies["django_language"] = "en"
    page = owner.get(reverse("care:detail", args=[world.pk])).content.decode()
    assert "Of these 3 customers, <strong>2</strong> will be left out: 1 never agreed, 1 said no." in page
    assert 'id="reach-counted"' in page
    counted = FigureSnapshot.objects.get(key=f"care.reach:{world.pk}").computed_at
    assert timezone.localtime(counted).strftime("%Y-%m-%d %H:%M") in page
