"""Personal data at rest against the real database: stored sealed, found by digest, re-keyed by `pii-rekey`."""

from __future__ import annotations

import json
from io import StringIO

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import call_command
from django.db import connection

from huitouke.core.pii_crypto import PiiCipher
from huitouke.core.pii_fields import pii_cipher
from huitouke.customers.models import Customer
from huitouke.customers.selectors import CustomerFilter, customer_list
from huitouke.customers.services import customer_create, customer_update
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db

KEY_A, KEY_B = Fernet.generate_key().decode(), Fernet.generate_key().decode()
COLUMNS = "real_name, phone, email, address, phone_digest, phone_last4_digest, email_digest, real_name_digest"


def stored(pk: int) -> dict[str, str]:
    with connection.cursor() as cur:
        cur.execute(f"SELECT {COLUMNS} FROM customers_customer WHERE id = %s", [pk])
        row = cur.fetchone()
    return dict(zip([c.strip() for c in COLUMNS.split(",")], row, strict=True))


def found(q: str, **kw) -> list[str]:
    return sorted(c.name for c in customer_list(filters=CustomerFilter.from_params({"search": q}, **kw)))


def test_a_created_customer_is_stored_sealed_with_its_digests():
    c = customer_create(
        name="张小凡", real_name="张凡", phone="138 1234 5678", email="Zhang@Example.com", address="文三路1号"
    )

    raw = stored(c.pk)
    assert all(raw[f].startswith("pii1:") for f in ("real_name", "phone", "email", "address"))
    assert "13812345678" not in raw["phone"]
    assert raw["phone_digest"] == pii_cipher().phone_digest("13812345678")
    assert raw["phone_last4_digest"] == pii_cipher().last4_digest("5678")
    assert raw["email_digest"] == pii_cipher().email_digest("zhang@example.com")
    assert raw["real_name_digest"] == pii_cipher().name_digest("张凡")
    again = Customer.objects.get(pk=c.pk)
    assert (again.phone, again.email, again.real_name, again.address) == (
        "13812345678",
        "zhang@example.com",
        "张凡",
        "文三路1号",
    )
    assert Customer.objects.filter(pk=c.pk).values_list("phone", flat=True).get() == "13812345678"


def test_an_update_refreshes_the_digests_and_search_follows():
    c = customer_create(name="李四", phone="13900000001")
    customer_update(customer=c, phone="13900000002", email="li@example.org")

    assert found("13900000001") == []
    assert found("13900000002") == ["李四"]
    assert found("0002") == ["李四"]
    assert found("li@example.org") == ["李四"]
    assert stored(c.pk)["phone_digest"] == pii_cipher().phone_digest("13900000002")


@pytest.mark.parametrize(
    ("q", "unmasked", "expected"),
    [
        ("13812345678", False, ["张小凡"]),
        ("+86 138-1234-5678", True, ["张小凡"]),
        ("5678", False, ["张小凡"]),
        ("5678", True, ["张小凡"]),
        ("ZHANG@example.com", False, ["张小凡"]),
        ("张凡", False, ["张小凡"]),  # the whole real name
        ("张", False, ["张小凡"]),  # the display name's prefix
        ("1381234", True, []),  # no prefix of encrypted data, whoever asks
        ("zhang@", True, []),
        ("139****0000", False, ["李四"]),  # a masked phone as stored
        ("0000", False, ["李四"]),
    ],
)
def test_search_by_full_phone_last_four_email_and_real_name(q, unmasked, expected):
    customer_create(name="张小凡", real_name="张凡", phone="13812345678", email="zhang@example.com")
    customer_create(name="李四", phone="139****0000")
    assert found(q, unmasked=unmasked) == expected


def test_comparing_an_encrypted_column_with_a_value_is_refused():
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(Customer.objects.filter(phone="13812345678"))
    lookup = {"email__startswith": "a"}  # a variable: mypy's django plugin crashes on this lookup written out
    with pytest.raises(FieldError, match="encrypted at rest"):
        list(Customer.objects.filter(**lookup))
    assert list(Customer.objects.filter(phone="")) == []  # emptiness can still be asked


def test_key_rotation_with_pii_rekey(settings):
    settings.HUITOUKE_PII_KEYS = [KEY_A]
    c = customer_create(name="王五", phone="13700000007", email="w@example.com", address="中山路8号")
    under_a = stored(c.pk)

    # given: a new key first, the old one after it
    settings.HUITOUKE_PII_KEYS = [KEY_B, KEY_A]
    assert Customer.objects.get(pk=c.pk).phone == "13700000007"  # old tokens still read

    # when
    out = StringIO()
    call_command("pii_rekey", "--json", stdout=out)

    # then: every sealed column was rewritten under the new key; a second run writes nothing
    assert json.loads(out.getvalue())["customers"] == {"examined": 1, "rewritten": 1}
    under_b = stored(c.pk)
    for f in ("phone", "email", "address"):
        assert under_b[f] != under_a[f]
        assert PiiCipher([KEY_B], b"unused").open(under_b[f]) == getattr(c, f)
    assert under_b["phone_digest"] == under_a["phone_digest"]
    out = StringIO()
    call_command("pii_rekey", "--json", stdout=out)
    assert json.loads(out.getvalue())["customers"] == {"examined": 1, "rewritten": 0}

    # and the old key can go
    settings.HUITOUKE_PII_KEYS = [KEY_B]
    again = Customer.objects.get(pk=c.pk)
    assert (again.phone, again.email, again.address) == ("13700000007", "w@example.com", "中山路8号")
    assert found("13700000007") == ["王五"]


def test_a_new_hash_key_takes_effect_after_pii_rekey(settings):
    customer_create(name="赵六", phone="13600000006")
    settings.HUITOUKE_PII_HASH_KEY = "another digest key"
    assert found("13600000006") == []  # the digests are still the old key's

    call_command("pii_rekey", stdout=StringIO())

    assert found("13600000006") == ["赵六"]


def test_pii_rekey_encrypts_clear_text_written_before_encryption():
    c = CustomerFactory.create(name="老客户")
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE customers_customer SET phone = %s, email = %s, real_name = %s WHERE id = %s",
            ["13500000005", "old@example.com", "老张", c.pk],
        )
    assert Customer.objects.get(pk=c.pk).phone == "13500000005"  # readable meanwhile
    assert found("13500000005") == []  # but not searchable

    call_command("pii_rekey", stdout=StringIO())

    raw = stored(c.pk)
    assert raw["phone"].startswith("pii1:")
    assert raw["email"].startswith("pii1:")
    assert found("13500000005") == ["老客户"]
    assert found("old@example.com") == ["老客户"]
    assert found("老张") == ["老客户"]


def test_pii_rekey_refuses_when_a_key_in_use_is_missing(settings):
    settings.HUITOUKE_PII_KEYS = [KEY_A]
    customer_create(name="钱七", phone="13400000004")
    settings.HUITOUKE_PII_KEYS = [KEY_B]

    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="not in HUITOUKE_PII_KEYS"):
        call_command("pii_rekey", stdout=StringIO(), stderr=StringIO())


def test_an_orders_delivery_details_are_sealed_equal_for_equal_values():
    from huitouke.orders.models import Order
    from huitouke.orders.tests.factories import OrderFactory

    a = OrderFactory.create(receiver_name="张凡", receiver_phone="13812345678", receiver_address="文三路1号")
    b = OrderFactory.create(receiver_name="张凡", receiver_phone="13812345678", receiver_address="文三路1号")
    with connection.cursor() as cur:
        cur.execute(
            "SELECT receiver_name, receiver_phone, receiver_address FROM orders_order WHERE id IN (%s, %s) ORDER BY id",
            [a.pk, b.pk],
        )
        first, second = cur.fetchall()
    assert first == second  # equal values, equal tokens: the import compares them in SQL
    assert all(v.startswith("piis:") for v in first)
    assert "13812345678" not in "".join(first)
    again = Order.objects.get(pk=a.pk)
    assert (again.receiver_name, again.receiver_phone, again.receiver_address) == ("张凡", "13812345678", "文三路1号")


def test_pii_rekey_moves_order_details_to_the_new_key(settings):
    from huitouke.orders.models import Order
    from huitouke.orders.tests.factories import OrderFactory

    settings.HUITOUKE_PII_KEYS = [KEY_A]
    order = OrderFactory.create(receiver_phone="13812345678")
    settings.HUITOUKE_PII_KEYS = [KEY_B, KEY_A]
    out = StringIO()
    call_command("pii_rekey", "--json", stdout=out)

    assert json.loads(out.getvalue())["orders"] == {"examined": 1, "rewritten": 1}
    settings.HUITOUKE_PII_KEYS = [KEY_B]
    assert Order.objects.get(pk=order.pk).receiver_phone == "13812345678"


def test_a_malformed_key_is_reported_by_the_system_check(settings):
    from huitouke.core.pii_fields import pii_keys_check

    assert pii_keys_check() == []
    settings.HUITOUKE_PII_KEYS = ["not-a-key"]
    [error] = pii_keys_check()
    assert error.id == "huitouke.E020"
    assert "HUITOUKE_PII_KEYS" in error.msg
