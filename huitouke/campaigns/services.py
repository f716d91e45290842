"""Writes of campaigns: save a draft, launch (recipients + holdout split + enqueue), pause, resume, cancel, test
send, channel prices. Every message goes through the messaging engine; every launch is idempotent."""

from __future__ import annotations

import secrets
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal, InvalidOperation
from typing import Any

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.audiences.models import Segment
from huitouke.campaigns.models import Campaign, CampaignRecipient, ChannelPrice
from huitouke.campaigns.selectors import campaign_audience
from huitouke.campaigns.stats import is_holdout
from huitouke.core.bulk import bulk_insert
from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer
from huitouke.messaging.control import messages_cancel_source, messages_pause_source, messages_resume_source
from huitouke.messaging.models import Channel, Message, Purpose, SourceKind, Template
from huitouke.messaging.services import OutgoingMessage, SourceRef, message_enqueue, message_enqueue_many
from huitouke.orders.models import Shop

#: How long a campaign message may wait (quiet hours, contact budget) before it is no longer worth sending.
DEADLINE = timedelta(days=3)
CHUNK = 10_000
#: A one-off send from the customer list reaches at most this many customers (larger groups: a segment).
ONE_OFF_MAX = 50_000


def one_off_too_many(count: int) -> str:
    return _(
        "More than %(max)s customers are picked (%(count)s): narrow the list, or save the group as a segment and "
        "send a campaign to it."
    ) % {"max": f"{ONE_OFF_MAX:,}", "count": f"{count:,}" if count <= ONE_OFF_MAX else f"{ONE_OFF_MAX:,}+"}


@dataclass(frozen=True)
class CampaignInput:
    """What the campaign form and the API send."""

    name: str
    kind: str
    segment_id: int | None
    channel: str
    template_id: int | None
    shop_id: int | None = None
    context: dict[str, str] | None = None
    scheduled_at: datetime | None = None
    holdout_share: Any = Decimal("0.10")
    attribution_days: int = 7


def _validate(data: CampaignInput, *, exclude_pk: int | None) -> dict[str, Any]:
    name = data.name.strip()
    if not name:
        raise ApplicationError(_("A campaign needs a name."), field="name")
    if len(name) > 100:
        raise ApplicationError(_("The name is longer than 100 characters."), field="name")
    clash = Campaign.objects.filter(name=name)
    if exclude_pk is not None:
        clash = clash.exclude(pk=exclude_pk)
    if clash.exists():
        raise ApplicationError(_("A campaign with this name exists already."), field="name")
    if data.kind not in Campaign.Kind.values:
        raise ApplicationError(_("Unknown campaign type."), field="kind")
    if data.channel not in (Channel.SMS, Channel.EMAIL, Channel.MANUAL):
        raise ApplicationError(_("Campaigns go out by SMS, email or as manual tasks."), field="channel")
    segment = Segment.objects.filter(pk=data.segment_id).first() if data.segment_id else None
    if data.segment_id and segment is None:
        raise ApplicationError(_("No such segment."), field="segment")
    template = Template.objects.filter(pk=data.template_id).first() if data.template_id else None
    if data.template_id and template is None:
        raise ApplicationError(_("No such template."), field="template")
    if template is not None and template.channel != data.channel:
        raise ApplicationError(_("The template is for another channel."), field="template")
    shop = Shop.objects.filter(pk=data.shop_id).first() if data.shop_id else None
    if data.shop_id and shop is None:
        raise ApplicationError(_("No such shop."), field="shop")
    try:
        share = Decimal(str(data.holdout_share)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise ApplicationError(
            _("The holdout share must be a number between 0 and 0.5."), field="holdout_share"
        ) from None
    if not Decimal("0") <= share <= Decimal("0.5"):
        raise ApplicationError(_("The holdout share must be a number between 0 and 0.5."), field="holdout_share")
    if not 1 <= int(data.attribution_days) <= 90:
        raise ApplicationError(_("The attribution window is 1 to 90 days."), field="attribution_days")
    context = {str(k): str(v).strip() for k, v in (data.context or {}).items() if str(v).strip()}
    return {
        "name": name,
        "kind": data.kind,
        "segment": segment,
        "channel": data.channel,
        "template": template,
        "shop": shop,
        "context": context,
        "scheduled_at": data.scheduled_at,
        "holdout_share": share,
        "attribution_days": int(data.attribution_days),
    }


@transaction.atomic
def campaign_save(
    *, data: CampaignInput, campaign: Campaign | None = None, user: Any = None, split_seed: int | None = None
) -> Campaign:
    """Create a draft (campaign=None) or change one; only drafts can change. Raises ApplicationError naming the
    field. `split_seed` fixes a new campaign's holdout draw (the demo builds the same shop every time); by default
    it is random."""
    if campaign is not None and campaign.status != Campaign.Status.DRAFT:
        raise ApplicationError(_("Only a draft can be changed."), field="status")
    values = _validate(data, exclude_pk=campaign.pk if campaign else None)
    if campaign is None:
        campaign = Campaign(
            seed=secrets.randbelow(2**31) if split_seed is None else split_seed,
            created_by=user if getattr(user, "is_authenticated", 0) else None,
        )
    for key, value in values.items():
        setattr(campaign, key, value)
    campaign.save()
    return campaign


@dataclass(frozen=True)
class LaunchResult:
    targeted: int
    held_out: int
    enqueued: int


def _source(campaign: Campaign) -> SourceRef:
    return SourceRef(SourceKind.CAMPAIGN, ContentType.objects.get_for_model(Campaign).pk, campaign.pk)


def campaign_launch(
    *, campaign: Campaign, now: datetime | None = None, progress: Callable[[int], None] | None = None
) -> LaunchResult:
    """Fix the recipients (segment ∩ consent rule), split them (stable holdout draw) and enqueue the treated ones.

    One transaction: a launch either happens whole or not at all. Re-running it (a retried job) rebuilds the same
    recipients and adds no message twice (the key is campaign:<id>:<customer>)."""
    now = now or timezone.now()
    if campaign.status not in (Campaign.Status.DRAFT, Campaign.Status.LAUNCHING):
        raise ApplicationError(_("This campaign was launched already."), field="status")
    if (campaign.segment is None and not campaign.one_off) or campaign.template is None:
        raise ApplicationError(_("Choose a segment and a template before sending."), field="segment")
    share = float(campaign.holdout_share)
    send_at = campaign.scheduled_at if campaign.scheduled_at and campaign.scheduled_at > now else now
    source = _source(campaign)
    treated: list[int] = []
    targeted = held_out = enqueued = 0
    with transaction.atomic():
        CampaignRecipient.objects.filter(campaign=campaign).delete()
        # read the members first: PostgreSQL's COPY below holds the connection until it ends
        members = campaign_audience(campaign).order_by("pk").values_list("pk", flat=True)
        ids = list(members[: ONE_OFF_MAX + 1] if campaign.one_off else members)
        if campaign.one_off and len(ids) > ONE_OFF_MAX:
            raise ApplicationError(one_off_too_many(len(ids)), field="selection")

        def recipients() -> Iterator[tuple[int, int, bool]]:
            nonlocal targeted, held_out
            for cid in ids:
                holdout = is_holdout(campaign.seed, cid, share)
                targeted += 1
                held_out += holdout
                if not holdout:
                    treated.append(cid)
                yield (campaign.pk, cid, holdout)

        bulk_insert(CampaignRecipient, ("campaign_id", "customer_id", "holdout"), recipients())
        for start in range(0, len(treated), CHUNK):
            enqueued += message_enqueue_many(
                messages=(
                    OutgoingMessage(
                        idempotency_key=f"campaign:{campaign.pk}:{cid}",
                        channel=campaign.channel,
                        purpose=Purpose.MARKETING,
                        customer_id=cid,
                        shop_id=campaign.shop_id,
                        source=source,
                        template_id=campaign.template_id,
                        context=campaign.context,
                        scheduled_at=send_at,
                        deadline=send_at + DEADLINE,
                    )
                    for cid in treated[start : start + CHUNK]
                ),
                now=now,
            )
            if progress:
                progress(min(start + CHUNK, len(treated)))
        Campaign.objects.filter(pk=campaign.pk).update(
            status=Campaign.Status.SENT, launched_at=now, targeted=targeted, held_out=held_out, updated_at=now
        )
    campaign.refresh_from_db()
    return LaunchResult(targeted=targeted, held_out=held_out, enqueued=enqueued)


def campaign_launch_start(*, campaign: Campaign) -> None:
    """Mark a draft as launching (before its background job runs), so it cannot be edited or launched twice."""
    if (campaign.segment_id is None and not campaign.one_off) or campaign.template_id is None:
        raise ApplicationError(_("Choose a segment and a template before sending."), field="segment")
    changed = Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.DRAFT).update(
        status=Campaign.Status.LAUNCHING, updated_at=timezone.now()
    )
    if not changed:
        raise ApplicationError(_("This campaign was launched already."), field="status")
    campaign.status = Campaign.Status.LAUNCHING


def campaign_launch_failed(*, campaign: Campaign) -> None:
    """A launch job that failed leaves the campaign a draft again (nothing of it was written: one transaction)."""
    Campaign.objects.filter(pk=campaign.pk, status=Campaign.Status.LAUNCHING).update(
        status=Campaign.Status.DRAFT, updated_at=timezone.now()
    )


def _set_status(campaign: Campaign, status: str) -> None:
    Campaign.objects.filter(pk=campaign.pk).update(status=status, updated_at=timezone.now())
    campaign.status = status


def campaign_pause(*, campaign: Campaign) -> int:
    """Hold the campaign's messages that have not gone out yet; returns how many."""
    if campaign.status != Campaign.Status.SENT:
        raise ApplicationError(_("Only a campaign that is sending can be paused."), field="status")
    with transaction.atomic():
        source = _source(campaign)
        held = messages_pause_source(kind=source.kind, type_id=source.type_id or 0, object_id=campaign.pk)
        _set_status(campaign, Campaign.Status.PAUSED)
    return held


def campaign_resume(*, campaign: Campaign) -> int:
    if campaign.status != Campaign.Status.PAUSED:
        raise ApplicationError(_("Only a paused campaign can be resumed."), field="status")
    with transaction.atomic():
        source = _source(campaign)
        released = messages_resume_source(kind=source.kind, type_id=source.type_id or 0, object_id=campaign.pk)
        _set_status(campaign, Campaign.Status.SENT)
    return released


def campaign_cancel(*, campaign: Campaign) -> int:
    """Stop the campaign: a draft is simply cancelled, a sending one has its waiting messages suppressed."""
    if campaign.status in (Campaign.Status.CANCELLED, Campaign.Status.LAUNCHING):
        raise ApplicationError(_("This campaign cannot be cancelled now."), field="status")
    with transaction.atomic():
        cancelled = 0
        if campaign.launched_at is not None:
            source = _source(campaign)
            cancelled = messages_cancel_source(kind=source.kind, type_id=source.type_id or 0, object_id=campaign.pk)
        _set_status(campaign, Campaign.Status.CANCELLED)
    return cancelled


def campaign_test_send(*, campaign: Campaign, to_address: str, customer: Customer) -> Message:
    """Send the campaign's message, filled in for `customer`, to a member of staff (`to_address`) at once.

    A service message (no quiet hours, no budget, no marketing consent needed: it goes to staff), recorded
    with the campaign as its source like every other send."""
    if campaign.template is None:
        raise ApplicationError(_("Choose a template first."), field="template")
    address = to_address.strip()
    if not address:
        raise ApplicationError(_("Enter the phone number or email address to send the test to."), field="to")
    return message_enqueue(
        idempotency_key=f"campaign:{campaign.pk}:test:{uuid.uuid4().hex}",
        channel=campaign.channel,
        purpose=Purpose.SERVICE,
        customer=customer,
        shop_id=campaign.shop_id,
        source=_source(campaign),
        template=campaign.template,
        context=campaign.context,
        to_address=address,
    )


def channel_price_set(*, channel: str, price: Any) -> ChannelPrice:
    if channel not in Channel.values:
        raise ApplicationError(_("Unknown channel."), field="channel")
    try:
        value = Decimal(str(price))
    except (InvalidOperation, ValueError):
        raise ApplicationError(_("The price must be a number."), field=f"price_{channel}") from None
    if value < 0 or value >= 1000:
        raise ApplicationError(_("The price must be between 0 and 1000."), field=f"price_{channel}")
    row, _created = ChannelPrice.objects.update_or_create(channel=channel, defaults={"price": value})
    return row
