"""A pushed order filling its buyer's profile (the import's `OrderWriter._fill_profiles`): decided on the stored
tokens, the filled fields sealed with their digests, the untouched ones left as stored."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from huitouke.connectors.services import orders_push
from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Customer
from huitouke.orders.feed.values import DIGEST_COLUMNS
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

STORED = ("real_name", "phone", "email", "address", "province", *DIGEST_COLUMNS)


def order(no: str, day: int, **over: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "shop": "Tea House",
        "order_no": no,
        "buyer_handle": "tea_lover",
        "status": "paid",
        "total_amount": "10.00",
        "created_at": f"2026-12-{day:02d}T10:00:00+08:00",
        "paid_at": f"2026-12-{day:02d}T10:05:00+08:00",
    }
    base.update(over)
    return base


def stored(customer_id: int) -> dict[str, str]:
    """The customer's profile columns as the table holds them (tokens, not clear values)."""
    with connection.cursor() as cur:
        cur.execute(f"SELECT {', '.join(STORED)} FROM customers_customer WHERE id = %s", [customer_id])
        return dict(zip(STORED, cur.fetchone(), strict=True))


def test_later_pushes_fill_blanks_and_unmask_the_phone_without_resealing_the_rest() -> None:
    ShopFactory(name="Tea House", platform="taobao")
    cipher = pii_cipher()
    # given: a buyer first seen with a masked phone and a masked name only
    assert orders_push(items=[order("A1", 1, phone="138****1234", buyer_name="李**")]).created == 1
    buyer = Customer.objects.get(identities__handle="tea_lover")
    first = stored(buyer.pk)
    assert first["phone"][0] == "*"  # a masked value's token keeps its mark
    assert (first["real_name"], first["email"]) == ("", "")

    # when: a later order brings the full phone, an e-mail, a name and an address
    later = order("A2", 2, phone="13800001234", email="Li@Example.com", buyer_name="李雷", address="龙井路 1 号")
    assert orders_push(items=[later]).created == 1

    # then: all four are filled, sealed, with the digests of the new values
    buyer.refresh_from_db()
    assert (buyer.phone, buyer.email, buyer.real_name, buyer.address) == (
        "13800001234",
        "li@example.com",
        "李雷",
        "龙井路 1 号",
    )
    second = stored(buyer.pk)
    digests = cipher.digests(phone="13800001234", email="li@example.com", real_name="李雷")
    assert tuple(second[d] for d in DIGEST_COLUMNS) == digests
    assert (second["phone"], second["address"]) != ("13800001234", "龙井路 1 号")  # sealed, not clear

    # when: a third order offers another phone and name (not better: the stored ones are usable) and a province
    third = order("A3", 3, phone="13900000000", buyer_name="韩梅梅", email="x@example.com", province="浙江省")
    assert orders_push(items=[third]).created == 1

    # then: only the province changed; the encrypted columns and digests are the very same stored text
    after = stored(buyer.pk)
    assert after["province"] == "浙江省"
    assert {k: v for k, v in after.items() if k != "province"} == {k: v for k, v in second.items() if k != "province"}


@pytest.mark.django_db(transaction=True)
def test_a_push_keeps_the_databases_durability_while_a_file_import_may_relax_it(tmp_path: Any) -> None:
    """An order push answered 200 must survive a database crash (the sender will not send it again), so its
    transaction never turns synchronous_commit off; the import writer does so only in a transaction of its own,
    which a crash lets the seller simply run again."""
    from huitouke.connectors.push import batch_rows
    from huitouke.connectors.services import _shops
    from huitouke.orders.importing import ErrorReport, ImportResult, OrderWriter, orders_import_rows

    ShopFactory(name="Tea House", platform="taobao")
    seen: list[str] = []

    def spy(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        seen.append(sql)
        return execute(sql, params, many, context)

    with connection.execute_wrapper(spy):
        assert orders_push(items=[order("D1", 3)]).created == 1
    assert seen
    assert not [sql for sql in seen if "synchronous_commit" in sql]

    if connection.vendor != "postgresql":
        return
    rows, rejected = batch_rows([order("D2", 4)], _shops({"Tea House"}))
    assert rejected == []
    seen.clear()
    with connection.execute_wrapper(spy):
        orders_import_rows(
            stream=iter([row for _i, _s, row in rows]),
            result=ImportResult(format="test"),
            report=ErrorReport(tmp_path / "errors.csv"),
            shop=None,
            batch_size=10,
            writer_class=OrderWriter,
        )
    assert [sql for sql in seen if "synchronous_commit" in sql] == ["SET LOCAL synchronous_commit = off"]


def test_new_buyers_are_inserted_with_their_stats_and_the_refresh_leaves_them_be() -> None:
    from decimal import Decimal

    from huitouke.orders.services import customer_stats_refresh

    ShopFactory(name="Tea House", platform="taobao")
    items = [
        order("S1", 3, total_amount="10.00"),
        order("S2", 1, total_amount="25.50"),
        order("S3", 2, status="pending", paid_at=None, total_amount="99.00"),  # not counted
        order("S4", 4, buyer_handle="tea_newcomer", status="pending", paid_at=None),
    ]
    assert orders_push(items=items).created == 4
    lover = Customer.objects.get(identities__handle="tea_lover")
    assert (lover.order_count, lover.total_spent) == (2, Decimal("35.50"))
    assert (lover.first_order_at.day, lover.last_order_at.day) == (1, 3)  # type: ignore[union-attr]
    newcomer = Customer.objects.get(identities__handle="tea_newcomer")
    assert (newcomer.order_count, newcomer.total_spent, newcomer.last_order_at) == (0, 0, None)
    # the numbers are the refresh's own: recomputing them for everyone changes no customer
    assert customer_stats_refresh(customer_ids=None) == 0
