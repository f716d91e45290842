"""PIPL requests against the real database: the export of everything held, erasure, the retention rule, the
commands and the 360 page's buttons."""

from __future__ import annotations

import io
import json
import zipfile
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse
from freezegun import freeze_time
from openpyxl import load_workbook

from huitouke.core.models import AuditEntry
from huitouke.customers.models import Customer, CustomerIdentity, Note
from huitouke.customers.pipl import (
    DELETE_IN,
    ERASE_ACTION,
    ERASE_IN,
    EXPORT_ACTION,
    customer_data_export,
    customer_erase,
    customers_retention_due,
    customers_retention_erase,
    retention_cutoff,
)
from huitouke.customers.selectors import CustomerFilter, customer_list
from huitouke.customers.services import consent_set, customer_create, customer_merge, customers_tag, note_add
from huitouke.messaging.models import Message
from huitouke.orders.models import Order
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory
from huitouke.reviews.models import Review
from huitouke.service.models import TicketReply
from huitouke.service.services import ticket_create, ticket_reply

pytestmark = pytest.mark.django_db

WHEN = datetime(2025, 6, 18, 10, 0, tzinfo=UTC)


@pytest.fixture
def held(owner):
    """A customer with something in every place personal data lives."""
    shop = ShopFactory.create(name="山岚茶食")
    c = customer_create(
        name="小鱼爱喝茶",
        real_name="张凡",
        phone="13812345678",
        email="zhang@example.com",
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address="文三路1号",
        identities=[("taobao", "小鱼爱喝茶")],
    )
    note_add(customer=c, author=owner, body="张先生喜欢明前龙井，电话 13812345678")
    customers_tag(customer_ids=[c.pk], tag_name="老客户")
    consent_set(customer=c, channel="sms", purpose="marketing", granted=True, source="test")
    order = OrderFactory.create(
        shop=shop,
        customer=c,
        order_no="T1001",
        total_amount=Decimal("268.00"),
        paid_amount=Decimal("268.00"),
        receiver_name="张凡",
        receiver_phone="13812345678",
        receiver_address="浙江省杭州市西湖区文三路1号",
        buyer_remark="请周末送",
    )
    OrderLineFactory.create(order=order, line_no=1, title="明前龙井 250g", amount=Decimal("268.00"))
    Message.objects.create(
        customer=c,
        channel="sms",
        purpose="care",
        status="sent",
        body="张凡您好，您的龙井已签收",
        to_address="13812345678",
        scheduled_at=WHEN,
        next_attempt_at=WHEN,
        idempotency_key="pipl-1",
    )
    ticket = ticket_create(customer=c, type="inquiry", channel="phone", subject="张凡问发货", shop=shop, order=order)
    ticket_reply(ticket=ticket, author=owner, body="张先生，已发顺丰", internal=True)
    Review.objects.create(
        shop=shop, order=order, customer=c, result="good", content="好喝，张凡推荐", created_at=WHEN, tid="T1001"
    )
    customer_stats_refresh(customer_ids=[c.pk])
    AuditEntry.objects.create(actor=owner, actor_name="boss", action="unmask", target_type="customer", target_id=c.pk)
    for ids in ([c.pk + 1000, c.pk], [c.pk + 1000]):  # list pages: one showed the customer, one did not
        AuditEntry.objects.create(
            actor=owner, actor_name="mgr", action="unmask", target_type="customer_list", detail={"ids": ids}
        )
    c.refresh_from_db()
    return c


def _zip(bundle_bytes: bytes) -> dict[str, bytes]:
    with zipfile.ZipFile(io.BytesIO(bundle_bytes)) as z:
        return {name: z.read(name) for name in z.namelist()}


def test_the_export_holds_everything_in_json_and_xlsx_and_is_audited(held, owner):
    bundle = customer_data_export(customer_id=held.pk, actor=owner)

    files = _zip(bundle.content)
    assert sorted(files) == [f"customer-{held.pk}.json", f"customer-{held.pk}.xlsx"]
    data = json.loads(files[f"customer-{held.pk}.json"])
    assert data["customer"]["phone"] == "13812345678"
    assert data["customer"]["address"] == "文三路1号"
    assert "phone_digest" not in data["customer"]
    assert [i["handle"] for i in data["identities"]] == ["小鱼爱喝茶"]
    assert data["tags"] == ["老客户"]
    assert [n["body"] for n in data["notes"]] == ["张先生喜欢明前龙井，电话 13812345678"]
    assert [(c["channel"], c["purpose"], c["granted"]) for c in data["consents"]] == [("sms", "marketing", True)]
    related = data["related"]
    assert [o["order_no"] for o in related["orders.order"]["rows"]] == ["T1001"]
    assert [line["title"] for line in related["orders.orderline"]["rows"]] == ["明前龙井 250g"]
    assert [m["body"] for m in related["messaging.message"]["rows"]] == ["张凡您好，您的龙井已签收"]
    assert [t["subject"] for t in related["service.ticket"]["rows"]] == ["张凡问发货"]
    assert [r["body"] for r in related["service.ticketreply"]["rows"]] == ["张先生，已发顺丰"]
    assert [r["content"] for r in related["reviews.review"]["rows"]] == ["好喝，张凡推荐"]
    assert [(a["who"], a["action"], a["object"]) for a in data["audit"]] == [
        ("boss", "unmask", "customer"),
        ("mgr", "unmask", "customer_list"),
    ]

    book = load_workbook(io.BytesIO(files[f"customer-{held.pk}.xlsx"]), read_only=True)
    assert {"customer", "identities", "orders order", "messaging message", "service ticket", "audit"} <= set(
        book.sheetnames
    )
    profile = {row[0]: (row[1:] or (None,))[0] for row in book["customer"].iter_rows(values_only=True)}
    assert profile["phone"] == "13812345678"
    entries = AuditEntry.objects.filter(action=EXPORT_ACTION)
    assert [(e.actor_id, e.target_type, e.target_id) for e in entries] == [(owner.pk, "customer", str(held.pk))]


def test_erasure_clears_personal_data_everywhere_and_keeps_the_figures(held, owner):
    before = (held.order_count, held.total_spent, held.first_order_at, held.last_order_at)

    customer_erase(customer_id=held.pk, actor=owner)

    c = Customer.objects.get(pk=held.pk)
    assert c.erased_at is not None
    assert c.name == f"#{c.pk}"
    assert (c.real_name, c.phone, c.email, c.address, c.district, c.birthday) == ("", "", "", "", "", None)
    assert (c.province, c.city) == ("浙江省", "杭州市")  # regional figures stay
    assert (c.phone_digest, c.phone_last4_digest, c.email_digest, c.real_name_digest) == ("", "", "", "")
    assert (c.order_count, c.total_spent, c.first_order_at, c.last_order_at) == before
    assert [i.handle for i in CustomerIdentity.objects.filter(customer=c)] == [
        f"erased:{i.pk}" for i in CustomerIdentity.objects.filter(customer=c)
    ]
    assert not Note.objects.filter(customer=c).exists()
    assert not c.tags.exists()
    order = Order.objects.get(order_no="T1001")
    assert (order.receiver_name, order.receiver_phone, order.receiver_address, order.buyer_remark) == ("",) * 4
    assert (order.total_amount, order.paid_amount, order.customer_id) == (Decimal("268.00"), Decimal("268.00"), c.pk)
    message = Message.objects.get(idempotency_key="pipl-1")
    assert (message.body, message.to_address, message.status) == ("", "", "sent")
    assert c.tickets.get().subject == "—"
    assert [r.body for r in TicketReply.objects.filter(ticket__customer=c)] == ["—"]
    assert Review.objects.get(tid="T1001").content == ""
    # nothing of it is left in any text column of the database
    assert _columns_containing("13812345678") == []
    assert _columns_containing("张凡") == []
    assert _columns_containing("文三路") == []
    # found by nothing personal any more
    for q in ("13812345678", "5678", "zhang@example.com", "张凡", "小鱼"):
        assert list(customer_list(filters=CustomerFilter.from_params({"search": q}, unmasked=True))) == []
    entries = AuditEntry.objects.filter(action=ERASE_ACTION)
    assert [(e.actor_id, e.target_id) for e in entries] == [(owner.pk, str(c.pk))]
    assert entries[0].detail["cleared"]["orders.order"] == 1


def _columns_containing(needle: str) -> list[str]:
    """Every (table.column) of the text columns of the project's tables holding `needle` in clear, but for the
    audit log (whose entries the product never edits)."""
    hits = []
    with connection.cursor() as cur:
        for model in [m for m in _project_models() if m._meta.db_table != "core_auditentry"]:
            for f in model._meta.concrete_fields:
                if f.get_internal_type() in ("CharField", "TextField", "JSONField"):
                    table, column = connection.ops.quote_name(model._meta.db_table), connection.ops.quote_name(f.column)
                    cur.execute(f"SELECT 1 FROM {table} WHERE CAST({column} AS TEXT) LIKE %s LIMIT 1", [f"%{needle}%"])
                    if cur.fetchone():
                        hits.append(f"{model._meta.db_table}.{f.column}")
    return hits


def _project_models():
    from django.apps import apps

    return [m for m in apps.get_models() if m.__module__.startswith("huitouke.")]


def test_an_erased_profile_cannot_be_filled_in_again(held, owner):
    from huitouke.core.errors import ApplicationError
    from huitouke.customers.services import customer_update

    customer_erase(customer_id=held.pk, actor=owner)

    with pytest.raises(ApplicationError, match=r"erased|已删除"):
        customer_update(customer=Customer.objects.get(pk=held.pk), phone="13812345678")
    assert Customer.objects.get(pk=held.pk).phone == ""


def test_erasing_twice_is_harmless(held, owner):
    first = customer_erase(customer_id=held.pk, actor=owner)
    second = customer_erase(customer_id=held.pk, actor=owner)

    assert second.erased_at == first.erased_at
    assert AuditEntry.objects.filter(action=ERASE_ACTION).count() == 1


def test_erasure_reaches_the_tombstones_merged_into_the_customer(held, owner):
    twin = customer_create(name="twin", phone="13912345678", email="twin@example.com")
    customer_merge(source_id=twin.pk, target_id=held.pk, actor=owner)

    customer_erase(customer_id=held.pk, actor=owner)

    tomb = Customer.objects.get(pk=twin.pk)
    assert (tomb.phone, tomb.email, tomb.name) == ("", "", f"#{twin.pk}")
    assert tomb.erased_at is not None


def test_a_merged_customer_is_refused_with_the_one_to_ask(held, owner):
    twin = customer_create(name="twin")
    customer_merge(source_id=twin.pk, target_id=held.pk, actor=owner)

    with pytest.raises(Exception, match=f"merged into customer {held.pk}"):
        customer_erase(customer_id=twin.pk, actor=owner)
    with pytest.raises(Exception, match=f"merged into customer {held.pk}"):
        customer_data_export(customer_id=twin.pk, actor=owner)


def test_every_field_erasure_names_exists():
    from django.apps import apps

    for label, fields in ERASE_IN.items():
        model = apps.get_model(label)
        assert set(fields) <= {f.name for f in model._meta.concrete_fields}, label
    for label in DELETE_IN:
        apps.get_model(label)


def test_an_erased_customer_is_never_messaged_again(held, owner, http_sink):
    from huitouke.messaging.dispatch import messages_dispatch
    from huitouke.messaging.services import OutgoingMessage, channel_config_save, message_enqueue_many

    shop = Order.objects.get(order_no="T1001").shop
    http_sink.responder = lambda hit: (200, {"Code": "OK", "BizId": "b1"}, {})
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": f"{http_sink.url}/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "ak", "access_key_secret": "sk"},
    )
    customer_erase(customer_id=held.pk, actor=owner)

    message_enqueue_many(
        messages=[
            OutgoingMessage(
                idempotency_key="after-erase",
                channel="sms",
                purpose="service",
                customer_id=held.pk,
                shop_id=shop.pk,
                body="您的订单已发货",
            )
        ]
    )
    messages_dispatch()

    message = Message.objects.get(idempotency_key="after-erase")
    assert (message.status, message.reason) == ("suppressed", "erased")
    assert http_sink.hits == []


@pytest.fixture
def http_sink():
    from huitouke.messaging.tests.sinks import HttpSink

    sink = HttpSink().start()
    yield sink
    sink.stop()


def test_retention_erases_customers_without_an_order_for_n_years(settings):
    shop = ShopFactory.create()
    with freeze_time("2019-03-01 12:00:00"):
        old = customer_create(name="old", phone="13000000001")
        never = customer_create(name="never-bought", phone="13000000002")
        recent = customer_create(name="recent", phone="13000000003")
    OrderFactory.create(shop=shop, customer=old, ordered_at=datetime(2020, 1, 5, tzinfo=UTC))
    OrderFactory.create(shop=shop, customer=recent, ordered_at=datetime(2023, 6, 1, tzinfo=UTC))
    customer_stats_refresh(customer_ids=None)

    with freeze_time("2025-06-18 12:00:00"):
        settings.HUITOUKE_PII_RETENTION_YEARS = 0
        assert customers_retention_erase() == 0
        settings.HUITOUKE_PII_RETENTION_YEARS = 3
        assert sorted(c.name for c in customers_retention_due(years=3)) == ["never-bought", "old"]
        assert customers_retention_erase() == 2
        assert customers_retention_erase() == 0  # nothing left to do

    erased = dict(Customer.objects.values_list("pk", "erased_at"))
    assert erased[old.pk] is not None
    assert erased[never.pk] is not None
    assert erased[recent.pk] is None
    assert Customer.objects.get(pk=old.pk).order_count == 1
    assert AuditEntry.objects.filter(action=ERASE_ACTION, actor__isnull=True).count() == 2


def test_retention_cutoff_on_a_leap_day():
    from datetime import date

    assert retention_cutoff(years=3, today=date(2024, 2, 29)) == date(2021, 2, 28)
    assert retention_cutoff(years=2, today=date(2025, 6, 18)) == date(2023, 6, 18)


def test_commands_export_and_erase(held, tmp_path):
    out = io.StringIO()
    target = tmp_path / "bundle.zip"
    call_command("customer_export", str(held.pk), "--out", str(target), "--json", stdout=out)
    assert json.loads(out.getvalue())["records"]["orders.order"] == 1
    assert sorted(_zip(target.read_bytes())) == [f"customer-{held.pk}.json", f"customer-{held.pk}.xlsx"]

    with pytest.raises(CommandError, match="--confirm"):
        call_command("customer_erase", str(held.pk), stdout=io.StringIO())
    assert Customer.objects.get(pk=held.pk).erased_at is None

    out = io.StringIO()
    call_command("customer_erase", str(held.pk), "--confirm", "--json", stdout=out)
    assert json.loads(out.getvalue())["customer"] == held.pk
    assert Customer.objects.get(pk=held.pk).phone == ""
    entries = AuditEntry.objects.filter(target_type="customer", target_id=str(held.pk))
    assert list(entries.values_list("action", "actor_name")) == [
        (ERASE_ACTION, "system"),
        (EXPORT_ACTION, "system"),
        ("unmask", "boss"),
    ]
    with pytest.raises(CommandError, match="not found"):
        call_command("customer_export", "999999", "--out", str(tmp_path / "x.zip"), stdout=io.StringIO())
    with pytest.raises(CommandError, match=r"\.zip"):
        call_command("customer_export", str(held.pk), "--out", str(tmp_path / "x.txt"), stdout=io.StringIO())


def test_the_privacy_page_is_for_owners_only(held, client_as):
    url = reverse("customers:privacy", args=[held.pk])
    for role in ("manager", "agent", "marketer"):
        client = client_as(role)
        assert client.get(url).status_code == 403
        assert client.post(reverse("customers:privacy-erase", args=[held.pk]), {"confirm": held.pk}).status_code == 403
        assert client.post(reverse("customers:privacy-export", args=[held.pk])).status_code == 403
        assert 'id="privacy-link"' not in client.get(reverse("customers:detail", args=[held.pk])).content.decode()
    owner = client_as("owner")
    assert 'id="privacy-link"' in owner.get(reverse("customers:detail", args=[held.pk])).content.decode()
    page = owner.get(url)
    assert page.status_code == 200
    assert 'id="erase-form"' in page.content.decode()


def test_the_owner_downloads_the_bundle_and_erases_after_typing_the_number(held, client_as):
    owner = client_as("owner")
    download = owner.post(reverse("customers:privacy-export", args=[held.pk]))
    assert download.status_code == 200
    assert download["Content-Type"] == "application/zip"
    assert download["Content-Disposition"] == f'attachment; filename="customer-{held.pk}.zip"'
    assert f"customer-{held.pk}.json" in _zip(download.content)

    wrong = owner.post(reverse("customers:privacy-erase", args=[held.pk]), {"confirm": "1" + str(held.pk)})
    assert wrong.status_code == 302
    assert Customer.objects.get(pk=held.pk).erased_at is None

    done = owner.post(reverse("customers:privacy-erase", args=[held.pk]), {"confirm": str(held.pk)})
    assert done.status_code == 302
    assert done["Location"] == reverse("customers:detail", args=[held.pk])
    assert Customer.objects.get(pk=held.pk).erased_at is not None
    assert 'id="erased-notice"' in owner.get(done["Location"]).content.decode()
    assert owner.post(reverse("customers:privacy-export", args=[999999])).status_code == 404
