"""The webhook signature both stores use: base64 of the HMAC-SHA256 of the raw body with the webhook's secret
(Shopify's X-Shopify-Hmac-Sha256, WooCommerce's X-WC-Webhook-Signature). Pure, no ORM."""

from __future__ import annotations

import base64
import hashlib
import hmac


def hmac_sha256_base64_valid(body: bytes, header: str, secret: str) -> bool:
    """True when `header` is the signature of `body` under `secret`; compared in constant time."""
    if not header or not secret:
        return False
    expected = base64.b64encode(hmac.new(secret.encode(), body, hashlib.sha256).digest()).decode()
    return hmac.compare_digest(expected, header.strip())
