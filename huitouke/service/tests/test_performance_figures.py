"""Staff performance as a stored figure: the page reads what was stored for its period and shop (the same
figures the tickets give live), says when they were computed, keeps them until a recompute (the page's button,
analytics' refresh) or a new business day, and the refresh keeps the default period and drops the others."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from huitouke.analytics.models import FigureSnapshot
from huitouke.analytics.snapshots import snapshots_refresh
from huitouke.service import performance as perf
from huitouke.service import performance_figures as pf
from huitouke.service import report_selectors as rs
from huitouke.service.models import Ticket
from huitouke.service.services import compensation_add, ticket_create


def _ticket(customer: Any, shop: Any, days_ago: int, **fields: Any) -> Ticket:
    t = ticket_create(
        customer=customer,
        shop=shop,
        type=fields.pop("type", "quality"),
        channel="phone",
        subject="s",
        created_at=timezone.now() - timedelta(days=days_ago),
    )
    if fields:
        Ticket.objects.filter(pk=t.pk).update(**fields)
    return t


def _rows(figures: list[perf.Figures]) -> list[tuple[Any, ...]]:
    return [
        (
            f.key,
            f.owned,
            f.first_owned,
            f.first_response_median,
            f.first_response_p90,
            f.resolution_median,
            f.resolved,
            f.sla_compliance,
            f.reopen_rate,
            f.compensation,
        )
        for f in figures
    ]


@pytest.fixture
def tickets(shop: Any, customer: Any, agent: Any, agent2: Any, manager: Any) -> list[Ticket]:
    now = timezone.now()
    t1 = _ticket(customer, shop, 3, owner=agent, first_owner=agent, first_responded_at=now - timedelta(days=2))
    t2 = _ticket(customer, shop, 5, type="logistics", owner=agent2, first_owner=agent, reopen_count=1)
    t3 = _ticket(customer, shop, 40, owner=agent2, first_owner=agent2)  # before the default period
    compensation_add(ticket=t1, kind="coupon", amount="12.50", cost="3.00", actor=manager)
    return [t1, t2, t3]


@pytest.mark.django_db
def test_stored_figures_equal_the_live_ones_and_stay_until_recomputed(shop: Any, customer: Any, tickets: Any) -> None:
    period = rs.period_from("", "", today=timezone.localdate())
    facts = rs.ticket_facts(period=period)
    granted = rs.compensation_by_agent(period=period)
    stored = pf.performance_figures(period=period, shop=None).value
    assert stored.count == len(facts) == 2
    assert _rows(stored.agents) == _rows(perf.by_agent(facts, granted))
    assert _rows(stored.types) == _rows(perf.by_key(facts, lambda t: (t.type,)))
    assert _rows(stored.products) == _rows(perf.by_key(facts, lambda t: t.products))
    assert stored.compensation == {by: rs.compensation_report(period=period, by=by) for by in rs.COMPENSATION_GROUPS}
    assert [f._first for f in stored.agents] == [
        [],
        [],
        [],
    ]  # agent1, agent2, manager (granted)  # the per-ticket minutes are not stored
    _ticket(customer, shop, 1)
    with CaptureQueriesContext(connection) as q:
        again = pf.performance_figures(period=period, shop=None)
    assert (again.value.count, len(q.captured_queries)) == (2, 1)  # one read of the stored figure
    assert pf.performance_recompute(start=period.start, end=period.end, shop_id=None).value.count == 3  # type: ignore[union-attr]
    assert pf.performance_figures(period=period, shop=None).value.count == 3


@pytest.mark.django_db
def test_figures_of_an_earlier_day_are_recomputed(shop: Any, customer: Any, tickets: Any) -> None:
    period = rs.period_from("", "", today=timezone.localdate())
    yesterday = timezone.localdate() - timedelta(days=1)
    assert pf.performance_figures(period=period, shop=shop, today=yesterday).value.count == 2
    _ticket(customer, shop, 1)
    assert pf.performance_figures(period=period, shop=shop, today=yesterday).value.count == 2
    assert pf.performance_figures(period=period, shop=shop).value.count == 3


@pytest.mark.django_db
def test_refresh_keeps_the_default_period_of_each_shop_viewed_and_drops_the_rest(shop: Any, tickets: Any) -> None:
    from huitouke.orders.models import Shop

    today = timezone.localdate()
    default = rs.period_from("", "", today=today)
    custom = rs.Period(date(2026, 1, 1), date(2026, 1, 31))
    other = Shop.objects.create(name="别家")
    pf.performance_figures(period=custom, shop=None)
    pf.performance_figures(period=default, shop=shop)
    pf.performance_figures(period=default, shop=other)
    other.delete()
    base = f"service.performance:start={default.start.isoformat()}:end={default.end.isoformat()}"
    assert "service.performance" in snapshots_refresh()
    keys = set(FigureSnapshot.objects.filter(key__startswith="service.performance:").values_list("key", flat=True))
    assert keys == {base, f"{base}:shop={shop.pk}"}
    assert pf.performance_recompute(start=default.start, end=default.end, shop_id=other.pk or 10**9) is None


@pytest.mark.django_db
def test_page_shows_when_computed_and_managers_recompute(
    client: Any, shop: Any, customer: Any, tickets: Any, agent: Any, manager: Any
) -> None:
    client.force_login(manager)
    page = client.get("/service/reports/", {"shop": shop.name})
    text = page.content.decode()
    assert page.status_code == 200
    assert 'id="performance-computed"' in text
    assert 'id="performance-recompute"' in text
    assert "工单：2 张" in text  # tickets opened in the period
    period = rs.period_from("", "", today=timezone.localdate())
    key = f"service.performance:start={period.start.isoformat()}:end={period.end.isoformat()}:shop={shop.pk}"
    before = FigureSnapshot.objects.get(key=key)
    _ticket(customer, shop, 1)
    assert "工单：2 张" in client.get("/service/reports/", {"shop": shop.name}).content.decode()  # stored, not live
    client.force_login(agent)
    assert client.post("/service/reports/refresh/").status_code == 403
    client.force_login(manager)
    assert client.get("/service/reports/refresh/").status_code == 405
    assert client.post("/service/reports/refresh/", {"shop": "没有"}).status_code == 404
    form = {"shop": shop.name, "start": period.start.isoformat(), "end": period.end.isoformat()}
    answer = client.post("/service/reports/refresh/", form)
    assert answer.status_code == 302
    assert answer["Location"] == (
        f"/service/reports/?start={period.start.isoformat()}&end={period.end.isoformat()}"
        "&shop=%E8%8C%B6%E5%B0%8F%E9%93%BA"
    )
    assert FigureSnapshot.objects.get(key=key).computed_at > before.computed_at
    assert "工单：3 张" in client.get(answer["Location"]).content.decode()


@pytest.mark.django_db
def test_facts_cut_at_the_bound_read_the_breaches_of_the_tickets_read(
    shop: Any, customer: Any, tickets: Any, monkeypatch: Any
) -> None:
    from huitouke.service.models import SlaBreach

    period = rs.period_from("", "", today=timezone.localdate())
    t1, t2, _old = tickets
    SlaBreach.objects.all().delete()
    now = timezone.now()
    for t in (t1, t2):
        SlaBreach.objects.create(ticket=t, clock="resolution", due=now, at=now)
    assert sorted((f.ticket_id, f.breached) for f in rs.ticket_facts(period=period)) == [(t1.pk, True), (t2.pk, True)]
    monkeypatch.setattr(rs, "MAX_TICKETS", 1)
    with CaptureQueriesContext(connection) as q:
        facts = rs.ticket_facts(period=period)
    assert [(f.ticket_id, f.breached) for f in facts] == [(t1.pk, True)]  # the newest, by its id
    assert any(f"IN ({t1.pk})" in x["sql"] for x in q.captured_queries)
