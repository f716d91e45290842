"""What a campaign's messages cost: the messages handed to the channel times its price; for SMS per part, each
text's parts from its length as carriers count it (the signature included).

The count of messages comes from messaging's kept counts. SMS parts need every text's length, which grows with
the messages (a campaign of half a million texts); they are counted once and stored (analytics' FigureSnapshot,
`campaigns.sms_parts:<campaign id>`, with how many texts they cover and when), and counted again when the
signature changed, or when more texts went out and the stored parts are older than `RECOUNT_EVERY` — so
however often the results page is opened while a campaign sends, its texts are read at most that often, and
once after it ends. The page says what the stored parts cover.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.contrib.contenttypes.models import ContentType
from django.db.models import BooleanField, Count, ExpressionWrapper, Q, QuerySet
from django.db.models.functions import Length
from django.utils import timezone

from huitouke.analytics.snapshots import figure_read
from huitouke.campaigns.models import DEFAULT_PRICES, Campaign, ChannelPrice
from huitouke.messaging import rendering
from huitouke.messaging.models import Channel, Message, SourceKind
from huitouke.messaging.selectors import sms_signature_for

KEY = "campaigns.sms_parts"

#: while a campaign sends, its stored SMS parts are counted again at most this often
RECOUNT_EVERY = timedelta(minutes=10)


@dataclass(frozen=True)
class SmsParts:
    """The SMS parts of the first `texts` texts a campaign handed to the channel, with `signature`, as counted
    at `counted_at`."""

    texts: int
    parts: int
    signature: str
    counted_at: datetime


@dataclass(frozen=True)
class Cost:
    """A campaign's cost; for SMS, the stored parts it was priced on (None for other channels)."""

    amount: Decimal
    sms: SmsParts | None = None


def price_list() -> dict[str, Decimal]:
    prices = {str(k): v for k, v in DEFAULT_PRICES.items()}
    prices.update({row.channel: row.price for row in ChannelPrice.objects.all()})
    return prices


def contacted_messages(campaign: Campaign) -> QuerySet[Message]:
    """The campaign's marketing messages handed to the channel (test sends to staff are service messages)."""
    return Message.objects.filter(
        source_kind=SourceKind.CAMPAIGN,
        source_type=ContentType.objects.get_for_model(Campaign),
        source_id=campaign.pk,
        purpose="marketing",
        status__in=Message.CONTACTED,
    )


def campaign_cost_of(campaign: Campaign, *, contacted: int) -> Cost:
    """The cost of `contacted` messages handed to the channel (the caller's kept count): price × messages, SMS
    price × the stored parts (see the module's doc)."""
    price = price_list().get(campaign.channel, Decimal("0"))
    if price <= 0:
        return Cost(Decimal("0"))
    if campaign.channel != Channel.SMS:
        return Cost((price * contacted).quantize(Decimal("0.01")))
    parts = sms_parts(campaign, contacted=contacted)
    return Cost((price * parts.parts).quantize(Decimal("0.01")), parts)


def sms_parts(campaign: Campaign, *, contacted: int) -> SmsParts:
    """The stored SMS parts of the campaign's texts, counted now when none are stored, the signature changed, or
    `contacted` texts went out where fewer (or more) were counted more than RECOUNT_EVERY ago."""
    signature = sms_signature_for(campaign.shop)
    now = timezone.now()

    def current(value: object) -> bool:
        return (
            isinstance(value, SmsParts)
            and value.signature == signature
            and (value.texts == contacted or value.counted_at > now - RECOUNT_EVERY)
        )

    stored = figure_read(
        key=f"{KEY}:{campaign.pk}", compute=lambda: _count_parts(campaign, signature, now), current=current
    )
    return stored.value


def _count_parts(campaign: Campaign, signature: str, now: datetime) -> SmsParts:
    # the parts of a text depend on its length alone: a stand-in of the same length counts the same
    lengths = _sms_lengths(contacted_messages(campaign))
    parts = sum(rendering.sms_count("a" * units, signature=signature).parts * n for units, n in lengths)
    return SmsParts(texts=sum(n for _units, n in lengths), parts=parts, signature=signature, counted_at=now)


#: a character beyond the Basic Multilingual Plane (two UTF-16 units), a regex PostgreSQL and Python read alike
_BEYOND_BMP = r"[\U00010000-\U0010FFFF]"


def _sms_lengths(messages: QuerySet[Message]) -> list[tuple[int, int]]:
    """(length of a body as carriers count it, how many bodies have it): the bodies grouped by their number of
    characters in the database rather than each read into Python; the few with a character beyond the BMP (an
    emoji, a rare character: two UTF-16 units, as rendering.sms_length counts) are read and measured here."""
    beyond = ExpressionWrapper(Q(body__regex=_BEYOND_BMP), output_field=BooleanField())
    rows = (
        messages.order_by()
        .annotate(units=Length("body"), beyond=beyond)
        .values_list("units", "beyond")
        .annotate(n=Count("id"))
    )
    lengths: Counter[int] = Counter()
    some_beyond = False
    for units, is_beyond, n in rows:
        if is_beyond:
            some_beyond = True
        else:
            lengths[int(units or 0)] += int(n)
    if some_beyond:
        texts = messages.filter(body__regex=_BEYOND_BMP).values_list("body", flat=True).iterator()
        lengths.update(rendering.sms_length(text) for text in texts)
    return list(lengths.items())
