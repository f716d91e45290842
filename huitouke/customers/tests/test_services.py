"""Customer services against the real database."""

from __future__ import annotations

from datetime import date
from decimal import Decimal

import pytest

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Consent, Customer, CustomerTag, Note
from huitouke.customers.services import (
    consent_set,
    customer_create,
    customer_merge,
    customer_update,
    customers_tag,
    customers_untag,
    identity_add,
    note_add,
    phone_normalise,
)
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory, TagFactory
from huitouke.loyalty.models import Membership
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.models import Order
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("138 1234 5678", "13812345678"),
        ("+86 138-1234-5678", "13812345678"),
        ("008613812345678", "13812345678"),
        ("'13812345678", "13812345678"),
        ("138****5678", "138****5678"),
        ("", ""),
    ],
)
def test_phone_normalise(raw, expected):
    assert phone_normalise(raw) == expected


def test_customer_create_with_identity_and_clean_values():
    customer = customer_create(
        identities=[("taobao", " 小鱼爱喝茶 ")],
        phone="+86 138 1234 5678",
        email=" Zhang@Example.COM ",
        birthday="1990-05-17",
        birthday_calendar="lunar",
    )

    customer.refresh_from_db()
    assert customer.name == "小鱼爱喝茶"
    assert customer.phone == "13812345678"
    assert customer.email == "zhang@example.com"
    assert customer.birthday == date(1990, 5, 17)
    assert customer.birthday_calendar == "lunar"
    assert list(customer.identities.values_list("platform", "handle")) == [("taobao", "小鱼爱喝茶")]


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"phone": "call me"}, "phone"),
        ({"email": "not-an-email"}, "email"),
        ({"birthday": "17/05/1990"}, "birthday"),
        ({"birthday_calendar": "moon"}, "birthday_calendar"),
        ({"pref_price": "cheap"}, "pref_price"),
        ({"order_count": 3}, "order_count"),
    ],
)
def test_customer_create_rejects_bad_values_naming_the_field(values, field):
    with pytest.raises(ApplicationError) as exc:
        customer_create(name="x", **values)

    assert exc.value.field == field
    assert Customer.objects.count() == 0


def test_identity_of_another_customer_is_refused_and_nothing_is_written():
    IdentityFactory.create(platform="taobao", handle="tb_1")

    with pytest.raises(ApplicationError) as exc:
        customer_create(name="dup", identities=[("taobao", "tb_1")])

    assert exc.value.field == "identities"
    assert not Customer.objects.filter(name="dup").exists()


def test_identity_add_is_idempotent_for_the_same_customer():
    customer = CustomerFactory.create()
    first = identity_add(customer=customer, platform="jd", handle="jd_9")
    second = identity_add(customer=customer, platform="jd", handle="jd_9")
    assert first.pk == second.pk


def test_customer_update_changes_only_given_fields():
    customer = CustomerFactory.create(name="a", province="浙江省")

    customer_update(customer=customer, pref_choice="recommend", pref_knowledge="expert")

    customer.refresh_from_db()
    assert (customer.pref_choice, customer.pref_knowledge, customer.province) == ("recommend", "expert", "浙江省")


def test_bulk_tag_and_untag_count_only_changes():
    a, b, c = CustomerFactory.create(), CustomerFactory.create(), CustomerFactory.create()
    customers_tag(customer_ids=[a.pk], tag_name="老客户")

    added = customers_tag(customer_ids=[a.pk, b.pk, c.pk, 999999], tag_name="老客户")
    removed = customers_untag(customer_ids=[a.pk, b.pk], tag_name="老客户")

    assert added == 2
    assert removed == 2
    assert list(CustomerTag.objects.values_list("customer_id", flat=True)) == [c.pk]


@pytest.mark.parametrize("name", ["", "   ", "x" * 33])
def test_tag_name_is_validated(name):
    with pytest.raises(ApplicationError) as exc:
        customers_tag(customer_ids=[CustomerFactory.create().pk], tag_name=name)
    assert exc.value.field == "tag"


def test_note_add_signs_with_author(owner):
    customer = CustomerFactory.create()
    note = note_add(customer=customer, author=owner, body="  喜欢龙井,不要辣味零食  ")
    assert (note.body, note.author) == ("喜欢龙井,不要辣味零食", owner)
    with pytest.raises(ApplicationError):
        note_add(customer=customer, author=owner, body=" ")


def test_consent_latest_answer_wins():
    customer = CustomerFactory.create()
    consent_set(customer=customer, channel="sms", purpose="new_products", granted=True, source="visit")
    consent_set(customer=customer, channel="sms", purpose="new_products", granted=False, source="unsubscribe")
    assert list(Consent.objects.values_list("granted", "source")) == [(False, "unsubscribe")]
    with pytest.raises(ApplicationError):
        consent_set(customer=customer, channel="pigeon", purpose="care", granted=True, source="x")


def test_merge_moves_everything_and_keeps_a_tombstone(manager):
    shop = ShopFactory.create(name="茶食店")
    levels_set(
        shop=shop,
        specs=[
            LevelSpec("普通会员", Decimal("0"), 1, 100),
            LevelSpec("VIP", Decimal("300"), 3, 95),
        ],
    )
    source = CustomerFactory.create(name="old", phone="13800000001", province="浙江省")
    target = CustomerFactory.create(name="new", phone="", province="")
    IdentityFactory.create(customer=source, platform="taobao", handle="tb_old")
    IdentityFactory.create(customer=target, platform="jd", handle="jd_new")
    shared, only_source = TagFactory.create(name="a"), TagFactory.create(name="b")
    customers_tag(customer_ids=[source.pk, target.pk], tag_name=shared.name)
    customers_tag(customer_ids=[source.pk], tag_name=only_source.name)
    note_add(customer=source, author=manager, body="remember me")
    consent_set(customer=source, channel="sms", purpose="care", granted=True, source="x")
    OrderFactory.create(shop=shop, customer=source, paid_amount=Decimal("200.00"))
    OrderFactory.create(shop=shop, customer=target, paid_amount=Decimal("150.00"))
    customer_stats_refresh(customer_ids=[source.pk, target.pk])
    levels_regrade()

    merged = customer_merge(source_id=source.pk, target_id=target.pk, actor=manager)

    source.refresh_from_db()
    assert source.merged_into_id == target.pk
    assert set(merged.identities.values_list("handle", flat=True)) == {"tb_old", "jd_new"}
    assert set(merged.tags.values_list("name", flat=True)) == {"a", "b"}
    assert Note.objects.get().customer_id == target.pk
    assert merged.consents.count() == 1
    assert Order.objects.filter(customer=target).count() == 2
    assert (merged.order_count, merged.total_spent) == (2, Decimal("350.00"))
    assert (merged.phone, merged.province) == ("13800000001", "浙江省")
    assert merged.name == "new"
    assert list(Membership.objects.values_list("customer_id", "level__name")) == [(target.pk, "VIP")]
    entry = AuditEntry.objects.get(action="merge")
    assert (entry.actor, entry.target_id, entry.detail["source_id"]) == (manager, str(target.pk), source.pk)
    assert "taobao:tb_old" in entry.detail["source"]["identities"]
    assert entry.detail["source"]["phone"].startswith("pii1:")  # contact data stays encrypted in the audit log


def test_merge_refuses_self_missing_and_already_merged(manager):
    a, b, c = CustomerFactory.create(), CustomerFactory.create(), CustomerFactory.create()
    with pytest.raises(ApplicationError):
        customer_merge(source_id=a.pk, target_id=a.pk, actor=manager)
    with pytest.raises(NotFoundError):
        customer_merge(source_id=a.pk, target_id=999999, actor=manager)
    customer_merge(source_id=a.pk, target_id=b.pk, actor=manager)
    with pytest.raises(ApplicationError):
        customer_merge(source_id=a.pk, target_id=c.pk, actor=manager)
    assert AuditEntry.objects.filter(action="merge").count() == 1


def test_the_migration_takes_contact_data_out_of_existing_display_names():
    """Customers created from an email or phone handle before issue 14 carry it as their name: the data migration
    gives them their real name, or the masked value, and leaves every other name alone."""
    import importlib

    from django.apps import apps

    migration = importlib.import_module("huitouke.customers.migrations.0005_names_without_contact_data")
    amy = CustomerFactory.create(name="amy@example.com", real_name="Amy Lee")
    harry = CustomerFactory.create(name="hwilson@yahoo.com")
    phone = CustomerFactory.create(name="13601230792", real_name="13601230792")
    keep = [CustomerFactory.create(name=n) for n in ("小鱼爱喝茶", "tb_2024", "h***@yahoo.com", "id:1042")]

    migration.names_mask(apps, None)
    migration.names_mask(apps, None)  # twice: nothing more changes

    names = dict(Customer.objects.values_list("pk", "name"))
    assert [names[c.pk] for c in (amy, harry, phone)] == ["Amy Lee", "h***@yahoo.com", "136****0792"]
    assert [names[c.pk] for c in keep] == ["小鱼爱喝茶", "tb_2024", "h***@yahoo.com", "id:1042"]


def test_a_customer_created_with_an_email_handle_is_not_named_by_it():
    customer = customer_create(identities=[("shopify", "hwilson@yahoo.com")])
    named = customer_create(identities=[("shopify", "amy@example.com")], real_name="Amy Lee")

    assert (customer.name, named.name) == ("h***@yahoo.com", "Amy Lee")
