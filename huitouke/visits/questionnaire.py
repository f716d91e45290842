"""The SMS questionnaire of plans that need no call: each task's link, /visits/q/<token>/, where the token is the
task id in base 36 signed with a salt of its own (core.links.ShortSigner, as the service desk's survey links), and
the message that carries it. A customer who answers through the link completes the visit (outcome reached); the
task falls due to an agent only when the link has run out unanswered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from django.conf import settings
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse
from django.utils import translation
from django.utils.translation import gettext as _

from huitouke.core.links import ShortSigner, b36
from huitouke.messaging.models import Channel, Purpose, SourceKind
from huitouke.messaging.services import OutgoingMessage, SourceRef
from huitouke.visits.models import VisitPlan, VisitTask

SALT = "huitouke.visits.questionnaire-link"
#: how long a questionnaire link stays open; an unanswered task then falls due to an agent
VALID_DAYS = 7


def questionnaire_token(task_id: int) -> str:
    return ShortSigner(SALT).sign(b36(task_id))


def task_id_from(token: str) -> int | None:
    """The task id a token names, or None for a malformed or forged one."""
    value = ShortSigner(SALT).value((token or "")[:64])
    return int(value, 36) if value else None


def questionnaire_url(task_id: int) -> str:
    return settings.HUITOUKE_PUBLIC_URL + reverse("visits:questionnaire", args=[questionnaire_token(task_id)])


def is_open(task: VisitTask, now: datetime) -> bool:
    """Whether the task's link still takes an answer: the task is due and the link has not run out."""
    return task.status == VisitTask.Status.DUE and now < task.created_at + timedelta(days=VALID_DAYS)


def _body(shop: str, url: str) -> str:
    with translation.override(settings.LANGUAGE_CODE):
        return _(
            "Hello from %(shop)s. How are you getting on with what you bought from us, and with our service? "
            "A few quick questions: %(url)s (open for %(days)d days)"
        ) % {"shop": shop, "url": url, "days": VALID_DAYS}


def questionnaire_messages(plan: VisitPlan, tasks: list[tuple[int, int]], at: datetime) -> Iterator[OutgoingMessage]:
    """One SMS per new task (task id, customer id) of a questionnaire plan, keyed by the task so that a repeated
    run sends nothing twice; it expires with the link."""
    type_id = ContentType.objects.get_for_model(VisitTask).pk
    deadline = at + timedelta(days=VALID_DAYS)
    for task_id, customer_id in tasks:
        yield OutgoingMessage(
            idempotency_key=f"visit:questionnaire:{task_id}",
            channel=Channel.SMS,
            purpose=Purpose.CARE,
            customer_id=customer_id,
            shop_id=plan.shop_id,
            source=SourceRef(SourceKind.VISIT, type_id, task_id),
            body=_body(plan.shop.name, questionnaire_url(task_id)),
            scheduled_at=at,
            deadline=deadline,
        )
