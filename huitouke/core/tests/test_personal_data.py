"""Every page and API answer that can show a customer's contact data, walked as each role (issue 14, items 1-3).

One customer holds a phone, an email, a street address, a Shopify handle that is their email and a Pinduoduo
handle that is their phone; they have an order, a level at risk and send records by SMS, email and two manual
tasks. Agents and marketers must never get any of these values in clear (pages, JSON, CSV, XLSX); owners and
managers get them, and every response that shows them writes an audit entry.
"""

from __future__ import annotations

import csv
import io
import json
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from freezegun import freeze_time
from openpyxl import load_workbook

import huitouke.urls  # noqa: F401  (schemas built before time is frozen: pydantic cannot use freezegun's classes)
from huitouke.core.models import AuditEntry
from huitouke.core.services import token_create
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

PHONE, EMAIL, STREET = "13601230792", "hwilson@yahoo.com", "文三路398号"
#: what must never reach a role without core.unmask_pii (the local part of the email on its own, too)
SECRETS = (PHONE, "hwilson", STREET, "0123079")


@pytest.fixture
def seeded():
    shop = ShopFactory.create(name="山岚茶食")
    levels_set(
        shop=shop, specs=[LevelSpec("普通会员", Decimal("0.01"), 1, 100), LevelSpec("VIP", Decimal("500"), 4, 95)]
    )
    level_policy_set(shop=shop, window_months=12, downgrade="review", grace_days=30)
    harry = CustomerFactory.create(
        name="Harry Wilson",
        real_name="Harry Wilson",
        phone=PHONE,
        email=EMAIL,
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address=STREET,
    )
    IdentityFactory.create(customer=harry, platform="shopify", handle=EMAIL)
    IdentityFactory.create(customer=harry, platform="pdd", handle=PHONE)
    other = CustomerFactory.create(name="H. Wilson")
    OrderFactory.create(
        shop=shop,
        customer=harry,
        paid_amount=Decimal("600"),
        ordered_at=datetime(2025, 1, 10, tzinfo=UTC),
        receiver_name="Harry",
        receiver_phone=PHONE,
        receiver_address=f"浙江省杭州市西湖区{STREET}",
    )
    with freeze_time("2025-06-01"):
        levels_regrade()
    now = timezone.now()
    common = {"customer": harry, "shop": shop, "purpose": "service", "scheduled_at": now, "next_attempt_at": now}
    messages = [
        Message.objects.create(
            idempotency_key="sms", channel="sms", to_address=PHONE, status="sent", body="到货啦", **common
        ),
        Message.objects.create(
            idempotency_key="mail", channel="email", to_address=EMAIL, status="sent", body="Hi", **common
        ),
        Message.objects.create(
            idempotency_key="task1",
            channel="manual",
            to_address=f"shopify:{EMAIL}",
            status="sending",
            body="回访",
            **common,
        ),
        Message.objects.create(
            idempotency_key="task2",
            channel="manual",
            to_address=f"pdd:{PHONE}",
            status="sending",
            body="回访",
            **common,
        ),
    ]
    return {"shop": shop, "harry": harry, "other": other, "messages": messages}


def walk(seeded):
    """(label, kind, url, shows): every page and API answer that can show the customer's contact data; `shows`
    says whether an owner's answer does (the message list page shows names and texts, no addresses)."""
    shop, harry, other, messages = seeded["shop"], seeded["harry"], seeded["other"], seeded["messages"]
    pages = [
        ("customer list", "web", reverse("customers:list"), True),
        ("customer list (htmx search)", "htmx", reverse("customers:list") + "?search=Harry", True),
        ("customer 360", "web", reverse("customers:detail", args=[harry.pk]), True),
        ("merge side by side", "web", reverse("customers:merge", args=[harry.pk]) + f"?other={other.pk}", True),
        ("customer export csv", "csv", reverse("customers:export") + "?format=csv", True),
        ("customer export xlsx", "xlsx", reverse("customers:export") + "?format=xlsx", True),
        ("members at risk", "web", reverse("loyalty:at-risk", args=[shop.pk]), True),
        ("member export", "xlsx", reverse("loyalty:export", args=[shop.pk]), True),
        ("message list", "web", reverse("messaging:list"), False),
        (
            "template preview with {nick}",
            "htmx",
            reverse("messaging:template-preview") + f"?channel=email&purpose=service&body={{nick}}&customer={harry.pk}",
            False,
        ),
        ("manual tasks", "web", reverse("messaging:tasks"), True),
        *[(f"message {m.idempotency_key}", "web", reverse("messaging:detail", args=[m.pk]), True) for m in messages],
    ]
    api = [
        ("API customers", "/api/v1/customers", True),
        ("API customers search", "/api/v1/customers?search=Harry", True),
        ("API customer", f"/api/v1/customers/{harry.pk}", True),
        ("API customer orders", f"/api/v1/customers/{harry.pk}/orders", True),
        ("API messages", "/api/v1/messages", True),
        ("API messages of the customer", f"/api/v1/messages?customer={harry.pk}", True),
        *[(f"API message {m.idempotency_key}", f"/api/v1/messages/{m.pk}", True) for m in messages],
        ("API members at risk", f"/api/v1/levels/at-risk?shop={shop.pk}", False),
    ]
    return pages + [(label, "api", url, shows) for label, url, shows in api]


def text_of(kind, response):
    """The response as text a person or a script would read: JSON decoded, CSV and XLSX cells joined."""
    if response.status_code != 200:
        return response.content.decode(errors="replace")
    if kind == "api":
        return json.dumps(response.json(), ensure_ascii=False)
    body = b"".join(response.streaming_content) if response.streaming else response.content
    if kind == "csv":
        return "\n".join(",".join(row) for row in csv.reader(io.StringIO(body.decode("utf-8-sig"))))
    if kind == "xlsx":
        book = load_workbook(io.BytesIO(body), read_only=True)
        return "\n".join(
            " ".join("" if v is None else str(v) for v in row)
            for sheet in book
            for row in sheet.iter_rows(values_only=True)
        )
    return body.decode()


def clients(make_user, role, *, extra_perms=()):
    user = make_user(role, username=f"{role}-walk")
    for perm in extra_perms:
        app_label, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app_label, codename=codename))
    web = Client()
    web.force_login(user)
    _token, key = token_create(user=user, name="walk")
    return web, Client(headers={"Authorization": f"Bearer {key}"})


def get(kind, url, web, api):
    if kind == "api":
        return api.get(url)
    if kind == "htmx":
        return web.get(url, HTTP_HX_REQUEST="true")
    return web.get(url)


@freeze_time("2026-03-01")
@pytest.mark.parametrize(
    ("role", "extra_perms"),
    [("agent", ()), ("marketer", ()), ("agent", ("core.export_customers",))],
    ids=["agent", "marketer", "agent-who-may-export"],
)
def test_roles_without_unmask_never_get_contact_data_in_clear(make_user, seeded, role, extra_perms):
    web, api = clients(make_user, role, extra_perms=extra_perms)
    leaks, statuses = [], {}
    for label, kind, url, _shows in walk(seeded):
        response = get(kind, url, web, api)
        statuses[label] = response.status_code
        text = text_of(kind, response)
        leaks += [(label, secret) for secret in SECRETS if secret in text]

    assert leaks == []
    assert set(statuses.values()) <= {200, 403}
    # the masked forms are what they see where they may look
    detail = web.get(reverse("customers:detail", args=[seeded["harry"].pk])).content.decode()
    assert "h***@yahoo.com" in detail
    assert "136****0792" in detail
    item = api.get(f"/api/v1/customers/{seeded['harry'].pk}").json()
    assert sorted(i["handle"] for i in item["identities"]) == ["136****0792", "h***@yahoo.com"]
    sent_to = {m["idempotency_key"]: m["to_address"] for m in api.get("/api/v1/messages").json()["items"]}
    assert sent_to == {
        "sms": "136****0792",
        "mail": "h***@yahoo.com",
        "task1": "shopify:h***@yahoo.com",
        "task2": "pdd:136****0792",
    }
    if extra_perms:
        assert statuses["customer export csv"] == statuses["member export"] == 200
    preview = web.get(
        reverse("messaging:template-preview"),
        {"channel": "email", "purpose": "service", "body": "Dear {nick}", "customer": seeded["harry"].pk},
        HTTP_HX_REQUEST="true",
    ).content.decode()
    assert "Dear Harry Wilson" in preview  # a handle that is an email is no nickname
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


@freeze_time("2026-03-01")
@pytest.mark.parametrize("role", ["owner", "manager"])
def test_every_unmasked_answer_is_audited(make_user, seeded, role):
    web, api = clients(make_user, role)
    unaudited, not_shown = [], []
    for label, kind, url, shows in walk(seeded):
        before = AuditEntry.objects.count()
        response = get(kind, url, web, api)
        assert response.status_code == 200, label
        text = text_of(kind, response)
        revealed = any(secret in text for secret in SECRETS)
        if revealed and AuditEntry.objects.count() == before:
            unaudited.append(label)
        if revealed != shows:
            not_shown.append(label)

    assert unaudited == []
    assert not_shown == []
    task = str(seeded["messages"][2].pk)
    entries = AuditEntry.objects.filter(target_type="message", target_id=task).order_by("id")
    assert [(e.action, e.actor_name, e.detail) for e in entries] == [
        ("unmask", f"{role}-walk", {"page": "detail"}),
        ("unmask", f"{role}-walk", {"page": "api_detail"}),
    ]
    tasks = AuditEntry.objects.get(target_type="message", detail__page="tasks")
    assert sorted(tasks.detail["ids"]) == sorted(m.pk for m in seeded["messages"][2:])
