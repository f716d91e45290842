"""The analytics pages as panels (a table and the chart drawn from it), in the viewer's language.

Each function reads one selector result and lays it out; the views render the panels and export their tables,
so what a page shows and what its XLSX holds are the same numbers.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from urllib.parse import urlencode

from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from huitouke.analytics import rfm, selectors
from huitouke.analytics.models import Segment
from huitouke.analytics.tables import Cell, Column, Panel, Table, as_datetime, bar_chart, bar_line_chart, heatmap


def segment_label(key: str) -> str:
    return str(dict(Segment.choices).get(key, key))


def month_label(month: date) -> str:
    return f"{month.year}-{month.month:02d}"


def customers_url(**params: str) -> str:
    return f"{reverse('customers:list')}?{urlencode(params)}"


# --- dashboard -----------------------------------------------------------------------------------------------


def sales_panel(months: Sequence[selectors.MonthSales]) -> Panel:
    labels = [month_label(m.month) for m in months]
    table = Table(
        key="sales",
        title=_("Revenue and average order value by month"),
        columns=[
            Column(_("Month")),
            Column(_("Orders"), "int"),
            Column(_("Revenue"), "money"),
            Column(_("Average order value"), "money"),
            Column(_("Buyers"), "int"),
        ],
        rows=[[label, m.orders, m.revenue, m.aov, m.buyers] for label, m in zip(labels, months, strict=True)],
    )
    chart = bar_line_chart(
        labels, (_("Revenue"), [m.revenue for m in months]), (_("Average order value"), [m.aov for m in months])
    )
    return Panel(table, chart)


def levels_panel(levels: dict[str, int], *, counted_at: datetime | None = None) -> Panel:
    """Members per level; `counted_at` (stored counts) is said under the table."""
    if not levels:
        note = _("No member levels are set up yet.")
    elif counted_at is not None:
        at = formats.date_format(timezone.localtime(counted_at), "Y-m-d H:i")
        note = _("Members counted at %(at)s.") % {"at": at}
    else:
        note = ""
    table = Table(
        key="levels",
        title=_("Members per level"),
        columns=[Column(_("Level")), Column(_("Members"), "int")],
        rows=[[name, count] for name, count in levels.items()],
        note=note,
    )
    chart = bar_chart(list(levels), [(_("Members"), list(levels.values()))]) if levels else None
    return Panel(table, chart)


def segments_panel(distribution: dict[str, int]) -> Panel:
    total = sum(distribution.values())
    keys = [k for k in rfm.KEYS if k in distribution]
    table = Table(
        key="segments",
        title=_("Customers per RFM segment"),
        columns=[Column(_("Segment")), Column(_("Customers"), "int"), Column(_("Share"), "percent")],
        rows=[[segment_label(k), distribution[k], distribution[k] / total if total else None] for k in keys],
        links=[customers_url(segment=k) for k in keys],
        note="" if total else _("No scores yet: they are computed every night, or now with the button above."),
    )
    chart = (
        bar_chart(
            [segment_label(k) for k in keys], [(_("Customers"), [distribution[k] for k in keys])], horizontal=True
        )
        if total
        else None
    )
    return Panel(table, chart)


def movements_panel(moves: Sequence[selectors.Movement]) -> Panel:
    table = Table(
        key="movements",
        title=_("Biggest movements between segments this week"),
        columns=[Column(_("From")), Column(_("To")), Column(_("Customers"), "int")],
        rows=[[segment_label(m.source), segment_label(m.target), m.customers] for m in moves],
        links=[customers_url(rfm_move=m.filter_value) for m in moves],
        note=(
            _("Compared with the week of %(week)s.") % {"week": moves[0].previous_week.isoformat()}
            if moves
            else _("Movements appear once two weeks have been scored.")
        ),
    )
    chart = (
        bar_chart(
            [f"{segment_label(m.source)} → {segment_label(m.target)}" for m in moves],
            [(_("Customers"), [m.customers for m in moves])],
            horizontal=True,
            height=90 + 32 * len(moves),
        )
        if moves
        else None
    )
    return Panel(table, chart)


# --- products --------------------------------------------------------------------------------------------------


def _product_rows(items: Sequence[selectors.ProductSales], days: int) -> list[list[Cell]]:
    return [
        [
            p.title,
            p.category,
            p.units,
            p.revenue,
            p.previous_units,
            p.growth,
            round(p.velocity(days), 3),
            as_datetime(p.last_sold),
        ]
        for p in items
    ]


def _product_columns() -> list[Column]:
    return [
        Column(_("Product")),
        Column(_("Category")),
        Column(_("Units"), "int"),
        Column(_("Revenue"), "money"),
        Column(_("Units in the period before"), "int"),
        Column(_("Growth"), "percent"),
        Column(_("Units per day"), "number"),
        Column(_("Last sold"), "date"),
    ]


def product_panels(board: selectors.ProductBoard) -> list[Panel]:
    days = board.days
    panels = []
    specs = [
        ("hot_units", _("Best sellers by units"), board.by_units, _("Units")),
        ("hot_revenue", _("Best sellers by revenue"), board.by_revenue, _("Revenue")),
        ("growing", _("Fastest growing"), board.growing, _("Growth")),
        ("slowest", _("Slowest sellers"), board.slowest, _("Units")),
    ]
    for key, title, items, measure in specs:
        table = Table(key=key, title=title, columns=_product_columns(), rows=_product_rows(items, days))
        if key == "growing":
            values: list[float | int | Decimal | None] = [p.growth for p in items]
        elif key == "hot_revenue":
            values = [p.revenue for p in items]
        else:
            values = [p.units for p in items]
        chart = (
            bar_chart([p.title for p in items], [(measure, values)], horizontal=True, percent=key == "growing")
            if items
            else None
        )
        panels.append(Panel(table, chart))
    stale = Table(
        key="stale",
        title=_("Not sold for %(days)s days") % {"days": board.stale_days},
        columns=[Column(_("Product")), Column(_("Category")), Column(_("Last sold"), "date")],
        rows=[[p.title, p.category, as_datetime(p.last_sold)] for p in board.stale],
        note=_("Never sold when the date is empty."),
    )
    panels.append(Panel(stale, None))
    return panels


def quality_panel(items: Sequence[selectors.ProductQuality]) -> Panel:
    table = Table(
        key="repurchase",
        title=_("Repurchase and refunds per product"),
        columns=[
            Column(_("Product")),
            Column(_("Units sold"), "int"),
            Column(_("Refund share"), "percent"),
            Column(_("Buyers"), "int"),
            Column(_("Bought again"), "int"),
            Column(_("Repurchase rate"), "percent"),
            Column(_("Median days to repurchase"), "days"),
        ],
        rows=[
            [
                q.title,
                q.units_sold,
                q.refund_share,
                q.cycle.buyers if q.cycle else 0,
                q.cycle.repeat_buyers if q.cycle else 0,
                q.cycle.repurchase_rate if q.cycle else None,
                q.cycle.median_interval_days if q.cycle else None,
            ]
            for q in items
        ],
        note=_("The median days to repurchase is the replenishment cycle that care reminders use."),
    )
    chart = (
        bar_chart(
            [q.title for q in items],
            [
                (_("Repurchase rate"), [q.cycle.repurchase_rate if q.cycle else None for q in items]),
                (_("Refund share"), [q.refund_share for q in items]),
            ],
            horizontal=True,
            percent=True,
            height=max(300, 28 * len(items)),
        )
        if items
        else None
    )
    return Panel(table, chart)


# --- customer groups -------------------------------------------------------------------------------------------


def _dimension_title(key: str) -> str:
    return {
        "level": _("Member level"),
        "province": _("Province"),
        "price_band": _("Average order value band"),
        "hour": _("Hour of purchase"),
        "weekday": _("Day of the week"),
        "category": _("Product category"),
    }[key]


def _value_label(key: str, value: str) -> str:
    if value in ("", "None"):
        return _("(none)")
    if key == "weekday":
        names = [_("Monday"), _("Tuesday"), _("Wednesday"), _("Thursday"), _("Friday"), _("Saturday"), _("Sunday")]
        return names[int(value) - 1]
    if key == "hour":
        return f"{int(value)}"
    if key == "price_band":
        return value.replace(">=", "≥ ¥").replace("<", "< ¥")
    return value


def group_panels(comparison: selectors.GroupComparison) -> list[Panel]:
    top_label, rest_label = _("Top %(share)s of buyers") % {"share": "20%"}, _("Other buyers")
    summary = Table(
        key="summary",
        title=_("Top %(share)s of buyers against the others") % {"share": "20%"},
        columns=[Column(_("Measure")), Column(top_label, "number"), Column(rest_label, "number")],
        row_kinds=["int", "money", "percent", "int", "number", "money"],
        rows=[
            [_("Customers"), comparison.top_customers, comparison.rest_customers],
            [_("Revenue"), comparison.top_revenue, comparison.rest_revenue],
            [
                _("Share of revenue"),
                comparison.top_revenue_share,
                None if comparison.top_revenue_share is None else 1 - comparison.top_revenue_share,
            ],
            [_("Orders"), comparison.top_orders, comparison.rest_orders],
            [_("Orders per customer"), comparison.orders_per_customer(True), comparison.orders_per_customer(False)],
            [_("Average order value"), comparison.aov(True), comparison.aov(False)],
        ],
    )
    panels = [Panel(summary, None)]
    unit_titles = {"customers": _("customers"), "orders": _("orders"), "revenue": _("revenue")}
    for dim in comparison.dimensions:
        labels = [_value_label(dim.key, r.value) for r in dim.rows]
        unit = unit_titles[dim.unit]
        kind = "money" if dim.unit == "revenue" else "int"
        table = Table(
            key=dim.key,
            title=_dimension_title(dim.key),
            columns=[
                Column(_dimension_title(dim.key)),
                Column(f"{top_label} ({unit})", kind),
                Column(_("Share"), "percent"),
                Column(f"{rest_label} ({unit})", kind),
                Column(_("Share"), "percent"),
                Column(_("Index"), "number"),
            ],
            rows=[
                [
                    label,
                    Decimal(str(r.top)) if kind == "money" else int(r.top),
                    r.top_share,
                    Decimal(str(r.rest)) if kind == "money" else int(r.rest),
                    r.rest_share,
                    None if r.index is None else round(r.index, 2),
                ]
                for label, r in zip(labels, dim.rows, strict=True)
            ],
            note=_(
                "Index: the share among the top buyers divided by the share among the others "
                "(above 1: more typical of the top)."
            ),
        )
        chart = bar_chart(
            labels,
            [(top_label, [r.top_share for r in dim.rows]), (rest_label, [r.rest_share for r in dim.rows])],
            percent=True,
        )
        panels.append(Panel(table, chart))
    return panels


# --- cohorts -----------------------------------------------------------------------------------------------------


def cohort_panels(items: Sequence[selectors.Cohort]) -> list[Panel]:
    width = max((len(c.active) for c in items), default=0)
    offsets = [f"+{k}" for k in range(width)]
    retention = Table(
        key="retention",
        title=_("Retention by first-purchase month"),
        columns=[
            Column(_("First purchase")),
            Column(_("Customers"), "int"),
            *(Column(_("Month %(n)s") % {"n": k}, "percent") for k in range(width)),
        ],
        rows=[[month_label(c.month), c.customers, *c.retention(), *([None] * (width - len(c.active)))] for c in items],
        note=_("Share of each cohort that bought again n months after its first month (month 0 is the first)."),
    )
    chart = heatmap(
        offsets,
        [month_label(c.month) for c in items],
        [[*c.retention(), *([None] * (width - len(c.active)))] for c in items],
    )
    revenue = Table(
        key="cohort_revenue",
        title=_("Revenue by first-purchase month"),
        columns=[
            Column(_("First purchase")),
            Column(_("Customers"), "int"),
            Column(_("Revenue"), "money"),
            Column(_("Revenue per customer"), "money"),
            *(Column(_("Month %(n)s") % {"n": k}, "money") for k in range(width)),
        ],
        rows=[
            [
                month_label(c.month),
                c.customers,
                c.total_revenue,
                c.revenue_per_customer,
                *c.revenue,
                *([None] * (width - len(c.revenue))),
            ]
            for c in items
        ],
    )
    revenue_chart = bar_chart(
        [month_label(c.month) for c in items],
        [(_("Revenue per customer"), [c.revenue_per_customer for c in items])],
    )
    return [Panel(retention, chart), Panel(revenue, revenue_chart)]
