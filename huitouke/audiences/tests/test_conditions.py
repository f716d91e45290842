# ruff: noqa: E501  (the parametrised cases read best one per line)
"""The segment language: what validates, and messages that name the condition and parameter."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.http import QueryDict
from hypothesis import given
from hypothesis import strategies as st

from huitouke.audiences.builder import definition_from_form, rows
from huitouke.audiences.conditions import (
    FIELDS,
    DefinitionError,
    Group,
    OrderCountCondition,
    SpendCondition,
    parse_definition,
)


def _error(definition):
    with pytest.raises(DefinitionError) as info:
        parse_definition(definition)
    return info.value


def test_empty_or_missing_definition_is_everyone():
    assert parse_definition(None) == Group()
    assert parse_definition({}) == Group()


def test_nested_groups_and_every_field_validate():
    definition = {
        "op": "or",
        "conditions": [
            {"field": "total_spent", "min": "100", "max": "500.50"},
            {"field": "order_count", "min": 2},
            {"field": "last_order_at", "within_days": 30},
            {"field": "first_order_at", "after": "2025-01-01", "before": "2025-12-31"},
            {"field": "level", "levels": ["VIP"], "negate": True},
            {"field": "tags", "match": "all", "tags": ["a", "b"]},
            {"field": "shop", "shops": ["旗舰店"]},
            {"field": "region", "provinces": ["浙江省"]},
            {"field": "bought", "products": ["SKU1"], "within_days": 90, "negate": True},
            {"field": "birthday_month", "months": [1, 12]},
            {"field": "consent", "purpose": "new_products"},
            {"field": "lifecycle", "stages": ["new", "lapsed"]},
            {"field": "rfm_segment", "segments": ["champions"]},
            {"field": "clv", "min": 10},
            {"field": "churn_risk", "bands": ["high"]},
            {"field": "group", "op": "and", "conditions": [{"field": "tags", "tags": ["x"]}]},
        ],
    }
    group = parse_definition(definition)
    assert group.op == "or"
    assert {c.field for c in group.conditions} == {*FIELDS, "group"}
    assert group.conditions[0] == SpendCondition(field="total_spent", min=Decimal("100"), max=Decimal("500.50"))


@pytest.mark.parametrize(
    ("definition", "message", "where"),
    [
        ({"conditions": [{"field": "total_spent", "min": 5, "max": 1}]},
         "conditions[0] (total_spent): min must not be greater than max", "conditions.0"),
        ({"conditions": [{"field": "order_count"}]}, "conditions[0] (order_count): give min, max or both", "conditions.0"),
        ({"conditions": [{"field": "order_count", "min": "many"}]},
         "conditions[0] (order_count).min: Input should be a valid integer", "conditions.0"),
        ({"conditions": [{"field": "tags", "tags": ["a"]}, {"field": "group", "conditions": [{"field": "level", "levels": []}]}]},
         "conditions[1] (group).conditions[0] (level).levels: List should have at least 1 item", "conditions.1.conditions.0"),
        ({"conditions": [{"field": "colour"}]}, "conditions[0] (colour): unknown field 'colour'", "conditions.0"),
        ({"conditions": [{"min": 1}]}, "conditions[0]: each condition needs a field", "conditions.0"),
        ({"conditions": [{"field": "birthday_month", "months": [13]}]},
         "conditions[0] (birthday_month).months[0]: Input should be less than or equal to 12", "conditions.0"),
        ({"conditions": [{"field": "level", "levels": ["a"], "colour": "red"}]},
         "conditions[0] (level).colour: Extra inputs are not permitted", "conditions.0"),
        ({"conditions": [{"field": "region"}]}, "conditions[0] (region): give at least one province or city", "conditions.0"),
        ({"conditions": [{"field": "last_order_at", "after": "2025-02-01", "before": "2025-01-01"}]},
         "conditions[0] (last_order_at): after must not be later than before", "conditions.0"),
        ({"op": "xor"}, "op: Input should be 'and' or 'or'", ""),
    ],
)  # fmt: skip
def test_errors_name_the_condition_and_parameter(definition, message, where):
    error = _error(definition)
    assert error.messages[0].startswith(message), error.messages
    assert error.where[0] == where


def test_every_problem_is_reported_not_only_the_first():
    error = _error({"conditions": [{"field": "order_count"}, {"field": "total_spent", "min": -1}]})
    assert len(error.messages) == 2
    assert error.messages[1].startswith("conditions[1] (total_spent).min")


def test_groups_nest_at_most_four_deep():
    deep: dict = {"field": "tags", "tags": ["x"]}
    for _ in range(4):
        deep = {"field": "group", "conditions": [deep]}
    assert "at most 4 deep" in _error({"conditions": [deep]}).messages[0]


def test_a_definition_that_is_not_an_object_is_refused():
    assert "must be an object" in _error(["a"]).messages[0]


@given(st.one_of(st.none(), st.integers(0, 10**6)), st.one_of(st.none(), st.integers(0, 10**6)))
def test_a_range_is_valid_exactly_when_one_bound_is_given_and_they_are_ordered(low, high):
    definition = {"conditions": [{"field": "order_count", "min": low, "max": high}]}
    valid = (low is not None or high is not None) and (low is None or high is None or low <= high)
    if valid:
        condition = parse_definition(definition).conditions[0]
        assert isinstance(condition, OrderCountCondition)
        assert condition.min == low
    else:
        _error(definition)


# ---------------------------------------------------------------------------------------------- the builder form
def _form(pairs: list[tuple[str, str]]) -> QueryDict:
    q = QueryDict(mutable=True)
    for key, value in pairs:
        q.appendlist(key, value)
    return q


def test_the_form_becomes_the_nested_definition():
    form = _form([
        ("name", "ignored"),
        ("n.op", "or"),
        ("n.conditions.0.field", "total_spent"), ("n.conditions.0._shown", "total_spent"),
        ("n.conditions.0.min", "100"), ("n.conditions.0.max", ""),
        ("n.conditions.10.field", "tags"), ("n.conditions.10._shown", "tags"),
        ("n.conditions.10.match", "none"), ("n.conditions.10.tags", "vip，老客、 a ,b"),
        ("n.conditions.2.field", "group"), ("n.conditions.2._shown", "group"), ("n.conditions.2.op", "and"),
        ("n.conditions.2.conditions.0.field", "level"), ("n.conditions.2.conditions.0._shown", "level"),
        ("n.conditions.2.conditions.0.levels", "VIP"), ("n.conditions.2.conditions.0.levels", "银卡"),
        ("n.conditions.2.conditions.0.negate", "on"),
        ("n.conditions.2.conditions.1.field", "consent"), ("n.conditions.2.conditions.1._shown", "consent"),
        ("n.conditions.2.conditions.1.purpose", "new_products"), ("n.conditions.2.conditions.1.member", "no"),
    ])  # fmt: skip
    definition = definition_from_form(form)
    assert definition == {
        "op": "or",
        "conditions": [
            {"field": "total_spent", "min": "100"},
            {"field": "group", "op": "and", "conditions": [
                {"field": "level", "levels": ["VIP", "银卡"], "negate": True},
                {"field": "consent", "purpose": "new_products", "member": False},
            ]},
            {"field": "tags", "match": "none", "tags": ["vip", "老客", "a", "b"]},
        ],
    }  # fmt: skip
    parse_definition(definition)


def test_changing_a_rows_field_drops_the_old_fields_inputs():
    form = _form(
        [("n.conditions.0.field", "tags"), ("n.conditions.0._shown", "total_spent"), ("n.conditions.0.min", "5")]
    )
    assert definition_from_form(form) == {"op": "and", "conditions": [{"field": "tags"}]}


def test_add_and_remove_actions():
    form = _form([("n.conditions.0.field", "group"), ("n.conditions.0._shown", "group"), ("n.conditions.0.op", "or")])
    added = definition_from_form(form, "add:conditions.0")
    assert added["conditions"][0]["conditions"] == [{"field": "total_spent"}]
    top = definition_from_form(form, "addgroup:")
    assert top["conditions"][1] == {"field": "group", "op": "or", "conditions": []}
    assert definition_from_form(form, "remove:conditions.0") == {"op": "and", "conditions": []}


def test_rows_number_conditions_and_attach_errors():
    definition = {
        "conditions": [{"field": "tags", "tags": []}, {"field": "group", "conditions": [{"field": "order_count"}]}]
    }
    built = rows(definition, {"tags": [("vip", "vip")]}, {"conditions.1.conditions.0": ["give min, max or both"]})
    assert [r.number for r in built] == ["1", "2"]
    assert built[0].inputs[1].name == "n.conditions.0.tags"
    assert built[0].inputs[1].options == [("vip", "vip")]
    assert built[1].children[0].number == "2.1"
    assert built[1].children[0].errors == ["give min, max or both"]
