"""Rules and activations (seed 004): activation on create/enable/content edit, records grouped by activation,
validity extended to login + 7 days, suggested rules, carrier transit days, clear errors."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, time, timedelta

import pytest
from django.test import Client
from freezegun import freeze_time

from huitouke.care import services
from huitouke.care.models import CareActivation, CareRule, CarrierTransit
from huitouke.care.services import CareRuleInvalidError, RuleInput
from huitouke.care.tests.factories import care_template, make_rule
from huitouke.core.errors import NotFoundError
from huitouke.orders.models import Shop

pytestmark = pytest.mark.django_db

T0 = datetime(2026, 5, 17, 2, 0, tzinfo=UTC)


def _input(rule: CareRule, **changes) -> RuleInput:
    base = RuleInput(
        name=rule.name,
        trigger=rule.trigger,
        channel=rule.channel,
        template_id=rule.template_id,
        params=rule.params,
        send_time=rule.send_time,
        enabled=rule.enabled,
        shop_id=rule.shop_id,
        segment_id=rule.segment_id,
        levels=rule.levels,
        tags=rule.tags,
        auto_extend=rule.auto_extend,
    )
    return dataclasses.replace(base, **changes)


def test_creating_an_enabled_rule_starts_activation_1_valid_for_7_days():
    rule = make_rule("birthday", params={"days_ahead": 1}, send_time=time(9, 30), now=T0)
    assert rule.enabled
    assert rule.activation == 1
    assert rule.valid_until == T0 + timedelta(days=7)
    act = CareActivation.objects.get(rule=rule)
    assert (act.number, act.cause, act.started_at, act.ended_at) == (1, "created", T0, None)
    assert act.snapshot["params"] == {"days_ahead": 1}
    assert act.snapshot["template"]["body"] == care_template("birthday").body
    assert act.snapshot["send_time"] == "09:30"


def test_a_disabled_rule_has_no_activation_until_enabled():
    rule = make_rule("no_contact", enabled=False, now=T0)
    assert (rule.activation, rule.valid_until, rule.activations.count()) == (0, None, 0)
    assert not rule.is_active_at(T0)
    services.care_rule_set_enabled(rule=rule, enabled=True, now=T0 + timedelta(hours=1))
    rule.refresh_from_db()
    assert rule.activation == 1
    assert rule.activations.get().cause == "enabled"


def test_editing_the_content_starts_a_new_activation_and_keeps_the_old_one():
    rule = make_rule("no_contact", params={"days": 30}, now=T0)
    later = T0 + timedelta(days=2)
    rule = services.care_rule_update(rule=rule, data=_input(rule, params={"days": 45}), now=later)
    assert rule.activation == 2
    first, second = CareActivation.objects.filter(rule=rule).order_by("number")
    assert (first.ended_at, first.snapshot["params"]) == (later, {"days": 30})
    assert (second.cause, second.started_at, second.ended_at, second.snapshot["params"]) == (
        "edited",
        later,
        None,
        {"days": 45},
    )
    assert rule.valid_until == later + timedelta(days=7)


@pytest.mark.parametrize(
    "changes",
    [
        {"template_id": "other-template"},
        {"levels": ["VIP"]},
        {"tags": ["复购"]},
        {"trigger": "dormant", "params": {"days": 90}, "template_id": "dormant-template"},
    ],
)
def test_every_content_field_counts_as_an_edit(changes):
    rule = make_rule("no_contact", now=T0)
    if changes.get("template_id") == "other-template":
        changes["template_id"] = care_template("no_contact", language="en").pk
    if changes.get("template_id") == "dormant-template":
        changes["template_id"] = care_template("dormant").pk
    rule = services.care_rule_update(rule=rule, data=_input(rule, **changes), now=T0 + timedelta(hours=1))
    assert rule.activation == 2


def test_renaming_or_moving_the_send_time_keeps_the_activation():
    rule = make_rule("birthday", send_time=time(9, 0), now=T0)
    rule = services.care_rule_update(
        rule=rule, data=_input(rule, name="生日", send_time=time(10, 0)), now=T0 + timedelta(hours=1)
    )
    assert (rule.activation, rule.name, rule.send_time) == (1, "生日", time(10, 0))
    assert rule.valid_until == T0 + timedelta(days=7)


def test_editing_the_content_of_a_disabled_rule_re_enables_it_as_the_seed_says():
    rule = make_rule("no_contact", now=T0)
    services.care_rule_set_enabled(rule=rule, enabled=False, now=T0 + timedelta(hours=1))
    rule.refresh_from_db()
    assert not rule.enabled
    assert rule.activations.get(number=1).ended_at == T0 + timedelta(hours=1)
    # the form and the API send enabled=true by default with the new content
    rule = services.care_rule_update(
        rule=rule, data=_input(rule, params={"days": 60}, enabled=True), now=T0 + timedelta(hours=2)
    )
    assert rule.enabled
    assert rule.activation == 2


def test_saving_with_enabled_false_disables_and_ends_the_activation():
    rule = make_rule("no_contact", now=T0)
    rule = services.care_rule_update(rule=rule, data=_input(rule, enabled=False), now=T0 + timedelta(hours=3))
    assert not rule.enabled
    assert rule.activations.get().ended_at == T0 + timedelta(hours=3)


def test_a_login_during_validity_extends_it_to_login_plus_7_days():
    rule = make_rule("no_contact", now=T0)  # valid until T0 + 7 days
    login = T0 + timedelta(days=5)
    assert services.care_validity_extend(at=login) == 1
    rule.refresh_from_db()
    assert rule.valid_until == login + timedelta(days=7)
    # an earlier login (clock skew, replay) never shortens it
    assert services.care_validity_extend(at=T0 + timedelta(days=1)) == 0
    rule.refresh_from_db()
    assert rule.valid_until == login + timedelta(days=7)


def test_a_login_after_expiry_does_not_revive_the_rule():
    rule = make_rule("no_contact", now=T0)
    assert services.care_validity_extend(at=T0 + timedelta(days=7, seconds=1)) == 0
    rule.refresh_from_db()
    assert rule.valid_until == T0 + timedelta(days=7)
    assert not rule.is_active_at(T0 + timedelta(days=7, seconds=1))
    # enabling it again starts a new activation with fresh validity
    again = T0 + timedelta(days=9)
    services.care_rule_set_enabled(rule=rule, enabled=True, now=again)
    rule.refresh_from_db()
    assert (rule.activation, rule.valid_until) == (2, again + timedelta(days=7))


def test_no_extension_when_switched_off_or_disabled():
    fixed = make_rule("no_contact", auto_extend=False, valid_until=T0 + timedelta(days=3), now=T0)
    off = make_rule("birthday", now=T0)
    services.care_rule_set_enabled(rule=off, enabled=False, now=T0)
    assert services.care_validity_extend(at=T0 + timedelta(days=2)) == 0
    fixed.refresh_from_db()
    assert fixed.valid_until == T0 + timedelta(days=3)


def test_without_auto_extend_and_without_an_end_a_rule_runs_until_switched_off():
    rule = make_rule("no_contact", auto_extend=False, now=T0)
    assert rule.valid_until is None
    assert rule.is_active_at(T0 + timedelta(days=400))


def test_a_real_login_extends_validity(make_user):
    make_user("agent", "kefu")
    with freeze_time(T0):
        rule = make_rule("no_contact")
    with freeze_time(T0 + timedelta(days=6)):
        assert Client().login(username="kefu", password="pass-word-123")
    rule.refresh_from_db()
    assert rule.valid_until == T0 + timedelta(days=13)


def test_deleting_archives_the_rule_and_keeps_its_activations():
    rule = make_rule("no_contact", now=T0)
    services.care_rule_delete(rule=rule, now=T0 + timedelta(hours=1))
    rule.refresh_from_db()
    assert (rule.enabled, rule.archived_at) == (False, T0 + timedelta(hours=1))
    assert rule.activations.get().ended_at == T0 + timedelta(hours=1)
    with pytest.raises(NotFoundError):
        services.care_rule_delete(rule=rule)
    with pytest.raises(NotFoundError):
        services.care_rule_set_enabled(rule=rule, enabled=True)


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"name": "  "}, "name", "名字"),
        ({"trigger": "teleport"}, "trigger", "unknown trigger 'teleport'"),
        ({"params": {"days": -1}}, "params", "params.days: Input should be greater than or equal to 1"),
        ({"params": {"weeks": 2}}, "params", "params.weeks: Extra inputs are not permitted"),
        ({"channel": "email"}, "template", "请选择与规则渠道一致的模板"),
        ({"channel": "pigeon"}, "channel", "unknown channel 'pigeon'"),
        ({"template_id": 999999}, "template", "template 999999 does not exist"),
        ({"shop_id": 999999}, "shop", "shop 999999 does not exist"),
        ({"segment_id": 999999}, "segment", "segment 999999 does not exist"),
        ({"levels": ["x" * 33]}, "levels", "levels[0]"),
        ({"valid_until": T0 - timedelta(days=1)}, "valid_until", ""),
    ],
)
def test_bad_input_names_the_field_and_writes_nothing(changes, field, message):
    template = care_template("no_contact")
    data = RuleInput(name="r", trigger="no_contact", channel="sms", template_id=template.pk)
    data = dataclasses.replace(data, **changes)
    with pytest.raises(CareRuleInvalidError) as exc:
        services.care_rule_create(data=data, now=T0)
    assert exc.value.field == field
    assert message in exc.value.message
    assert not CareRule.objects.exists()


def test_a_new_product_rule_needs_products_and_they_must_exist():
    template = care_template("new_product")
    data = RuleInput(name="新品", trigger="new_product", channel="sms", template_id=template.pk, params={})
    with pytest.raises(CareRuleInvalidError, match="choose at least one product"):
        services.care_rule_create(data=data, now=T0)
    with pytest.raises(CareRuleInvalidError, match="product 424242 does not exist"):
        services.care_rule_create(data=dataclasses.replace(data, params={"products": [424242]}), now=T0)
    # saved disabled, it may wait for its products
    assert services.care_rule_create(data=dataclasses.replace(data, enabled=False), now=T0).activation == 0


def test_suggested_rules_one_per_trigger_disabled_and_added_once():
    added = services.care_rules_install()
    assert len(added) == 12
    assert all(not r.enabled and r.activation == 0 for r in added)
    assert {r.key for r in added} == {r.trigger for r in added}
    assert all(r.template.key == f"care_{r.trigger}" and r.channel == "sms" for r in added)
    assert services.care_rules_install() == []


def test_carrier_transit_days_per_shop():
    shop = Shop.objects.create(name="旗舰店", platform="taobao")
    row = services.carrier_transit_save(shop_id=shop.pk, carrier=" 顺丰 ", days=1)
    assert (row.carrier, row.days) == ("顺丰", 1)
    services.carrier_transit_save(shop_id=shop.pk, carrier="顺丰", days=2)
    services.carrier_transit_save(shop_id=None, carrier="", days=4)
    assert CarrierTransit.objects.count() == 2
    assert CarrierTransit.objects.get(shop=shop).days == 2
    with pytest.raises(services.ApplicationError) as exc:
        services.carrier_transit_save(shop_id=shop.pk, carrier="中通", days=0)
    assert exc.value.field == "days"
