"""Writes of the live order feed: orders from any live source through the import's writer, the sources and
what they delivered. Every source ends in `orders_write`: the same upsert by (shop, order number) as a file
import, then the touched customers' stats and member levels, all in one transaction, and care's reaction to the
events is queued for the worker once it commits."""

from __future__ import annotations

import hashlib
import logging
import secrets
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from huitouke.connectors.models import Source, SourceEvent
from huitouke.connectors.push import Rejection, ShopInfo, batch_rows, shop_names
from huitouke.core.bulk import keyed_rows
from huitouke.core.errors import ApplicationError
from huitouke.customers.models import Customer
from huitouke.loyalty.services import levels_regrade
from huitouke.orders.importers.rows import OrderRow
from huitouke.orders.importing import ErrorReport, ImportResult, OrderWriter, orders_import_rows
from huitouke.orders.models import Shop
from huitouke.orders.services import customer_stats_refresh

log = logging.getLogger(__name__)

#: how often a write that lost a race (two sources creating one buyer or product at once) is tried again
WRITE_ATTEMPTS = 3


class PushTooLargeError(ApplicationError):
    """A push carrying more orders than one request may."""

    status = 413
    code = "too_large"


@dataclass
class WriteResult:
    """What a live write did: orders created, updated (something changed) and unchanged, and whose."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    customer_ids: set[int] = field(default_factory=set)


@dataclass
class PushResult:
    """The answer of `POST /api/v1/orders`."""

    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: list[Rejection] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": [r.as_json() for r in self.rejected],
        }


#: Called with the touched customers after every live write commits (connectors/tasks.py registers the worker
#: task that runs care's reaction; tests may call it directly).
_after_write: list[Callable[[list[int]], None]] = []


def after_write_register(hook: Callable[[list[int]], None]) -> None:
    """Run `hook(customer ids)` after each live write that touched customers commits."""
    if hook not in _after_write:
        _after_write.append(hook)


class _LiveWriter(OrderWriter):
    """The import's reference writer for concurrent writes (pushes, webhooks, backfills at once): new buyers
    inserted with their stats (`orders_write` refreshes the stats next, and a new buyer's row then needs no second
    write: each maintains every index of the customer table), and on PostgreSQL the locks that keep concurrent
    writes apart taken as late as each allows (`_keys_lock` has the whole order):

    - the products the batch creates are claimed (a transaction advisory lock per natural key, sorted) right
      before they are inserted, and looked up again: a concurrent write creating the same one is waited for, then
      its row is used, instead of failing on the unique index;
    - the buyers it creates get their ids first and are inserted once the orders are written (the orders' key
      to their customer is checked at the commit), claimed the same way then: a buyer a concurrent write created
      meanwhile is that write's, and the batch's orders move to it;
    - the rows of the buyers the batch finds existing are locked (sorted) once the orders are written, right
      before their profiles, consents, stats and member levels are written: writes sharing a buyer overlap until
      then, and each refresh of the stats sees the orders every earlier write committed.
    """

    stats_on_insert = True
    profiles_last = True

    def _claim(self, kind: str, keys: list[Any]) -> bool:
        if connection.vendor != "postgresql":
            return False  # SQLite serialises writes (BEGIN IMMEDIATE)
        _advisory_locks(f"{kind}\x00{first}\x00{second}" for first, second in keys)
        return True

    def _buyers_lock(self, ids: list[int]) -> None:
        if connection.vendor == "postgresql" and ids:
            # in id order (no two writes wait for each other in a cycle); NO KEY UPDATE, as the updates that follow
            # take: it never waits for the key-share locks another write's new orders keep on their buyer
            keyed_rows(Customer, "id", ids, ["id"], sql_type="bigint", lock=True)


def orders_write(*, rows: Sequence[OrderRow], shop: Shop | None = None) -> WriteResult:
    """Upsert `rows` (already valid) through the import's writer and refresh the touched customers' stats and
    member levels, in one transaction: nothing is half-written. A write that loses a race with another source
    creating the same buyer or product is tried again (WRITE_ATTEMPTS). After the commit the after-write hooks
    hear the touched customers (care reacts through the worker)."""
    out = WriteResult()
    if not rows:
        return out
    report = ErrorReport(Path(settings.HUITOUKE_HOME) / "reports" / "live-errors.csv")  # valid rows: never written
    for attempt in range(1, WRITE_ATTEMPTS + 1):
        result = ImportResult(format="live")
        try:
            with transaction.atomic():
                _keys_lock(rows, shop)
                orders_import_rows(
                    stream=iter(rows),
                    result=result,
                    report=report,
                    shop=shop,
                    batch_size=len(rows),
                    # the import's reference writer: below a few thousand orders the staged writers' staging
                    # tables and statistics cost more than they save (3-4x slower for a push of 500)
                    writer_class=_LiveWriter,
                )
                ids = sorted(result.customer_ids)
                if ids:
                    customer_stats_refresh(customer_ids=ids)
                    levels_regrade(customer_ids=ids)
        except IntegrityError:
            if attempt == WRITE_ATTEMPTS:
                raise
            log.info("live write lost a race (attempt %s); trying again", attempt)
            continue
        break
    out.created, out.updated, out.unchanged = result.orders_created, result.orders_updated, result.orders_unchanged
    out.customer_ids = set(result.customer_ids)
    after_write_notify(sorted(out.customer_ids))
    return out


def _keys_lock(rows: Sequence[OrderRow], shop: Shop | None) -> None:
    """On PostgreSQL, take a transaction lock on every order (shop, number) the write may insert or change, so
    that concurrent writes of one order wait for each other instead of one failing on the unique index or both
    replacing its lines (SQLite's writes are serialised by BEGIN IMMEDIATE anyway).

    The first of a write's locks; every write takes the next ones in the same order, each set sorted, so two
    writes never wait for each other in a cycle: orders here; the new products as the writer inserts them
    (`_LiveWriter._claim`); once the orders are written, the new buyers, then the rows of the existing ones
    (`_LiveWriter._buyers_lock`); the push source's row (`source_event_record`)."""
    if connection.vendor != "postgresql":
        return
    _advisory_locks(f"o\x00{shop.name if shop is not None else row.shop_name}\x00{row.order_no}" for row in rows)


def _advisory_locks(names: Iterable[str]) -> None:
    """Transaction advisory locks on `names` (hashed to 64 bits), in sorted order: one statement."""
    keys = sorted(
        {int.from_bytes(hashlib.blake2b(n.encode(), digest_size=8).digest(), "big", signed=True) for n in names}
    )
    if keys:
        with connection.cursor() as cur:
            cur.execute("SELECT count(pg_advisory_xact_lock(k)) FROM unnest(%s::bigint[]) AS k", [keys])


def after_write_notify(customer_ids: list[int]) -> None:
    """Tell the after-write hooks (care's reaction) about touched customers once the transaction commits."""
    if not customer_ids:
        return
    for hook in _after_write:
        transaction.on_commit(partial(hook, customer_ids))


def _shops(names: set[str]) -> dict[str, ShopInfo]:
    return {
        name: ShopInfo(pk, platform, tz)
        for pk, name, platform, tz in Shop.objects.filter(name__in=names).values_list(
            "pk", "name", "platform", "timezone"
        )
    }


def orders_push(*, items: Sequence[Any]) -> PushResult:
    """The order push API: validate every order of the batch on its own, write the good ones through
    `orders_write` (one transaction) and answer the counts and the rejections by index. Raises
    PushTooLargeError past `push.MAX_BATCH` orders. Each shop's push source records the delivery (health)."""
    from huitouke.connectors.push import MAX_BATCH

    if len(items) > MAX_BATCH:
        raise PushTooLargeError(f"a push carries at most {MAX_BATCH} orders, this one {len(items)}", field="orders")
    shops = _shops(shop_names(items))
    rows, rejected = batch_rows(items, shops)
    by_shop: dict[int, int] = {}
    for _index, shop_id, _row in rows:
        by_shop[shop_id] = by_shop.get(shop_id, 0) + 1
    reason = ""
    if rejected:
        first = rejected[0]
        reason = f"{len(rejected)} of {len(items)} orders rejected; index {first.index}, {first.field}: {first.message}"
    with transaction.atomic():  # the orders and the health record commit together (one commit per push)
        written = orders_write(rows=[row for _i, _s, row in rows])
        for shop_id, count in sorted(by_shop.items()):
            source_event_record(shop_id=shop_id, kind=Source.Kind.PUSH, orders=count, ok=not rejected, reason=reason)
        if not by_shop and rejected:
            for info in sorted({s.id for s in shops.values()}):
                source_event_record(shop_id=info, kind=Source.Kind.PUSH, orders=0, ok=False, reason=reason)
    return PushResult(written.created, written.updated, written.unchanged, rejected)


def source_get_or_create(*, shop_id: int, kind: str, address: str = "") -> Source:
    """The shop's source of this kind, created (enabled, with a fresh webhook key) on first use."""
    source = Source.objects.filter(shop_id=shop_id, kind=kind).first()
    if source is not None:
        return source
    try:
        with transaction.atomic():
            return Source.objects.create(shop_id=shop_id, kind=kind, address=address, key=secrets.token_hex(16))
    except IntegrityError:  # created meanwhile by another request
        return Source.objects.get(shop_id=shop_id, kind=kind)


def source_event_record(
    *,
    shop_id: int | None = None,
    kind: str = "",
    source: Source | None = None,
    orders: int,
    ok: bool,
    reason: str = "",
    at: datetime | None = None,
) -> SourceEvent:
    """Record one delivery of a source (created on first use when given by shop and kind): its orders, whether
    it failed and why. Any delivery moves the source's "last event" and re-arms its silence alert."""
    if source is None:
        if shop_id is None:
            raise ApplicationError("a delivery names its source or its shop", field="source")
        source = source_get_or_create(shop_id=shop_id, kind=kind)
    at = at or timezone.now()
    event = SourceEvent.objects.create(source=source, at=at, ok=ok, orders=orders, reason=reason[:500])
    Source.objects.filter(pk=source.pk).update(last_event_at=at, silence_alerted_at=None)
    return event


#: the secrets each store connection keeps (encrypted, never shown back)
SECRET_NAMES: dict[str, tuple[str, ...]] = {
    Source.Kind.SHOPIFY: ("access_token", "webhook_secret"),
    Source.Kind.WOOCOMMERCE: ("consumer_key", "consumer_secret", "webhook_secret"),
}


def store_connect(
    *,
    shop: Shop,
    kind: str,
    address: str,
    secrets_given: dict[str, str],
    silence_minutes: int = 0,
    alert_email: str = "",
    alert_robot_url: str = "",
    actor: Any = None,
) -> Source:
    """Connect (or update) a shop's Shopify or WooCommerce store: its address and secrets, encrypted like
    channel secrets (a secret left empty keeps the stored one). Audited. Raises ApplicationError naming the
    field for a bad address or a missing secret."""
    from huitouke.connectors.remote import address_check, base_url
    from huitouke.core.models import AuditEntry
    from huitouke.core.services import audit_log
    from huitouke.messaging.secrets import secrets_decrypt, secrets_encrypt

    if kind not in SECRET_NAMES:
        raise ApplicationError(f"unknown store kind {kind!r}", field="kind")
    address = address.strip()
    if not address:
        raise ApplicationError("the store's address is missing", field="address")
    address_check(base_url(address), field="address")  # refuses what is no http(s) address, or a private one
    alert_robot_url = alert_robot_url.strip()
    if alert_robot_url:
        if urlsplit(alert_robot_url).scheme not in ("http", "https") or not urlsplit(alert_robot_url).hostname:
            raise ApplicationError("the robot URL is no http(s) address", field="alert_robot_url")
        address_check(alert_robot_url, field="alert_robot_url")
    if not 0 <= silence_minutes <= 7 * 24 * 60:
        raise ApplicationError("between 0 and 10080 minutes", field="silence_minutes")
    with transaction.atomic():
        source = source_get_or_create(shop_id=shop.pk, kind=kind, address=address)
        stored = secrets_decrypt(source.secrets_encrypted)
        merged = {name: (secrets_given.get(name) or "").strip() or stored.get(name, "") for name in SECRET_NAMES[kind]}
        missing = [name for name, value in merged.items() if not value]
        if missing:
            raise ApplicationError(f"{missing[0]} is required", field=missing[0])
        source.address = address[:255]
        source.secrets_encrypted = secrets_encrypt(merged)
        source.silence_minutes = silence_minutes
        source.alert_email = alert_email
        source.alert_robot_url = alert_robot_url
        source.enabled = True
        source.full_clean()
        source.save()
        audit_log(actor=actor, action=AuditEntry.Action.SETTINGS, target_type="order_source", target_id=source.pk,
                  kind=kind, address=source.address, alert_robot_url=alert_robot_url,
                  secrets_changed=sorted(n for n in SECRET_NAMES[kind] if merged[n] != stored.get(n, "")))  # fmt: skip
    return source
