"""Survey writes: send after a resolution (or on demand), record the customer's answer and act on a low rating,
mark praise, and the shop's survey settings and extra questions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings as django_settings
from django.db import transaction
from django.utils import translation
from django.utils.translation import gettext as _

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.messaging.models import Channel, Purpose, SourceKind
from huitouke.messaging.services import SourceRef, message_enqueue
from huitouke.orders.models import Shop
from huitouke.service import selectors as service_selectors
from huitouke.service.models import (
    Notification,
    Priority,
    Survey,
    SurveyQuestion,
    SurveySettings,
    Ticket,
    TicketEvent,
    TicketStatus,
    TicketType,
)
from huitouke.service.services.common import ConflictError, event_add, notify, now_or
from huitouke.service.services.conversation import reply_channel_default
from huitouke.service.services.tickets import (
    ticket_create,
    ticket_lock,
    ticket_status_set,
    ticket_take,
    ticket_transfer,
)
from huitouke.service.surveys import rules
from huitouke.service.surveys.links import survey_url
from huitouke.service.surveys.selectors import survey_settings_for

#: A ticket carrying one of these tags was closed as spam or merged into another: no survey.
SKIP_TAGS = frozenset({"spam", "merged", "垃圾", "已合并"})
MAX_QUESTIONS = 10


class SurveyExpiredError(ApplicationError):
    """The survey's link is past its validity."""

    code = "expired"
    status = 410


def _message_text(ticket: Ticket, url: str, days: int) -> tuple[str, str]:
    with translation.override(django_settings.LANGUAGE_CODE):
        subject = _("How did we do? After-sales request #%(number)s") % {"number": ticket.number}
        body = _(
            "Hello, this is %(shop)s. Your after-sales request #%(number)s has been dealt with. Would you tell us "
            "how it went? It takes a minute: %(url)s (the link works for %(days)s days)"
        ) % {"shop": ticket.shop.name, "number": ticket.number, "url": url, "days": days}
    return subject, body


def _send(ticket: Ticket, *, actor: Any, now: datetime) -> Survey:
    """The survey of the ticket's current resolution, made and queued when it is not there yet (the ticket is
    locked by the caller)."""
    existing = Survey.objects.filter(ticket=ticket, round=ticket.reopen_count).first()
    if existing is not None:
        return existing
    conf = survey_settings_for(shop=ticket.shop)
    questions = [
        {"key": f"q{q.pk}", "label": q.label, "kind": q.kind, "choices": list(q.choices), "required": q.required}
        for q in SurveyQuestion.objects.filter(shop=ticket.shop).order_by("position", "id")[:MAX_QUESTIONS]
    ]
    survey = Survey.objects.create(
        ticket=ticket,
        round=ticket.reopen_count,
        agent_id=ticket.owner_id or ticket.first_owner_id,
        type=ticket.type,
        questions=questions,
        sent_at=now,
        expires_at=now + timedelta(days=conf.valid_days),
    )
    channel = reply_channel_default(ticket)
    subject, body = _message_text(ticket, survey_url(survey.pk), conf.valid_days)
    survey.message = message_enqueue(
        idempotency_key=f"service:survey:{ticket.pk}:{ticket.reopen_count}",
        channel=channel,
        purpose=Purpose.SERVICE,
        customer=ticket.customer,
        shop_id=ticket.shop_id,
        source=SourceRef.of(SourceKind.TICKET, ticket),
        subject=subject if channel == Channel.EMAIL else "",
        body=body,
        scheduled_at=now,
        deadline=survey.expires_at,
    )
    survey.save(update_fields=["message"])
    event_add(ticket=ticket, kind=TicketEvent.Kind.SURVEY_SENT, actor=actor, new=channel, at=now)
    return survey


def survey_send(*, ticket: Ticket, actor: Any = None, at: datetime | None = None) -> Survey:
    """Send the survey of the ticket's current resolution now (the API's and the ticket page's button), whatever
    the shop's settings say. Idempotent: a resolution has one survey and one message (key per ticket and
    resolution count); asking again returns it. Refused (ConflictError) while the ticket is not resolved or
    closed. Enqueues 1 Message (purpose service, source the ticket) on the ticket's channel when SMS or email,
    else as a manual task."""
    now = now_or(at)
    with transaction.atomic():
        ticket = ticket_lock(ticket)
        if ticket.status not in (TicketStatus.RESOLVED, TicketStatus.CLOSED):
            raise ConflictError(
                _("Ticket #%(number)s is not resolved yet; a survey asks about a resolution.")
                % {"number": ticket.number},
                field="status",
            )
        return _send(ticket, actor=actor, now=now)


def survey_after_resolution(*, ticket: Ticket, actor: Any, now: datetime) -> Survey | None:
    """Called by ticket_status_set when a ticket is resolved (inside its transaction, the ticket locked): the
    survey goes out when the shop surveys the ticket's type and the ticket was not closed as spam or merged."""
    conf = survey_settings_for(shop=ticket.shop)
    if not conf.enabled or (conf.types and ticket.type not in conf.types):
        return None
    if set(ticket.tags.values_list("name", flat=True)) & SKIP_TAGS:
        return None
    return _send(ticket, actor=actor, now=now)


def _bring_back(survey: Survey, *, rating: int, now: datetime) -> tuple[str, Ticket | None]:
    """A low rating: a resolved ticket is reopened and handed to its first owner; a closed one gets a recovery
    ticket (type complaint, high priority) taken up by the first owner. Returns the outcome and the new ticket."""
    ticket = Ticket.objects.select_related("shop", "customer", "order", "first_owner").get(pk=survey.ticket_id)
    note = _("The customer rated the resolution %(rating)s of 5.") % {"rating": rating}
    first = ticket.first_owner if ticket.first_owner and ticket.first_owner.is_active else None
    if ticket.status == TicketStatus.RESOLVED:
        ticket = ticket_status_set(ticket=ticket, status=TicketStatus.OPEN, actor=None, note=note, at=now)
        if first is not None and ticket.owner_id != first.pk:
            ticket_transfer(ticket=ticket, to=first, note=note, actor=None, at=now)
        return Survey.Outcome.REOPENED, None
    if ticket.status == TicketStatus.CLOSED:
        with translation.override(django_settings.LANGUAGE_CODE):
            subject = _("Low satisfaction rating on ticket #%(number)s") % {"number": ticket.number}
        recovery = ticket_create(
            customer=ticket.customer,
            shop=ticket.shop,
            order=ticket.order,
            type=TicketType.COMPLAINT,
            channel=ticket.channel,
            priority=Priority.HIGH,
            subject=subject,
            description=survey.comment,
            tags=["csat"],
            created_at=now,
        )
        if first is not None:
            ticket_take(ticket=recovery, user=first, at=now)
        event_add(ticket=ticket, kind=TicketEvent.Kind.RECOVERY, new=f"#{recovery.number}", note=note, at=now)
        event_add(ticket=recovery, kind=TicketEvent.Kind.RECOVERY, old=f"#{ticket.number}", note=note, at=now)
        return Survey.Outcome.RECOVERY, recovery
    return Survey.Outcome.ALERTED, None


def survey_answer(
    *,
    survey: Survey,
    rating: object,
    comment: str = "",
    answers: Mapping[str, object] | None = None,
    at: datetime | None = None,
) -> tuple[Survey, bool]:
    """Record the customer's answer. Returns (survey, True) when recorded, (survey, False) when it had been
    answered already (the first answer stays). SurveyExpiredError past its validity; ApplicationError naming the
    field for a bad rating or answer. A rating at or below the shop's threshold brings the case back (see
    `_bring_back`) and notifies the managers and the first owner."""
    now = now_or(at)
    with transaction.atomic():
        locked = Survey.objects.select_for_update(of=("self",)).select_related("ticket__shop").filter(pk=survey.pk)
        found = locked.first()
        if found is None:
            raise NotFoundError("survey not found", field="token")
        survey = found
        if survey.answered_at is not None:
            return survey, False
        if survey.expires_at <= now:
            raise SurveyExpiredError(_("This survey link has expired."), field="token")
        cleaned = rules.answer_clean(rating=rating, comment=comment, answers=answers or {}, questions=survey.questions)
        survey.rating, survey.comment, survey.answers, survey.nps = (
            cleaned.rating,
            cleaned.comment,
            cleaned.answers,
            cleaned.nps,
        )
        survey.answered_at = now
        ticket = survey.ticket
        event_add(
            ticket=ticket, kind=TicketEvent.Kind.SURVEY_ANSWERED, new=str(cleaned.rating), note=cleaned.comment, at=now
        )
        threshold = survey_settings_for(shop=ticket.shop).threshold
        if threshold and cleaned.rating <= threshold:
            outcome, recovery = _bring_back(survey, rating=cleaned.rating, now=now)
            survey.outcome, survey.recovery_ticket = outcome, recovery
            first_owner = Ticket.objects.filter(pk=ticket.pk).values_list("first_owner_id", flat=True).first()
            notify(
                user_ids=[*service_selectors.manager_ids(), first_owner],
                kind=Notification.Kind.CSAT_LOW,
                ticket=recovery or ticket,
                at=now,
                rating=cleaned.rating,
                number=ticket.number,
            )
        survey.save(update_fields=["rating", "comment", "answers", "nps", "answered_at", "outcome", "recovery_ticket"])
    return survey, True


def survey_praise_set(*, survey: Survey, praise: bool, actor: Any, at: datetime | None = None) -> Survey:
    """A manager marks (or unmarks) an answered survey's comment as praise (表扬) for the agent."""
    now = now_or(at)
    with transaction.atomic():
        survey = Survey.objects.select_for_update(of=("self",)).select_related("ticket").get(pk=survey.pk)
        if survey.answered_at is None:
            raise ConflictError(_("The customer has not answered this survey yet."), field="praise")
        if survey.praise == praise:
            return survey
        survey.praise, survey.praise_by, survey.praise_at = (
            praise,
            (actor if praise else None),
            (now if praise else None),
        )
        survey.save(update_fields=["praise", "praise_by", "praise_at"])
        event_add(
            ticket=survey.ticket, kind=TicketEvent.Kind.PRAISE, actor=actor, new="yes" if praise else "no", at=now
        )
    return survey


def survey_settings_set(
    *, shop: Shop, enabled: bool, types: Sequence[str], valid_days: int, threshold: int
) -> SurveySettings:
    """Change a shop's survey settings (made on first change)."""
    for i, t in enumerate(types):
        if t not in TicketType.values:
            raise ApplicationError(f"types[{i}]: unknown ticket type {t!r}", field="types")
    if not 1 <= valid_days <= 90:
        raise ApplicationError(_("A link is valid for 1 to 90 days."), field="valid_days")
    if not 0 <= threshold <= 5:
        raise ApplicationError(_("The threshold is a rating from 0 (never) to 5."), field="threshold")
    with transaction.atomic():
        conf, _made = SurveySettings.objects.select_for_update().get_or_create(shop=shop)
        conf.enabled, conf.types, conf.valid_days, conf.threshold = enabled, sorted(set(types)), valid_days, threshold
        conf.full_clean()
        conf.save()
    return conf


def survey_question_add(
    *, shop: Shop, label: str, kind: str, choices: Sequence[str] = (), required: bool = False
) -> SurveyQuestion:
    """Add a question to the shop's surveys (at most MAX_QUESTIONS). A single choice needs 2 to 10 choices."""
    spec = rules.question_clean(label=label, kind=kind, choices=choices)
    with transaction.atomic():
        Shop.objects.select_for_update().filter(pk=shop.pk).first()
        count = SurveyQuestion.objects.filter(shop=shop).count()
        if count >= MAX_QUESTIONS:
            raise ApplicationError(
                _("A survey has at most %(count)s extra questions.") % {"count": MAX_QUESTIONS}, field="label"
            )
        return SurveyQuestion.objects.create(
            shop=shop, label=spec.label, kind=spec.kind, choices=spec.choices, required=required, position=count + 1
        )


def survey_question_delete(*, question: SurveyQuestion) -> None:
    """Remove a question from future surveys (surveys already sent keep their copy)."""
    question.delete()


__all__ = [
    "SKIP_TAGS",
    "SurveyExpiredError",
    "survey_after_resolution",
    "survey_answer",
    "survey_praise_set",
    "survey_question_add",
    "survey_question_delete",
    "survey_send",
    "survey_settings_set",
]
