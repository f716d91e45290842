"""`core.bulk.keyed_ids` / `keyed_rows`: the key look-ups of a write, one index search per key on PostgreSQL."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from huitouke.core.bulk import keyed_ids, keyed_rows
from huitouke.core.pii_crypto import is_sealed
from huitouke.customers.models import Customer, CustomerIdentity
from huitouke.orders.models import Product
from huitouke.orders.tests.factories import ShopFactory


@pytest.mark.django_db
def test_keyed_ids_finds_the_scoped_keys_and_leaves_out_the_rest() -> None:
    tea, other = ShopFactory.create(name="Tea"), ShopFactory.create(name="Other")
    mine = Product.objects.create(shop=tea, external_id="P1", title="Longjing")
    Product.objects.create(shop=other, external_id="P2", title="Not this shop's")
    assert keyed_ids(Product, "external_id", ["P1", "P2", "nope"], scope={"shop_id": tea.pk}) == {"P1": mine.pk}
    assert keyed_ids(Product, "external_id", [], scope={"shop_id": tea.pk}) == {}
    buyer = Customer.objects.create(name="Zhang")
    CustomerIdentity.objects.create(customer=buyer, platform="taobao", handle="zhang")
    CustomerIdentity.objects.create(customer=Customer.objects.create(name="Li"), platform="jd", handle="zhang")
    found = keyed_ids(CustomerIdentity, "handle", ["zhang"], scope={"platform": "taobao"}, result="customer_id")
    assert found == {"zhang": buyer.pk}


@pytest.mark.django_db(transaction=True)
def test_keyed_rows_gives_stored_values_in_the_order_asked_and_can_lock_them() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("PostgreSQL only")
    import psycopg
    from django.db import transaction

    a, b = Customer.objects.create(name="A", phone="13800000001"), Customer.objects.create(name="B")
    rows: list[Any] = keyed_rows(Customer, "id", [b.pk, a.pk, 0], ["name", "phone"], sql_type="bigint")
    assert [(r[0], r[1]) for r in rows] == [(b.pk, "B"), (a.pk, "A")]
    assert is_sealed(rows[1][2])  # as stored, not opened
    settings = connection.settings_dict
    other = psycopg.connect(
        host=settings["HOST"], port=settings["PORT"] or 5432, user=settings["USER"], dbname=settings["NAME"],
        autocommit=True,
    )  # fmt: skip
    try:
        with transaction.atomic():
            assert keyed_rows(Customer, "id", [a.pk], ["id"], sql_type="bigint", lock=True) == [(a.pk, a.pk)]
            with pytest.raises(psycopg.errors.LockNotAvailable):
                other.execute("SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE NOWAIT", [a.pk])
            other.execute("SELECT 1 FROM customers_customer WHERE id = %s FOR UPDATE NOWAIT", [b.pk])  # not locked
    finally:
        other.close()
