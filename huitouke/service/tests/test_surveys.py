"""Satisfaction surveys against the real database: one survey per resolution (not for spam/merged tickets, only
for the types a shop surveys), the answer recorded once, a low rating bringing the case back to its first owner
(reopen, or a recovery ticket when closed) with the managers alerted, praise, and the results figures checked
against hand-computed numbers."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from django.utils import translation
from freezegun import freeze_time

from huitouke.core.errors import ApplicationError
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind
from huitouke.service import services
from huitouke.service.models import (
    Notification,
    Survey,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketType,
)
from huitouke.service.selectors import notification_text
from huitouke.service.surveys import selectors as survey_selectors
from huitouke.service.surveys import services as survey_services
from huitouke.service.surveys.links import survey_id_from, survey_token, survey_url
from huitouke.service.tests.conftest import sh

pytestmark = pytest.mark.django_db


def _ticket(customer, shop, agent, *, channel="sms", type="quality", order=None, tags=()):
    t = services.ticket_create(
        customer=customer, shop=shop, order=order, type=type, channel=channel, subject="茶叶受潮", tags=tags
    )
    services.ticket_take(ticket=t, user=agent)
    return t


def _resolve(ticket, actor, note="done"):
    return services.ticket_status_set(ticket=ticket, status="resolved", actor=actor, note=note)


def _survey_messages(ticket):
    return Message.objects.filter(idempotency_key__startswith=f"service:survey:{ticket.pk}:")


def test_resolving_sends_exactly_one_survey_per_resolution(shop, customer, agent, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = _ticket(customer, shop, agent)
        _resolve(t, agent)
    [survey] = Survey.objects.filter(ticket=t)
    assert (survey.round, survey.agent, survey.type) == (0, agent, "quality")
    assert survey.expires_at - survey.sent_at == timedelta(days=7)
    [m] = _survey_messages(t)
    assert (m.channel, m.purpose, m.source_kind, m.idempotency_key) == (
        Channel.SMS,
        Purpose.SERVICE,
        SourceKind.TICKET,
        f"service:survey:{t.pk}:0",
    )
    assert survey_url(survey.pk) in m.body
    assert m.deadline == survey.expires_at
    assert TicketEvent.objects.filter(ticket=t, kind=TicketEvent.Kind.SURVEY_SENT).count() == 1

    # closing the resolved ticket is no new resolution; sending by hand returns the same survey
    services.ticket_status_set(ticket=t, status="closed", actor=agent)
    assert survey_services.survey_send(ticket=t, actor=agent).pk == survey.pk
    assert _survey_messages(t).count() == 1

    # a reopen and a new resolution: a new survey and a new message
    services.ticket_status_set(ticket=t, status="open", actor=agent)
    _resolve(t, agent)
    assert sorted(Survey.objects.filter(ticket=t).values_list("round", flat=True)) == [0, 1]
    assert sorted(_survey_messages(t).values_list("idempotency_key", flat=True)) == [
        f"service:survey:{t.pk}:0",
        f"service:survey:{t.pk}:1",
    ]


@pytest.mark.parametrize("tag", ["spam", "merged", "垃圾", "已合并"])
def test_no_survey_for_a_ticket_closed_as_spam_or_merged(shop, customer, agent, no_wake, tag):
    t = _ticket(customer, shop, agent, tags=[tag])
    services.ticket_status_set(ticket=t, status="closed", actor=agent, note="spam")
    assert not Survey.objects.filter(ticket=t).exists()
    assert not _survey_messages(t).exists()


@pytest.mark.parametrize(
    ("ticket_channel", "message_channel"),
    [("sms", Channel.SMS), ("email", Channel.EMAIL), ("wangwang", Channel.MANUAL), ("phone", Channel.MANUAL)],
)
def test_the_survey_goes_out_on_the_tickets_channel_or_as_a_manual_task(
    shop, customer, agent, no_wake, ticket_channel, message_channel
):
    t = _ticket(customer, shop, agent, channel=ticket_channel)
    _resolve(t, agent)
    [m] = _survey_messages(t)
    assert m.channel == message_channel
    assert bool(m.subject) is (message_channel == Channel.EMAIL)


def test_the_shop_chooses_the_types_surveyed_the_validity_and_can_switch_off(shop, customer, agent, no_wake):
    survey_services.survey_settings_set(shop=shop, enabled=True, types=["refund"], valid_days=3, threshold=2)
    quality = _ticket(customer, shop, agent, type="quality")
    refund = _ticket(customer, shop, agent, type="refund")
    _resolve(quality, agent)
    _resolve(refund, agent)
    assert not Survey.objects.filter(ticket=quality).exists()
    [survey] = Survey.objects.filter(ticket=refund)
    assert survey.expires_at - survey.sent_at == timedelta(days=3)

    survey_services.survey_settings_set(shop=shop, enabled=False, types=[], valid_days=3, threshold=2)
    other = _ticket(customer, shop, agent, type="refund")
    _resolve(other, agent)
    assert not Survey.objects.filter(ticket=other).exists()
    # by hand it goes out all the same (the API's and the ticket page's button)
    assert survey_services.survey_send(ticket=other, actor=agent).ticket_id == other.pk


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"types": ["nonsense"]}, "types"),
        ({"valid_days": 0}, "valid_days"),
        ({"valid_days": 91}, "valid_days"),
        ({"threshold": 6}, "threshold"),
    ],
)
def test_bad_settings_are_refused_by_field(shop, kwargs, field):
    values = {"enabled": True, "types": [], "valid_days": 7, "threshold": 2, **kwargs}
    with pytest.raises(ApplicationError) as caught:
        survey_services.survey_settings_set(shop=shop, **values)
    assert caught.value.field == field


def test_a_survey_cannot_be_sent_before_the_resolution(shop, customer, agent, no_wake):
    t = _ticket(customer, shop, agent)
    with pytest.raises(services.ConflictError) as caught:
        survey_services.survey_send(ticket=t, actor=agent)
    assert caught.value.field == "status"
    assert not Survey.objects.exists()


def test_the_token_names_the_survey_and_a_forged_one_names_none():
    token = survey_token(12345)
    assert survey_id_from(token) == 12345
    value, signature = token.split(".")
    assert survey_id_from(f"{value}.{signature[::-1]}") is None
    assert survey_id_from(f"{int(value, 36) + 1:x}.{signature}") is None
    assert survey_id_from("garbage") is None
    assert survey_id_from("") is None


def test_an_answer_is_recorded_once(shop, customer, agent, no_wake):
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey = Survey.objects.get(ticket=t)
    recorded, created = survey_services.survey_answer(survey=survey, rating="5", comment="  很快，谢谢小王  ")
    assert created is True
    assert (recorded.rating, recorded.comment, recorded.outcome) == (5, "很快，谢谢小王", "")
    _again, created = survey_services.survey_answer(survey=survey, rating=1, comment="改主意了")
    assert created is False
    survey.refresh_from_db()
    assert (survey.rating, survey.comment) == (5, "很快，谢谢小王")
    assert TicketEvent.objects.filter(ticket=t, kind=TicketEvent.Kind.SURVEY_ANSWERED).count() == 1
    t.refresh_from_db()
    assert t.status == TicketStatus.RESOLVED


def test_an_expired_survey_takes_no_answer(shop, customer, agent, no_wake):
    with freeze_time(sh(2026, 3, 2, 10, 0)):
        t = _ticket(customer, shop, agent)
        _resolve(t, agent)
    survey = Survey.objects.get(ticket=t)
    with freeze_time(sh(2026, 3, 9, 10, 0)), pytest.raises(survey_services.SurveyExpiredError):
        survey_services.survey_answer(survey=survey, rating=4)
    with freeze_time(sh(2026, 3, 9, 9, 59)):
        assert survey_services.survey_answer(survey=survey, rating=4)[1] is True


@pytest.mark.parametrize("rating", ["0", "6", "", None, "3.5", "abc", -1])
def test_a_bad_rating_is_refused_naming_the_field(shop, customer, agent, no_wake, rating):
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey = Survey.objects.get(ticket=t)
    with pytest.raises(ApplicationError) as caught:
        survey_services.survey_answer(survey=survey, rating=rating)
    assert caught.value.field == "rating"
    survey.refresh_from_db()
    assert survey.answered_at is None


def test_a_low_rating_reopens_the_ticket_to_its_first_owner_and_alerts_the_managers(
    shop, customer, agent, agent2, manager, owner, no_wake
):
    t = _ticket(customer, shop, agent)
    services.ticket_transfer(ticket=t, to=agent2, note="我下班了", actor=agent)
    _resolve(t, agent2)
    survey = Survey.objects.get(ticket=t)
    assert survey.agent == agent2  # who worked it at the resolution
    Notification.objects.all().delete()

    recorded, _created = survey_services.survey_answer(survey=survey, rating=2, comment="茶叶还是受潮的")

    t.refresh_from_db()
    assert (t.status, t.owner, t.first_owner, t.reopen_count) == (TicketStatus.OPEN, agent, agent, 1)
    assert recorded.outcome == Survey.Outcome.REOPENED
    kinds = list(TicketEvent.objects.filter(ticket=t).order_by("id").values_list("kind", flat=True))
    assert kinds[-3:] == ["survey_answered", "status", "transferred"]
    assert TicketEvent.objects.filter(ticket=t, kind="status", old="resolved", new="open", actor=None).count() == 1
    assert TicketEvent.objects.filter(ticket=t, kind="transferred", new=agent.username).exists()
    alerted = set(
        Notification.objects.filter(kind=Notification.Kind.CSAT_LOW, ticket=t).values_list("user__username", flat=True)
    )
    assert alerted == {manager.username, owner.username, agent.username}
    notice = Notification.objects.get(kind="csat_low", user=manager)
    assert notice.detail == {"rating": 2, "number": t.number}
    with translation.override("en"):
        assert notification_text(notice) == f"Ticket #{t.number}: the customer rated the resolution 2 of 5"


def test_a_low_rating_on_a_closed_ticket_opens_a_recovery_ticket(
    shop, customer, order, agent, agent2, manager, no_wake
):
    t = _ticket(customer, shop, agent, order=order)
    services.ticket_transfer(ticket=t, to=agent2, note="交接", actor=agent)
    _resolve(t, agent2)
    services.ticket_status_set(ticket=t, status="closed", actor=agent2)
    survey = Survey.objects.get(ticket=t)

    recorded, _created = survey_services.survey_answer(survey=survey, rating=1, comment="没人理我")

    t.refresh_from_db()
    assert t.status == TicketStatus.CLOSED
    recovery = recorded.recovery_ticket
    assert recovery is not None
    recovery = Ticket.objects.get(pk=recovery.pk)
    assert (recovery.type, recovery.priority, recovery.customer, recovery.order, recovery.shop) == (
        TicketType.COMPLAINT,
        "high",
        customer,
        order,
        shop,
    )
    assert (recovery.owner, recovery.first_owner, recovery.status) == (agent, agent, TicketStatus.OPEN)
    assert recovery.description == "没人理我"
    assert f"#{t.number}" in recovery.subject
    assert recorded.outcome == Survey.Outcome.RECOVERY
    assert TicketEvent.objects.get(ticket=t, kind="recovery").new == f"#{recovery.number}"
    assert TicketEvent.objects.get(ticket=recovery, kind="recovery").old == f"#{t.number}"
    assert Notification.objects.filter(kind="csat_low", ticket=recovery, user=manager).count() == 1


@pytest.mark.parametrize(
    ("threshold", "rating", "reopened"), [(2, 3, False), (2, 2, True), (3, 3, True), (0, 1, False)]
)
def test_the_threshold_is_per_shop(shop, customer, agent, no_wake, threshold, rating, reopened):
    survey_services.survey_settings_set(shop=shop, enabled=True, types=[], valid_days=7, threshold=threshold)
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey_services.survey_answer(survey=Survey.objects.get(ticket=t), rating=rating)
    t.refresh_from_db()
    assert (t.status == TicketStatus.OPEN) is reopened
    assert Notification.objects.filter(kind="csat_low").exists() is reopened


def test_a_low_rating_on_a_ticket_already_reopened_only_alerts(shop, customer, agent, manager, no_wake):
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    services.ticket_status_set(ticket=t, status="open", actor=agent)
    recorded, _c = survey_services.survey_answer(survey=Survey.objects.get(ticket=t, round=0), rating=1)
    assert recorded.outcome == Survey.Outcome.ALERTED
    assert Ticket.objects.count() == 1
    assert Notification.objects.filter(kind="csat_low", user=manager).count() == 1


def test_praise_is_marked_by_a_manager_once_answered(shop, customer, agent, manager, no_wake):
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey = Survey.objects.get(ticket=t)
    with pytest.raises(services.ConflictError):
        survey_services.survey_praise_set(survey=survey, praise=True, actor=manager)
    survey_services.survey_answer(survey=survey, rating=5, comment="小王耐心又专业")
    marked = survey_services.survey_praise_set(survey=survey, praise=True, actor=manager)
    assert (marked.praise, marked.praise_by) == (True, manager)
    survey_services.survey_praise_set(survey=survey, praise=True, actor=manager)  # no second event
    assert TicketEvent.objects.filter(ticket=t, kind="praise").count() == 1
    assert survey_services.survey_praise_set(survey=survey, praise=False, actor=manager).praise_by is None


def test_extra_questions_are_copied_when_sent_and_checked_on_answer(shop, customer, agent, no_wake):
    q1 = survey_services.survey_question_add(shop=shop, label="客服态度", kind="rating", required=True)
    q2 = survey_services.survey_question_add(shop=shop, label="推荐给朋友?", kind="nps")
    q3 = survey_services.survey_question_add(
        shop=shop, label="怎么联系的", kind="choice", choices=["旺旺", "电话", "旺旺"]
    )
    assert q3.choices == ["旺旺", "电话"]
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey = Survey.objects.get(ticket=t)
    q3_key = f"q{q3.pk}"
    survey_services.survey_question_delete(question=q3)  # the sent survey keeps its copy
    survey.refresh_from_db()
    assert [q["key"] for q in survey.questions] == [f"q{q1.pk}", f"q{q2.pk}", q3_key]
    with pytest.raises(ApplicationError) as caught:
        survey_services.survey_answer(survey=survey, rating=4, answers={f"q{q2.pk}": "9"})
    assert caught.value.field == f"q{q1.pk}"
    with pytest.raises(ApplicationError) as caught:
        survey_services.survey_answer(survey=survey, rating=4, answers={f"q{q1.pk}": "5", q3_key: "微信"})
    assert caught.value.field == q3_key
    recorded, _c = survey_services.survey_answer(
        survey=survey, rating=4, answers={f"q{q1.pk}": "5", f"q{q2.pk}": "9", q3_key: "电话", "x": "ignored"}
    )
    assert recorded.answers == {f"q{q1.pk}": 5, f"q{q2.pk}": 9, q3_key: "电话"}
    assert recorded.nps == 9


def test_a_shop_has_at_most_ten_extra_questions(shop):
    for i in range(10):
        survey_services.survey_question_add(shop=shop, label=f"问题{i}", kind="text")
    with pytest.raises(ApplicationError) as caught:
        survey_services.survey_question_add(shop=shop, label="第十一个", kind="text")
    assert caught.value.field == "label"


# --- the figures against hand-computed numbers ------------------------------------------------------------------


@pytest.fixture
def answered(shop, customer, order, agent, agent2, make_user, no_wake):
    """Six surveys in March 2026 and one in April:
    agent : quality 5 (nps 10), quality 4 (nps 7), refund 1 (nps 3), refund unanswered
    agent2: quality 3, quality unanswered
    April : agent refund 2."""
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

    other_order = OrderFactory.create(shop=shop, customer=customer, order_no="T200")
    OrderLineFactory.create(order=other_order, line_no=1, title="紫砂壶")
    nps_q = survey_services.survey_question_add(shop=shop, label="推荐?", kind="nps")
    plan = [
        (sh(2026, 3, 2, 10), agent, "quality", order, 5, 10),
        (sh(2026, 3, 3, 10), agent, "quality", other_order, 4, 7),
        (sh(2026, 3, 4, 10), agent, "refund", None, 1, 3),
        (sh(2026, 3, 5, 10), agent, "refund", None, None, None),
        (sh(2026, 3, 6, 10), agent2, "quality", order, 3, None),
        (sh(2026, 3, 31, 23, 30), agent2, "quality", None, None, None),
        (sh(2026, 4, 1, 10), agent, "refund", None, 2, None),
    ]
    survey_services.survey_settings_set(shop=shop, enabled=True, types=[], valid_days=7, threshold=0)
    tickets = []
    for at, who, kind, the_order, rating, nps in plan:
        with freeze_time(at):
            t = _ticket(customer, shop, who, type=kind, order=the_order)
            _resolve(t, who)
            if rating is not None:
                answers = {f"q{nps_q.pk}": str(nps)} if nps is not None else {}
                survey_services.survey_answer(
                    survey=Survey.objects.get(ticket=t), rating=rating, comment=f"评{rating}", answers=answers
                )
        tickets.append(t)
    return tickets


def test_results_figures_match_the_hand_count(shop, answered, agent, agent2):
    r = survey_selectors.survey_results(shop=shop, start=date(2026, 3, 1), end=date(2026, 3, 31))
    total = r.total
    assert (total.sent, total.answered, total.distribution) == (6, 4, [1, 0, 1, 1, 1])
    assert total.response_rate == pytest.approx(4 / 6)
    assert total.average == pytest.approx((5 + 4 + 1 + 3) / 4)
    assert total.satisfied_share == pytest.approx(2 / 4)
    # NPS: answers 10 (promoter), 7 (passive), 3 (detractor): (1 - 1) / 3
    assert (total.nps_answers, total.promoters, total.detractors, total.nps) == (3, 1, 1, 0)

    by_agent = {f.key: f for f in r.by_agent}
    assert (by_agent["agent1"].sent, by_agent["agent1"].answered, by_agent["agent1"].average) == (4, 3, 10 / 3)
    assert (by_agent["agent2"].sent, by_agent["agent2"].answered, by_agent["agent2"].average) == (2, 1, 3)
    by_type = {f.key: f for f in r.by_type}
    assert (by_type["quality"].sent, by_type["quality"].distribution) == (4, [0, 0, 1, 1, 1])
    assert (by_type["refund"].sent, by_type["refund"].distribution) == (2, [1, 0, 0, 0, 0])
    by_product = {f.key: (f.sent, f.answered, f.average) for f in r.by_product}
    # T100 has 龙井 and 茶杯 (tickets 1 and 5: ratings 5 and 3); T200 has 紫砂壶 (rating 4)
    assert by_product == {"龙井": (2, 2, 4.0), "茶杯": (2, 2, 4.0), "紫砂壶": (1, 1, 4.0)}
    assert [(f.key, f.sent) for f in r.by_month] == [("2026-03", 6)]
    assert [c.rating for c in r.comments] == [3, 1, 4, 5]

    april = survey_selectors.survey_results(shop=shop, start=date(2026, 4, 1), end=date(2026, 4, 30))
    assert (april.total.sent, april.total.distribution) == (1, [0, 1, 0, 0, 0])
    narrowed = survey_selectors.survey_results(
        shop=shop, start=date(2026, 3, 1), end=date(2026, 4, 30), agent="agent1", type="refund"
    )
    assert (narrowed.total.sent, narrowed.total.answered, narrowed.total.average) == (3, 2, 1.5)
    assert [(f.key, f.sent) for f in narrowed.by_month] == [("2026-03", 2), ("2026-04", 1)]


def test_csat_by_agent_and_by_ticket_for_the_other_reports(shop, answered):
    figures = survey_selectors.csat_by_agent(shop, date(2026, 3, 1), date(2026, 3, 31))
    assert {k: (f.sent, f.answered, f.distribution) for k, f in figures.items()} == {
        "agent1": (4, 3, [1, 0, 0, 1, 1]),
        "agent2": (2, 1, [0, 0, 1, 0, 0]),
    }
    ratings = survey_selectors.csat_by_ticket(ticket_ids=[t.pk for t in answered])
    assert ratings == {answered[0].pk: 5, answered[1].pk: 4, answered[2].pk: 1, answered[4].pk: 3, answered[6].pk: 2}


def test_csat_by_ticket_takes_the_latest_resolution(shop, customer, agent, no_wake):
    t = _ticket(customer, shop, agent)
    _resolve(t, agent)
    survey_services.survey_answer(survey=Survey.objects.get(ticket=t, round=0), rating=3)
    services.ticket_status_set(ticket=t, status="open", actor=agent)
    _resolve(t, agent)
    assert survey_selectors.csat_by_ticket(ticket_ids=[t.pk]) == {t.pk: 3}
    survey_services.survey_answer(survey=Survey.objects.get(ticket=t, round=1), rating=5)
    assert survey_selectors.csat_by_ticket(ticket_ids=[t.pk]) == {t.pk: 5}
