"""What a shop that has used Huitouke for a while already has, added to the freshly loaded demo: scores from two
weekly refreshes (so the dashboard shows RFM groups and who moved between them), a few care rules switched on with
a week of their sends, and a member-day announcement sent a month ago to the members above the first level who
agreed to SMS marketing, whose attribution window has closed.

Everything goes through the owning apps' services (scores_refresh, care_rules_install, care_rule_set_enabled,
care_run, segment_create, campaign_save, campaign_launch), each at the past moment it would have run. The demo has
no SMS gateway: the messages those runs enqueue go through the real dispatcher (consent, quiet hours, contact
budget), replayed at the moment after each run, with a stand-in gateway that accepts every message; the send
records are those a gateway would have left, and nobody is contacted.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime, time, timedelta
from decimal import Decimal

from django.utils import timezone

from huitouke.analytics.services import scores_refresh
from huitouke.audiences.models import Segment
from huitouke.audiences.services import segment_create
from huitouke.campaigns.models import Campaign
from huitouke.campaigns.services import CampaignInput, campaign_launch, campaign_save
from huitouke.care.models import CareRule, Trigger
from huitouke.care.services import care_rule_set_enabled, care_rules_install, care_validity_extend
from huitouke.care.ticks import care_run
from huitouke.core.errors import ApplicationError
from huitouke.loyalty.services import LevelSpec
from huitouke.messaging.channels import Adapter, Outcome, Outgoing, Result
from huitouke.messaging.dispatch import ChannelAdapters, messages_dispatch
from huitouke.messaging.models import Channel, ChannelConfig, Template

Progress = Callable[[str, int, int], None]

#: The care rules the demo shop has switched on.
CARE_TRIGGERS = (Trigger.SHIPPED, Trigger.DELIVERED_FOLLOWUP, Trigger.BIRTHDAY)
#: Days of care sends before today.
CARE_DAYS = 7
#: How long ago the promotion went out.
CAMPAIGN_DAYS_AGO = 30
CAMPAIGN_NAME = "会员日：高级会员专享"
SEGMENT_NAME = "高级会员以上（同意短信营销）"


#: The demo campaign's holdout draw is fixed, so every build of the demo shows the same groups.
DEMO_SPLIT_SEED = 20241111


def _at(day: datetime, hour: int) -> datetime:
    return timezone.make_aware(datetime.combine(timezone.localdate(day), time(hour)))


def demo_history_build(
    *, shop_id: int, levels: Sequence[LevelSpec], now: datetime | None = None, progress: Progress | None = None
) -> None:
    """Add the scores, care sends and a finished campaign (from shop `shop_id`, whose member `levels` are given)
    to the demo that was just loaded."""
    report: Progress = progress or (lambda stage, done, total: None)
    now = now or timezone.now()
    scores_refresh(now=now - timedelta(days=7))
    scores_refresh(now=now)
    report("scores", 2, 2)

    rules = {rule.key: rule for rule in care_rules_install(channel=Channel.SMS, language="zh-hans")}
    rules.update({r.key: r for r in CareRule.objects.filter(key__in=CARE_TRIGGERS, archived_at__isnull=True)})
    for trigger in CARE_TRIGGERS:
        care_rule_set_enabled(rule=rules[trigger], enabled=True, now=now - timedelta(days=CARE_DAYS + 1))

    template = Template.objects.filter(
        system=True, key="campaign_member_day", channel=Channel.SMS, language="zh-hans"
    ).first()
    if template is None:
        raise ApplicationError("the campaign template campaign_member_day is missing; run migrate", field="template")
    launched = _at(now - timedelta(days=CAMPAIGN_DAYS_AGO), 10)
    # conditions that do not depend on the day: the audience is evaluated today, for a launch in the past
    segment = Segment.objects.filter(name=SEGMENT_NAME).first() or segment_create(
        name=SEGMENT_NAME,
        description="高级会员及以上、同意接收短信营销的顾客",
        definition={
            "field": "group",
            "op": "and",
            "conditions": [
                {"field": "level", "levels": [spec.name for spec in levels[1:]]},
                {"field": "consent", "purpose": "marketing", "channel": "sms"},
            ],
        },
    )
    campaign = campaign_save(
        split_seed=DEMO_SPLIT_SEED,
        data=CampaignInput(
            name=CAMPAIGN_NAME,
            kind=Campaign.Kind.ANNOUNCEMENT,
            segment_id=segment.pk,
            shop_id=shop_id,
            channel=Channel.SMS,
            template_id=template.pk,
            holdout_share=Decimal("0.10"),
            attribution_days=14,
        ),
    )
    campaign_launch(campaign=campaign, now=launched)
    _dispatch(launched + timedelta(minutes=1))
    report("campaign", 1, 1)
    for back in range(CARE_DAYS, 0, -1):
        at = _at(now - timedelta(days=back), 11)
        care_validity_extend(at=at - timedelta(hours=2))  # someone logged in that morning: the rules stay valid
        care_run(at=at, rule_ids=[rules[t].pk for t in CARE_TRIGGERS])
        _dispatch(at + timedelta(minutes=1))
        report("care", CARE_DAYS - back + 1, CARE_DAYS)
    care_validity_extend(at=now)


class _GatewayStandIn(ChannelAdapters):
    """Every channel answers "sent" without contacting anyone (the demo's history has no gateway)."""

    class _Accept(Adapter):
        provider = "demo"
        max_batch = 1000

        def send(self, batch: Sequence[Outgoing]) -> list[Result]:
            return [Result(m.id, Outcome.SENT, provider_id=f"demo-{m.id}") for m in batch]

    def get(self, config: ChannelConfig) -> Adapter | str:
        return self._Accept(options={}, secrets={})


def _dispatch(at: datetime) -> None:
    """Run the real dispatcher (consent, quiet hours, contact budget) at `at` through the stand-in gateway. The
    dispatcher sends only where a shop has an SMS setting: the default one is switched on for this run only (and
    added for it when there is none)."""
    config = ChannelConfig.objects.filter(shop=None, channel=Channel.SMS).first()
    added = config is None
    if config is None:
        config = ChannelConfig.objects.create(shop=None, channel=Channel.SMS, provider="aliyun", enabled=True)
    was_enabled = config.enabled
    ChannelConfig.objects.filter(pk=config.pk).update(enabled=True)
    try:
        messages_dispatch(worker="demo", at=at, adapters=_GatewayStandIn())
    finally:
        if added:
            config.delete()
        else:
            ChannelConfig.objects.filter(pk=config.pk).update(enabled=was_enabled)
