"""The service reports against the real database: ticket facts in business minutes, the compensation ledger
grouped four ways, the recovery counts, the complaint share on analytics' products page, and the pages'
permissions, exports and audit."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal
from typing import Any

import pytest
from django.utils import timezone

from huitouke.service import report_selectors as rs
from huitouke.service.models import Ticket
from huitouke.service.services import compensation_add, ticket_create
from huitouke.service.tests.conftest import sh


def _ticket(customer: Any, shop: Any, **fields: Any) -> Ticket:
    created = fields.pop("created_at", sh(2026, 3, 2, 10, 0))
    order = fields.pop("order", None)
    lines = fields.pop("order_lines", ())
    t = ticket_create(
        customer=customer,
        shop=shop,
        type=fields.pop("type", "quality"),
        channel="phone",
        subject="s",
        created_at=created,
        order=order,
        order_lines=lines,
    )
    if fields:
        Ticket.objects.filter(pk=t.pk).update(**fields)
    return Ticket.objects.get(pk=t.pk)


@pytest.fixture
def period() -> rs.Period:
    return rs.period_from("2026-03-01", "2026-03-31", today=date(2026, 4, 1))


@pytest.mark.django_db
def test_ticket_facts_in_business_minutes(shop: Any, customer: Any, agent: Any, agent2: Any, period: rs.Period) -> None:
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory

    tea = ProductFactory.create(shop=shop, title="龙井")
    order = OrderFactory.create(shop=shop, customer=customer, order_no="P1")
    line = OrderLineFactory.create(order=order, line_no=1, title="龙井 250g", product=tea)
    t1 = _ticket(
        customer,
        shop,
        order=order,
        order_lines=[line],
        owner=agent2,
        first_owner=agent,
        first_responded_at=sh(2026, 3, 2, 10, 30),
        resolved_at=sh(2026, 3, 2, 14, 0),
        reopen_count=1,
    )
    _ticket(customer, shop, created_at=sh(2026, 4, 2, 10, 0))  # outside the period
    from huitouke.service.models import SlaBreach

    SlaBreach.objects.all().delete()  # opened in the past, its clocks were found breached at creation
    facts = rs.ticket_facts(period=period)
    assert len(facts) == 1
    f = facts[0]
    assert (f.ticket_id, f.owner, f.first_owner, f.products) == (t1.pk, "agent2", "agent1", ("龙井",))
    # 10:00 → 10:30; 10:00 → 12:00 and 13:30 → 14:00 (the lunch break does not count)
    assert (f.first_response_minutes, f.resolution_minutes) == (30.0, 150.0)
    assert (f.has_policy, f.breached, f.reopened) == (True, False, True)
    SlaBreach.objects.create(ticket=t1, clock="resolution", due=sh(2026, 3, 2, 12, 0), at=sh(2026, 3, 2, 12, 1))
    assert rs.ticket_facts(period=period)[0].breached is True


@pytest.mark.django_db
def test_compensation_report_four_ways(shop: Any, customer: Any, agent: Any, manager: Any, period: rs.Period) -> None:
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory

    tea = ProductFactory.create(shop=shop, title="龙井")
    order = OrderFactory.create(shop=shop, customer=customer, order_no="P2")
    line = OrderLineFactory.create(order=order, line_no=1, title="龙井 250g", product=tea)
    quality = _ticket(customer, shop, order=order, order_lines=[line])
    late = _ticket(customer, shop, type="logistics")
    inside = sh(2026, 3, 10, 10, 0)
    compensation_add(
        ticket=quality, kind="partial_refund", actor=agent, amount="10.00", cost="10.00", order_line=line, at=inside
    )
    compensation_add(ticket=late, kind="coupon", actor=manager, amount="20.00", cost="5.00", at=inside)
    from huitouke.service.models import Compensation

    Compensation.objects.update(created_at=inside)
    assert rs.compensation_report(period=period, by="kind") == [
        ("partial_refund", 1, Decimal("10.00"), Decimal("10.00")),
        ("coupon", 1, Decimal("20.00"), Decimal("5.00")),
    ]
    assert rs.compensation_report(period=period, by="product") == [
        ("龙井", 1, Decimal("10.00"), Decimal("10.00")),
        ("", 1, Decimal("20.00"), Decimal("5.00")),
    ]
    assert [r[0] for r in rs.compensation_report(period=period, by="reason")] == ["quality", "logistics"]
    assert rs.compensation_by_agent(period=period) == {"agent1": Decimal("10.00"), "manager1": Decimal("20.00")}
    later = rs.period_from("2026-04-01", "2026-04-30", today=date(2026, 5, 1))
    assert rs.compensation_report(period=later, by="agent") == []


def test_period_parsing() -> None:
    today = date(2026, 5, 31)
    assert rs.period_from("", "", today=today) == rs.Period(date(2026, 5, 2), date(2026, 5, 31))
    assert rs.period_from("2020-01-01", "2026-05-31", today=today).start == date(
        2025, 5, 31
    )  # at most 366 days, both ends counted
    for start, end, field in (("2026-13-01", "", "start"), ("", "soon", "end"), ("2026-05-02", "2026-05-01", "start")):
        with pytest.raises(ValueError, match=field):
            rs.period_from(start, end, today=today)


@pytest.mark.django_db
def test_recovery_counts(shop: Any) -> None:
    from huitouke.customers.tests.factories import CustomerFactory
    from huitouke.orders.tests.factories import OrderFactory

    fixed, unfixed, calm, withdrawn = (CustomerFactory.create(name=n) for n in ("甲", "乙", "丙", "丁"))
    fixed_ticket = _ticket(fixed, shop, resolved_at=sh(2026, 3, 2, 14, 0), status="resolved")
    OrderFactory.create(shop=shop, customer=fixed, order_no="F1", ordered_at=sh(2026, 4, 1, 9, 0))
    _ticket(unfixed, shop, created_at=sh(2026, 3, 5, 10, 0))
    OrderFactory.create(shop=shop, customer=unfixed, order_no="U1", ordered_at=sh(2026, 8, 1, 9, 0))  # after 90 days
    _ticket(withdrawn, shop, resolved_at=sh(2026, 3, 3, 10, 0), status="closed", platform_status="CLOSED")
    OrderFactory.create(shop=shop, customer=calm, order_no="C1", ordered_at=sh(2026, 2, 1, 9, 0))
    OrderFactory.create(shop=shop, customer=calm, order_no="C2", ordered_at=sh(2026, 3, 1, 9, 0))
    OrderFactory.create(shop=shop, customer=calm, order_no="C3", ordered_at=sh(2026, 4, 1, 9, 0), status="closed")
    today = date(2026, 12, 1)
    unanswered = {"resolved_satisfied": (0, 0), "resolved_neutral": (0, 0), "resolved_dissatisfied": (0, 0)}
    assert rs.recovery_counts(days=90, today=today) == {
        "resolved": (1, 1),
        "unresolved": (2, 0),
        "no_ticket": (1, 1),
        **unanswered,
        "resolved_no_answer": (1, 1),
    }
    # the customer answers the ticket's survey with a 5 (an earlier survey of a first resolution said 2): the
    # resolved group splits by the latest answer
    from huitouke.service.survey_models import Survey

    for round_, rating, answered in ((1, 2, sh(2026, 3, 1, 9, 0)), (2, 5, sh(2026, 3, 3, 9, 0))):
        Survey.objects.create(
            ticket=fixed_ticket,
            round=round_,
            type="quality",
            sent_at=answered,
            expires_at=answered + timedelta(days=7),
            answered_at=answered,
            rating=rating,
        )
    split = rs.recovery_counts(days=90, today=today)
    assert (split["resolved_satisfied"], split["resolved_dissatisfied"], split["resolved_no_answer"]) == (
        (1, 1),
        (0, 0),
        (0, 0),
    )
    # 180 days: the unresolved customer's August order is inside the window now
    assert rs.recovery_counts(days=180, today=today)["unresolved"] == (2, 1)
    # an anchor whose window has not ended yet is not observed
    assert rs.recovery_counts(days=90, today=date(2026, 5, 1)) == {
        "resolved": (0, 0),
        "unresolved": (0, 0),
        "no_ticket": (0, 0),
        **unanswered,
        "resolved_no_answer": (0, 0),
    }


@pytest.mark.django_db
def test_recovery_no_ticket_group_counts_each_customers_first_order(shop: Any) -> None:
    """The no-ticket group pinned figure by figure: each customer's first counted order since the span began (ties
    by order id), in the shop asked for, by customers who never had a ticket; bought again within the window."""
    from huitouke.customers.tests.factories import CustomerFactory
    from huitouke.orders.tests.factories import OrderFactory, ShopFactory

    other = ShopFactory.create(name="茶二铺", timezone="Asia/Shanghai")
    today = date(2026, 12, 1)  # 90 days: anchors in [2025-09-02, 2026-09-02) Shanghai
    names = ("跨店", "同刻", "旧客", "有单", "关闭", "太晚", "刚好", "超时", "二店")
    cross, tie, old, ticketed, closed, late, edge, over, second = (CustomerFactory.create(name=n) for n in names)

    def order(customer: Any, no: str, at: Any, where: Any = shop, status: str = "completed") -> None:
        OrderFactory.create(shop=where, customer=customer, order_no=no, ordered_at=at, status=status)

    order(cross, "X1", sh(2026, 1, 5, 9, 0))  # first in this shop, again in the other one within 90 days
    order(cross, "X2", sh(2026, 2, 5, 9, 0), other)
    order(tie, "T1", sh(2026, 3, 1, 9, 0), other)  # same instant: the lower id (the other shop) is the first
    order(tie, "T2", sh(2026, 3, 1, 9, 0))
    order(old, "O0", sh(2025, 6, 1, 9, 0))  # before the span: its first order since the span began is O1
    order(old, "O1", sh(2026, 4, 1, 9, 0))
    order(old, "O2", sh(2026, 8, 1, 9, 0))
    order(ticketed, "K1", sh(2026, 4, 1, 9, 0))  # a ticket anywhere, any time: not in the group
    order(ticketed, "K2", sh(2026, 4, 2, 9, 0))
    _ticket(ticketed, other, created_at=sh(2024, 1, 1, 9, 0))
    order(closed, "Z1", sh(2026, 4, 1, 9, 0), status="closed")  # not counted: the next paid order is the first
    order(closed, "Z2", sh(2026, 5, 1, 9, 0), status="paid")
    order(late, "L1", sh(2026, 9, 2, 0, 0))  # the span ended: not observed
    order(edge, "E1", sh(2026, 2, 1, 9, 0))
    order(edge, "E2", sh(2026, 5, 2, 9, 0))  # exactly 90 days later: bought again
    order(edge, "E3", sh(2026, 2, 1, 9, 0) - timedelta(days=1), status="refunded")
    order(over, "V1", sh(2026, 2, 1, 9, 0))
    order(over, "V2", sh(2026, 5, 2, 9, 1))  # a minute past 90 days: not again
    order(second, "S1", sh(2026, 6, 1, 9, 0), other)
    order(second, "S2", sh(2026, 6, 2, 9, 0))

    assert rs.recovery_counts(days=90, today=today)["no_ticket"] == (7, 3)  # again: 跨店 刚好 二店
    assert rs.recovery_counts(days=90, today=today, shop=shop)["no_ticket"] == (5, 2)  # 跨店 旧客 关闭 刚好 超时
    assert rs.recovery_counts(days=90, today=today, shop=other)["no_ticket"] == (2, 1)  # 同刻 二店
    # 180 days: anchors in [2025-06-04, 2026-06-04); 旧客 and 超时 bought again within 180 days
    assert rs.recovery_counts(days=180, today=today)["no_ticket"] == (7, 5)
    assert rs.recovery_counts(days=180, today=today, shop=other)["no_ticket"] == (2, 1)


@pytest.mark.django_db
def test_pages_for_managers_only_with_audited_exports(
    client: Any, shop: Any, customer: Any, agent: Any, manager: Any
) -> None:
    from huitouke.core.models import AuditEntry

    _ticket(customer, shop, created_at=timezone.now() - timedelta(days=1), owner=agent, first_owner=agent)
    client.force_login(agent)
    assert client.get("/service/reports/").status_code == 403
    assert client.get("/service/reports/recovery/").status_code == 403
    client.force_login(manager)
    page = client.get("/service/reports/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "agent1" in text
    assert 'id="panel-agents"' in text
    assert 'id="panel-compensation-agent"' in text
    assert 'href="/"' in text  # a way back
    bad = client.get("/service/reports/?start=2026-99-01")
    assert bad.status_code == 200
    assert 'role="alert">start' in bad.content.decode()  # the parameter is named
    export = client.get("/service/reports/?export=agents")
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
    assert AuditEntry.objects.filter(
        action="export", target_type="service_report", target_id="performance:agents"
    ).exists()
    assert client.get("/service/reports/?export=nothing").status_code == 404
    assert client.get("/service/reports/?shop=没有").status_code == 404
    recovery = client.get("/service/reports/recovery/")
    assert recovery.status_code == 200
    assert 'id="panel-recovery"' in recovery.content.decode()


@pytest.mark.django_db
def test_complaint_share_on_the_products_page(client: Any, shop: Any, customer: Any, manager: Any) -> None:
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ProductFactory

    tea, cup = ProductFactory.create(shop=shop, title="龙井"), ProductFactory.create(shop=shop, title="茶杯")
    now = timezone.now()
    lines = []
    for i in range(4):
        order = OrderFactory.create(shop=shop, customer=customer, order_no=f"S{i}", ordered_at=now - timedelta(days=2))
        lines.append(OrderLineFactory.create(order=order, line_no=1, product=tea if i < 3 else cup, title="x"))
    _ticket(customer, shop, order=lines[0].order, order_lines=[lines[0]], created_at=now - timedelta(days=1))
    today = timezone.localdate()
    assert rs.complaint_share(days=30, today=today) == [("龙井", 3, 1)]
    client.force_login(manager)
    page = client.get("/analytics/products/")
    assert page.status_code == 200
    assert 'id="panel-complaints"' in page.content.decode()


@pytest.mark.django_db
def test_staff_table_carries_each_agents_satisfaction(shop: Any, customer: Any, agent: Any) -> None:
    # seed 002: satisfaction counts in staff evaluation — two answered surveys (5 and 3) and one unanswered for agent1
    from huitouke.service import performance as perf
    from huitouke.service import reports
    from huitouke.service.survey_models import Survey
    from huitouke.service.surveys.selectors import csat_by_agent

    ticket = _ticket(customer, shop, created_at=sh(2026, 3, 2, 10, 0), owner=agent, first_owner=agent)
    for round_, rating in ((1, 5), (2, 3), (3, None)):
        sent = sh(2026, 3, 2 + round_, 10, 0)
        Survey.objects.create(
            ticket=ticket,
            round=round_,
            agent=agent,
            type="quality",
            sent_at=sent,
            expires_at=sent + timedelta(days=7),
            answered_at=sent if rating else None,
            rating=rating,
        )
    csat = csat_by_agent(None, date(2026, 3, 1), date(2026, 3, 31))
    figures = perf.by_agent(rs.ticket_facts(period=rs.Period(date(2026, 3, 1), date(2026, 3, 31))), {})
    table = reports.staff_panel(figures, csat).table
    row = next(r for r in table.rows if r[0] == "agent1")
    assert row[-3:] == [2, 4.0, 0.5]


def test_the_counted_orders_index_covers_exactly_the_counted_statuses() -> None:
    """The recovery report's partial index only serves queries whose status filter is Order.COUNTED."""
    from huitouke.orders.models import Order

    (index,) = [i for i in Order._meta.indexes if i.name == "order_counted_customer_idx"]
    assert index.condition is not None
    assert set(dict(index.condition.children)["status__in"]) == set(Order.COUNTED)
