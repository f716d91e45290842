"""Trigger parameters: defaults filled in, errors that name the parameter."""

from __future__ import annotations

import pytest

from huitouke.care.triggers import TRIGGERS, festivals, idempotency_key
from huitouke.care.triggers.params import PARAMS, ParamsError, normalised, parse_params


def test_every_trigger_has_a_parameter_schema():
    assert set(PARAMS) == set(TRIGGERS)
    assert list(TRIGGERS) == [
        "paid_today",
        "unpaid_reminder",
        "shipped",
        "delivered_followup",
        "unconfirmed_receipt",
        "birthday",
        "no_contact",
        "dormant",
        "level_up",
        "holiday",
        "replenishment",
        "new_product",
    ]


@pytest.mark.parametrize(
    ("trigger", "params", "expected"),
    [
        ("unconfirmed_receipt", {}, {"days": 7}),
        ("no_contact", {}, {"days": 30}),
        ("unpaid_reminder", {}, {"after_minutes": 30, "close_after_minutes": 1440}),
        ("birthday", {"days_ahead": 3}, {"days_ahead": 3}),
        ("holiday", {}, {"holidays": list(festivals.HOLIDAYS), "days_before": 0, "bought_within_days": None}),
        ("dormant", {"days": 90}, {"days": 90, "max_days": None}),
        ("paid_today", None, {}),
    ],
)
def test_defaults_are_filled_in(trigger, params, expected):
    assert normalised(trigger, params) == expected


@pytest.mark.parametrize(
    ("trigger", "params", "message"),
    [
        ("no_contact", {"days": 0}, "params.days: Input should be greater than or equal to 1"),
        ("no_contact", {"dayz": 3}, "params.dayz: Extra inputs are not permitted"),
        ("unpaid_reminder", {"after_minutes": 60, "close_after_minutes": 30}, "close_after_minutes must be more"),
        ("holiday", {"holidays": ["easter"]}, "unknown holiday 'easter'"),
        ("holiday", {"holidays": []}, "params.holidays: List should have at least 1 item"),
        ("dormant", {"days": 200, "max_days": 100}, "max_days must not be less than days"),
        ("replenishment", {"cycles": {"abc": 30}}, "'abc' is not a product id"),
        ("new_product", {"products": list(range(51))}, "params.products: List should have at most 50 items"),
        ("delivered_followup", {"after": "paid"}, "params.after"),
        ("birthday", [], "params: expected an object"),
        ("teleport", {}, "trigger: unknown trigger 'teleport'"),
    ],
)
def test_errors_name_the_parameter(trigger, params, message):
    with pytest.raises(ParamsError) as exc:
        parse_params(trigger, params)
    assert message in str(exc.value)


def test_the_key_is_rule_customer_occasion():
    assert idempotency_key(12, 345, "2026-05-17") == "care:12:345:2026-05-17"
