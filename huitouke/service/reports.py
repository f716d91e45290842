"""The service reports as analytics panels (a Table, the same one the XLSX export writes, and a plotly chart):
staff performance per agent, type and product, the compensation ledger by product, kind, reason and agent, the
recovery effect, and the complaint share per product on analytics' products page."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _

from huitouke.analytics.tables import Column, Panel, Table, bar_chart
from huitouke.service.models import Compensation, TicketType
from huitouke.service.performance import Figures, Rate

_HOURS = 60.0


def _hours(minutes: float | None) -> float | None:
    return None if minutes is None else round(minutes / _HOURS, 2)


def _figure_columns(first: str) -> list[Column]:
    return [
        Column(first),
        Column(_("Owned"), "int"),
        Column(_("First owned (首问)"), "int"),
        Column(_("First response, median (business hours)"), "number"),
        Column(_("First response, p90 (business hours)"), "number"),
        Column(_("Resolution, median (business hours)"), "number"),
        Column(_("SLA met"), "percent"),
        Column(_("Reopened"), "percent"),
        Column(_("Compensation granted"), "money"),
    ]


def _figure_row(label: str, f: Figures) -> list[object]:
    return [
        label,
        f.owned,
        f.first_owned,
        _hours(f.first_response_median),
        _hours(f.first_response_p90),
        _hours(f.resolution_median),
        f.sla_compliance,
        f.reopen_rate,
        f.compensation,
    ]


def _csat_cells(f: Any) -> list[object]:
    """Answered surveys, the average rating and the share rated 4–5 of one agent's surveys (None: no survey)."""
    if f is None:
        return [0, None, None]
    return [f.answered, f.average, f.satisfied_share]


def staff_panel(figures: Sequence[Figures], csat: Mapping[str, Any] | None = None) -> Panel:
    """The per-agent table; `csat` (username → the agent's survey figures, surveys.selectors.csat_by_agent) adds
    the customers' satisfaction to each agent's row (seed 002: satisfaction counts in staff evaluation)."""
    csat = csat or {}
    table = Table(
        key="agents",
        title=_("Per agent"),
        columns=[
            *_figure_columns(_("Agent")),
            Column(_("Surveys answered"), "int"),
            Column(_("Satisfaction, average (1–5)"), "number"),
            Column(_("Satisfied (4–5)"), "percent"),
        ],
        rows=[[*_figure_row(f.key, f), *_csat_cells(csat.get(str(f.key)))] for f in figures],  # type: ignore[list-item]  # cells, as _figure_row builds them
        note=_(
            "Owned: tickets the agent works now; first owned: tickets the agent took up first (首问负责制), whose "
            "first response counts for the agent. Times are business hours of the shop's calendar; SLA met is the "
            "share of owned tickets with a policy whose clocks were never breached. Satisfaction: the surveys sent "
            "for the agent's resolutions in the period and their answers."
        ),
    )
    labels = [f.key for f in figures[:20]]
    chart = bar_chart(
        labels,
        [
            (_("First response, median (business hours)"), [_hours(f.first_response_median) for f in figures[:20]]),
            (_("Resolution, median (business hours)"), [_hours(f.resolution_median) for f in figures[:20]]),
        ],
    )
    return Panel(table, chart if figures else None)


def type_panel(figures: Sequence[Figures]) -> Panel:
    names = dict(TicketType.choices)
    table = Table(
        key="types",
        title=_("Per ticket type"),
        columns=_figure_columns(_("Type")),
        rows=[_figure_row(str(names.get(f.key, f.key)), f) for f in figures],  # type: ignore[misc]
    )
    chart = bar_chart(
        [str(names.get(f.key, f.key)) for f in figures],
        [(_("SLA met"), [f.sla_compliance for f in figures])],
        percent=True,
    )
    return Panel(table, chart if figures else None)


def product_panel(figures: Sequence[Figures]) -> Panel:
    table = Table(
        key="products",
        title=_("Per product"),
        columns=_figure_columns(_("Product")),
        rows=[_figure_row(f.key, f) for f in figures[:100]],  # type: ignore[misc]
        note=_("A ticket about several products counts for each of them."),
    )
    return Panel(table, None)


def compensation_panel(by: str, rows: Sequence[tuple[str, int, Decimal, Decimal]]) -> Panel:
    titles = {
        "product": (_("Compensation by product"), _("Product")),
        "kind": (_("Compensation by kind"), _("Kind")),
        "reason": (_("Compensation by reason"), _("Ticket type")),
        "agent": (_("Compensation by agent"), _("Agent")),
    }
    title, first = titles[by]
    kinds = {**dict(Compensation.Kind.choices), **dict(TicketType.choices)}
    none = _("platform import") if by == "agent" else _("(none)")

    def label(value: str) -> str:
        if not value:
            return str(none)
        return str(kinds.get(value, value)) if by in ("kind", "reason") else value

    table = Table(
        key=f"compensation-{by}",
        title=str(title),
        columns=[
            Column(str(first)),
            Column(_("Entries"), "int"),
            Column(_("To customers"), "money"),
            Column(_("Cost to the shop"), "money"),
        ],
        rows=[[label(g), n, amount, cost] for g, n, amount, cost in rows],
    )
    chart = bar_chart(
        [label(g) for g, *_rest in rows[:15]], [(_("Cost to the shop"), [r[3] for r in rows[:15]])], horizontal=True
    )
    return Panel(table, chart if rows else None)


def recovery_panel(rates: Sequence[Rate]) -> Panel:
    names = {
        "resolved": _("Ticket resolved"),
        "unresolved": _("Ticket not resolved"),
        "no_ticket": _("No ticket"),
        "resolved_satisfied": _("Resolved, rated satisfied (4–5)"),
        "resolved_neutral": _("Resolved, rated neutral (3)"),
        "resolved_dissatisfied": _("Resolved, rated dissatisfied (1–2)"),
        "resolved_no_answer": _("Resolved, no survey answer"),
    }
    table = Table(
        key="recovery",
        title=_("Repurchase after after-sales"),
        columns=[
            Column(_("Customers")),
            Column(_("Window (days)"), "int"),
            Column(_("Observed"), "int"),
            Column(_("Bought again"), "int"),
            Column(_("Repurchase rate"), "percent"),
            Column(_("Interval low (95 %)"), "percent"),
            Column(_("Interval high (95 %)"), "percent"),
            Column(_("Difference from no ticket"), "percent"),
            Column(_("Difference, low"), "percent"),
            Column(_("Difference, high"), "percent"),
        ],
        rows=[
            [str(names[r.group]), r.days, r.n, r.repurchased, r.rate, r.low, r.high, r.diff, r.diff_low, r.diff_high]
            for r in rates
        ],
        note=_(
            "Resolved: each ticket resolved in the year that ended a window ago, counted from its resolution "
            "(refunds the buyer withdrew are not fixes). Not resolved: tickets of that year left unresolved for "
            "the whole window, counted from their opening. No ticket: customers who never had one, counted from "
            "their first purchase in that year. The resolved tickets are also split by the customer's satisfaction "
            "answer (the ticket's latest answered survey). Intervals are 95 % Wilson intervals; differences use "
            "Newcombe's "
            "interval, so a difference whose interval excludes 0 is unlikely to be chance."
        ),
    )
    windows = sorted({r.days for r in rates})
    series = [
        (str(names[g]), [next((r.rate for r in rates if r.group == g and r.days == d), None) for d in windows])
        for g in names
    ]
    chart = bar_chart([_("%(days)s days") % {"days": d} for d in windows], series, percent=True)
    return Panel(table, chart if rates else None)


def complaint_panel(rows: Sequence[tuple[str, int, int]]) -> Panel:
    table = Table(
        key="complaints",
        title=_("Complaint share per product"),
        columns=[
            Column(_("Product")),
            Column(_("Lines sold"), "int"),
            Column(_("After-sales tickets"), "int"),
            Column(_("Complaint share"), "percent"),
        ],
        rows=[[title, sold, tickets, (tickets / sold) if sold else None] for title, sold, tickets in rows],
        note=_("After-sales tickets about the product's lines sold in the window, against those lines."),
    )
    chart = bar_chart(
        [r[0] for r in rows],
        [(_("Complaint share"), [(t / s) if s else None for _p, s, t in rows])],
        horizontal=True,
        percent=True,
    )
    return Panel(table, chart if rows else None)
