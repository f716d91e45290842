"""Inbound SMS replies (上行短信): who may push them and what a reply does.

A push is taken in only when it proves which SMS channel setting it belongs to, and then acts only on that
setting's shop(s): T/TD/退订 opts out the customers with that phone number who bought in, or were texted by, a
shop the setting serves (its own shop; for the default setting, every shop without its own SMS setting).

Two ways to prove it:

- Signed (any provider; the only way for `generic`, e.g. a relay in front of the gateway): the headers
  `X-Huitouke-Channel` (the setting's id), `X-Huitouke-Timestamp` (Unix seconds), `X-Huitouke-Nonce` (16–64
  characters of A–Z a–z 0–9 _ -) and `X-Huitouke-Signature`: hex HMAC-SHA256 under the setting's inbound secret
  of ``{timestamp}.{nonce}.{raw body}``. The timestamp must be within 5 minutes of the server's clock and the
  nonce never seen before for that setting (stored, UNIQUE): a replay is refused with 409.
- Token, for Aliyun and Tencent only: their reply pushes carry no signature (Aliyun's HTTP batch push is a JSON
  array of {phone_number, content, send_time, sign_name, dest_code, sequence_id}; Tencent's reply callback one
  {mobile, nationcode, text, sign, time, extend}), so the setting's `?token=` in the push URL names the setting.
  Each reply is then taken once: its gateway id (Aliyun's sequence_id; Tencent has none, so a digest of
  mobile, time and text) is stored like a nonce, and a reply whose own time is more than a day old (the gateways
  retry for hours) or in the future is not acted on.

Both: at most 64 KiB and 100 replies per push (413), a token bucket per setting (429), and a bucket per client
address for failed proofs, so guessing tokens or signatures is slow.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from django.conf import settings
from django.db import IntegrityError, connection, models, transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from huitouke.core.errors import INT64_MAX, ApplicationError
from huitouke.customers.models import Customer
from huitouke.customers.pii import phone_match
from huitouke.customers.services import phone_normalise
from huitouke.messaging.models import Channel, ChannelConfig, InboundNonce, RateBucket
from huitouke.orders.models import Shop

MAX_BODY = 64 * 1024
MAX_REPLIES = 100
SIGNED_WINDOW = 300  # seconds either side of the server's clock
REPLY_MAX_AGE = timedelta(hours=24)
NONCE_KEEP = timedelta(days=2)
UNSIGNED_PROVIDERS = ("aliyun", "tencent")
PROVIDERS = ("aliyun", "tencent", "generic")
CHINA = ZoneInfo("Asia/Shanghai")

HEADER_CHANNEL = "X-Huitouke-Channel"
HEADER_TIMESTAMP = "X-Huitouke-Timestamp"
HEADER_NONCE = "X-Huitouke-Nonce"
HEADER_SIGNATURE = "X-Huitouke-Signature"
_NONCE = re.compile(r"^[A-Za-z0-9_-]{16,64}$")


class InboundRefused(ApplicationError):
    """A push that is not taken in: 401 (no or a wrong proof, stale), 409 (replay), 413 (too large), 429."""

    def __init__(self, message: str, *, status: int, code: str, field: str | None = None) -> None:
        super().__init__(message, field=field, code=code)
        self.status = status


@dataclass(frozen=True)
class Reply:
    phone: str
    text: str
    gateway_id: str = ""  # "" in signed pushes: the request's nonce covers them
    sent_at: datetime | None = None


@dataclass(frozen=True)
class InboundResult:
    received: int
    opted_out: int
    duplicates: int
    stale: int


def inbound_signature(*, secret: str, timestamp: str, nonce: str, body: bytes) -> str:
    """The hex HMAC-SHA256 a signed push carries in X-Huitouke-Signature."""
    return hmac.new(secret.encode(), f"{timestamp}.{nonce}.".encode() + body, hashlib.sha256).hexdigest()


# --- rate limits ---------------------------------------------------------------------------------------------


def _bucket_take(key: str, *, rate: float, burst: float) -> bool:
    """Take one token from the shared bucket `key` (refilled at `rate` per second up to `burst`); False when
    empty. One row per key in messaging_ratebucket, shared by every process."""
    least, greatest = ("LEAST", "GREATEST") if connection.vendor == "postgresql" else ("MIN", "MAX")
    # a clock stepped back (NTP, a VM restored) must not empty the bucket until it catches up: no negative refill
    refill = f"{least}(%s, tokens + {greatest}(0, %s - updated) * %s)"
    for _attempt in (1, 2):
        now = time.time()
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE messaging_ratebucket SET tokens = {refill} - 1, updated = %s WHERE key = %s AND {refill} >= 1",
                [burst, now, rate, now, key, burst, now, rate],
            )
            if cur.rowcount == 1:
                return True
        if RateBucket.objects.filter(key=key).exists():
            return False
        RateBucket.objects.get_or_create(key=key, defaults={"tokens": burst, "updated": now})
    return False


#: Public name of the shared token bucket, for core.ratelimit's backend.
bucket_take = _bucket_take


def _limit(key: str, rate: float, burst: float, message: str) -> None:
    if not _bucket_take(key, rate=rate, burst=burst):
        raise InboundRefused(message, status=429, code="rate_limited")


# --- the proof -----------------------------------------------------------------------------------------------


def _refuse_proof(client_ip: str, message: str, *, code: str = "unauthorized") -> InboundRefused:
    _limit(
        f"inbound-fail:{client_ip}"[:64],
        float(getattr(settings, "HUITOUKE_INBOUND_FAIL_RATE", 0.1)),
        float(getattr(settings, "HUITOUKE_INBOUND_FAIL_BURST", 10)),
        "too many refused pushes from this address: wait a minute",
    )
    return InboundRefused(message, status=401, code=code)


def _signed_config(headers: Mapping[str, str], body: bytes, client_ip: str, now: float) -> tuple[ChannelConfig, str]:
    channel_id, stamp = headers.get(HEADER_CHANNEL, ""), headers.get(HEADER_TIMESTAMP, "")
    nonce, signature = headers.get(HEADER_NONCE, ""), headers.get(HEADER_SIGNATURE, "")
    config = None
    if channel_id.isdigit() and int(channel_id) <= INT64_MAX:
        config = ChannelConfig.objects.filter(pk=int(channel_id), channel=Channel.SMS).first()
    if config is None or not config.inbound_secret or not _NONCE.match(nonce) or not stamp.isdigit():
        raise _refuse_proof(client_ip, "the push is not signed for a known SMS setting")
    expected = inbound_signature(secret=config.inbound_secret, timestamp=stamp, nonce=nonce, body=body)
    if not constant_time_compare(expected, signature.lower()):
        raise _refuse_proof(client_ip, "the signature does not match")
    if abs(now - int(stamp)) > SIGNED_WINDOW:
        raise _refuse_proof(client_ip, f"{HEADER_TIMESTAMP} is more than 5 minutes off", code="stale_request")
    return config, nonce


def _token_config(provider: str, token: str, client_ip: str) -> ChannelConfig:
    if provider not in UNSIGNED_PROVIDERS:
        raise _refuse_proof(client_ip, f"{provider} pushes must be signed ({HEADER_SIGNATURE})")
    candidates = ChannelConfig.objects.filter(channel=Channel.SMS, provider=provider).exclude(inbound_token="")
    for config in candidates:
        if token and constant_time_compare(token, config.inbound_token):
            return config
    raise _refuse_proof(client_ip, "unknown inbound token")


# --- the replies ---------------------------------------------------------------------------------------------


def _aliyun_time(value: Any) -> datetime | None:
    try:
        return datetime.strptime(str(value), "%Y-%m-%d %H:%M:%S").replace(tzinfo=CHINA)
    except ValueError:
        return None


def _epoch(value: Any) -> datetime | None:
    try:
        return datetime.fromtimestamp(int(value), tz=CHINA)
    except (TypeError, ValueError, OverflowError, OSError):
        return None


def replies_parse(provider: str, body: Any) -> list[Reply]:
    """The replies of a gateway's push (items that are not objects, or lack a phone or text, are left out)."""
    items = body if isinstance(body, list) else [body]
    if len(items) > MAX_REPLIES:
        raise InboundRefused(
            f"a push carries at most {MAX_REPLIES} replies; this one has {len(items)}",
            status=413,
            code="too_large",
            field="body",
        )
    out = []
    for item in items:
        if not isinstance(item, dict):
            continue
        if provider == "aliyun":
            phone, text = item.get("phone_number"), item.get("content")
            seq = item.get("sequence_id")
            gateway_id = f"aliyun:{seq}" if seq not in (None, "") else ""
            sent_at = _aliyun_time(item.get("send_time"))
        elif provider == "tencent":
            phone, text = item.get("mobile"), item.get("text")
            digest = hashlib.sha256(f"{item.get('nationcode')}|{phone}|{item.get('time')}|{text}".encode())
            gateway_id, sent_at = f"tencent:{digest.hexdigest()[:64]}", _epoch(item.get("time"))
        else:
            phone, text = item.get("phone"), item.get("text")
            gateway_id, sent_at = "", None
        if phone and text is not None:
            out.append(Reply(str(phone)[:32], str(text)[:500], gateway_id[:80], sent_at))
    return out


def served_shop_ids(config: ChannelConfig) -> list[int]:
    """The shops whose customers an SMS setting's replies speak for: its shop, or (the default setting) every
    shop without an SMS setting of its own."""
    if config.shop_id is not None:
        return [config.shop_id]
    own = ChannelConfig.objects.filter(channel=Channel.SMS, shop__isnull=False).values("shop_id")
    return list(Shop.objects.exclude(pk__in=own).values_list("pk", flat=True))


def reply_customers(phone: str, config: ChannelConfig) -> list[Customer]:
    """The customers a reply from `phone` through `config` speaks for (at most 50)."""
    number = phone_normalise(phone)
    if number.startswith("86") and len(number) == 13:
        number = number[2:]
    if not number:
        return []
    shops = served_shop_ids(config)
    of_shop = models.Q(orders__shop_id__in=shops) | models.Q(messages__shop_id__in=shops, messages__channel=Channel.SMS)
    if config.shop_id is None:
        of_shop |= models.Q(messages__shop__isnull=True, messages__channel=Channel.SMS)
    qs = Customer.objects.filter(of_shop, phone_match(number), merged_into__isnull=True).distinct().order_by("pk")
    return list(qs[:50])


def _claim(config: ChannelConfig, nonce: str, now: datetime) -> bool:
    """Store `nonce` for `config`; False when it was there already (a replay)."""
    try:
        with transaction.atomic():
            InboundNonce.objects.create(config=config, nonce=nonce, received_at=now)
    except IntegrityError:
        return False
    return True


def inbound_sms_receive(
    *, provider: str, body: bytes, headers: Mapping[str, str], token: str = "", client_ip: str = ""
) -> InboundResult:
    """Take in one reply push (see the module's description). Raises InboundRefused (401, 409, 413, 429) or
    ApplicationError (400: not JSON, unknown provider); nothing is acted on then."""
    from huitouke.messaging.services import sms_reply_receive  # services import this module

    if provider not in PROVIDERS:
        raise ApplicationError(f"unknown provider {provider!r}: aliyun, tencent or generic", field="provider")
    if len(body) > MAX_BODY:
        raise InboundRefused(f"a push is at most {MAX_BODY // 1024} KiB", status=413, code="too_large", field="body")
    now = timezone.now()
    if headers.get(HEADER_SIGNATURE):
        config, nonce = _signed_config(headers, body, client_ip, now.timestamp())
    else:
        config, nonce = _token_config(provider, token, client_ip), ""
    _limit(
        f"inbound:{config.pk}",
        float(getattr(settings, "HUITOUKE_INBOUND_RATE", 5)),
        float(getattr(settings, "HUITOUKE_INBOUND_BURST", 50)),
        "too many pushes for this SMS setting: retry in a few seconds",
    )
    try:
        data = json.loads(body.decode("utf-8") or "null")
    except (UnicodeDecodeError, ValueError) as exc:
        raise ApplicationError("the body is not JSON", field="body") from exc
    replies = replies_parse(provider, data)
    opted = duplicates = stale = 0
    with transaction.atomic():
        if nonce and not _claim(config, f"sig:{nonce}", now):
            raise InboundRefused("this push was received before (its nonce is used)", status=409, code="replayed")
        for reply in replies:
            if not nonce:  # a gateway's own push: each reply once, and only while it is fresh
                if reply.sent_at is None or not now - REPLY_MAX_AGE <= reply.sent_at <= now + timedelta(minutes=5):
                    stale += 1
                    continue
                # a reply without its gateway id cannot be taken once: not acted on, counted with the duplicates
                if not reply.gateway_id or not _claim(config, reply.gateway_id, now):
                    duplicates += 1
                    continue
            opted += sms_reply_receive(phone=reply.phone, text=reply.text, config=config)
        InboundNonce.objects.filter(config=config, received_at__lt=now - NONCE_KEEP).delete()
    return InboundResult(received=len(replies), opted_out=opted, duplicates=duplicates, stale=stale)


def signed_headers(*, config: ChannelConfig, body: bytes, nonce: str, timestamp: int | None = None) -> dict[str, str]:
    """The headers of a signed push for `config` (for relays written in Python, and the tests)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    return {
        HEADER_CHANNEL: str(config.pk),
        HEADER_TIMESTAMP: stamp,
        HEADER_NONCE: nonce,
        HEADER_SIGNATURE: inbound_signature(secret=config.inbound_secret, timestamp=stamp, nonce=nonce, body=body),
    }


__all__: Sequence[str] = (
    "InboundRefused",
    "InboundResult",
    "inbound_signature",
    "inbound_sms_receive",
    "replies_parse",
    "reply_customers",
    "served_shop_ids",
    "signed_headers",
)
