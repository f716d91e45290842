"""The dispatcher: claims due messages, applies the contact policy, sends through the channel adapters and
records what happened. Any number of workers may run it at once.

One batch:
1. claim (one transaction): up to N rows that are due (queued/held with next_attempt_at <= now) or whose claim
   expired (sending, lease_until < now: a worker died holding them), with SELECT … FOR UPDATE SKIP LOCKED on
   PostgreSQL (SQLite: the transaction is IMMEDIATE, so the claim is atomic). Customers with budgeted messages
   are also locked (pg_try_advisory_xact_lock) so two workers never spend one contact budget twice;
2. decide, in the same transaction: gather the facts (consent, erasure, address, suppression hooks, recent
   contacts) and call policy.decide for each row. Rows to send become `sending` with a lease; the others
   become held / suppressed / expired / failed with their reason;
3. send (outside any transaction), per channel setting, in the provider's batch size, within the channel's
   rate limit (a token bucket row shared by every worker);
4. record each chunk's results at once: sent (with the provider id), back to queued with exponential backoff
   (retrying), failed (rejected, or every attempt used), or handed to the agents (manual tasks).

A worker killed between 2 and 4 leaves its rows `sending`; when their lease ends another worker claims and
sends them again, with the same idempotency key (webhooks send it as Idempotency-Key, email as Message-ID).
"""

from __future__ import annotations

import logging
import os
import re
import socket
import threading
import time as clock
from collections import defaultdict
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field, fields
from datetime import datetime, timedelta
from typing import Any

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q
from django.urls import reverse
from django.utils import timezone

from huitouke.core.bulk import _sqlite_datetime
from huitouke.messaging import policy, rendering
from huitouke.messaging.channels import ADAPTERS, Adapter, ChannelConfigError, Outcome, Outgoing, Result
from huitouke.messaging.channels.webhook import url_label
from huitouke.messaging.models import Channel, ChannelConfig, Message, Purpose, RateBucket
from huitouke.messaging.registry import SuppressionCheck, registry
from huitouke.messaging.secrets import ChannelSecretError, secrets_resolved
from huitouke.messaging.selectors import policy_settings_for
from huitouke.messaging.services import CONSENT_CHANNEL, unsubscribe_token

log = logging.getLogger(__name__)

#: advisory lock space for "deciding this customer's budgeted messages" (customer id added)
_LOCK_BASE = 0x4854 << 40
_PHONE_OK = re.compile(r"^\+?\d{6,15}$")
_MAX_BACKOFF = 3600


@dataclass
class DispatchStats:
    claimed: int = 0
    sent: int = 0
    tasks: int = 0
    held: int = 0
    suppressed: int = 0
    expired: int = 0
    failed: int = 0
    retried: int = 0
    skipped: int = 0  # claimed but left: another worker was deciding the same customer's budget
    batches: int = 0

    def add(self, other: DispatchStats) -> None:
        for f in fields(self):
            setattr(self, f.name, getattr(self, f.name) + getattr(other, f.name))

    def as_json(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}


def worker_name() -> str:
    """host:pid:thread — who holds a claim (shown on the message page while it is sending)."""
    return f"{socket.gethostname()[:30]}:{os.getpid()}:{threading.get_ident() % 100000}"


def backoff_seconds(attempts: int) -> int:
    """Wait before attempt `attempts + 1`: base, 2×base, 4×base … capped at one hour."""
    base = max(int(settings.HUITOUKE_RETRY_BASE_SECONDS), 1)
    return int(min(base * 2 ** max(attempts - 1, 0), _MAX_BACKOFF))


# --- claiming and loading ------------------------------------------------------------------------------------


#: Where a run's last claim ended in the due order: (priority, next_attempt_at, id) as the database gave them.
Cursor = tuple[int, Any, int]


def _claim(now: datetime, limit: int, after: Cursor | None) -> tuple[list[int], Cursor | None, int]:
    """Rows this transaction now holds: claims that expired first, then due rows in (priority, due time, id)
    order after `after`. Returns (ids, the cursor after the last due row, how many due rows were taken).

    The cursor keeps a run from walking again over the index entries of rows it already sent (dead until vacuum
    removes them): without it every claim of a long run rescans them all."""
    expired = list(
        Message.objects.filter(status=Message.Status.SENDING, lease_until__lt=now)
        .order_by("lease_until")
        .select_for_update(skip_locked=True)
        .values_list("id", flat=True)[:limit]
    )
    room = limit - len(expired)
    if room <= 0:
        return expired, after, 0
    postgres = connection.vendor == "postgresql"
    sql = (
        "SELECT id, priority, next_attempt_at FROM messaging_message"
        " WHERE status IN ('queued', 'held') AND next_attempt_at <= %s"
    )
    params: list[Any] = [now if postgres else _sqlite_datetime(now)]
    if after is not None:
        sql += " AND (priority, next_attempt_at, id) > (%s, %s, %s)"
        params.extend(after)
    sql += " ORDER BY priority, next_attempt_at, id LIMIT %s"
    params.append(room)
    if postgres:
        sql += " FOR UPDATE SKIP LOCKED"
    with connection.cursor() as cur:
        cur.execute(sql, params)
        due = cur.fetchall()
    cursor: Cursor | None = (int(due[-1][1]), due[-1][2], int(due[-1][0])) if due else after
    return [*expired, *(int(r[0]) for r in due)], cursor, len(due)


@dataclass
class _Row:
    id: int
    customer_id: int | None
    shop_id: int | None
    channel: str
    purpose: str
    priority: int
    status: str
    attempts: int
    scheduled_at: datetime
    deadline: datetime | None
    to_address: str
    idempotency_key: str
    subject: str
    body: str
    params: dict[str, Any]
    template_id: int | None
    language: str
    source_kind: str
    contacted_at: datetime | None
    phone: str | None
    email: str | None
    erased_at: datetime | None
    merged_into_id: int | None
    customer_name: str | None
    provider_code: str | None
    template_body: str | None
    # filled while deciding
    address: str = ""
    config: ChannelConfig | None = None


_LOAD = (
    "id",
    "customer_id",
    "shop_id",
    "channel",
    "purpose",
    "priority",
    "status",
    "attempts",
    "scheduled_at",
    "deadline",
    "to_address",
    "idempotency_key",
    "subject",
    "body",
    "params",
    "template_id",
    "language",
    "source_kind",
    "contacted_at",
    "customer__phone",
    "customer__email",
    "customer__erased_at",
    "customer__merged_into_id",
    "customer__name",
    "template__provider_code",
    "template__body",
)


def _load(ids: Sequence[int]) -> list[_Row]:
    rows = Message.objects.filter(pk__in=list(ids)).values_list(*_LOAD)
    return [_Row(*r) for r in rows]


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


def _consents(customer_ids: set[int]) -> dict[tuple[int, str, str], bool]:
    from huitouke.customers.models import Consent

    rows = Consent.objects.filter(customer_id__in=customer_ids, purpose__in=["care", "marketing"]).values_list(
        "customer_id", "channel", "purpose", "granted"
    )
    return {(c, ch, p): g for c, ch, p, g in rows}


def _consent(row: _Row, consents: dict[tuple[int, str, str], bool]) -> bool | None:
    if row.customer_id is None or row.purpose not in (Purpose.CARE, Purpose.MARKETING):
        return None
    channel = CONSENT_CHANNEL.get(Channel(row.channel))
    if channel is not None:
        return consents.get((row.customer_id, channel, row.purpose))
    answers = [g for (c, _ch, p), g in consents.items() if c == row.customer_id and p == row.purpose]
    if False in answers:
        return False
    return True if answers else None


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


# --- writing decisions and results ---------------------------------------------------------------------------


def _update_each(
    ids: Sequence[int],
    columns: Sequence[tuple[str, str]],
    values: Sequence[Sequence[Any]],
    common: dict[str, Any],
    *,
    only_sending: bool = False,
) -> None:
    """Set per-row `columns` ((name, sql type), values[i] for ids[i]) plus the `common` values, in one statement
    on PostgreSQL (unnest of arrays) and one executemany on SQLite."""
    if not ids:
        return
    guard = " AND m.status = 'sending'" if only_sending else ""
    names = [c for c, _t in columns]
    common_items = list(common.items())
    if connection.vendor == "postgresql":
        sets = ", ".join([*(f"{n} = v.{n}" for n in names), *(f"{k} = %s" for k, _v in common_items)])
        arrays = ", ".join(f"%s::{t}[]" for _n, t in columns)
        sql = (
            f"UPDATE messaging_message AS m SET {sets} FROM unnest(%s::bigint[], {arrays}) AS v(id, {', '.join(names)})"
            f" WHERE m.id = v.id{guard}"
        )
        params: list[Any] = [v for _k, v in common_items]
        params.append(list(ids))
        for j in range(len(columns)):
            params.append([row[j] for row in values])
        with connection.cursor() as cur:
            cur.execute(sql, params)
        return
    sets = ", ".join([*(f"{n} = %s" for n in names), *(f"{k} = %s" for k, _v in common_items)])
    sql = f"UPDATE messaging_message AS m SET {sets} WHERE m.id = %s{guard}"
    tail = [_sqlite_value(v) for _k, v in common_items]
    batch = [[*(_sqlite_value(x) for x in row), *tail, i] for i, row in zip(ids, values, strict=True)]
    with connection.cursor() as cur:
        cur.executemany(sql, batch)


def _sqlite_value(value: Any) -> Any:
    return _sqlite_datetime(value) if isinstance(value, datetime) else value


def _lease_for(rows: Sequence[_Row], now: datetime) -> dict[int, datetime]:
    """A claim lasts HUITOUKE_MESSAGE_LEASE_SECONDS plus the time the channel's rate limit needs for the rows."""
    lease = int(settings.HUITOUKE_MESSAGE_LEASE_SECONDS)
    per_config: dict[int, int] = defaultdict(int)
    for r in rows:
        if r.config is not None:
            per_config[r.config.pk] += 1
    out = {}
    for r in rows:
        extra = 0.0
        if r.config is not None and r.config.rate_per_second:
            extra = per_config[r.config.pk] / r.config.rate_per_second
        out[r.id] = now + timedelta(seconds=lease + extra)
    return out


def _write_plan(plan: _Plan, now: datetime, worker: str) -> None:
    for (status, reason, until, detail), ids in plan.other.items():
        values: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "detail": detail,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        }
        if until is not None:
            values["next_attempt_at"] = until
        Message.objects.filter(pk__in=ids).update(**values)
    if plan.send:
        leases = _lease_for(plan.send, now)
        _update_each(
            [r.id for r in plan.send],
            [("to_address", "text"), ("lease_until", "timestamptz"), ("attempts", "smallint")],
            [(r.address[:500], leases[r.id], r.attempts + 1) for r in plan.send],
            {
                "status": Message.Status.SENDING,
                "reason": "",
                "claimed_by": worker[:64],
                "contacted_at": now,
                "updated_at": now,
            },
        )
        for r in plan.send:
            r.attempts += 1


def _record(results: Sequence[Result], rows: dict[int, _Row], stats: DispatchStats, at: datetime | None) -> None:
    """Write the outcome of one sent chunk (only rows still `sending`: a row another worker took over after its
    lease ended is left to that worker)."""
    now = at or timezone.now()
    max_attempts = int(settings.HUITOUKE_SEND_MAX_ATTEMPTS)
    sent = [r for r in results if r.outcome == Outcome.SENT]
    _update_each(
        [r.id for r in sent],
        [("provider_message_id", "text")],
        [(r.provider_id[:128],) for r in sent],
        {"status": Message.Status.SENT, "sent_at": now, "lease_until": None, "detail": "", "updated_at": now},
        only_sending=True,
    )
    stats.sent += len(sent)
    tasks = [r.id for r in results if r.outcome == Outcome.TASK]
    if tasks:
        Message.objects.filter(pk__in=tasks, status=Message.Status.SENDING).update(
            lease_until=None, claimed_by="", updated_at=now
        )
        stats.tasks += len(tasks)
    retry = [r for r in results if r.outcome == Outcome.RETRY and rows[r.id].attempts < max_attempts]
    _update_each(
        [r.id for r in retry],
        [("next_attempt_at", "timestamptz"), ("detail", "text")],
        [(now + timedelta(seconds=backoff_seconds(rows[r.id].attempts)), r.error[:500]) for r in retry],
        {
            "status": Message.Status.QUEUED,
            "reason": Message.Reason.RETRYING,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        },
        only_sending=True,
    )
    stats.retried += len(retry)
    failed = [
        (r, Message.Reason.REJECTED if r.outcome == Outcome.REJECT else Message.Reason.SEND_ERROR)
        for r in results
        if r.outcome == Outcome.REJECT or (r.outcome == Outcome.RETRY and rows[r.id].attempts >= max_attempts)
    ]
    _update_each(
        [r.id for r, _reason in failed],
        [("reason", "text"), ("detail", "text")],
        [(reason, r.error[:500]) for r, reason in failed],
        {"status": Message.Status.FAILED, "lease_until": None, "claimed_by": "", "updated_at": now},
        only_sending=True,
    )
    stats.failed += len(failed)


# --- sending -------------------------------------------------------------------------------------------------


def rate_acquire(key: str, rate: float, count: int) -> None:
    """Take `count` sends from the token bucket `key` (refilled at `rate` per second, holding at most one
    second's worth), waiting as long as needed. Shared by every worker through one row; autocommitted."""
    cap = max(rate, 1.0)
    count = max(1, min(count, int(cap)))
    least = "LEAST" if connection.vendor == "postgresql" else "MIN"
    refill = f"{least}(%s, tokens + (%s - updated) * %s)"
    while True:
        now = clock.time()
        with connection.cursor() as cur:
            cur.execute(
                f"UPDATE messaging_ratebucket SET tokens = {refill} - %s, updated = %s"
                f" WHERE key = %s AND {refill} >= %s",
                [cap, now, rate, count, now, key, cap, now, rate, count],
            )
            if cur.rowcount == 1:
                return
            cur.execute("SELECT tokens, updated FROM messaging_ratebucket WHERE key = %s", [key])
            found = cur.fetchone()
        if found is None:
            RateBucket.objects.get_or_create(key=key, defaults={"tokens": cap, "updated": now})
            continue
        available = min(cap, found[0] + (now - found[1]) * rate)
        clock.sleep(min(max((count - available) / rate, 0.005), 5.0))


def _public_url(path: str) -> str:
    return f"{settings.HUITOUKE_PUBLIC_URL}{path}"


class ChannelAdapters:
    """The adapters of one dispatch run, built once per channel setting (None when the setting is broken)."""

    def __init__(self) -> None:
        self._built: dict[int, Adapter | str] = {}
        self._orders: dict[int, tuple[str, ...]] = {}

    def get(self, config: ChannelConfig) -> Adapter | str:
        built = self._built.get(config.pk)
        if built is None:
            try:
                built = ADAPTERS[config.provider](
                    options=config.options or {}, secrets=secrets_resolved(config.secrets_encrypted)
                )
            except (ChannelConfigError, ChannelSecretError, KeyError) as exc:
                built = str(getattr(exc, "message", exc))
            self._built[config.pk] = built
        return built

    def param_order(self, r: _Row) -> tuple[str, ...]:
        if r.template_id is None or not r.template_body:
            return ()
        order = self._orders.get(r.template_id)
        if order is None:
            try:
                order = rendering.variables_in(r.template_body)
            except rendering.TemplateTextError:
                order = ()
            self._orders[r.template_id] = order
        return order

    def close(self) -> None:
        for adapter in self._built.values():
            if isinstance(adapter, Adapter):
                adapter.close()
        self._built.clear()


def _unsubscribe_url(message_id: int) -> str:
    """The signed one-click link (only email carries it: SMS say 回T退订)."""
    return _public_url(reverse("messaging:unsubscribe", args=[unsubscribe_token(message_id)]))


def _outgoing(r: _Row, adapters: ChannelAdapters) -> Outgoing:
    unsubscribe = ""
    if r.channel == Channel.EMAIL and r.customer_id is not None and r.purpose in (Purpose.MARKETING, Purpose.CARE):
        unsubscribe = _unsubscribe_url(r.id)
    return Outgoing(
        id=r.id,
        key=r.idempotency_key,
        to=r.address,
        body=r.body,
        purpose=r.purpose,
        subject=r.subject,
        params=r.params or {},
        param_order=adapters.param_order(r),
        provider_code=r.provider_code or "",
        unsubscribe_url=unsubscribe,
        customer_id=r.customer_id,
        source_kind=r.source_kind,
        language=r.language,
    )


def _chunks(items: Sequence[_Row], size: int) -> Iterator[Sequence[_Row]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _send(plan: _Plan, adapters: ChannelAdapters, stats: DispatchStats, at: datetime | None) -> None:
    by_config: dict[int, list[_Row]] = defaultdict(list)
    configs: dict[int, ChannelConfig] = {}
    for r in plan.send:
        assert r.config is not None  # rows without a setting were failed while deciding
        by_config[r.config.pk].append(r)
        configs[r.config.pk] = r.config
    rows = {r.id: r for r in plan.send}
    for pk, group in by_config.items():
        config = configs[pk]
        adapter = adapters.get(config)
        if isinstance(adapter, str):
            failed = [Result(r.id, Outcome.REJECT, error=adapter) for r in group]
            _fail_unconfigured(failed, stats, at)
            continue
        size = adapter.max_batch
        if config.rate_per_second:
            size = max(1, min(size, int(max(config.rate_per_second, 1.0))))
        for chunk in _chunks(group, size):
            if config.rate_per_second:
                rate_acquire(f"channel:{pk}", config.rate_per_second, len(chunk))
            batch = [_outgoing(r, adapters) for r in chunk]
            try:
                results = adapter.send(batch)
            except Exception as exc:  # an adapter bug must not lose the rows: they are retried
                log.exception("channel %s failed on a batch of %s", config, len(batch))
                results = [Result(m.id, Outcome.RETRY, error=f"{type(exc).__name__}: {exc}"[:300]) for m in batch]
            _record(results, rows, stats, at)


def _fail_unconfigured(results: Sequence[Result], stats: DispatchStats, at: datetime | None) -> None:
    now = at or timezone.now()
    _update_each(
        [r.id for r in results],
        [("detail", "text")],
        [(r.error[:500],) for r in results],
        {
            "status": Message.Status.FAILED,
            "reason": Message.Reason.NO_CHANNEL,
            "lease_until": None,
            "claimed_by": "",
            "updated_at": now,
        },
        only_sending=True,
    )
    stats.failed += len(results)


# --- the loop ------------------------------------------------------------------------------------------------


def dispatch_batch(
    *,
    worker: str,
    batch_size: int,
    adapters: ChannelAdapters | None = None,
    after: Cursor | None = None,
    at: datetime | None = None,
) -> tuple[DispatchStats, Cursor | None, bool]:
    """Claim, decide, send and record one batch. Returns what happened, the cursor for the next batch of the
    same run, and whether the due rows after `after` ran out (the run then starts again from the top).

    `at` replays a run at a past instant (the demo's history); by default the run happens now."""
    if adapters is None:
        own = ChannelAdapters()
        try:
            return dispatch_batch(worker=worker, batch_size=batch_size, adapters=own, after=after, at=at)
        finally:
            own.close()
    stats = DispatchStats()
    now = at or timezone.now()
    with transaction.atomic():
        ids, cursor, taken = _claim(now, batch_size, after)
        exhausted = taken < batch_size - (len(ids) - taken)
        if not ids:
            return stats, cursor, exhausted
        rows = _load(ids)
        stats.claimed = len(rows)
        plan = _decide(rows, now, stats)
        _write_plan(plan, now, worker)
    stats.batches = 1
    if plan.send:
        _send(plan, adapters, stats, at)
    return stats, cursor, exhausted


def messages_dispatch(
    *,
    worker: str = "",
    batch_size: int | None = None,
    max_seconds: float | None = None,
    at: datetime | None = None,
    adapters: ChannelAdapters | None = None,
) -> DispatchStats:
    """Send everything that is due, batch after batch, until nothing is due or `max_seconds` have passed.
    Safe to run in any number of workers at once. Returns the totals.

    A run walks the due rows in order with a cursor; when it reaches the end it starts once more from the top
    (for rows that became due behind it: a more urgent message, one another worker was deciding) and stops when
    a pass from the top finds nothing it can take.

    `at` replays the run at a past instant and `adapters` stands in for the channels' adapters: the demo uses both
    to leave the send records of its history without contacting anyone."""
    worker = worker or worker_name()
    size = batch_size or int(settings.HUITOUKE_DISPATCH_BATCH)
    total = DispatchStats()
    started = clock.monotonic()
    adapters = adapters or ChannelAdapters()
    cursor: Cursor | None = None
    try:
        while True:
            from_top = cursor is None
            stats, cursor, exhausted = dispatch_batch(
                worker=worker, batch_size=size, adapters=adapters, after=cursor, at=at
            )
            total.add(stats)
            if from_top and exhausted and stats.claimed == stats.skipped:
                break  # nothing due, or only rows another worker is deciding
            if exhausted:
                cursor = None
            if max_seconds is not None and clock.monotonic() - started >= max_seconds:
                break
    finally:
        adapters.close()
    return total


def next_due_in(*, now: datetime | None = None) -> float | None:
    """Seconds until something becomes due (a held or retried message, or a claim that ends), or None."""
    now = now or timezone.now()
    times = []
    for priority in range(10):
        first = (
            Message.objects.filter(status__in=Message.PENDING, priority=priority)
            .order_by("next_attempt_at")
            .values_list("next_attempt_at", flat=True)
            .first()
        )
        if first is not None:
            times.append(first)
    lease = (
        Message.objects.filter(status=Message.Status.SENDING, lease_until__isnull=False)
        .order_by("lease_until")
        .values_list("lease_until", flat=True)
        .first()
    )
    if lease is not None:
        times.append(lease)
    if not times:
        return None
    return max((min(times) - now).total_seconds(), 0.0)
