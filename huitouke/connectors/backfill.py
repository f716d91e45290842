"""Backfills: the store's orders read page by page through its API and written like webhooks, resumable.

Shopify: the Admin GraphQL API's `orders` connection, `PAGE_SIZE` orders a page, sorted by id, from the cursor
the source stored. Each page's orders and the cursor after it are written in one transaction, so a backfill
killed at any moment (even SIGKILL) resumes from the last page it wrote and writes nothing twice (and writing an
order again would only find it unchanged). Before each query the bucket in the previous answer's
`extensions.cost.throttleStatus` is consulted: when it holds less than the query's cost, the backfill waits
for the restore rate to refill it; a "Throttled" answer is waited out and the same page asked again.

WooCommerce: the REST API's `/wp-json/wc/v3/orders`, page by page (the page number is the cursor), with the
consumer key and secret as HTTP basic authentication.
"""

from __future__ import annotations

import base64
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from django.db import transaction
from django.utils import timezone

from huitouke.connectors import shopify, woocommerce
from huitouke.connectors.models import Source
from huitouke.connectors.remote import RemoteError, base_url, call
from huitouke.connectors.services import orders_write, source_event_record
from huitouke.connectors.webhooks import source_secrets
from huitouke.core.errors import ApplicationError

#: how many times one page is asked again after a throttled or failed answer before the backfill stops
PAGE_ATTEMPTS = 8
#: what one orders page costs at most (first 50 orders × 100 lines …), the bucket needed before asking
PAGE_COST = 250.0


@dataclass
class SyncReport:
    """What a backfill did: pages, orders written (created/updated/unchanged), orders it could not map, waits."""

    pages: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    failed: list[str] = field(default_factory=list)
    waited: float = 0.0
    done: bool = False

    def as_json(self) -> dict[str, Any]:
        return {
            "pages": self.pages,
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "failed": self.failed,
            "waited_seconds": round(self.waited, 1),
            "done": self.done,
        }


def _graphql_url(source: Source) -> str:
    return f"{base_url(source.address)}/admin/api/{shopify.API_VERSION}/graphql.json"


def _token(source: Source) -> str:
    token = source_secrets(source).get("access_token", "")
    if not token:
        raise ApplicationError("the Shopify connection has no Admin API access token", field="access_token")
    return token


def _graphql(source: Source, query: str, variables: dict[str, Any]) -> dict[str, Any]:
    status, answer, _headers = call(
        _graphql_url(source),
        method="POST",
        headers={"X-Shopify-Access-Token": _token(source)},
        body={"query": query, "variables": variables},
    )
    if status in (401, 403):
        raise RemoteError(f"Shopify refused the access token (HTTP {status})", field="access_token")
    if not isinstance(answer, dict):
        raise RemoteError(f"Shopify answered HTTP {status} without JSON")
    answer["_status"] = status
    return answer


def shopify_order_fetch(source: Source, order_id: str) -> dict[str, Any]:
    """One order by its numeric id, in the REST shape (for refunds/create, which names only the order)."""
    if not order_id.isdigit():
        raise shopify.ShopifyMappingError(f"order_id: not an order id ({order_id!r})")
    answer = _graphql(source, shopify.ORDER_QUERY, {"id": f"gid://shopify/Order/{order_id}"})
    node = (answer.get("data") or {}).get("order")
    if not node:
        raise shopify.ShopifyMappingError(f"order_id: Shopify has no order {order_id}")
    return shopify.rest_from_graphql(node)


def shopify_sync(
    *,
    source: Source,
    since: datetime | None = None,
    restart: bool = False,
    sleep: Callable[[float], None] = time.sleep,
    max_pages: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Backfill a Shopify source (see the module docstring): resumes from the stored cursor unless `restart` or
    a different `since` is asked for. Raises ApplicationError (RemoteError) when the store cannot be read."""
    if source.kind != Source.Kind.SHOPIFY:
        raise ApplicationError("not a Shopify connection", field="source")
    report = SyncReport()
    if restart or (since is not None and since != source.sync_since):
        Source.objects.filter(pk=source.pk).update(cursor="", sync_since=since)
        source.cursor, source.sync_since = "", since
    cost: dict[str, Any] | None = None
    while max_pages is None or report.pages < max_pages:
        variables = {"first": shopify.PAGE_SIZE, "after": source.cursor or None,
                     "query": shopify.search_since(source.sync_since)}  # fmt: skip
        for _attempt in range(1, PAGE_ATTEMPTS + 1):
            wait = shopify.throttle_wait(cost, next_cost=PAGE_COST)
            if wait:
                report.waited += wait
                sleep(wait)
            answer = _graphql(source, shopify.ORDERS_QUERY, variables)
            cost = (answer.get("extensions") or {}).get("cost")
            if shopify.is_throttled(answer) or answer["_status"] == 429:
                status = (cost or {}).get("throttleStatus") or {}
                # refused: whatever the bucket says, wait before asking again
                cost = {"throttleStatus": {**status, "currentlyAvailable": min(
                    float(status.get("currentlyAvailable") or 0), PAGE_COST - float(status.get("restoreRate") or 50)
                ), "restoreRate": status.get("restoreRate") or 50}}  # fmt: skip
                continue
            if answer.get("errors"):
                raise RemoteError(f"Shopify: {answer['errors'][0].get('message', 'error')}")
            break
        else:
            raise RemoteError(f"Shopify kept throttling the backfill ({PAGE_ATTEMPTS} attempts on one page)")
        orders = (answer.get("data") or {}).get("orders") or {}
        info = orders.get("pageInfo") or {}
        rows = []
        for node in orders.get("nodes") or []:
            try:
                rows.append(shopify.order_row(shopify.rest_from_graphql(node), shop_name=source.shop.name))
            except shopify.ShopifyMappingError as exc:
                report.failed.append(f"{node.get('name') or node.get('id')}: {exc}")
        more = bool(info.get("hasNextPage"))
        cursor = str(info.get("endCursor") or "") if more else ""
        _page_write(source, rows, cursor, report, done=not more)
        if progress is not None:
            progress(report.pages)
        if not more:
            report.done = True
            break
    return report


def _page_write(source: Source, rows: list[Any], cursor: str, report: SyncReport, *, done: bool) -> None:
    """One page's orders and the cursor after it, together (what makes a killed backfill resumable)."""
    with transaction.atomic():
        written = orders_write(rows=rows, shop=source.shop)
        changes: dict[str, Any] = {"cursor": cursor}
        if done:
            changes["synced_at"] = timezone.now()
        Source.objects.filter(pk=source.pk).update(**changes)
    source.cursor = cursor
    report.pages += 1
    report.created += written.created
    report.updated += written.updated
    report.unchanged += written.unchanged
    source_event_record(source=source, orders=len(rows), ok=not report.failed, reason="; ".join(report.failed)[:500])


def woocommerce_sync(
    *,
    source: Source,
    since: datetime | None = None,
    restart: bool = False,
    max_pages: int | None = None,
    progress: Callable[[int], None] | None = None,
) -> SyncReport:
    """Backfill a WooCommerce source through its REST API, page by page, resumable like Shopify's (the cursor
    is the next page number; orders sorted by id ascending so pages do not shift as new orders come in)."""
    if source.kind != Source.Kind.WOOCOMMERCE:
        raise ApplicationError("not a WooCommerce connection", field="source")
    secrets = source_secrets(source)
    key, secret = secrets.get("consumer_key", ""), secrets.get("consumer_secret", "")
    if not key or not secret:
        raise ApplicationError("the WooCommerce connection needs its consumer key and secret", field="consumer_key")
    auth = "Basic " + base64.b64encode(f"{key}:{secret}".encode()).decode()
    report = SyncReport()
    if restart or (since is not None and since != source.sync_since):
        Source.objects.filter(pk=source.pk).update(cursor="", sync_since=since)
        source.cursor, source.sync_since = "", since
    page = int(source.cursor or 1)
    while max_pages is None or report.pages < max_pages:
        query = {"page": page, "per_page": woocommerce.PAGE_SIZE, "orderby": "id", "order": "asc"}
        if source.sync_since is not None:
            query["modified_after"] = source.sync_since.isoformat()
        status, answer, headers = call(
            f"{base_url(source.address)}/wp-json/wc/v3/orders?{urlencode(query)}", headers={"Authorization": auth}
        )
        if status in (401, 403):
            raise RemoteError(f"WooCommerce refused the consumer key (HTTP {status})", field="consumer_key")
        if status != 200 or not isinstance(answer, list):
            raise RemoteError(f"WooCommerce answered HTTP {status} to the orders page {page}")
        rows = []
        for order in answer:
            try:
                rows.append(woocommerce.order_row(order, shop_name=source.shop.name))
            except woocommerce.WooMappingError as exc:
                report.failed.append(f"{order.get('number') or order.get('id')}: {exc}")
        pages = int(headers.get("X-WP-TotalPages") or headers.get("x-wp-totalpages") or page)
        more = page < pages and bool(answer)
        _page_write(source, rows, str(page + 1) if more else "", report, done=not more)
        if progress is not None:
            progress(report.pages)
        if not more:
            report.done = True
            break
        page += 1
    return report
