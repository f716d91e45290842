"""Properties of the credit ledger over generated rating lists (hypothesis; pure, no database)."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from hypothesis import given, settings
from hypothesis import strategies as st

from huitouke.reviews.credit import CreditRules, ReviewFact, credit_ledger, rules_for, rules_with, what_if
from huitouke.reviews.tests.test_credit_ledger import SH, fact

START = dt.datetime(2026, 1, 20, 0, 0, tzinfo=SH)
AT = dt.datetime(2026, 6, 1, tzinfo=SH)
RULES = st.sampled_from(
    [rules_for("course"), rules_for("taobao"), rules_with("course", monthly_cap=2, same_item_days=3)]
)


@st.composite
def rating(draw, fid: str, line: str, role: str):
    trade = START + dt.timedelta(minutes=draw(st.integers(0, 60 * 24 * 30)))  # around the Jan/Feb boundary
    success = trade + dt.timedelta(hours=draw(st.integers(0, 24 * 5)))
    rated = success + dt.timedelta(hours=draw(st.integers(-2, 24 * 20)))
    return fact(
        fid,
        draw(st.sampled_from(["good", "good", "neutral", "bad"])),
        trade=trade,
        success=success,
        rated=rated,
        role=role,
        line=line,
        buyer=draw(st.sampled_from(["b1", "b2"])),
        item=draw(st.sampled_from(["cup", "pot", "pan"])),
        paid=draw(st.booleans()) or draw(st.booleans()),
        tmall=draw(st.integers(0, 9)) == 0,
        anonymous=draw(st.booleans()),
    )


@st.composite
def rating_lists(draw, max_size: int = 25):
    n = draw(st.integers(0, max_size))
    facts: list[ReviewFact] = []
    for i in range(n):
        role = draw(st.sampled_from(["buyer", "buyer", "seller"]))
        # seller ratings sometimes share a line with a buyer rating (the other side rated)
        line = f"L{draw(st.integers(0, i))}" if role == "seller" else f"L{i}"
        if any(f.line_key == line and f.role == role for f in facts):
            continue
        facts.append(draw(rating(f"r{i}", line, role)))
    return facts


def buyer_entries(ledger):
    return [e for e in ledger.entries if e.role == "buyer"]


@settings(max_examples=80, deadline=None)
@given(rules=RULES, facts=rating_lists())
def test_score_is_the_sum_of_points_and_counts_add_up(rules: CreditRules, facts):
    ledger = credit_ledger(rules, facts, tz=SH, at=AT)
    entries = buyer_entries(ledger)
    assert ledger.score == sum(e.points for e in entries)
    assert ledger.reviews == len(entries) == ledger.scored + sum(ledger.not_scored.values())
    for e in ledger.entries:
        assert e.points == (e.nominal_points if e.scores else 0)
        assert e.scores == (e.reason is None)
    assert ledger.level.index == sum(1 for spec in rules.levels if ledger.score >= spec.threshold)


@settings(max_examples=80, deadline=None)
@given(rules=RULES, facts=rating_lists())
def test_a_pairs_monthly_net_never_leaves_the_cap(rules: CreditRules, facts):
    ledger = credit_ledger(rules, facts, tz=SH, at=AT)
    running: Counter[tuple[str, str]] = Counter()
    for e in buyer_entries(ledger):  # processing order: every prefix stays within the cap
        running[(e.buyer, e.month)] += e.points
        assert -rules.monthly_cap <= running[(e.buyer, e.month)] <= rules.monthly_cap


@settings(max_examples=80, deadline=None)
@given(rules=RULES, facts=rating_lists())
def test_one_scoring_rating_per_result_and_same_item_window(rules: CreditRules, facts):
    ledger = credit_ledger(rules, facts, tz=SH, at=AT)
    by_id = {e.id: e for e in ledger.entries}
    for e in ledger.entries:
        if e.reason == "same_item_14_days":
            assert e.merged_into is not None
            first = by_id[e.merged_into]
            assert (first.buyer, first.item, first.result) == (e.buyer, e.item, e.result)
            gap = e.trade_created_at.astimezone(SH).date() - first.trade_created_at.astimezone(SH).date()
            assert 0 <= gap.days < rules.same_item_days
        if e.merged_into is not None:  # the rating it merged into passed the same-item rule itself
            assert by_id[e.merged_into].reason in (None, "monthly_cap")


@settings(max_examples=80, deadline=None)
@given(rules=RULES, facts=rating_lists(), extra=st.data())
def test_a_rating_that_cannot_score_changes_nothing(rules: CreditRules, facts, extra):
    new = extra.draw(rating("new", "L-new", "buyer"))
    kind = extra.draw(st.sampled_from(["unpaid", "tmall", "late"]))
    if kind == "unpaid":
        new = fact("new", new.result, trade=new.trade_created_at, line="L-new", buyer=new.buyer, paid=False)
    elif kind == "tmall":
        new = fact("new", new.result, trade=new.trade_created_at, line="L-new", buyer=new.buyer, tmall=True)
    else:
        success = new.trade_created_at + dt.timedelta(days=1)
        new = fact(
            "new", new.result, trade=new.trade_created_at, success=success, line="L-new", buyer=new.buyer,
            rated=new.trade_created_at + dt.timedelta(days=400),
        )  # fmt: skip
    at = max(AT, new.created_at)
    before = credit_ledger(rules, facts, tz=SH, at=at)
    after = credit_ledger(rules, [*facts, new], tz=SH, at=at)
    assert after.score == before.score
    assert [(e.id, e.points, e.reason) for e in after.entries if e.id != "new"] == [
        (e.id, e.points, e.reason) for e in before.entries
    ]
    assert after.entry("new").scores is False


@settings(max_examples=60, deadline=None)
@given(rules=RULES, facts=rating_lists(), order=st.randoms(use_true_random=False))
def test_the_input_order_does_not_matter(rules: CreditRules, facts, order):
    shuffled = list(facts)
    order.shuffle(shuffled)
    assert credit_ledger(rules, shuffled, tz=SH, at=AT) == credit_ledger(rules, facts, tz=SH, at=AT)


@settings(max_examples=60, deadline=None)
@given(rules=RULES, facts=rating_lists(20), extra=st.data())
def test_what_if_agrees_with_the_two_ledgers(rules: CreditRules, facts, extra):
    new = extra.draw(rating("new", "L-new", extra.draw(st.sampled_from(["buyer", "seller"]))))
    at = max(AT, new.created_at)
    x = what_if(rules, facts, new, tz=SH, at=at)
    before = credit_ledger(rules, facts, tz=SH, at=at)
    after = credit_ledger(rules, [*facts, new], tz=SH, at=at)
    assert (x.score_before, x.score_after, x.delta) == (before.score, after.score, after.score - before.score)
    assert x.delta == x.points + sum((c.points_after or 0) - c.points_before for c in x.changes)
    assert x.code == (after.entry("new").reason or "scores")
