"""The results page's panels (analytics Tables, the same ones the XLSX export writes, with plotly charts): figures
per agent, ticket type, product and month, the distribution of ratings, and the comments."""

from __future__ import annotations

from collections.abc import Sequence

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.analytics.tables import Column, Panel, Table, bar_chart
from huitouke.service.display import label
from huitouke.service.models import TicketType
from huitouke.service.surveys.rules import Figures
from huitouke.service.surveys.selectors import Comment, Results


def _average(f: Figures) -> float | None:
    return None if f.average is None else round(f.average, 2)


def _nps(f: Figures) -> float | None:
    return None if f.nps is None else round(f.nps, 1)


def _columns(first: str) -> list[Column]:
    return [
        Column(first),
        Column(_("Surveys sent"), "int"),
        Column(_("Answered"), "int"),
        Column(_("Response rate"), "percent"),
        Column(_("Average rating (1–5)"), "number"),
        Column(_("Rated 4 or 5"), "percent"),
        *(Column(_("Rated %(n)s") % {"n": n}, "int") for n in range(1, 6)),
        Column(_("NPS answers"), "int"),
        Column(_("NPS"), "number"),
    ]


def _row(name: str, f: Figures) -> list[object]:
    return [
        name,
        f.sent,
        f.answered,
        f.response_rate,
        _average(f),
        f.satisfied_share,
        *f.distribution,
        f.nps_answers,
        _nps(f),
    ]


def _panel(key: str, title: str, first: str, rows: Sequence[tuple[str, Figures]]) -> Panel:
    table = Table(key=key, title=title, columns=_columns(first), rows=[_row(n, f) for n, f in rows])  # type: ignore[misc]
    shown = rows[:20]
    chart = bar_chart(
        [n for n, _f in shown],
        [(_("Average rating (1–5)"), [_average(f) for _n, f in shown])],
        horizontal=len(shown) > 6,
    )
    horizontal = len(shown) > 6
    chart["layout"]["xaxis" if horizontal else "yaxis"] = {"range": [0, 5]}
    return Panel(table, chart if rows else None)


def results_panels(results: Results) -> list[Panel]:
    """Every panel of the results page, in the order shown."""
    total = results.total
    distribution = Panel(
        Table(
            key="overview",
            title=_("Overview"),
            columns=_columns(_("Surveys")),
            rows=[_row(_("All"), total)],  # type: ignore[list-item]
            note=_(
                "Response rate: answered surveys of those sent. NPS: the share of 9–10 answers minus the share of "
                "0–6 answers to a 0–10 question, from -100 to 100 (only surveys with such a question count)."
            ),
        ),
        bar_chart([f"{n} ★" for n in range(1, 6)], [(_("Answers"), total.distribution)]) if total.answered else None,
    )
    nobody = _("(nobody)")
    return [
        distribution,
        _panel("agents", _("Per agent"), _("Agent"), [(f.key or nobody, f) for f in results.by_agent]),
        _panel("types", _("Per ticket type"), _("Type"), [(label(TicketType, f.key), f) for f in results.by_type]),
        _panel("products", _("Per product"), _("Product"), [(f.key, f) for f in results.by_product]),
        _panel("months", _("Per month"), _("Month"), [(f.key, f) for f in results.by_month]),
        comments_panel(results.comments),
    ]


def comments_panel(comments: Sequence[Comment]) -> Panel:
    return Panel(
        Table(
            key="comments",
            title=_("Comments"),
            columns=[
                Column(_("Ticket")),
                Column(_("Agent")),
                Column(_("Rating"), "int"),
                Column(_("Comment")),
                Column(_("Answered"), "date"),
                Column(_("Praise (表扬)")),
            ],
            rows=[
                [
                    f"#{c.ticket_number}",
                    c.agent,
                    c.rating,
                    c.comment,
                    timezone.localtime(c.answered_at).date(),
                    "★" if c.praise else "",
                ]
                for c in comments
            ],
            links=[reverse("service:ticket", args=[c.ticket_id]) + "#survey" for c in comments],
        )
    )
