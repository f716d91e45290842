"""The credit ledger rule by rule, their interactions and the time-zone boundaries (pure, no database).

All instants are in the shop's time zone, Asia/Shanghai (UTC+8), unless a test says otherwise."""

from __future__ import annotations

import datetime as dt
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from huitouke.reviews.credit import (
    ReviewFact,
    credit_ledger,
    rules_for,
    rules_with,
)

SH = ZoneInfo("Asia/Shanghai")


def local(y: int, m: int, d: int, hh: int = 12, mm: int = 0) -> dt.datetime:
    return dt.datetime(y, m, d, hh, mm, tzinfo=SH)


def fact(
    fid: str,
    result: str = "good",
    *,
    trade: dt.datetime | None = None,
    rated: dt.datetime | None = None,
    success: dt.datetime | None = None,
    role: str = "buyer",
    line: str | None = None,
    buyer: str = "b1",
    seller: str = "shop",
    item: str | None = None,
    **extra: Any,
) -> ReviewFact:
    """A paid, successful trade created at ``trade`` (default 2026-01-10 12:00), succeeded a day later, rated two
    days after creation; each fact its own line and item unless given."""
    trade = trade or local(2026, 1, 10)
    success = success or trade + dt.timedelta(days=1)
    values: dict[str, Any] = {
        "id": fid,
        "line_key": line or f"line-{fid}",
        "role": role,
        "result": result,
        "created_at": rated or trade + dt.timedelta(days=2),
        "trade_created_at": trade,
        "trade_success_at": success,
        "paid": True,
        "successful": True,
        "buyer": buyer,
        "seller": seller,
        "item": item or f"item-{fid}",
    }
    values.update(extra)
    return ReviewFact(**values)


COURSE = rules_for("course")
TAOBAO = rules_for("taobao")
LATE = local(2027, 6, 1)  # an `at` after everything in these tests


def ledger(facts, rules=COURSE, at=LATE):
    return credit_ledger(rules, facts, tz=SH, at=at)


def outcome(result):
    """{id: (points, reason)} of every entry."""
    return {e.id: (e.points, e.reason) for e in result.entries}


def month_trades(n, *, start=1, result="good", buyer="b1", prefix="t"):
    """n trades of different items from one buyer on Jan start, start+1, … 2026."""
    return [fact(f"{prefix}{i}", result, trade=local(2026, 1, start + i), buyer=buyer) for i in range(n)]


def shop_rating(fid, result="good", **kw):
    return fact(fid, result, role="seller", **kw)


# --- points -------------------------------------------------------------------------------------------------------


def test_good_neutral_bad_score_plus_one_zero_minus_one_and_anonymous_counts():
    result = ledger([fact("g"), fact("n", "neutral"), fact("b", "bad"), fact("a", anonymous=True)])
    assert outcome(result) == {"g": (1, None), "n": (0, None), "b": (-1, None), "a": (1, None)}
    assert result.score == 1
    assert (result.reviews, result.scored, result.not_scored) == (4, 4, {})
    assert result.entry("n").scores is True


# --- not paid / not successful / Tmall ---------------------------------------------------------------------------


def test_not_paid_or_not_successful_shows_but_does_not_score():
    facts = [
        fact("unpaid", paid=False),
        fact("failed", successful=False, trade_success_at=None),
        fact("ok"),
    ]
    result = ledger(facts)
    assert outcome(result) == {
        "unpaid": (0, "not_paid_or_not_successful"),
        "failed": (0, "not_paid_or_not_successful"),
        "ok": (1, None),
    }
    assert (result.score, result.reviews, result.scored) == (1, 3, 1)
    assert result.not_scored == {"not_paid_or_not_successful": 2}


@pytest.mark.parametrize("rules", [COURSE, TAOBAO])
def test_tmall_orders_carry_no_credit(rules):
    result = ledger([fact("tm", "bad", tmall=True), fact("tb", "bad")], rules)
    assert outcome(result) == {"tm": (0, "tmall_no_credit"), "tb": (-1, None)}
    assert ledger([fact("tm", "bad", tmall=True)], rules_with(rules, tmall_no_credit=False)).score == -1


def test_tmall_is_reported_before_not_paid():
    assert outcome(ledger([fact("x", tmall=True, paid=False)])) == {"x": (0, "tmall_no_credit")}


# --- rating period -----------------------------------------------------------------------------------------------


def test_course_period_is_345_days_from_trade_creation_end_instant_inside():
    trade = local(2026, 1, 1, 10, 0)
    end = trade + dt.timedelta(days=345)  # 2026-12-12 10:00 local
    facts = [
        fact("last", trade=trade, rated=end, item="a"),
        fact("late", trade=trade, rated=end + dt.timedelta(seconds=1), item="b"),
        fact("early", trade=trade, rated=trade - dt.timedelta(seconds=1), item="c"),
    ]
    assert outcome(ledger(facts)) == {
        "early": (0, "outside_rating_period"),
        "last": (1, None),
        "late": (0, "outside_rating_period"),
    }


def test_taobao_period_is_15_days_after_success():
    trade = local(2026, 1, 1)
    success = local(2026, 1, 20, 9, 30)
    end = success + dt.timedelta(days=15)
    facts = [
        fact("in", trade=trade, success=success, rated=end, item="a"),
        fact("out", trade=trade, success=success, rated=end + dt.timedelta(seconds=1), item="b"),
        fact("before", trade=trade, success=success, rated=success - dt.timedelta(minutes=1), item="c"),
    ]
    assert outcome(ledger(facts, TAOBAO)) == {
        "in": (1, None),
        "out": (0, "outside_rating_period"),
        "before": (0, "outside_rating_period"),
    }
    # the same rating 40 days after creation is inside the course's 345 days
    assert ledger(facts, COURSE).entry("out").scores is True
    assert ledger(facts, rules_with(TAOBAO, rating_period_days=16)).entry("out").scores is True


# --- same item within 14 days --------------------------------------------------------------------------------------


def test_several_goods_of_one_item_score_once():
    facts = [fact(f"g{d}", trade=local(2026, 1, d), item="cup") for d in (1, 5, 9)]
    result = ledger(facts)
    assert outcome(result) == {"g1": (1, None), "g5": (0, "same_item_14_days"), "g9": (0, "same_item_14_days")}
    assert result.entry("g9").merged_into == "g1"
    assert result.score == 1


def test_several_bads_score_minus_one_once_and_mixed_results_each_once():
    facts = [
        fact("b1", "bad", trade=local(2026, 1, 1), item="cup"),
        fact("g1", "good", trade=local(2026, 1, 2), item="cup"),
        fact("b2", "bad", trade=local(2026, 1, 3), item="cup"),
        fact("n1", "neutral", trade=local(2026, 1, 4), item="cup"),
        fact("g2", "good", trade=local(2026, 1, 5), item="cup"),
        fact("n2", "neutral", trade=local(2026, 1, 6), item="cup"),
    ]
    assert outcome(ledger(facts)) == {
        "b1": (-1, None),
        "g1": (1, None),
        "b2": (0, "same_item_14_days"),
        "n1": (0, None),
        "g2": (0, "same_item_14_days"),
        "n2": (0, "same_item_14_days"),
    }
    assert ledger(facts).score == 0


def test_same_item_window_is_14_calendar_days_in_the_shop_time_zone():
    # window opened on Jan 1 (23:59) holds Jan 1 … Jan 14; Jan 15 00:00 opens a new one although it is only
    # 13 days and 1 minute later
    facts = [
        fact("a", trade=local(2026, 1, 1, 23, 59), item="cup"),
        fact("b", trade=local(2026, 1, 14, 23, 59), item="cup"),
        fact("c", trade=local(2026, 1, 15, 0, 0), item="cup"),
    ]
    assert outcome(ledger(facts)) == {"a": (1, None), "b": (0, "same_item_14_days"), "c": (1, None)}
    assert outcome(ledger(facts, rules_with(COURSE, same_item_days=15)))["c"] == (0, "same_item_14_days")


def test_same_item_dates_use_the_shop_time_zone_not_utc():
    utc = dt.UTC
    facts = [
        fact("a", trade=dt.datetime(2026, 1, 1, 12, 0, tzinfo=utc), item="cup"),  # Jan 1 20:00 local
        fact("b", trade=dt.datetime(2026, 1, 14, 16, 30, tzinfo=utc), item="cup"),  # Jan 15 00:30 local
    ]
    assert outcome(ledger(facts)) == {"a": (1, None), "b": (1, None)}
    assert outcome(credit_ledger(COURSE, facts, tz=utc, at=LATE))["b"] == (0, "same_item_14_days")


def test_same_item_windows_do_not_slide():
    facts = [fact(k, trade=local(2026, 1, d), item="cup") for k, d in (("a", 1), ("b", 10), ("c", 20), ("d", 30))]
    # a opens Jan 1–14 (b merged); c opens Jan 20 – Feb 2 (d merged) although c is 10 days after b
    assert outcome(ledger(facts)) == {
        "a": (1, None),
        "b": (0, "same_item_14_days"),
        "c": (1, None),
        "d": (0, "same_item_14_days"),
    }


def test_same_item_needs_same_buyer_same_seller_same_item():
    facts = [
        fact("a", item="cup"),
        fact("other_item", item="pot"),
        fact("other_buyer", item="cup", buyer="b2"),
        fact("other_seller", item="cup", seller="shop2"),
    ]
    assert ledger(facts).score == 4


def test_ratings_that_do_not_score_open_no_window():
    facts = [
        fact("unpaid", trade=local(2026, 1, 1), item="cup", paid=False),
        fact("paid", trade=local(2026, 1, 5), item="cup"),
    ]
    assert outcome(ledger(facts)) == {"unpaid": (0, "not_paid_or_not_successful"), "paid": (1, None)}


# --- monthly cap -------------------------------------------------------------------------------------------------


def test_monthly_cap_six_goods_per_pair():
    result = ledger(month_trades(8))
    assert [outcome(result)[f"t{i}"] for i in range(8)] == [(1, None)] * 6 + [(0, "monthly_cap")] * 2
    assert result.score == 6
    assert result.entry("t6").pair_month_net == 6
    assert result.not_scored == {"monthly_cap": 2}


def test_monthly_cap_six_bads_per_pair():
    result = ledger(month_trades(7, result="bad"))
    assert result.score == -6
    assert outcome(result)["t6"] == (0, "monthly_cap")
    assert result.entry("t6").pair_month_net == -6


def test_monthly_cap_is_on_the_net_score():
    facts = [*month_trades(6), fact("bad", "bad", trade=local(2026, 1, 20)), fact("good", trade=local(2026, 1, 21))]
    facts.append(fact("neutral", "neutral", trade=local(2026, 1, 22)))
    facts.append(fact("good2", trade=local(2026, 1, 23)))
    result = ledger(facts)
    # 6 goods → 6; bad → 5; good → 6; neutral scores 0 at the cap; good2 → cap
    assert outcome(result)["bad"] == (-1, None)
    assert outcome(result)["good"] == (1, None)
    assert outcome(result)["neutral"] == (0, None)
    assert outcome(result)["good2"] == (0, "monthly_cap")
    assert result.score == 6


def test_monthly_cap_per_pair_and_per_month():
    facts = [*month_trades(7), *month_trades(7, buyer="b2", prefix="u"), *month_trades(7, start=1, prefix="f")]
    facts = facts[:14] + [fact(f"f{i}", trade=local(2026, 2, 1 + i)) for i in range(7)]
    assert ledger(facts).score == 18
    assert rules_with(COURSE, monthly_cap=2).monthly_cap == 2
    assert ledger(facts, rules_with(COURSE, monthly_cap=2)).score == 6


def test_month_boundary_in_the_shop_time_zone():
    facts = [
        *month_trades(6),
        fact("jan31", trade=local(2026, 1, 31, 23, 59)),  # 15:59 UTC Jan 31
        fact("feb1", trade=local(2026, 2, 1, 0, 0)),  # 16:00 UTC Jan 31: still January in UTC
    ]
    result = ledger(facts)
    assert outcome(result)["jan31"] == (0, "monthly_cap")
    assert outcome(result)["feb1"] == (1, None)
    assert (result.entry("jan31").month, result.entry("feb1").month) == ("2026-01", "2026-02")
    assert outcome(credit_ledger(COURSE, facts, tz=dt.UTC, at=LATE))["feb1"] == (0, "monthly_cap")


def test_month_is_the_trade_creation_month_not_the_rating_month():
    facts = [*month_trades(6), fact("late", trade=local(2026, 1, 30), rated=local(2026, 2, 10))]
    assert outcome(ledger(facts))["late"] == (0, "monthly_cap")


def test_a_late_rating_of_an_earlier_trade_takes_the_cap_slot():
    facts = month_trades(7, start=2)
    facts.append(fact("first", trade=local(2026, 1, 1), rated=local(2026, 1, 25)))
    before = ledger(facts, at=local(2026, 1, 20))
    assert [e.id for e in before.entries if e.reason == "monthly_cap"] == ["t6"]
    assert "first" not in outcome(before)  # not given yet as of Jan 20
    after = ledger(facts, at=local(2026, 1, 26))
    assert [e.id for e in after.entries if e.reason == "monthly_cap"] == ["t5", "t6"]
    assert before.score == after.score == 6


# --- interactions: same item then cap ----------------------------------------------------------------------------


def test_cap_applies_after_the_same_item_merge():
    facts = [*month_trades(6), *(fact(f"cup{d}", trade=local(2026, 1, d), item="cup") for d in (10, 11, 12))]
    result = ledger(facts)
    assert {k: v for k, v in outcome(result).items() if k.startswith("cup")} == {
        "cup10": (0, "monthly_cap"),
        "cup11": (0, "same_item_14_days"),
        "cup12": (0, "same_item_14_days"),
    }
    assert result.not_scored == {"monthly_cap": 1, "same_item_14_days": 2}


def test_merged_ratings_do_not_use_up_the_cap():
    facts = [fact("cup1", trade=local(2026, 1, 1), item="cup"), fact("cup2", trade=local(2026, 1, 2), item="cup")]
    facts += month_trades(6, start=3)
    result = ledger(facts)
    assert result.score == 6
    assert result.not_scored == {"same_item_14_days": 1, "monthly_cap": 1}
    assert outcome(result)["t5"] == (0, "monthly_cap")


# --- as of, order, history, validation ---------------------------------------------------------------------------


def test_ratings_given_after_at_are_not_known():
    result = ledger([fact("a", rated=local(2026, 1, 12)), fact("b", rated=local(2026, 1, 14))], at=local(2026, 1, 13))
    assert [e.id for e in result.entries] == ["a"]


def test_entries_in_trade_creation_then_id_order():
    facts = [fact("b", trade=local(2026, 1, 2)), fact("c", trade=local(2026, 1, 1)), fact("a", trade=local(2026, 1, 2))]
    assert [e.id for e in ledger(facts).entries] == ["c", "a", "b"]


def test_history_per_month_and_day_with_gaps():
    facts = [
        fact("jan", trade=local(2026, 1, 10), rated=local(2026, 1, 12)),
        fact("jan_bad", "bad", trade=local(2026, 1, 11), rated=local(2026, 1, 12)),
        fact("jan2", trade=local(2026, 1, 12), rated=local(2026, 1, 14)),
        fact("mar", trade=local(2026, 3, 2), rated=local(2026, 3, 3)),
        fact("x", paid=False, trade=local(2026, 2, 2)),
    ]
    result = ledger(facts, at=local(2026, 4, 5))
    assert [(p.period.isoformat(), p.points, p.score) for p in result.history("month")] == [
        ("2026-01-01", 1, 1),
        ("2026-02-01", 0, 1),
        ("2026-03-01", 1, 2),
        ("2026-04-01", 0, 2),
    ]
    days = result.history("day")
    assert (days[0].period, days[0].points, days[0].score) == (dt.date(2026, 1, 12), 0, 0)
    assert (days[2].period, days[2].score) == (dt.date(2026, 1, 14), 1)
    assert (days[-1].period, days[-1].score) == (dt.date(2026, 4, 5), 2)
    assert len(days) == (dt.date(2026, 4, 5) - dt.date(2026, 1, 12)).days + 1
    assert ledger([]).history() == ()
    with pytest.raises(ValueError, match=r"^by: "):
        result.history("week")


def test_level_and_points_to_next():
    result = ledger([fact(str(i), buyer=f"b{i}") for i in range(5)], TAOBAO)
    assert (result.score, result.level.index, result.level.name, result.points_to_next) == (5, 1, "1心", 6)


@pytest.mark.parametrize(
    ("facts", "message"),
    [
        ([fact("a"), fact("a", item="x")], "review 'a': duplicate id"),
        ([fact("a", line="L"), fact("b", line="L")], "review 'b': a second buyer rating of order line 'L'"),
        ([fact("default:1")], "reserved"),
        (["not a fact"], "facts: expected ReviewFact"),
    ],
)
def test_bad_fact_lists(facts, message):
    with pytest.raises(ValueError, match=message):
        ledger(facts)


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"created_at": dt.datetime(2026, 1, 1)}, "created_at must be a time-zone aware"),
        ({"trade_created_at": "2026-01-01"}, "trade_created_at must be a time-zone aware"),
        ({"trade_success_at": None}, "trade_success_at is required"),
        ({"role": "shop"}, "role must be buyer or seller"),
        ({"result": "great"}, "result must be good, neutral or bad"),
        ({"id": ""}, "^id: "),
    ],
)
def test_bad_facts_name_the_field(changes, message):
    with pytest.raises(ValueError, match=message):
        fact("x", **changes)


def test_bad_at_and_tz():
    with pytest.raises(ValueError, match=r"^at: "):
        credit_ledger(COURSE, [], tz=SH, at=dt.datetime(2026, 1, 1))
    with pytest.raises(ValueError, match=r"^tz: "):
        credit_ledger(COURSE, [], tz="Asia/Shanghai", at=LATE)  # type: ignore[arg-type]
