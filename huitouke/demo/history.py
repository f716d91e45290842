"""What a shop that has used Huitouke for a while already has, added to the freshly loaded demo: scores from two
weekly refreshes (so the dashboard shows RFM groups and who moved between them), a few care rules switched on with
a week of their sends, and a win-back campaign launched a month ago whose attribution window has closed.

Everything goes through the owning apps' services (scores_refresh, care_rules_install, care_rule_set_enabled,
care_run, segment_create, campaign_save, campaign_launch), each at the past moment it would have run. The demo has
no SMS gateway, so the messages those runs enqueue are then recorded as sent (and most as delivered) at their
scheduled time: send records as a gateway would have left them, without contacting anyone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.db.models import F
from django.db.models.functions import Mod
from django.utils import timezone

from huitouke.analytics.services import scores_refresh
from huitouke.audiences.models import Segment
from huitouke.audiences.services import segment_create
from huitouke.campaigns.models import Campaign
from huitouke.campaigns.services import CampaignInput, campaign_launch, campaign_save
from huitouke.care.models import CareRule, Trigger
from huitouke.care.services import care_rule_set_enabled, care_rules_install
from huitouke.care.ticks import care_run
from huitouke.core.errors import ApplicationError
from huitouke.messaging.models import Channel, Message, SourceKind, Template

Progress = Callable[[str, int, int], None]

#: The care rules the demo shop has switched on.
CARE_TRIGGERS = (Trigger.SHIPPED, Trigger.DELIVERED_FOLLOWUP, Trigger.BIRTHDAY)
#: Days of care sends before today.
CARE_DAYS = 7
#: How long ago the win-back campaign went out.
CAMPAIGN_DAYS_AGO = 30
CAMPAIGN_NAME = "老客回访：满99减20"
SEGMENT_NAME = "沉睡的回头客"
#: Every this-many-th sent message stays "sent" (no delivery receipt came back); the others are delivered.
UNDELIVERED_EVERY = 20


def _at(day: datetime, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(day), time(hour)))


def demo_history_build(*, shop_id: int, now: datetime | None = None, progress: Progress | None = None) -> None:
    """Add the scores, care sends and a finished campaign (from shop `shop_id`) to the demo that was just loaded."""
    report: Progress = progress or (lambda stage, done, total: None)
    now = now or timezone.now()
    scores_refresh(now=now - timedelta(days=7))
    scores_refresh(now=now)
    report("scores", 2, 2)

    rules = {rule.key: rule for rule in care_rules_install(channel=Channel.SMS, language="zh-hans")}
    rules.update({r.key: r for r in CareRule.objects.filter(key__in=CARE_TRIGGERS, archived_at__isnull=True)})
    for trigger in CARE_TRIGGERS:
        care_rule_set_enabled(rule=rules[trigger], enabled=True, now=now - timedelta(days=CARE_DAYS + 1))
    for back in range(CARE_DAYS, 0, -1):
        care_run(at=_at(now - timedelta(days=back), 20), rule_ids=[rules[t].pk for t in CARE_TRIGGERS])
        report("care", CARE_DAYS - back + 1, CARE_DAYS)

    template = Template.objects.filter(
        system=True, key="campaign_winback_coupon", channel=Channel.SMS, language="zh-hans"
    ).first()
    if template is None:
        raise ApplicationError(
            "the campaign template campaign_winback_coupon is missing; run migrate", field="template"
        )
    launched = _at(now - timedelta(days=CAMPAIGN_DAYS_AGO), 10)
    segment = Segment.objects.filter(name=SEGMENT_NAME).first() or segment_create(
        name=SEGMENT_NAME,
        description="买过两次以上、两到八个月没来的顾客",
        definition={
            "field": "group",
            "op": "and",
            "conditions": [
                {"field": "order_count", "min": 2},
                {"field": "last_order_at", "not_within_days": 60 + CAMPAIGN_DAYS_AGO},
                {"field": "last_order_at", "within_days": 240 + CAMPAIGN_DAYS_AGO},
            ],
        },
    )
    campaign = campaign_save(
        data=CampaignInput(
            name=CAMPAIGN_NAME,
            kind=Campaign.Kind.WINBACK,
            segment_id=segment.pk,
            shop_id=shop_id,
            channel=Channel.SMS,
            template_id=template.pk,
            context={"coupon": "满99减20"},
            holdout_share=Decimal("0.10"),
            attribution_days=14,
        )
    )
    campaign_launch(campaign=campaign, now=launched)
    report("campaign", 1, 1)
    _record_as_sent()


def _record_as_sent() -> None:
    """Record the demo's queued care and campaign messages as sent at their scheduled time, most of them also
    delivered a minute later (what the gateway's receipts would have said)."""
    queued = Message.objects.filter(status__in=Message.PENDING, source_kind__in=(SourceKind.CARE, SourceKind.CAMPAIGN))
    sent = {
        "attempts": 1,
        "reason": "",
        "contacted_at": F("scheduled_at"),
        "sent_at": F("scheduled_at"),
        "next_attempt_at": F("scheduled_at"),
        "updated_at": F("scheduled_at"),
    }
    queued.annotate(slot=Mod("id", UNDELIVERED_EVERY)).filter(slot=0).update(status=Message.Status.SENT, **sent)
    queued.update(status=Message.Status.DELIVERED, delivered_at=F("scheduled_at") + timedelta(minutes=1), **sent)
