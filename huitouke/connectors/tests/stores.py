"""Local stand-ins for the stores' APIs, speaking their documented shapes: Shopify's Admin GraphQL `orders`
connection (cursor pages, `extensions.cost.throttleStatus`, "Throttled" answers) and `order(id:)`, and
WooCommerce's REST `/wp-json/wc/v3/orders` (pages, X-WP-TotalPages, basic auth). Plus signing helpers."""

from __future__ import annotations

import base64
import hashlib
import hmac
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from huitouke.messaging.tests.sinks import Hit

TOKEN = "shpat_test_token"
WEBHOOK_SECRET = "whsec-test"


def sign(body: bytes, secret: str = WEBHOOK_SECRET) -> str:
    return base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()


def money(amount: str) -> dict[str, Any]:
    return {"shopMoney": {"amount": amount}}


def graphql_order(n: int, *, email: str | None = None, status: str = "PAID") -> dict[str, Any]:
    """A GraphQL order node #100n with one line."""
    return {
        "id": f"gid://shopify/Order/{9000 + n}",
        "name": f"#{1000 + n}",
        "email": email or f"buyer{n}@example.com",
        "phone": None,
        "createdAt": f"2026-11-{n % 28 + 1:02d}T08:00:00Z",
        "processedAt": f"2026-11-{n % 28 + 1:02d}T08:01:00Z",
        "cancelledAt": None,
        "updatedAt": f"2026-11-{n % 28 + 1:02d}T09:00:00Z",
        "note": None,
        "displayFinancialStatus": status,
        "displayFulfillmentStatus": "UNFULFILLED",
        "subtotalPriceSet": money("20.00"),
        "totalShippingPriceSet": money("5.00"),
        "totalPriceSet": money("25.00"),
        "totalRefundedSet": money("0.00"),
        "customer": {"id": f"gid://shopify/Customer/{n}", "email": None, "phone": None, "displayName": f"Buyer {n}"},
        "shippingAddress": {"name": f"Buyer {n}", "address1": "Main St 1", "address2": None, "city": "Berlin",
                            "province": None, "zip": "10115", "phone": None},
        "billingAddress": None,
        "fulfillments": [],
        "lineItems": {"nodes": [{"name": "Sencha 100g", "title": "Sencha", "sku": "SEN-100", "quantity": 1,
                                 "originalUnitPriceSet": money("20.00"), "totalDiscountSet": money("0.00")}]},
    }  # fmt: skip


@dataclass
class FakeShopify:
    """Answers GraphQL POSTs like the Admin API. `available` is the bucket each answer reports, in turn (the last
    repeats); `throttle` answers that many first requests "Throttled"; `delay` slows every page (crash tests)."""

    orders: list[dict[str, Any]]
    available: list[float] = field(default_factory=lambda: [1000.0])
    throttle: int = 0
    delay: float = 0.0
    queries: list[dict[str, Any]] = field(default_factory=list)
    lock: threading.Lock = field(default_factory=threading.Lock)

    def __call__(self, hit: Hit) -> tuple[int, Any, dict[str, str]]:
        if hit.headers.get("X-Shopify-Access-Token") != TOKEN:
            return 401, {"errors": "[API] Invalid API key or access token (unrecognized login or wrong password)"}, {}
        request = hit.json()
        variables = request.get("variables") or {}
        with self.lock:
            self.queries.append(variables)
            count = len(self.queries)
            bucket = self.available[min(count - 1, len(self.available) - 1)]
        status = {"maximumAvailable": 1000.0, "currentlyAvailable": bucket, "restoreRate": 50.0}
        if count <= self.throttle:  # a refused query finds the bucket empty
            status = {**status, "currentlyAvailable": 0.0}
            return 200, {"errors": [{"message": "Throttled", "extensions": {"code": "THROTTLED"}}],
                         "extensions": {"cost": {"requestedQueryCost": 252, "actualQueryCost": None,
                                                 "throttleStatus": status}}}, {}  # fmt: skip
        if self.delay:
            time.sleep(self.delay)
        cost = {"requestedQueryCost": 252, "actualQueryCost": 12, "throttleStatus": status}
        if "order(id:" in request["query"]:
            wanted = variables.get("id")
            node = next((o for o in self.orders if o["id"] == wanted), None)
            return 200, {"data": {"order": node}, "extensions": {"cost": cost}}, {}
        start = int(variables.get("after") or 0)
        first = int(variables["first"])
        page = self.orders[start : start + first]
        end = start + len(page)
        info = {"hasNextPage": end < len(self.orders), "endCursor": str(end) if page else None}
        return 200, {"data": {"orders": {"pageInfo": info, "nodes": page}}, "extensions": {"cost": cost}}, {}


def woo_order(n: int, *, status: str = "processing", email: str | None = None) -> dict[str, Any]:
    return {
        "id": 500 + n,
        "number": str(500 + n),
        "status": status,
        "currency": "EUR",
        "date_created": f"2026-11-{n % 28 + 1:02d}T09:00:00",
        "date_created_gmt": f"2026-11-{n % 28 + 1:02d}T08:00:00",
        "date_modified_gmt": f"2026-11-{n % 28 + 1:02d}T08:30:00",
        "date_paid_gmt": f"2026-11-{n % 28 + 1:02d}T08:05:00" if status != "pending" else None,
        "date_completed_gmt": None,
        "total": "30.00",
        "shipping_total": "5.00",
        "customer_id": 70 + n,
        "customer_note": "",
        "billing": {"first_name": "Eva", "last_name": f"Woo{n}", "email": email or f"eva{n}@example.com",
                    "phone": "+49 170 1234567", "address_1": "Ring 2", "address_2": "", "city": "Köln",
                    "state": "NW", "postcode": "50667"},
        "shipping": {"first_name": "", "last_name": "", "address_1": "", "city": "", "state": "", "postcode": ""},
        "line_items": [{"id": 1, "name": "Matcha 30g", "product_id": 42, "sku": "MAT-30", "quantity": 1,
                        "price": 25, "total": "25.00"}],
        "shipping_lines": [{"method_title": "DHL"}],
        "refunds": [],
    }  # fmt: skip


@dataclass
class FakeWoo:
    """Answers GET /wp-json/wc/v3/orders like WooCommerce (basic auth, page/per_page, X-WP-TotalPages)."""

    orders: list[dict[str, Any]]
    key: str = "ck_test"
    secret: str = "cs_test"
    pages_asked: list[int] = field(default_factory=list)

    def __call__(self, hit: Hit) -> tuple[int, Any, dict[str, str]]:
        expected = "Basic " + base64.b64encode(f"{self.key}:{self.secret}".encode()).decode()
        if hit.headers.get("Authorization") != expected:
            return 401, {"code": "woocommerce_rest_cannot_view", "message": "Sorry, you cannot list resources."}, {}
        if hit.path != "/wp-json/wc/v3/orders":
            return 404, {"code": "rest_no_route"}, {}
        page = int(hit.query.get("page", ["1"])[0])
        per_page = int(hit.query.get("per_page", ["10"])[0])
        self.pages_asked.append(page)
        total_pages = max(1, -(-len(self.orders) // per_page))
        chunk = self.orders[(page - 1) * per_page : page * per_page]
        return 200, chunk, {"X-WP-Total": str(len(self.orders)), "X-WP-TotalPages": str(total_pages)}
