"""Staff performance and recovery arithmetic (pure), with hand-computed figures."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from huitouke.service.performance import TicketFacts, by_agent, by_key, percentile, rates


def facts(i: int, **kw: object) -> TicketFacts:
    base: dict[str, object] = {
        "ticket_id": i,
        "type": "quality",
        "owner": "",
        "first_owner": "",
        "products": (),
        "first_response_minutes": None,
        "resolution_minutes": None,
        "has_policy": True,
        "breached": False,
        "reopened": False,
    }
    base.update(kw)
    return TicketFacts(**base)  # type: ignore[arg-type]


def test_percentile_interpolates() -> None:
    assert percentile([], 50) is None
    assert percentile([7.0], 90) == 7.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 50) == 25.0
    assert percentile([10.0, 20.0, 30.0, 40.0], 90) == pytest.approx(37.0)


@given(st.lists(st.floats(min_value=0, max_value=1e6), min_size=1, max_size=50))
def test_percentiles_are_ordered_and_within_range(values: list[float]) -> None:
    p50, p90 = percentile(values, 50), percentile(values, 90)
    assert p50 is not None
    assert p90 is not None
    assert min(values) <= p50 <= p90 <= max(values)


def test_by_agent_counts_owned_and_first_owned_apart() -> None:
    tickets = [
        # wang took three tickets first; li works one of them now (transferred)
        facts(1, owner="wang", first_owner="wang", first_response_minutes=30, resolution_minutes=300),
        facts(2, owner="wang", first_owner="wang", first_response_minutes=90, breached=True, reopened=True),
        facts(3, owner="li", first_owner="wang", first_response_minutes=60, resolution_minutes=120),
        facts(4, owner="li", first_owner="li", first_response_minutes=10, has_policy=False),
        facts(5),  # nobody took it
    ]
    rows = {f.key: f for f in by_agent(tickets, {"li": Decimal("20.00"), "zhao": Decimal("5.00")})}
    wang, li, zhao = rows["wang"], rows["li"], rows["zhao"]
    assert (wang.owned, wang.first_owned) == (2, 3)
    assert (wang.first_response_median, wang.first_response_p90) == (60.0, pytest.approx(84.0))
    assert (wang.resolution_median, wang.resolved) == (300.0, 1)
    assert (wang.sla_compliance, wang.reopen_rate) == (0.5, 0.5)
    assert (li.owned, li.first_owned, li.first_response_median) == (2, 1, 10.0)
    assert li.sla_compliance == 1.0  # only the ticket with a policy counts
    assert li.compensation == Decimal("20.00")
    assert (zhao.owned, zhao.first_owned, zhao.compensation, zhao.sla_compliance) == (0, 0, Decimal("5.00"), None)
    assert [f.key for f in by_agent(tickets, {})] == ["wang", "li"]  # by tickets owned (2 each), then first owned


def test_by_key_counts_a_ticket_once_per_group() -> None:
    tickets = [
        facts(1, type="quality", products=("龙井", "茶杯"), first_response_minutes=20, resolution_minutes=100),
        facts(2, type="quality", products=("龙井",), breached=True),
        facts(3, type="logistics", products=(), first_response_minutes=40),
    ]
    per_type = {f.key: f for f in by_key(tickets, lambda t: (t.type,))}
    assert (per_type["quality"].owned, per_type["quality"].sla_compliance) == (2, 0.5)
    assert per_type["logistics"].first_response_median == 40.0
    per_product = {f.key: f for f in by_key(tickets, lambda t: t.products)}
    assert sorted(per_product) == ["茶杯", "龙井"]
    assert (per_product["龙井"].owned, per_product["茶杯"].owned) == (2, 1)


def test_rates_with_wilson_and_difference_from_no_ticket() -> None:
    out = {r.group: r for r in rates({"resolved": (100, 40), "unresolved": (50, 10), "no_ticket": (1000, 250)}, 90)}
    resolved = out["resolved"]
    assert resolved.rate == 0.4
    assert (round(resolved.low or 0, 4), round(resolved.high or 0, 4)) == (0.3094, 0.4980)
    assert resolved.diff == pytest.approx(0.15)
    assert resolved.diff_low is not None
    assert resolved.diff_low > 0
    assert out["unresolved"].diff == pytest.approx(-0.05)
    assert out["no_ticket"].diff is None
    empty = rates({"resolved": (0, 0), "no_ticket": (0, 0)}, 180)
    assert [(r.n, r.rate) for r in empty] == [(0, None), (0, None)]
