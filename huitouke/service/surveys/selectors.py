"""Survey reads: a shop's settings and questions, the survey a link names, a ticket's CSAT, the results page's
figures (per agent, type, product and month), and `csat_by_ticket` / `csat_by_agent` for the recovery-effect and
staff-performance reports."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from django.db.models import QuerySet

from huitouke.core.errors import NotFoundError
from huitouke.orders.models import OrderLine, Shop
from huitouke.service.models import Survey, SurveyQuestion, SurveySettings, Ticket
from huitouke.service.surveys.rules import Figures, SurveyFact, figures

COMMENTS_SHOWN = 200


def survey_settings_for(*, shop: Shop) -> SurveySettings:
    """The shop's survey settings, or the defaults (unsaved) when it never changed them."""
    found = SurveySettings.objects.filter(shop=shop).first()
    return found if found is not None else SurveySettings(shop=shop)


def survey_questions(*, shop: Shop) -> QuerySet[SurveyQuestion]:
    return SurveyQuestion.objects.filter(shop=shop).order_by("position", "id")


def survey_for_token(survey_id: int | None) -> Survey:
    """The survey a link names; NotFoundError (the same for every bad link) when there is none."""
    found = None
    if survey_id is not None:
        found = Survey.objects.select_related("ticket__shop").filter(pk=survey_id).first()
    if found is None:
        raise NotFoundError("this survey link is not valid", field="token")
    return found


def ticket_surveys(*, ticket: Ticket) -> QuerySet[Survey]:
    """The ticket's surveys, latest resolution first (the ticket page's panel)."""
    return Survey.objects.filter(ticket=ticket).select_related("praise_by", "recovery_ticket").order_by("-round")


def csat_of(surveys: Iterable[Survey]) -> Survey | None:
    """Of a ticket's (prefetched) surveys, the answered one of the latest resolution: the ticket's CSAT."""
    answered = [s for s in surveys if s.answered_at is not None]
    return max(answered, key=lambda s: s.round) if answered else None


def csat_by_ticket(*, ticket_ids: Iterable[int]) -> dict[int, int]:
    """The CSAT rating (1–5) of each ticket that has an answered survey: the latest resolution's answer. Tickets
    without one are absent. For reports that split tickets by satisfaction (the recovery effect)."""
    ids = sorted(set(ticket_ids))
    out: dict[int, tuple[int, int]] = {}
    for start in range(0, len(ids), 5000):
        rows = Survey.objects.filter(ticket_id__in=ids[start : start + 5000], answered_at__isnull=False)
        for ticket_id, rnd, rating in rows.values_list("ticket_id", "round", "rating"):
            if rating is not None and (ticket_id not in out or out[ticket_id][0] < rnd):
                out[ticket_id] = (rnd, rating)
    return {k: v[1] for k, v in out.items()}


def _bounds(start: date, end: date, zone: ZoneInfo) -> tuple[datetime, datetime]:
    return datetime.combine(start, time.min, zone), datetime.combine(end + timedelta(days=1), time.min, zone)


def _surveys(shop: Shop | None, start: date, end: date) -> QuerySet[Survey]:
    zone = ZoneInfo((shop.timezone if shop else "") or "Asia/Shanghai")
    low, high = _bounds(start, end, zone)
    qs = Survey.objects.filter(sent_at__gte=low, sent_at__lt=high)
    return qs.filter(ticket__shop=shop) if shop is not None else qs


def csat_by_agent(shop: Shop | None, start: date, end: date) -> dict[str, Figures]:
    """Per agent (username; "" for tickets nobody owned) the figures of the surveys sent from `start` to `end`
    (dates in the shop's time zone, both included): sent, answered, distribution, average, NPS. For the staff
    performance report."""
    rows = _surveys(shop, start, end).values_list("agent__username", "rating", "nps")
    return {f.key: f for f in figures(SurveyFact((agent or "",), rating, nps) for agent, rating, nps in rows)}


@dataclass(frozen=True)
class Comment:
    survey_id: int
    ticket_id: int
    ticket_number: int
    agent: str
    rating: int
    comment: str
    answered_at: datetime
    praise: bool


@dataclass(frozen=True)
class Results:
    """The results page: the totals and the figures per agent, ticket type, product and month."""

    total: Figures
    by_agent: list[Figures]
    by_type: list[Figures]
    by_product: list[Figures]
    by_month: list[Figures]
    comments: list[Comment]


def survey_results(*, shop: Shop | None, start: date, end: date, agent: str = "", type: str = "") -> Results:
    """Figures of the surveys sent from `start` to `end` (shop dates, both included), optionally of one agent
    (username) or ticket type. A survey counts under each product of its ticket's lines (the ticket's chosen
    lines, else all of its order's); months are the shop's calendar months of sending."""
    zone = ZoneInfo((shop.timezone if shop else "") or "Asia/Shanghai")
    qs = _surveys(shop, start, end)
    if agent:
        qs = qs.filter(agent__username=agent)
    if type:
        qs = qs.filter(type=type)
    rows = list(
        qs.values_list("pk", "ticket_id", "ticket__order_id", "agent__username", "type", "sent_at", "rating", "nps")
    )
    ticket_ids = {r[1] for r in rows}
    products: dict[int, set[str]] = defaultdict(set)
    chosen = Ticket.order_lines.through.objects.filter(ticket_id__in=ticket_ids).values_list(
        "ticket_id", "orderline__title"
    )
    for ticket_id, title in chosen:
        products[ticket_id].add(title)
    order_ids = {r[2] for r in rows if r[2] is not None and r[1] not in products}
    by_order: dict[int, set[str]] = defaultdict(set)
    for order_id, title in OrderLine.objects.filter(order_id__in=order_ids).values_list("order_id", "title"):
        by_order[order_id].add(title)
    facts_all, facts_agent, facts_type, facts_product, facts_month = [], [], [], [], []
    for _pk, ticket_id, order_id, username, kind, sent_at, rating, nps in rows:
        facts_all.append(SurveyFact(("all",), rating, nps))
        facts_agent.append(SurveyFact((username or "",), rating, nps))
        facts_type.append(SurveyFact((kind,), rating, nps))
        titles = products.get(ticket_id) or (by_order.get(order_id, set()) if order_id else set())
        if titles:
            facts_product.append(SurveyFact(tuple(sorted(titles)), rating, nps))
        facts_month.append(SurveyFact((sent_at.astimezone(zone).strftime("%Y-%m"),), rating, nps))
    totals = figures(facts_all)
    comments = [
        Comment(
            survey_id=s.pk,
            ticket_id=s.ticket_id,
            ticket_number=s.ticket.number,
            agent=s.agent.get_username() if s.agent else "",
            rating=s.rating or 0,
            comment=s.comment,
            answered_at=s.answered_at,  # type: ignore[arg-type]  # filtered on answered_at
            praise=s.praise,
        )
        for s in qs.filter(answered_at__isnull=False)
        .exclude(comment="")
        .select_related("ticket", "agent")
        .order_by("-answered_at", "-id")[:COMMENTS_SHOWN]
    ]
    return Results(
        total=totals[0] if totals else Figures("all"),
        by_agent=figures(facts_agent),
        by_type=figures(facts_type),
        by_product=figures(facts_product),
        by_month=sorted(figures(facts_month), key=lambda f: f.key),
        comments=comments,
    )
