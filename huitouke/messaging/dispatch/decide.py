"""Deciding one claimed batch: gather the facts (channel settings, addresses, consent, budget contacts,
suppression hooks) and ask the contact policy about each row."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection
from django.db.models import Q

from huitouke.messaging import policy
from huitouke.messaging.channels.webhook import url_label
from huitouke.messaging.dispatch.rows import _LOCK_BASE, _PHONE_OK, DispatchStats, _Row
from huitouke.messaging.models import Channel, ChannelConfig, Message, Purpose
from huitouke.messaging.registry import SuppressionCheck, registry
from huitouke.messaging.selectors import policy_settings_for
from huitouke.messaging.services import CONSENT_CHANNEL

# --- deciding ------------------------------------------------------------------------------------------------


def _configs(rows: Sequence[_Row]) -> dict[tuple[int | None, str], ChannelConfig | None]:
    """The enabled channel setting for each (shop, channel) of the batch: the shop's own, else the default."""
    shops = {r.shop_id for r in rows if r.shop_id is not None}
    channels = {r.channel for r in rows}
    found = ChannelConfig.objects.filter(channel__in=channels, enabled=True).filter(
        Q(shop_id__in=shops) | Q(shop__isnull=True)
    )
    by_key = {(c.shop_id, c.channel): c for c in found}
    return {(r.shop_id, r.channel): by_key.get((r.shop_id, r.channel)) or by_key.get((None, r.channel)) for r in rows}


def _manual_addresses(rows: Sequence[_Row]) -> dict[int, str]:
    from huitouke.customers.models import CustomerIdentity

    ids = {r.customer_id for r in rows if r.channel == Channel.MANUAL and r.customer_id}
    out: dict[int, str] = {}
    for cid, platform, handle in (
        CustomerIdentity.objects.filter(customer_id__in=ids)
        .order_by("-pk")
        .values_list("customer_id", "platform", "handle")
    ):
        out[cid] = f"{platform}:{handle}"
    return out


def _address(row: _Row, manual: dict[int, str]) -> str:
    """Where this message goes: an address given at enqueue, else the customer's current phone/email."""
    if row.to_address:
        return row.to_address
    if row.channel == Channel.SMS:
        phone = (row.phone or "").strip()
        return phone if phone and "*" not in phone and _PHONE_OK.match(phone) else ""
    if row.channel == Channel.EMAIL:
        email = (row.email or "").strip()
        return email if "@" in email else ""
    if row.channel == Channel.WEBHOOK:
        url = (row.config.options or {}).get("url", "") if row.config else ""
        return url_label(str(url)) if url else row.config.provider if row.config else ""
    if row.channel == Channel.MANUAL:
        return manual.get(row.customer_id or 0) or (row.phone or "") or (row.customer_name or "")
    return ""


#: (customer, consent channel, consent purpose) -> (when answered, granted)
Consents = dict[tuple[int, str, str], tuple[datetime, bool]]


def _consents(customer_ids: set[int]) -> Consents:
    from huitouke.customers.models import Consent

    rows = Consent.objects.filter(
        customer_id__in=customer_ids, purpose__in=["care", "marketing", "new_products"]
    ).values_list("customer_id", "channel", "purpose", "updated_at", "granted")
    return {(c, ch, p): (at, g) for c, ch, p, at, g in rows}


def _channel_answer(customer_id: int, channel: str, purpose: str, consents: Consents) -> bool | None:
    """The customer's answer for one consent channel: care asks its own purpose; marketing takes the latest of the
    answers to marketing and to the new-products and promotions group (policy.marketing_answer)."""
    if purpose != Purpose.MARKETING:
        found = consents.get((customer_id, channel, purpose))
        return None if found is None else found[1]
    answers = [a for p in ("marketing", "new_products") if (a := consents.get((customer_id, channel, p)))]
    return policy.marketing_answer(answers)


def _consent(row: _Row, consents: Consents) -> bool | None:
    if row.customer_id is None or row.purpose not in (Purpose.CARE, Purpose.MARKETING):
        return None
    channel = CONSENT_CHANNEL.get(Channel(row.channel))
    if channel is not None:
        return _channel_answer(row.customer_id, channel, row.purpose, consents)
    channels = {ch for (c, ch, _p) in consents if c == row.customer_id}
    answers = [_channel_answer(row.customer_id, ch, row.purpose, consents) for ch in channels]
    if False in answers:
        return False
    return True if True in answers else None


def _lock_customers(customer_ids: set[int]) -> set[int]:
    """The customers whose budget this transaction may now spend (PostgreSQL: those whose advisory lock it got;
    SQLite: all, its write transactions run one at a time)."""
    if not customer_ids or connection.vendor != "postgresql":
        return set(customer_ids)
    with connection.cursor() as cur:
        cur.execute(
            "SELECT c FROM unnest(%s::bigint[]) AS c WHERE pg_try_advisory_xact_lock(%s + c)",
            [sorted(customer_ids), _LOCK_BASE],
        )
        return {int(r[0]) for r in cur.fetchall()}


def _recent_contacts(
    customer_ids: set[int], exclude: Sequence[int], since: datetime
) -> dict[tuple[int, str], list[datetime]]:
    rows = (
        Message.objects.filter(
            customer_id__in=customer_ids,
            purpose__in=policy.BUDGETED,
            status__in=Message.CONTACTED,
            contacted_at__gt=since,
        )
        .exclude(pk__in=list(exclude))
        .values_list("customer_id", "purpose", "contacted_at")
    )
    out: dict[tuple[int, str], list[datetime]] = defaultdict(list)
    for cid, purpose, at in rows:
        if cid is not None and at is not None:
            out[(cid, purpose)].append(at)
    return out


def _hook_reasons(
    rows: Sequence[_Row], settings_by_shop: dict[Any, tuple[policy.PolicySettings, int]], now: datetime
) -> dict[int, str]:
    """Customer id -> the first suppression reason a registered hook gives, for customers with marketing."""
    if not registry.suppression_hooks:
        return {}
    by_shop: dict[int | None, set[int]] = defaultdict(set)
    for r in rows:
        if r.purpose == Purpose.MARKETING and r.customer_id is not None:
            by_shop[r.shop_id].add(r.customer_id)
    reasons: dict[int, str] = {}
    for shop_id, cids in by_shop.items():
        days = settings_by_shop.get(shop_id, settings_by_shop[None])[1]
        check = SuppressionCheck(customer_ids=tuple(sorted(cids)), now=now, negative_review_days=days, shop_id=shop_id)
        for hook in registry.suppression_hooks.values():
            for cid, reason in hook(check).items():
                if cid in cids and reason:
                    reasons.setdefault(cid, str(reason)[:20])
    return reasons


@dataclass
class _Plan:
    send: list[_Row] = field(default_factory=list)
    # (status, reason, next_attempt_at or None, detail) -> ids
    other: dict[tuple[str, str, datetime | None, str], list[int]] = field(default_factory=lambda: defaultdict(list))


def _decide(rows: list[_Row], now: datetime, stats: DispatchStats) -> _Plan:
    plan = _Plan()
    max_attempts = int(settings.HUITOUKE_SEND_MAX_ATTEMPTS)
    configs = _configs(rows)
    for r in rows:
        r.config = configs.get((r.shop_id, r.channel))
    manual = _manual_addresses(rows)
    settings_by_shop = policy_settings_for(r.shop_id for r in rows)
    customer_ids = {r.customer_id for r in rows if r.customer_id is not None}
    consents = _consents(customer_ids) if customer_ids else {}
    budgeted = {r.customer_id for r in rows if r.customer_id is not None and r.purpose in policy.BUDGETED}
    locked = _lock_customers(budgeted)
    longest = max((s.budget_days for s, _days in settings_by_shop.values()), default=7)
    contacts = _recent_contacts(locked, [r.id for r in rows], now - timedelta(days=longest)) if locked else {}
    blocked = _hook_reasons(rows, settings_by_shop, now)

    def other(r: _Row, status: str, reason: str, until: datetime | None = None, detail: str = "") -> None:
        plan.other[(status, reason, until, detail[:500])].append(r.id)

    rows.sort(key=lambda r: (r.customer_id or 0, r.priority, r.scheduled_at, r.id))
    for r in rows:
        if r.customer_id is not None and r.purpose in policy.BUDGETED and r.customer_id not in locked:
            stats.skipped += 1  # another worker is deciding this customer right now: left for the next batch
            continue
        if r.customer_id is not None and r.merged_into_id:
            other(r, Message.Status.SUPPRESSED, Message.Reason.MERGED)
            stats.suppressed += 1
            continue
        if r.config is None:
            other(r, Message.Status.FAILED, Message.Reason.NO_CHANNEL)
            stats.failed += 1
            continue
        if r.attempts >= max_attempts:
            detail = f"gave up after {r.attempts} attempts"
            other(r, Message.Status.FAILED, Message.Reason.SEND_ERROR, detail=detail)
            stats.failed += 1
            continue
        r.address = _address(r, manual)
        shop_settings = settings_by_shop.get(r.shop_id, settings_by_shop[None])[0]
        facts = policy.Facts(
            purpose=r.purpose,
            address=r.address,
            has_customer=r.customer_id is not None,
            erased=r.erased_at is not None,
            consent=_consent(r, consents),
            blocked_by=blocked.get(r.customer_id or 0, ""),
            contacts=contacts.get((r.customer_id or 0, r.purpose), ()),
            deadline=r.deadline,
        )
        decision = policy.decide(facts, shop_settings, now)
        if decision.action == policy.SEND:
            plan.send.append(r)
            if r.customer_id is not None and r.purpose in policy.BUDGETED:
                contacts.setdefault((r.customer_id, r.purpose), []).append(now)
        elif decision.action == policy.HOLD:
            other(r, Message.Status.HELD, decision.reason, decision.until)
            stats.held += 1
        elif decision.action == policy.EXPIRE:
            other(r, Message.Status.EXPIRED, decision.reason)
            stats.expired += 1
        else:
            other(r, Message.Status.SUPPRESSED, decision.reason)
            stats.suppressed += 1
    return plan
