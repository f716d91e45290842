""" "What if" for one rating: the delta, the reason and the numbers behind it (pure, no database)."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.reviews.credit import credit_ledger, rules_for, what_if
from huitouke.reviews.tests.test_credit_ledger import SH, fact, local, month_trades, shop_rating

COURSE = rules_for("course")
AT = local(2026, 6, 1)


def explain(facts, new, rules=COURSE, at=AT):
    return what_if(rules, facts, new, tz=SH, at=at)


def test_a_bad_review_costs_one_point():
    x = explain(month_trades(4), fact("new", "bad", trade=local(2026, 1, 20)))
    assert (x.code, x.result, x.points, x.nominal_points, x.delta) == ("scores", "bad", -1, -1, -1)
    assert (x.score_before, x.score_after, x.level_before.index, x.level_after.index) == (4, 3, 1, 0)
    assert (x.month, x.pair_month_net, x.changes) == ("2026-01", 4, ())


def test_a_bad_review_costs_nothing_at_the_monthly_cap():
    facts = month_trades(6, result="bad")
    x = explain(facts, fact("new", "bad", trade=local(2026, 1, 20)))
    assert (x.code, x.points, x.delta, x.monthly_cap, x.pair_month_net) == ("monthly_cap", 0, 0, 6, -6)


def test_a_good_review_of_the_same_item_adds_nothing():
    facts = [fact("cup1", trade=local(2026, 1, 3), item="cup")]
    x = explain(facts, fact("cup2", trade=local(2026, 1, 9), item="cup"))
    assert (x.code, x.delta, x.merged_into, x.same_item_days) == ("same_item_14_days", 0, "cup1", 14)


def test_a_late_review_and_an_unpaid_one():
    late = fact("late", trade=local(2026, 1, 1), rated=local(2026, 1, 1) + dt.timedelta(days=346))
    x = explain([], late, at=local(2027, 1, 1))
    assert (x.code, x.delta, x.rating_period_days) == ("outside_rating_period", 0, 345)
    assert explain([], fact("u", "bad", paid=False)).code == "not_paid_or_not_successful"


def test_an_earlier_trade_takes_the_cap_slot_of_a_later_one():
    facts = month_trades(6, start=10)
    x = explain(facts, fact("early", trade=local(2026, 1, 2)))
    assert (x.code, x.points, x.delta) == ("scores", 1, 0)
    assert [(c.id, c.points_before, c.points_after, c.reason_after) for c in x.changes] == [("t5", 1, 0, "monthly_cap")]


def test_the_buyers_own_rating_replaces_a_generated_default():
    s = shop_rating("s", line="L", trade=local(2026, 1, 5), rated=local(2026, 1, 7))
    x = explain([s], fact("b", "bad", line="L", trade=local(2026, 1, 5), rated=local(2026, 1, 8)))
    assert (x.points, x.delta, x.score_before, x.score_after) == (-1, -2, 1, -1)
    assert [(c.id, c.points_before, c.points_after) for c in x.changes] == [("default:s", 1, None)]


def test_delta_matches_the_ledgers():
    facts = [*month_trades(5), fact("cup", item="cup", trade=local(2026, 1, 20))]
    for new in (fact("n1", trade=local(2026, 1, 21)), fact("n2", "bad", item="cup", trade=local(2026, 1, 22))):
        x = explain(facts, new)
        before = credit_ledger(COURSE, facts, tz=SH, at=AT).score
        after = credit_ledger(COURSE, [*facts, new], tz=SH, at=AT).score
        assert x.delta == after - before


def test_what_if_refuses_a_future_rating_and_a_duplicate():
    with pytest.raises(ValueError, match="created_at is after at"):
        explain([], fact("x", rated=AT + dt.timedelta(seconds=1)))
    with pytest.raises(ValueError, match="duplicate id"):
        explain([fact("x")], fact("x"))
