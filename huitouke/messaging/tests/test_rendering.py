"""The pure renderer and SMS counting: worked examples and properties (hypothesis)."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.messaging import rendering
from huitouke.messaging.rendering import (
    SMS_PART,
    SMS_SINGLE,
    TemplateTextError,
    parse,
    render,
    sms_count,
    sms_length,
    sms_signed,
    sms_with_unsubscribe,
    variables_in,
)


def test_render_fills_every_variable():
    result = render("亲爱的{name}，订单{order_no}已发货", {"name": "小王", "order_no": "123"})
    assert result.text == "亲爱的小王，订单123已发货"
    assert result.ok


@pytest.mark.parametrize("value", [None, "", "   "])
def test_a_blank_or_absent_value_is_missing_never_blank(value):
    context = {"name": value} if value is not None else {}
    result = render("亲，{name}您好", context)
    assert result.missing == ("name",)
    assert not result.ok
    assert "{name}" in result.text  # the placeholder stays: nothing blank is produced


def test_missing_lists_each_variable_once_in_order():
    result = render("{coupon}{name}{coupon}{shop}", {"name": "a"})
    assert result.missing == ("coupon", "shop")


def test_double_braces_are_literal():
    assert render("{{name}} = {name}", {"name": "x"}).text == "{name} = x"
    assert variables_in("{{name}}") == ()


@pytest.mark.parametrize(
    ("text", "position", "words"),
    [
        ("hello {name", 6, "unclosed"),
        ("a } b", 2, "stray"),
        ("{na me}", 0, "not a variable"),
        ("{}", 0, "not a variable"),
        ("亲{phone}", 1, "unknown variable {phone}"),
    ],
)
def test_bad_templates_name_the_position(text, position, words):
    with pytest.raises(TemplateTextError) as exc:
        parse(text)
    assert exc.value.position == position
    assert words in exc.value.message


def test_unknown_names_are_allowed_when_known_is_none():
    assert variables_in("{whatever}", known=None) == ("whatever",)


def test_variables_in_order_of_first_use():
    assert variables_in("{shop}{name}{shop}{amount}") == ("shop", "name", "amount")


names = st.sampled_from(rendering.VARIABLES)
literal = st.text(alphabet=st.characters(blacklist_characters="{}"), max_size=8)
values = st.text(min_size=1, max_size=10).filter(lambda v: v.strip() != "")


@given(st.lists(st.tuples(literal, names), max_size=6), literal, st.dictionaries(names, values))
def test_render_property(pieces, tail, context):
    text = "".join(f"{lit}{{{name}}}" for lit, name in pieces) + tail
    result = render(text, context)
    used = [n for _lit, n in pieces]
    assert set(result.missing) == {n for n in used if n not in context}
    if not result.missing:
        expected = "".join(lit + context[n].strip() for lit, n in pieces) + tail
        assert result.text == expected


@given(st.text(max_size=400))
def test_parse_fails_only_with_a_position_inside_the_text(text):
    error = None
    try:
        parse(text, known=None)
    except TemplateTextError as exc:
        error = exc
    if error is not None:
        assert 0 <= error.position < len(text)
    else:
        assert "".join(v if not is_var else "" for is_var, v in parse(text, known=None)).count("{") <= text.count("{")


# --- SMS ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("length", "parts"),
    [(0, 0), (1, 1), (70, 1), (71, 2), (134, 2), (135, 3), (201, 3), (202, 4)],
)
def test_sms_parts_boundaries(length, parts):
    assert sms_count("好" * length).parts == parts


def test_signature_counts_with_its_brackets():
    body = "亲" * 64
    assert sms_count(body).parts == 1
    assert sms_count(body, signature="茶小铺").length == 64 + 5  # 【茶小铺】
    assert sms_count(body, signature="【茶小铺的店】").parts == 2  # 64 + 7 = 71
    assert sms_signed("hi", "【店】") == "【店】hi"


def test_emoji_count_two():
    assert sms_length("😀a") == 3


@given(st.text(max_size=500), st.text(max_size=12))
def test_sms_count_property(body, signature):
    count = sms_count(body, signature=signature)
    assert count.length == sms_length(sms_signed(body, signature))
    if count.length == 0:
        assert count.parts == 0
    elif count.length <= SMS_SINGLE:
        assert count.parts == 1
    else:
        assert count.parts == math.ceil(count.length / SMS_PART)
        assert (count.parts - 1) * SMS_PART < count.length <= count.parts * SMS_PART


@given(st.text(max_size=80), st.sampled_from(["zh-hans", "en"]))
def test_unsubscribe_hint_is_added_once(body, language):
    once = sms_with_unsubscribe(body, language)
    assert once.endswith(("回T退订", "Reply T to opt out"))
    assert sms_with_unsubscribe(once, language) == once


def test_unsubscribe_hint_examples():
    assert sms_with_unsubscribe("亲，新品上架啦～") == "亲，新品上架啦～回T退订"
    assert sms_with_unsubscribe("New tea in stock", "en") == "New tea in stock Reply T to opt out"
    assert sms_with_unsubscribe("新品 abc") == "新品 abc 回T退订"
    # never glued to a link
    assert (
        sms_with_unsubscribe("详情 https://x.cn/p/1.a/") == "详情 https://x.cn/p/1.a/ 回T退订"
    )  # never glued to a link
