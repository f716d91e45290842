"""Default 好评 ratings under both presets: when they come due, when there is none, how they meet the other rules
(pure, no database; instants in Asia/Shanghai)."""

from __future__ import annotations

import datetime as dt

import pytest

from huitouke.reviews.tests.test_credit_ledger import (
    COURSE,
    TAOBAO,
    fact,
    ledger,
    local,
    month_trades,
    outcome,
    shop_rating,
)

# --- defaults ----------------------------------------------------------------------------------------------------


def test_course_default_good_45_days_after_the_one_sided_rating():
    s = shop_rating("s", "bad", trade=local(2026, 1, 10), rated=local(2026, 2, 1, 8, 0))
    due = local(2026, 3, 18, 8, 0)
    pending = ledger([s], at=due - dt.timedelta(seconds=1))
    assert (pending.score, pending.reviews, pending.pending_defaults) == (0, 0, (("line-s", due),))
    assert pending.entry("s").default == "pending"
    done = ledger([s], at=due)
    assert done.pending_defaults == ()
    default = done.entry("default:s")
    assert (default.points, default.generated, default.is_default, default.rated_at) == (1, True, True, due)
    assert (default.role, default.result, default.month) == ("buyer", "good", "2026-01")
    assert done.entry("s").default == "generated"
    assert done.entry("s").default_due_at == due
    assert (done.score, done.reviews, done.scored) == (1, 1, 1)


def test_shop_ratings_count_for_the_buyer_not_the_shop():
    s = shop_rating("s", "good", line="L1")
    b = fact("b", "bad", line="L1")
    result = ledger([s, b])
    assert outcome(result) == {"b": (-1, None), "s": (0, "rates_buyer")}
    assert result.entry("s").default == "other_side_rated"
    assert (result.reviews, result.not_scored) == (1, {})


def test_taobao_default_15_days_after_success_only_after_a_good():
    success = local(2026, 1, 11, 9, 0)
    good = shop_rating("sg", "good", trade=local(2026, 1, 10), success=success, item="a")
    bad = shop_rating("sb", "bad", trade=local(2026, 1, 10), success=success, item="b")
    due = success + dt.timedelta(days=15)
    assert ledger([good, bad], TAOBAO, at=due - dt.timedelta(seconds=1)).pending_defaults == (("line-sg", due),)
    result = ledger([good, bad], TAOBAO, at=due)
    assert outcome(result) == {"default:sg": (1, None), "sg": (0, "rates_buyer"), "sb": (0, "rates_buyer")}
    assert result.entry("sb").default == "no_default"
    assert result.entry("default:sg").rated_at == due
    # the course gives the default after the bad rating too
    assert ledger([good, bad], COURSE).score == 2


@pytest.mark.parametrize(
    ("extra", "status"),
    [({"paid": False}, "not_paid_or_not_successful"), ({"tmall": True}, "tmall_no_credit")],
)
def test_no_default_for_unpaid_or_tmall_trades(extra, status):
    result = ledger([shop_rating("s", **extra)])
    assert (result.score, result.reviews, result.entry("s").default) == (0, 0, status)


def test_a_buyer_rating_replaces_the_default_even_when_given_late():
    s = shop_rating("s", line="L", rated=local(2026, 1, 12))
    b = fact("b", "bad", line="L", rated=local(2026, 12, 1))
    assert outcome(ledger([s, b])) == {"b": (-1, None), "s": (0, "rates_buyer")}


def test_a_default_on_the_shop_side_starts_nothing():
    result = ledger([shop_rating("s", is_default=True)])
    assert (result.score, result.entry("s").default) == (0, None)


def test_generated_defaults_follow_the_cap_and_the_same_item_rule():
    facts = [
        *month_trades(5),
        fact("cup", trade=local(2026, 1, 20), item="cup"),
        shop_rating("s_cup", trade=local(2026, 1, 21), item="cup"),  # merged into "cup"
        shop_rating("s_pot", trade=local(2026, 1, 22), item="pot"),  # 7th point of January: capped
        shop_rating("s_feb", trade=local(2026, 2, 2), item="pan"),
    ]
    result = ledger(facts)
    assert outcome(result)["default:s_cup"] == (0, "same_item_14_days")
    assert result.entry("default:s_cup").merged_into == "cup"
    assert outcome(result)["default:s_pot"] == (0, "monthly_cap")
    assert outcome(result)["default:s_feb"] == (1, None)
    assert result.score == 7


def test_a_default_due_at_a_month_boundary():
    # rated Jan 15 00:00 → due exactly Mar 1 00:00 local (45 days)
    s = shop_rating("s", trade=local(2026, 1, 10), rated=local(2026, 1, 15, 0, 0))
    due = local(2026, 3, 1, 0, 0)
    assert ledger([s], at=due - dt.timedelta(microseconds=1)).score == 0
    result = ledger([s], at=due)
    assert result.score == 1
    assert [(p.period, p.points) for p in result.history("month")] == [(dt.date(2026, 3, 1), 1)]
    assert [(p.period, p.points) for p in result.history("day")] == [(dt.date(2026, 3, 1), 1)]


def test_generated_defaults_ignore_the_rating_period():
    s = shop_rating("s", trade=local(2026, 1, 1), rated=local(2026, 12, 1))  # due 2027-01-15, past day 345
    assert ledger([s]).score == 1


def test_imported_defaults_are_checked_against_the_preset_when_the_shop_rating_is_known():
    success = local(2026, 1, 11)
    imported = fact("d", line="L", is_default=True, success=success, rated=success + dt.timedelta(days=15))
    after_bad = shop_rating("s", "bad", line="L", success=success, rated=local(2026, 1, 12))
    after_good = shop_rating("s", "good", line="L", success=success, rated=local(2026, 1, 12))
    assert outcome(ledger([imported, after_bad], TAOBAO))["d"] == (0, "no_default")
    assert outcome(ledger([imported, after_good], TAOBAO))["d"] == (1, None)
    # the course's default comes 45 days after the shop's rating (Feb 26 12:00)
    assert outcome(ledger([imported, after_bad], at=local(2026, 2, 26, 11, 59)))["d"] == (0, "default_not_due")
    assert outcome(ledger([imported, after_bad], at=local(2026, 2, 26, 12, 0)))["d"] == (1, None)
    # without the shop's rating the platform's default is taken as given; no rating-period check for a default
    late = fact("d", is_default=True, success=success, rated=success + dt.timedelta(days=20))
    assert outcome(ledger([late], TAOBAO))["d"] == (1, None)
