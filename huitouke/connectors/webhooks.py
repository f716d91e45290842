"""Signed webhooks of Shopify and WooCommerce: checked and stored at once (the answer must come fast), then
mapped and written by the worker through `services.orders_write`.

Receiving: the source is found by the random key in its URL; the signature over the raw body must match the
source's webhook secret, else 401 (an unknown key gets the same 401: no probing for sources). The delivery id
(X-Shopify-Webhook-Id; WooCommerce's X-WC-Webhook-Delivery-ID) is unique per source, so a replayed or re-sent
webhook is acknowledged and ignored. Processing: an order's older state (by its `updated_at` at the store)
never overwrites a newer one already written from another webhook.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from functools import partial
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from huitouke.connectors import shopify, woocommerce
from huitouke.connectors.models import Source, WebhookDelivery
from huitouke.connectors.services import orders_write, source_event_record
from huitouke.messaging.secrets import ChannelSecretError, secrets_resolved

log = logging.getLogger(__name__)

#: the most a webhook body may carry (a large order is a few hundred kB)
MAX_BODY = 2 * 1024 * 1024

#: Called with a stored delivery's id once it commits (tasks.py registers the worker task).
_process_hooks: list[Callable[[int], None]] = []


def process_hook_register(hook: Callable[[int], None]) -> None:
    if hook not in _process_hooks:
        _process_hooks.append(hook)


@dataclass(frozen=True)
class Receipt:
    """The answer to a webhook: HTTP status and a short word for the sender's log."""

    status: int
    message: str


def _header(headers: Mapping[str, str], *names: str) -> str:
    for name in names:
        value = headers.get(name)
        if value:
            return value
    return ""


def webhook_receive(*, kind: str, key: str, body: bytes, headers: Mapping[str, str]) -> Receipt:
    """Check and store one webhook for the worker (see the module docstring). Never raises for bad input: the
    receipt says what was wrong (401 forged or unknown, 400 malformed, 413 too large, 200 stored or ignored)."""
    source = Source.objects.filter(key=key, kind=kind, enabled=True).select_related("shop").first()
    if source is None:
        return Receipt(401, "signature does not match")
    if len(body) > MAX_BODY:
        return Receipt(413, f"body larger than {MAX_BODY} bytes")
    try:
        secret = secrets_resolved(source.secrets_encrypted).get("webhook_secret", "")
    except ChannelSecretError:
        secret = ""
    if kind == Source.Kind.SHOPIFY:
        signed = shopify.signature_valid(body, _header(headers, "X-Shopify-Hmac-Sha256"), secret)
        topic = _header(headers, "X-Shopify-Topic")
        delivery_id = _header(headers, "X-Shopify-Webhook-Id", "X-Shopify-Event-Id")
        topics: tuple[str, ...] = shopify.TOPICS
    else:
        signed = woocommerce.signature_valid(body, _header(headers, "X-WC-Webhook-Signature"), secret)
        topic = _header(headers, "X-WC-Webhook-Topic")
        delivery_id = _header(headers, "X-WC-Webhook-Delivery-ID")
        topics = woocommerce.TOPICS
    if not signed:
        source_event_record(source=source, orders=0, ok=False, reason="webhook refused: signature does not match")
        return Receipt(401, "signature does not match")
    if kind == Source.Kind.WOOCOMMERCE and body.startswith(b"webhook_id="):
        return Receipt(200, "ping")  # WooCommerce's test delivery when a webhook is saved
    if topic not in topics:
        return Receipt(200, f"topic {topic or '(none)'} ignored")
    if not delivery_id:
        return Receipt(400, "the delivery id header is missing")
    try:
        payload = json.loads(body)
    except ValueError:
        source_event_record(source=source, orders=0, ok=False, reason=f"{topic}: the body is not JSON")
        return Receipt(400, "the body is not JSON")
    if not isinstance(payload, dict):
        source_event_record(source=source, orders=0, ok=False, reason=f"{topic}: the body is not a JSON object")
        return Receipt(400, "the body is not a JSON object")
    ref = shopify.order_ref(payload) if kind == Source.Kind.SHOPIFY else woocommerce.order_ref(payload)
    try:
        with transaction.atomic():
            delivery = WebhookDelivery.objects.create(
                source=source,
                delivery_id=delivery_id[:128],
                topic=topic[:64],
                body=body.decode("utf-8", errors="replace"),
                order_ref=ref[:64],
                remote_updated_at=_updated_at(payload),
            )
    except IntegrityError:
        return Receipt(200, "duplicate delivery ignored")
    for hook in _process_hooks:
        transaction.on_commit(partial(hook, delivery.pk))
    return Receipt(200, "queued")


def _updated_at(payload: Mapping[str, Any]) -> datetime | None:
    raw = payload.get("updated_at") or payload.get("date_modified_gmt")
    if not raw:
        return None
    try:
        moment = datetime.fromisoformat(str(raw).replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


#: fetches a Shopify order by its id (refunds/create carries the refund, not the order): (source, id) -> order
OrderFetcher = Callable[[Source, str], Mapping[str, Any]]


def delivery_process(*, delivery_id: int, fetch_order: OrderFetcher | None = None) -> WebhookDelivery:
    """Map and write one stored webhook (the worker's task). A delivery already processed is left alone; one
    that cannot be mapped is marked failed with the reason, and the source records the failure."""
    delivery = WebhookDelivery.objects.select_related("source__shop").get(pk=delivery_id)
    if delivery.status != WebhookDelivery.Status.QUEUED:
        return delivery
    source = delivery.source
    newer = (
        WebhookDelivery.objects.filter(
            source=source,
            order_ref=delivery.order_ref,
            status=WebhookDelivery.Status.DONE,
            remote_updated_at__gt=delivery.remote_updated_at,
        ).exists()
        if delivery.order_ref and delivery.remote_updated_at
        else False
    )
    if newer:
        _finish(delivery, WebhookDelivery.Status.DONE, "a newer state of the order was written already")
        return delivery
    try:
        payload = json.loads(delivery.body)
        if source.kind == Source.Kind.SHOPIFY:
            if delivery.topic == "refunds/create":
                if fetch_order is None:
                    from huitouke.connectors.backfill import shopify_order_fetch

                    fetch_order = shopify_order_fetch
                payload = fetch_order(source, str(payload.get("order_id") or ""))
            row = shopify.order_row(payload, shop_name=source.shop.name)
        else:
            row = woocommerce.order_row(payload, shop_name=source.shop.name)
    except (ValueError, shopify.ShopifyMappingError, woocommerce.WooMappingError) as exc:
        reason = f"{delivery.topic} {delivery.delivery_id}: {exc}"[:500]
        _finish(delivery, WebhookDelivery.Status.FAILED, reason)
        source_event_record(source=source, orders=0, ok=False, reason=reason)
        return delivery
    except Exception as exc:  # a store that cannot be reached: the reason is kept, the worker's log has the trace
        log.exception("webhook %s failed", delivery.pk)
        reason = f"{delivery.topic} {delivery.delivery_id}: {getattr(exc, 'message', exc)}"[:500]
        _finish(delivery, WebhookDelivery.Status.FAILED, reason)
        source_event_record(source=source, orders=0, ok=False, reason=reason)
        return delivery
    with transaction.atomic():
        orders_write(rows=[row], shop=source.shop)
        _finish(delivery, WebhookDelivery.Status.DONE, "")
    source_event_record(source=source, orders=1, ok=True)
    return delivery


def _finish(delivery: WebhookDelivery, status: str, error: str) -> None:
    delivery.status, delivery.error, delivery.processed_at = status, error, timezone.now()
    delivery.save(update_fields=["status", "error", "processed_at", "updated_at"])


def deliveries_stuck(*, older_than: timedelta = timedelta(minutes=2), limit: int = 500) -> list[int]:
    """Ids of webhooks still queued `older_than` after they were stored, oldest first."""
    cutoff = timezone.now() - older_than
    qs = WebhookDelivery.objects.filter(status=WebhookDelivery.Status.QUEUED, created_at__lt=cutoff)
    return list(qs.order_by("created_at").values_list("pk", flat=True)[:limit])


def source_secrets(source: Source) -> dict[str, str]:
    """The source's secrets in clear (for the API calls only)."""
    return secrets_resolved(source.secrets_encrypted)
