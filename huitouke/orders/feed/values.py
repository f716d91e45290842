"""What an import writes for a parsed order: the values both writers store, in their column orders.

Pure (no Django, no ORM): the parsing child process (`feed.process`) uses it without loading the project.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

from huitouke.core.pii import name_from_handle
from huitouke.core.pii_crypto import PiiCipher
from huitouke.orders.importers.rows import LineRow, OrderRow

#: Profile fields an import fills on a customer when the archive has nothing better.
PROFILE_FIELDS = ("real_name", "phone", "email", "province", "city", "district", "address")
#: The profile as stored: PROFILE_FIELDS (phone, email, real name and street address encrypted, core.pii_crypto)
#: followed by the customer's search digests; `stored_profile` gives the values.
DIGEST_COLUMNS = ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")
STORED_PROFILE_FIELDS = (*PROFILE_FIELDS, *DIGEST_COLUMNS)
#: Order columns an import writes, but for the customer (which the writers resolve), in `order_values` order.
ORDER_VALUE_FIELDS = (
    "status",
    "goods_amount",
    "shipping_fee",
    "total_amount",
    "paid_amount",
    "refund_amount",
    "ordered_at",
    "paid_at",
    "shipped_at",
    "delivered_at",
    "confirmed_at",
    "closed_at",
    "logistics_company",
    "tracking_no",
    "gift",
    "buyer_remark",
    "seller_memo",
    "receiver_name",
    "receiver_phone",
    "receiver_address",
)
#: Line columns an import writes, but for the product (resolved by the writers), in `line_values` order.
LINE_VALUE_FIELDS = ("line_no", "title", "sku", "quantity", "unit_price", "amount", "refund_state")

#: The staged writer's staging tables, column by column (see `staging`).
ORDER_STAGE_COLUMNS = (
    "seq", "shop_id", "order_no", "platform", "handle", "name", *STORED_PROFILE_FIELDS, "accepts_marketing",
    "new_products", "summary_lines", *ORDER_VALUE_FIELDS, "fingerprint",
)  # fmt: skip
LINE_STAGE_COLUMNS = ("seq", "shop_id", "pkey", *LINE_VALUE_FIELDS)


def _unless_masked(value: str) -> str:
    return "" if "*" in value else value


def customer_name(row: OrderRow) -> str:
    """The display name of a customer created from this order: the buyer handle, unless that is contact data (a
    Shopify/WooCommerce email, a phone), which never becomes a name everyone sees (core.pii.name_from_handle)."""
    return name_from_handle(row.buyer_handle, _unless_masked(row.buyer_name)[:64])[:128]


def profile_values(row: OrderRow) -> tuple[str, ...]:
    """The PROFILE_FIELDS an order offers (a masked name offers none)."""
    return (
        _unless_masked(row.buyer_name)[:64],
        row.phone[:32],
        row.email.lower()[:254],
        row.province[:32],
        row.city[:32],
        row.district[:32],
        row.address[:255],
    )


def stored_profile(cipher: PiiCipher, values: tuple[str, ...], *, sealed: bool = True) -> tuple[str, ...]:
    """`profile_values` as stored (STORED_PROFILE_FIELDS): the personal ones sealed, then the search digests.
    `sealed=False` leaves the personal values clear, for an insert through the encrypted fields, which seal them
    once (values sealed here would have them open each token to recognise it)."""
    real_name, phone, email, province, city, district, address = values
    seal = cipher.seal if sealed else str
    return (
        seal(real_name),
        seal(phone),
        seal(email),
        province,
        city,
        district,
        seal(address),
        *cipher.digests(phone=phone, email=email, real_name=real_name),
    )


#: Positions in ORDER_VALUE_FIELDS of the delivery details, stored as equal tokens for equal values
#: (`PiiCipher.seal_fixed`), so that the staged import's SQL tells an unchanged order.
_RECEIVER = tuple(ORDER_VALUE_FIELDS.index(f) for f in ("receiver_name", "receiver_phone", "receiver_address"))


def order_values(row: OrderRow) -> tuple[Any, ...]:
    """The ORDER_VALUE_FIELDS of an order."""
    return (
        row.status,
        row.goods_amount,
        row.shipping_fee,
        row.total_amount,
        row.paid_amount,
        row.refund_amount,
        row.ordered_at,
        row.paid_at,
        row.shipped_at,
        row.delivered_at,
        row.confirmed_at,
        row.closed_at,
        row.logistics_company[:64],
        row.tracking_no[:64],
        row.gift[:255],
        row.buyer_remark[:1000],
        row.seller_memo[:1000],
        row.buyer_name[:64],
        row.phone[:32],
        (row.province + row.city + row.district + row.address)[:255],
    )


def line_values(line: LineRow) -> tuple[Any, ...]:
    """The LINE_VALUE_FIELDS of a line."""
    return (
        line.line_no,
        line.title[:255],
        line.sku[:128],
        line.quantity,
        line.unit_price,
        line.amount,
        line.refund_state,
    )


#: The member levels an import carries (`--keep-levels`): (shop id, platform, buyer handle) → (the order time,
#: row number and level of the buyer's newest order in the file that names a level).
Levels = dict[tuple[int, str, str], tuple[datetime, int, str]]


def level_note(levels: Levels, shop_id: int, row: OrderRow) -> None:
    """Remember the row's member level for its buyer in its shop, unless a newer order of theirs named one."""
    key = (shop_id, row.platform, row.buyer_handle)
    seen = levels.get(key)
    if seen is None or row.ordered_at >= seen[0]:
        levels[key] = (row.ordered_at, row.row_no, row.member_level[:64])


def levels_merge(into: Levels, other: Levels) -> None:
    """Add a batch's levels to the import's, the newer order winning."""
    for key, value in other.items():
        seen = into.get(key)
        if seen is None or value[0] >= seen[0]:
            into[key] = value


def product_key(line: LineRow) -> str:
    """A product is known by the seller's code (商家编码/外部系统编号), else the SKU, else its title."""
    key = line.external_id or line.sku
    if key:
        return key[:64]
    return "t:" + hashlib.sha1(line.title.encode()).hexdigest()[:20]


# ------------------------------------------------------------------------------------------------ fingerprints
def fingerprint_key(cipher: PiiCipher) -> bytes:
    """The key of the order fingerprints, derived from the personal data's digest key: the content digested
    holds the delivery details, so the digest is keyed like the customers' search digests."""
    return hashlib.blake2b(cipher.hash_key, digest_size=32, person=b"order-fp").digest()
