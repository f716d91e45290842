"""The generated rows' shapes: the column lists of each table, the id starts, a chunk of rows, and the text forms
(money, timestamps, PostgreSQL COPY) that both database writers take unchanged."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from huitouke.core.pii_crypto import PiiCipher

SHOP_COLUMNS = ("id", "created_at", "updated_at", "name", "platform", "timezone", "currency", "is_demo")
PRODUCT_COLUMNS = ("id", "created_at", "updated_at", "shop_id", "external_id", "title", "category", "price")
CUSTOMER_COLUMNS = (
    "id", "created_at", "updated_at", "name", "real_name", "gender", "birthday", "birthday_calendar", "phone",
    "email", "province", "city", "district", "address", "pref_choice", "pref_decision", "pref_price",
    "pref_knowledge", "first_order_at", "last_order_at", "order_count", "total_spent", "last_contacted_at",
    "merged_into_id", "erased_at",
)  # fmt: skip
#: The customer columns as stored: the generated ones, then the search digests of the encrypted personal data
#: (`seal_customers` turns generated rows into stored ones).
STORED_CUSTOMER_COLUMNS = (*CUSTOMER_COLUMNS, "phone_digest", "phone_last4_digest", "email_digest", "real_name_digest")
_SEALED = tuple(CUSTOMER_COLUMNS.index(c) for c in ("real_name", "phone", "email", "address"))
IDENTITY_COLUMNS = ("id", "created_at", "updated_at", "customer_id", "platform", "handle")
CUSTOMERTAG_COLUMNS = ("id", "customer_id", "tag_id", "created_at")
NOTE_COLUMNS = (
    "id", "created_at", "updated_at", "customer_id", "author_id", "body", "pinned",
    "follow_up_on", "follow_up_owner_id", "follow_up_done_at",
)  # fmt: skip
CONSENT_COLUMNS = ("id", "created_at", "updated_at", "customer_id", "channel", "purpose", "granted", "source")
ORDER_COLUMNS = (
    "id", "created_at", "updated_at", "shop_id", "order_no", "customer_id", "status", "goods_amount",
    "shipping_fee", "total_amount", "paid_amount", "refund_amount", "ordered_at", "paid_at", "shipped_at",
    "delivered_at", "confirmed_at", "closed_at", "logistics_company", "tracking_no", "gift", "buyer_remark",
    "seller_memo", "receiver_name", "receiver_phone", "receiver_address", "fingerprint",
)  # fmt: skip
LINE_COLUMNS = ("id", "order_id", "line_no", "product_id", "title", "sku", "quantity", "unit_price", "amount",
                "refund_state")  # fmt: skip

Row = tuple[Any, ...]


@dataclass(frozen=True)
class IdStart:
    """The largest id already used in each table; generated ids start right after."""

    shop: int = 0
    product: int = 0
    customer: int = 0
    identity: int = 0
    customertag: int = 0
    note: int = 0
    consent: int = 0
    order: int = 0
    line: int = 0


@dataclass
class Chunk:
    """The rows of a slice of customers, one list per table."""

    customers: list[Row] = field(default_factory=list)
    identities: list[Row] = field(default_factory=list)
    customertags: list[Row] = field(default_factory=list)
    notes: list[Row] = field(default_factory=list)
    consents: list[Row] = field(default_factory=list)
    orders: list[Row] = field(default_factory=list)
    lines: list[Row] = field(default_factory=list)

    TABLES = ("customers", "identities", "customertags", "notes", "consents", "orders", "lines")


def seal_customers(rows: Sequence[Row], cipher: PiiCipher) -> list[Row]:
    """Generated customer rows (CUSTOMER_COLUMNS) as stored (STORED_CUSTOMER_COLUMNS): real name, phone, email and
    street address sealed, the search digests appended. Sealing is not deterministic, so it happens when the rows
    are written, after the generator's reproducible output."""
    name_at, phone_at, email_at, _address_at = _SEALED
    out = []
    for row in rows:
        values = list(row)
        for i in _SEALED:
            values[i] = cipher.seal(values[i])
        digests = cipher.digests(phone=row[phone_at], email=row[email_at], real_name=row[name_at])
        out.append((*values, *digests))
    return out


_RECEIVER = tuple(ORDER_COLUMNS.index(c) for c in ("receiver_name", "receiver_phone", "receiver_address"))


def seal_orders(rows: Sequence[Row], cipher: PiiCipher) -> list[Row]:
    """Generated order rows with the delivery details sealed as the import seals them (`seal_fixed`)."""
    name_at, phone_at, address_at = _RECEIVER
    out = []
    for row in rows:
        values = list(row)
        for i in (name_at, phone_at, address_at):
            values[i] = cipher.seal_fixed(values[i])
        out.append(tuple(values))
    return out


def money(cents: int) -> str:
    return f"{cents // 100}.{cents % 100:02d}"


class Clock:
    """Turns epoch seconds (UTC) into the text form the databases take, caching the date part."""

    def __init__(self) -> None:
        self._days: dict[int, str] = {}

    def fmt(self, ts: int) -> str:
        day, sec = divmod(ts, 86400)
        ds = self._days.get(day)
        if ds is None:
            ds = self._days[day] = (date(1970, 1, 1) + timedelta(days=day)).isoformat()
        h, rest = divmod(sec, 3600)
        m, s = divmod(rest, 60)
        return f"{ds} {h:02d}:{m:02d}:{s:02d}"


def copy_text(rows: Sequence[Row]) -> str:
    """Rows in PostgreSQL COPY text format. Generated text never holds a tab, newline or backslash, so nothing
    needs escaping; None is NULL and True/False are valid booleans."""
    if not rows:
        return ""
    return "\n".join(["\t".join(["\\N" if v is None else str(v) for v in row]) for row in rows]) + "\n"
