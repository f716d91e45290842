"""The pure parts of the canned-reply library: filling variables (and refusing a blank), the wording hints,
pinyin initials, and the shipped library's own wording."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.service.replies import wording
from huitouke.service.replies.search import initials, is_initials_query
from huitouke.service.replies.starter import STARTERS
from huitouke.service.replies.variables import (
    REPLY_VARIABLES,
    TemplateTextError,
    fill,
    placeholders_left,
    variables_of,
)

literal = st.text(alphabet=st.characters(blacklist_characters="{}", blacklist_categories=["Cs"]), max_size=12)
part = st.one_of(literal.map(lambda t: (False, t)), st.sampled_from(REPLY_VARIABLES).map(lambda v: (True, v)))
value = st.one_of(st.none(), st.just(""), st.just("  "), st.text(alphabet="亲订单ABC 123-", min_size=1, max_size=8))
contexts = st.dictionaries(st.sampled_from(REPLY_VARIABLES), value)


def _body(parts: list[tuple[bool, str]]) -> str:
    return "".join("{" + p + "}" if is_var else p for is_var, p in parts)


def _clean(v: object) -> str:
    return "" if v is None else str(v).strip()


@given(parts=st.lists(part, max_size=10), context=contexts, typed=contexts)
def test_fill_gives_every_value_or_refuses_naming_each_blank(parts, context, typed):
    body = _body(parts)
    result = fill(body, context, typed)
    used = [p for is_var, p in parts if is_var]
    blank = list(dict.fromkeys(v for v in used if not (_clean(typed.get(v)) or _clean(context.get(v)))))
    assert result.missing == tuple(blank)
    if blank:
        assert result.text is None
        return
    expected = "".join((_clean(typed.get(p)) or _clean(context.get(p))) if is_var else p for is_var, p in parts)
    assert result.text == expected
    assert placeholders_left(result.text) == ()  # nothing of the template is left standing
    assert variables_of(body) == tuple(dict.fromkeys(used))


@given(parts=st.lists(part, min_size=1, max_size=8), context=contexts)
def test_a_typed_value_wins_over_the_context_and_fills_a_blank(parts, context):
    body = _body(parts)
    typed = dict.fromkeys(REPLY_VARIABLES, "X")
    assert fill(body, context, typed).text == "".join("X" if is_var else p for is_var, p in parts)


def test_fill_examples():
    ctx = {"name": "王小二", "order_no": "T100", "carrier": "", "tracking_no": None}
    assert fill("亲，{name}，订单{order_no}", ctx).text == "亲，王小二，订单T100"
    refused = fill("{carrier} {tracking_no} {name} {carrier}", ctx)
    assert refused.text is None
    assert refused.missing == ("carrier", "tracking_no")
    assert fill("{carrier}", ctx, {"carrier": " 顺丰 "}).text == "顺丰"
    assert fill("{{literal}} {name}", ctx).text == "{literal} 王小二"


@pytest.mark.parametrize(
    ("body", "position"), [("亲{name", 1), ("} x", 0), ("{level}", 0), ("{1x}", 0), ("ok {coupon}", 3)]
)
def test_a_bad_template_names_the_position(body, position):
    with pytest.raises(TemplateTextError) as err:
        variables_of(body)
    assert err.value.position == position


def test_placeholders_left_finds_only_library_variables():
    assert placeholders_left("亲，{order_no} 和 { carrier } 还有 {{name}} 与 {coupon}") == ("order_no", "carrier")


def test_wording_hints_follow_the_rules():
    rules = wording.Rules()
    assert wording.check("亲，您好，马上为您处理。", rules) == []
    assert [h.code for h in wording.check("您好，我们保证绝对没问题，肯定的", rules)] == ["greeting", "banned"]
    assert wording.check("您好，我们保证绝对没问题，肯定的，保证", rules)[1].words == ("肯定", "保证", "绝对")
    long = "亲" + "好" * 70
    hint = wording.check(long, rules)[-1]
    assert (hint.code, hint.length, hint.parts) == ("too_long", 71, 2)
    assert wording.check("亲" + "好" * 69, rules) == []  # 70 fits one part
    # the shop's signature counts towards the SMS length
    assert [h.code for h in wording.check("亲" + "好" * 65, rules, signature="茶小铺")] == ["too_long"]
    # an English reply is not asked for the Chinese greeting; a greeting after 【signature】 still counts
    assert wording.check("Hello, we will look into it.", rules) == []
    assert wording.check("【茶小铺】亲，好的", rules) == []


def test_wording_rules_can_be_changed_or_switched_off():
    assert wording.check("保证", wording.Rules(enabled=False)) == []
    custom = wording.Rules(greeting="您好", banned=("Guarantee",), sms_limit=10)
    hints = wording.check("亲，我们 guarantee 一下这个问题的处理", custom)
    assert [(h.code, h.words) for h in hints[:2]] == [("greeting", ("您好",)), ("banned", ("Guarantee",))]
    assert hints[2].code == "too_long"
    off = wording.Rules(greeting="", banned=(), sms_limit=0)
    assert wording.check("随便写 " * 40, off) == []


def test_banned_words_from_text():
    assert wording.banned_from_text("肯定, 保证、绝对\n保证；一定") == ("肯定", "保证", "绝对", "一定")
    assert wording.banned_to_text(("肯定", "保证")) == "肯定、保证"


@pytest.mark.parametrize(
    ("text", "expected"),
    [("中差评解释", "zcpjs"), ("包邮 FAQ", "byfaq"), ("图片色差：问款式", "tpscwks"), ("退款 3 天", "tk3t"), ("", "")],
)
def test_pinyin_initials(text, expected):
    assert initials(text) == expected


def test_initials_query():
    assert is_initials_query("ZCP")
    assert not is_initials_query("中差")
    assert not is_initials_query("z c")


def test_the_shipped_library_follows_its_own_rules():
    """Every Chinese starter opens with 亲 and uses no banned word; every text is a valid reply; every seed
    scenario and every ticket type has one."""
    rules = wording.Rules(sms_limit=0)
    keys = [s.key for s in STARTERS]
    assert len(keys) == len(set(keys))
    for s in STARTERS:
        assert wording.check(s.zh, rules) == [], s.key
        assert set(variables_of(s.zh)) <= set(REPLY_VARIABLES)  # raises on a bad template
        assert set(variables_of(s.en)) <= set(REPLY_VARIABLES)
        assert not any(w in s.en.lower() for w in ("guarantee", "definitely", "absolutely")), s.key
    from huitouke.service.models import TicketType
    from huitouke.service.replies.models import ReplyCategory

    assert {s.ticket_type for s in STARTERS} - {""} == set(TicketType.values)
    assert {s.category for s in STARTERS} == set(ReplyCategory.values)
