"""The managers' alert of a negative review by e-mail and WeCom / DingTalk group robot, besides the in-app
notification the ticket hook leaves (service.services.reviews).

The destinations are the shop's credit settings (`alert_email`, `alert_robot_url`). When a review's case opens,
`negative_review_alert_queue` queues `negative_review_alert_task` once the import's transaction has committed, so
a slow mail server or robot never holds an import or a request; the worker then sends the alert once per review
(the case's alert claim: a re-import, a retried task or a second worker finds it claimed). The text names the
shop, order, rating, item, low shop scores and a short excerpt, with contact data masked (a group chat or a
mailbox is no audience with unmask rights).

Why a task and not messaging's outbox (as the SLA tick's alerts use): the outbox sends a webhook message to the
shop's configured webhook channel and an e-mail through the shop's SMTP channel to a customer's address, while
these alerts go to addresses the credit settings name, like the connectors' silence alerts, which post the same
`{"msgtype": "text", ...}` body directly. The robot request goes through messaging's HttpClient, which resolves
the host and checks every address against the outbound-safety rules at send time (the URL was checked when it
was saved as well).
"""

from __future__ import annotations

import json
import logging
import re
import smtplib
from dataclasses import dataclass
from datetime import datetime
from functools import partial

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from huitouke.core.pii import PHONE_RUN, mask_email, mask_identifier, mask_phone
from huitouke.messaging.channels.base import ChannelConfigError, HttpClient, HttpTransientError
from huitouke.reviews.models import Result, Review
from huitouke.reviews.registry import NegativeReview
from huitouke.reviews.selectors import alert_destinations, review_for_alert
from huitouke.reviews.services import review_case_alert_claim

log = logging.getLogger(__name__)

#: characters of the review text the alert quotes
EXCERPT = 80
ROBOT_TIMEOUT = 10.0


#: an e-mail address inside running (Chinese) text: ASCII only, so the words before it are not taken for its
#: local part; a phone number: a run of PHONE_RUN digits (core.pii's rule)
_EMAIL_IN_TEXT = re.compile(r"[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*")
_PHONE_IN_TEXT = re.compile(rf"\+?[0-9]{{{PHONE_RUN},}}")


def masked_excerpt(text: str) -> str:
    """The first EXCERPT characters of a review's text on one line, e-mail addresses and phone numbers in it
    masked (z***@example.com, 139****0000)."""
    flat = " ".join(text.split())
    flat = _EMAIL_IN_TEXT.sub(lambda m: mask_email(m.group(0)), flat)
    flat = _PHONE_IN_TEXT.sub(lambda m: mask_phone(m.group(0)), flat)
    return flat if len(flat) <= EXCERPT else flat[: EXCERPT - 1] + "…"


def negative_review_alert_text(review: Review) -> tuple[str, str]:
    """(subject, text) of the alert in the site's language; phone numbers and e-mail addresses in the buyer's
    name and the review's text are masked."""
    with translation.override(settings.LANGUAGE_CODE):
        rating = dict(Result.choices).get(review.result, review.result)
        if review.result == Result.GOOD:  # a good rating with a shop score of 2 or less
            subject = _("Huitouke: %(shop)s received a low shop score") % {"shop": review.shop.name}
        else:
            subject = _("Huitouke: %(shop)s received a %(rating)s review") % {
                "shop": review.shop.name,
                "rating": rating,
            }
        lines = [
            subject,
            _("Order: %(order)s") % {"order": review.tid},
            _("Item: %(item)s") % {"item": review.item_title or review.num_iid or "—"},
            _("Buyer: %(buyer)s")
            % {"buyer": _("anonymous") if review.anonymous else mask_identifier(review.customer.name)},
        ]
        scores = (review.dsr_description, review.dsr_service, review.dsr_logistics)
        if any(s is not None for s in scores):
            lines.append(
                _("Shop scores: as described %(description)s, service %(service)s, delivery %(logistics)s")
                % {
                    "description": scores[0] or "—",
                    "service": scores[1] or "—",
                    "logistics": scores[2] or "—",
                }
            )
        if review.content.strip():
            lines.append(_("Text: %(text)s") % {"text": masked_excerpt(review.content)})
    return str(subject), "\n".join(str(line) for line in lines)


@dataclass(frozen=True)
class AlertSent:
    """What one alert did: e-mail sent to how many addresses, robot accepted it; `claimed` False when there was
    nothing to send (no destination, no case, alerted before)."""

    claimed: bool
    emails: int = 0
    robot: bool = False


def _robot_post(url: str, text: str) -> bool:
    """POST the WeCom / DingTalk text message; True when the robot accepted it (HTTP 200 and errcode 0)."""
    body = json.dumps({"msgtype": "text", "text": {"content": text}}, ensure_ascii=False).encode()
    client = HttpClient(timeout=ROBOT_TIMEOUT)
    try:
        answer = client.request(
            "POST",
            url,
            body=body,
            headers={"Content-Type": "application/json; charset=utf-8"},
            setting="alert_robot_url",
            max_bytes=64 * 1024,
        )
    except (HttpTransientError, ChannelConfigError) as exc:
        log.warning("negative-review robot alert not delivered: %s", getattr(exc, "message", exc))
        return False
    finally:
        client.close()
    try:
        data = answer.json() if answer.status == 200 else None
    except ValueError:
        data = None
    code = data.get("errcode", data.get("code", 0)) if isinstance(data, dict) else None
    if answer.status != 200 or code not in (0, "0", None):
        log.warning("negative-review robot alert refused: HTTP %s %r", answer.status, answer.body[:200])
        return False
    return True


def negative_review_alert_send(*, review_id: int, now: datetime | None = None) -> AlertSent:
    """Alert the shop's managers of one negative review by e-mail and group robot, once: the case's alert is
    claimed first, so a failed delivery is logged, not retried (a second copy is worse than none here; the
    in-app notification and the ticket stand either way)."""
    review = review_for_alert(review_id=review_id)
    if review is None:
        return AlertSent(claimed=False)
    where = alert_destinations(shop_id=review.shop_id)
    if not where or not review_case_alert_claim(review_id=review_id, at=now or timezone.now()):
        return AlertSent(claimed=False)
    subject, text = negative_review_alert_text(review)
    emails = 0
    if where.emails:
        try:
            emails = send_mail(subject, text, settings.DEFAULT_FROM_EMAIL, list(where.emails))
        except (OSError, smtplib.SMTPException) as exc:
            log.warning("negative-review e-mail alert of review %s not sent: %s", review_id, exc)
    robot = _robot_post(where.robot_url, text) if where.robot_url else False
    return AlertSent(claimed=True, emails=len(where.emails) if emails else 0, robot=robot)


def negative_review_alert_queue(event: NegativeReview) -> None:
    """The negative-review hook: when the shop has an alert destination, queue the alert once the current
    transaction commits (at once outside one). Opens no ticket."""
    if not alert_destinations(shop_id=event.shop_id):
        return
    from huitouke.service.tasks import negative_review_alert_task

    transaction.on_commit(partial(negative_review_alert_task, event.review_id))
