"""Wiring of the archive pages: list, filters, htmx partials, masking and audit, 360 page, tags, notes, merge."""

from __future__ import annotations

from datetime import UTC, date, datetime
from decimal import Decimal

import pytest
from django.contrib.auth.models import User
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from huitouke.core.models import AuditEntry
from huitouke.customers.models import Customer, CustomerTag, Note
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory, NoteFactory, TagFactory
from huitouke.orders.services import customer_stats_refresh
from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory, ShopFactory

pytestmark = pytest.mark.django_db

LIST = reverse("customers:list")
PHONE, EMAIL, STREET = "13812345678", "zhang@example.com", "文三路1号"
HTMX = {"HTTP_HX_REQUEST": "true"}


def detail_url(customer: Customer) -> str:
    return reverse("customers:detail", args=[customer.pk])


def html(response) -> str:
    return response.content.decode()


@pytest.fixture
def zhang():
    customer = CustomerFactory.create(
        name="张小凡",
        real_name="张凡",
        phone=PHONE,
        email=EMAIL,
        province="浙江省",
        city="杭州市",
        district="西湖区",
        address=STREET,
    )
    IdentityFactory.create(customer=customer, platform="taobao", handle="小鱼爱喝茶")
    return customer


@pytest.fixture
def agent_client(client_as) -> Client:
    return client_as("agent")


@pytest.fixture
def manager_client(client_as) -> Client:
    return client_as("manager")


# --- list ----------------------------------------------------------------------------------------------------


def test_list_shows_customers_with_identity_level_and_tags(agent_client, zhang):
    # given a tagged customer with stats
    TagFactory.create(name="VIP")
    CustomerTag.objects.create(customer=zhang, tag_id=TagFactory.create(name="VIP").pk)
    Customer.objects.filter(pk=zhang.pk).update(order_count=3, total_spent=Decimal("1288.50"))
    # when
    response = agent_client.get(LIST)
    # then
    assert response.status_code == 200
    assert "customers/customer_list.html" in [t.name for t in response.templates]
    body = html(response)
    assert "张小凡" in body
    assert "小鱼爱喝茶" in body
    assert "VIP" in body
    assert "1288.50" in body  # zh-hans groups no digits
    assert response.context["page"].paginator.count == 1


def test_list_needs_login(client):
    response = client.get(LIST)
    assert response.status_code == 302
    assert "/login/" in response["Location"]


def test_list_needs_view_permission(make_user):
    user = User.objects.create_user("nobody", password="pass-word-123")
    client = Client()
    client.force_login(user)
    assert client.get(LIST).status_code == 403


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ({"search": "张"}, ["张小凡"]),
        ({"search": "tb_li"}, ["李四"]),
        ({"tag": "VIP"}, ["李四"]),
        ({"province": "广东省"}, ["李四"]),
        ({"spent_min": "100", "spent_max": "600"}, ["李四"]),
        ({"orders_min": "2"}, ["张小凡"]),
        ({"orders_max": "1"}, ["Tom", "李四"]),
        ({"last_order_from": "2025-06-01", "last_order_to": "2025-06-30"}, ["李四"]),
        ({}, ["Tom", "张小凡", "李四"]),
    ],
)
def test_list_filters(agent_client, zhang, query, expected):
    # given three customers that differ in every filtered field
    Customer.objects.filter(pk=zhang.pk).update(
        order_count=5, total_spent=Decimal("900"), last_order_at=datetime(2025, 1, 5, tzinfo=UTC)
    )
    li = CustomerFactory.create(
        name="李四",
        province="广东省",
        order_count=1,
        total_spent=Decimal("300"),
        last_order_at=datetime(2025, 6, 18, 4, tzinfo=UTC),
    )
    IdentityFactory.create(customer=li, handle="tb_li")
    CustomerTag.objects.create(customer=li, tag=TagFactory.create(name="VIP"))
    CustomerFactory.create(name="Tom")
    # when
    response = agent_client.get(LIST, query)
    # then
    assert response.status_code == 200
    assert sorted(c.name for c in response.context["page"].object_list) == sorted(expected)


def test_list_filters_by_shop(agent_client, zhang):
    shop = ShopFactory.create(name="茶叶旗舰店")
    OrderFactory.create(customer=zhang, shop=shop)
    CustomerFactory.create(name="Tom")
    response = agent_client.get(LIST, {"shop": str(shop.pk)})
    assert [c.name for c in response.context["page"].object_list] == ["张小凡"]
    assert "茶叶旗舰店" in html(agent_client.get(LIST))


@pytest.mark.parametrize(
    ("sort", "expected"),
    [("spent", ["b", "c", "a"]), ("-spent", ["a", "c", "b"]), ("name", ["a", "b", "c"]), ("orders", ["c", "a", "b"])],
)
def test_list_sorts(agent_client, sort, expected):
    CustomerFactory.create(name="a", total_spent=Decimal("1"), order_count=2)
    CustomerFactory.create(name="b", total_spent=Decimal("30"), order_count=1)
    CustomerFactory.create(name="c", total_spent=Decimal("20"), order_count=3)
    response = agent_client.get(LIST, {"sort": sort})
    assert [c.name for c in response.context["page"].object_list] == expected


def test_list_paginates_fifty_a_page_and_shows_the_total(agent_client):
    CustomerFactory.create_batch(51)
    first = agent_client.get(LIST, {"sort": "name"})
    second = agent_client.get(LIST, {"sort": "name", "page": "2"})
    assert len(first.context["page"].object_list) == 50
    assert len(second.context["page"].object_list) == 1
    assert "51" in html(first)
    assert "page=2" in html(first)


def test_list_search_by_phone_for_agents_is_whole_or_last_four_audited_and_rate_limited(agent_client, zhang, settings):
    settings.HUITOUKE_CONTACT_SEARCHES_PER_HOUR = 2

    def names(search):
        response = agent_client.get(LIST, {"search": search}, **HTMX)
        assert response.status_code == 200
        return response.content.decode()

    assert "张小凡" not in names(PHONE[:7])
    assert "张小凡" in names(PHONE[-4:])
    assert AuditEntry.objects.filter(action="search").count() == 2
    refused = names(PHONE)
    assert "张小凡" not in refused
    assert "try again later" in refused or "稍后再试" in refused
    assert AuditEntry.objects.filter(action="search").count() == 2


def test_list_says_when_a_broad_search_is_capped(agent_client, monkeypatch):
    from huitouke.customers import selectors

    monkeypatch.setattr(selectors, "SEARCH_CAP", 3, raising=False)
    for i in range(5):
        CustomerFactory.create(name=f"cap{i}")
    response = agent_client.get(LIST, {"search": "cap"})
    assert response.context["total"] == 5
    assert response.context["capped"] is True
    assert len(response.context["page"].object_list) == 3
    assert 'class="warn-text"' in html(response)


def test_list_htmx_request_gets_only_the_table_partial(agent_client, zhang):
    response = agent_client.get(LIST, {"search": "张"}, **HTMX)
    body = html(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<div id="customer-table"')
    assert "张小凡" in body
    assert "<html" not in body
    assert 'id="filter-form"' not in body
    assert response["Vary"].lower().count("hx-request") == 1


def test_list_history_restore_gets_the_whole_page(agent_client, zhang):
    response = agent_client.get(LIST, **HTMX, HTTP_HX_HISTORY_RESTORE_REQUEST="true")
    assert "<html" in html(response)


@pytest.mark.parametrize(
    ("query", "field"),
    [
        ({"spent_min": "lots"}, "spent_min"),
        ({"orders_max": "-1"}, "orders_max"),
        ({"last_order_from": "18/06/2025"}, "last_order_from"),
        ({"sort": "evil"}, "sort"),
    ],
)
def test_list_bad_filter_value_shows_the_named_error(agent_client, zhang, query, field):
    response = agent_client.get(LIST, query)
    assert response.status_code == 200
    assert response.context["error"].field == field
    body = html(response)
    assert 'class="error-box"' in body
    assert field in body
    assert "张小凡" not in body.split('id="customer-table"')[1]
    # the htmx partial carries the error as well
    partial = agent_client.get(LIST, query, **HTMX)
    assert partial.status_code == 200
    assert 'class="error-box"' in html(partial)


NASTY = [
    "' OR 1=1 --",
    '"; DROP TABLE customers_customer; --',
    "<script>alert(1)</script>",
    "%_\\",
    "%%",
    "😀🎉",
    "\x00",
    "a\x00b",
    "a" * 10240,
    "   ",
    "+86",
    "***",
]


@pytest.mark.parametrize("search", NASTY)
def test_list_nasty_search_never_fails(agent_client, zhang, search):
    for extra in ({}, HTMX):
        response = agent_client.get(LIST, {"search": search}, **extra)
        assert response.status_code == 200
        assert "<script>alert(1)</script>" not in html(response)


@pytest.mark.parametrize("value", ["\x00", "<b>", "' OR 1=1 --", "😀"])
def test_list_nasty_values_in_other_filters_never_fail(agent_client, zhang, value):
    query = {"tag": value, "province": value, "shop": value, "level": value, "page": value}
    assert agent_client.get(LIST, query).status_code == 200


def test_list_runs_a_fixed_number_of_queries(agent_client, django_assert_num_queries):
    def make(n: int, offset: int) -> None:
        shop = ShopFactory.create(name=f"shop-{offset}")
        for i in range(n):
            c = CustomerFactory.create(name=f"c{offset}-{i}", phone=f"1380000{offset:02d}{i:02d}")
            IdentityFactory.create(customer=c)
            IdentityFactory.create(customer=c, platform="jd")
            CustomerTag.objects.create(customer=c, tag=TagFactory.create(name=f"t{i % 3}"))
            OrderFactory.create(customer=c, shop=shop)

    make(3, 1)
    agent_client.get(LIST)  # warm the session and permission caches
    with CaptureQueriesContext(connection) as small:
        agent_client.get(LIST)
    make(27, 2)
    with django_assert_num_queries(len(small)):
        response = agent_client.get(LIST)
    assert response.context["page"].paginator.count == 30


def test_agent_sees_masked_phone_on_list_and_no_audit(agent_client, zhang):
    response = agent_client.get(LIST)
    body = html(response)
    assert "138****5678" in body
    assert PHONE not in body
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_manager_sees_real_phone_on_list_and_one_audit_entry_per_page(manager_client, zhang):
    other = CustomerFactory.create(name="李四", phone="13900000000")
    response = manager_client.get(LIST)
    assert PHONE in html(response)
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNMASK)
    assert entry.target_type == "customer_list"
    assert entry.actor_name == "manager-client"
    assert sorted(entry.detail["ids"]) == sorted([zhang.pk, other.pk])


def test_list_escapes_user_data(agent_client):
    CustomerFactory.create(name="<img src=x onerror=alert(1)>", province="<b>省</b>")
    TagFactory.create(name="<i>x</i>")
    body = html(agent_client.get(LIST))
    assert "<img src=x onerror=alert(1)>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body
    assert "<b>省</b>" not in body
    assert "<i>x</i>" not in body


def test_list_offers_export_only_to_exporters_with_the_current_filters(agent_client, manager_client, zhang):
    assert reverse("customers:export") not in html(agent_client.get(LIST))
    assert reverse("customers:export") in html(manager_client.get(LIST))
    # the links live in the partial, so they follow the filters as htmx swaps the table
    partial = html(manager_client.get(LIST, {"search": "张", "tag": "VIP"}, **HTMX))
    assert f"{reverse('customers:export')}?search=%E5%BC%A0&amp;tag=VIP&amp;format=xlsx" in partial


# --- bulk tags -----------------------------------------------------------------------------------------------


def test_bulk_tag_and_untag_the_ticked_customers(agent_client):
    a, b, c = CustomerFactory.create_batch(3)
    back = f"{LIST}?search=buyer"
    response = agent_client.post(
        reverse("customers:bulk-tag"), {"ids": [a.pk, b.pk], "tag": "回购", "op": "add", "next": back}, follow=True
    )
    assert response.redirect_chain[-1][0] == back
    assert set(CustomerTag.objects.filter(tag__name="回购").values_list("customer_id", flat=True)) == {a.pk, b.pk}
    assert "2" in str(next(iter(response.context["messages"])))

    response = agent_client.post(
        reverse("customers:bulk-tag"), {"ids": [a.pk, c.pk], "tag": "回购", "op": "remove"}, follow=True
    )
    assert set(CustomerTag.objects.filter(tag__name="回购").values_list("customer_id", flat=True)) == {b.pk}
    assert "1" in str(next(iter(response.context["messages"])))


@pytest.mark.parametrize(
    "data",
    [
        {"tag": "x", "op": "add"},  # nothing ticked
        {"ids": ["abc"], "tag": "x", "op": "add"},
        {"ids": ["1"], "tag": "", "op": "add"},
        {"ids": ["1"], "tag": "x" * 33, "op": "add"},
        {"ids": ["1"], "tag": "a\x00b", "op": "add"},
        {"ids": ["1"], "tag": "x", "op": "explode"},
    ],
)
def test_bulk_tag_refuses_bad_input_with_a_message(agent_client, data):
    response = agent_client.post(reverse("customers:bulk-tag"), data, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert not CustomerTag.objects.exists()


def test_bulk_tag_ignores_an_unsafe_next(agent_client):
    a = CustomerFactory.create()
    response = agent_client.post(
        reverse("customers:bulk-tag"), {"ids": [a.pk], "tag": "x", "op": "add", "next": "https://evil.example/"}
    )
    assert response["Location"] == LIST


def test_bulk_tag_needs_the_permission():
    user = User.objects.create_user("viewer", password="pass-word-123")
    client = Client()
    client.force_login(user)
    response = client.post(reverse("customers:bulk-tag"), {"ids": ["1"], "tag": "x", "op": "add"})
    assert response.status_code == 403


# --- the 360 page --------------------------------------------------------------------------------------------


def test_detail_shows_profile_identities_notes_orders_and_timeline(agent_client, zhang):
    shop = ShopFactory.create(name="茶叶旗舰店")
    old = OrderFactory.create(customer=zhang, shop=shop, order_no="T-OLD", ordered_at=datetime(2025, 1, 1, tzinfo=UTC))
    new = OrderFactory.create(
        customer=zhang,
        shop=shop,
        order_no="T-NEW",
        ordered_at=datetime(2025, 6, 1, tzinfo=UTC),
        logistics_company="顺丰",
        tracking_no="SF1234567",
        status="shipped",
    )
    OrderLineFactory.create(order=new, line_no=1, title="西湖龙井 250g", sku="LJ-250", quantity=2)
    OrderLineFactory.create(order=old, line_no=1, title="碧螺春")
    customer_stats_refresh(customer_ids=[zhang.pk])
    NoteFactory.create(customer=zhang, body="喜欢绿茶")
    response = agent_client.get(detail_url(zhang))
    body = html(response)
    assert response.status_code == 200
    for text in ("张小凡", "小鱼爱喝茶", "喜欢绿茶", "西湖龙井 250g", "LJ-250", "顺丰", "SF1234567", "T-NEW"):
        assert text in body
    assert body.index("T-NEW") < body.index("T-OLD")  # newest first
    assert [e.kind for e in response.context["timeline"]].count("order") == 2
    assert reverse("customers:list") in body  # the way back


def test_detail_of_unknown_customer_is_404(agent_client):
    assert agent_client.get(reverse("customers:detail", args=[999999])).status_code == 404


def test_agent_sees_masked_contact_data_on_the_360_page_and_in_the_form(agent_client, zhang):
    OrderFactory.create(customer=zhang, receiver_phone=PHONE, receiver_address=f"浙江省杭州市西湖区{STREET}")
    response = agent_client.get(detail_url(zhang))
    body = html(response)
    assert "138****5678" in body
    assert "z***@example.com" in body
    assert PHONE not in body
    assert EMAIL not in body
    assert STREET not in body
    form = response.context["form"]
    assert "phone" not in form.fields
    assert "email" not in form.fields
    assert "address" not in form.fields
    assert PHONE not in str(form.initial)
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


def test_marketer_sees_masked_data_and_no_edit_form(client_as, zhang):
    response = client_as("marketer").get(detail_url(zhang))
    body = html(response)
    assert PHONE not in body
    assert EMAIL not in body
    assert reverse("customers:update", args=[zhang.pk]) not in body


def test_manager_sees_unmasked_data_and_each_view_is_audited(manager_client, zhang):
    response = manager_client.get(detail_url(zhang))
    body = html(response)
    assert PHONE in body
    assert EMAIL in body
    assert STREET in body
    assert response.context["form"]["phone"].value() == PHONE
    manager_client.get(detail_url(zhang))
    entries = AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK)
    assert entries.count() == 2
    assert {(e.target_type, e.target_id) for e in entries} == {("customer", str(zhang.pk))}


def test_detail_escapes_user_data(agent_client):
    evil = "<img src=x onerror=alert(1)>"
    customer = CustomerFactory.create(name=evil, real_name=evil, city=evil)
    IdentityFactory.create(customer=customer, handle=evil)
    NoteFactory.create(customer=customer, body=evil)
    CustomerTag.objects.create(customer=customer, tag=TagFactory.create(name="<b>t</b>"))
    OrderLineFactory.create(order=OrderFactory.create(customer=customer, buyer_remark=evil), title=evil)
    body = html(agent_client.get(detail_url(customer)))
    assert evil not in body
    assert "<b>t</b>" not in body
    assert "&lt;img src=x onerror=alert(1)&gt;" in body


def test_detail_runs_a_fixed_number_of_queries(agent_client, django_assert_num_queries):
    def make(orders: int, notes: int) -> Customer:
        c = CustomerFactory.create(phone="13812345678")
        IdentityFactory.create(customer=c)
        for i in range(orders):
            order = OrderFactory.create(customer=c)
            OrderLineFactory.create(order=order, line_no=1)
            OrderLineFactory.create(order=order, line_no=2)
            CustomerTag.objects.create(customer=c, tag=TagFactory.create(name=f"t{i}"))
        NoteFactory.create_batch(notes, customer=c)
        return c

    small, big = make(1, 1), make(12, 8)
    agent_client.get(detail_url(small))
    with CaptureQueriesContext(connection) as first:
        agent_client.get(detail_url(small))
    with django_assert_num_queries(len(first)):
        agent_client.get(detail_url(big))


def test_merged_customer_page_points_at_the_target(agent_client, zhang):
    other = CustomerFactory.create(name="张小凡-旧号")
    Customer.objects.filter(pk=other.pk).update(merged_into=zhang)
    response = agent_client.get(detail_url(other))
    body = html(response)
    assert 'id="merged-notice"' in body
    assert detail_url(zhang) in body


# --- profile -------------------------------------------------------------------------------------------------


def profile_data(customer: Customer, **changes: str) -> dict[str, str]:
    data = {
        "name": customer.name,
        "real_name": customer.real_name,
        "gender": customer.gender,
        "birthday": "",
        "birthday_calendar": customer.birthday_calendar,
        "phone": customer.phone,
        "email": customer.email,
        "province": customer.province,
        "city": customer.city,
        "district": customer.district,
        "address": customer.address,
        "pref_choice": "",
        "pref_decision": "",
        "pref_price": "",
        "pref_knowledge": "",
    }
    data.update(changes)
    return data


def test_manager_updates_the_profile(manager_client, zhang):
    data = profile_data(
        zhang,
        name="张小凡 VIP",
        birthday="1990-05-17",
        birthday_calendar="lunar",
        phone="+86 139-0000-1111",
        pref_price="strict",
        pref_knowledge="expert",
    )
    response = manager_client.post(reverse("customers:update", args=[zhang.pk]), data)
    assert response.status_code == 302
    assert response["Location"] == detail_url(zhang)
    zhang.refresh_from_db()
    assert zhang.name == "张小凡 VIP"
    assert zhang.birthday == date(1990, 5, 17)
    assert zhang.birthday_calendar == "lunar"
    assert zhang.phone == "13900001111"
    assert zhang.pref_price == "strict"
    assert zhang.pref_knowledge == "expert"


@pytest.mark.parametrize(
    ("changes", "field"),
    [
        ({"email": "not-an-email"}, "email"),
        ({"phone": "call me"}, "phone"),
        ({"name": ""}, "name"),
        ({"birthday": "1990-13-45"}, "birthday"),
        ({"pref_price": "cheap"}, "pref_price"),
    ],
)
def test_profile_validation_error_is_shown_on_the_field_and_nothing_changes(manager_client, zhang, changes, field):
    response = manager_client.post(reverse("customers:update", args=[zhang.pk]), profile_data(zhang, **changes))
    assert response.status_code == 200
    assert response.context["form"].errors[field]
    assert f'id="error-{field}"' in html(response)
    zhang.refresh_from_db()
    assert zhang.name == "张小凡"
    assert zhang.phone == PHONE
    assert zhang.email == EMAIL


def test_agent_cannot_change_contact_data_through_the_form(agent_client, zhang):
    data = profile_data(zhang, real_name="张三", phone="13900000000", email="x@evil.example", address="elsewhere")
    response = agent_client.post(reverse("customers:update", args=[zhang.pk]), data)
    assert response.status_code == 302
    zhang.refresh_from_db()
    assert zhang.real_name == "张三"
    assert (zhang.phone, zhang.email, zhang.address) == (PHONE, EMAIL, STREET)


def test_marketer_cannot_post_the_profile(client_as, zhang):
    response = client_as("marketer").post(reverse("customers:update", args=[zhang.pk]), profile_data(zhang, name="x"))
    assert response.status_code == 403
    zhang.refresh_from_db()
    assert zhang.name == "张小凡"


# --- notes and tags ------------------------------------------------------------------------------------------


def test_note_add_with_htmx_returns_the_notes_partial(agent_client, zhang):
    response = agent_client.post(
        reverse("customers:note-add", args=[zhang.pk]), {"body": "  要发顺丰  ", "pinned": "on"}, **HTMX
    )
    body = html(response)
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card" id="customer-notes"')
    assert "要发顺丰" in body
    assert "agent-client" in body
    note = Note.objects.get(customer=zhang)
    assert (note.body, note.pinned, note.author_id) == ("要发顺丰", True, User.objects.get(username="agent-client").pk)


def test_note_add_without_htmx_redirects_to_the_page(agent_client, zhang):
    response = agent_client.post(reverse("customers:note-add", args=[zhang.pk]), {"body": "回访过"})
    assert response.status_code == 302
    assert Note.objects.filter(customer=zhang, body="回访过").exists()


@pytest.mark.parametrize("body", ["", "   ", "x" * 4001])
def test_empty_or_long_note_is_refused_with_the_error_in_the_partial(agent_client, zhang, body):
    response = agent_client.post(reverse("customers:note-add", args=[zhang.pk]), {"body": body}, **HTMX)
    assert response.status_code == 200
    assert 'class="field-error"' in html(response)
    assert not Note.objects.exists()


def test_tag_add_and_remove_with_htmx(agent_client, zhang):
    TagFactory.create(name="老客户")
    response = agent_client.post(reverse("customers:tag-add", args=[zhang.pk]), {"name": "老客户"}, **HTMX)
    assert response.status_code == 200
    assert html(response).lstrip().startswith('<section class="card" id="customer-tags"')
    assert list(zhang.tags.values_list("name", flat=True)) == ["老客户"]

    response = agent_client.post(reverse("customers:tag-remove", args=[zhang.pk]), {"name": "老客户"}, **HTMX)
    assert response.status_code == 200
    assert not zhang.tags.exists()


def test_tag_add_creates_a_new_tag(agent_client, zhang):
    agent_client.post(reverse("customers:tag-add", args=[zhang.pk]), {"name": "爱喝茶"})
    assert list(zhang.tags.values_list("name", flat=True)) == ["爱喝茶"]


def test_tag_add_refuses_a_too_long_name(agent_client, zhang):
    response = agent_client.post(reverse("customers:tag-add", args=[zhang.pk]), {"name": "x" * 40}, **HTMX)
    assert response.status_code == 200
    assert 'class="field-error"' in html(response)
    assert not zhang.tags.exists()


def test_detail_offers_existing_tags_as_autocomplete(agent_client, zhang):
    TagFactory.create(name="复购")
    assert '<option value="复购">' in html(agent_client.get(detail_url(zhang)))


# --- merge ---------------------------------------------------------------------------------------------------


def test_merge_flow_pick_confirm_and_post(manager_client, zhang):
    # given a duplicate with the same phone
    dup = CustomerFactory.create(name="张小凡-京东", phone=PHONE)
    IdentityFactory.create(customer=dup, platform="jd", handle="jd_zhang")
    NoteFactory.create(customer=dup, body="京东的记事")
    merge_url = reverse("customers:merge", args=[dup.pk])
    # when the merge page opens, the customer with the same phone is suggested
    pick = manager_client.get(merge_url)
    assert pick.status_code == 200
    assert [c.pk for c in pick.context["candidates"]] == [zhang.pk]
    # and a search by id finds the target too
    found = html(manager_client.get(merge_url, {"q": str(zhang.pk)}, **HTMX))
    assert found.lstrip().startswith('<div id="merge-candidates"')
    assert f"?other={zhang.pk}" in found
    # the confirmation shows both and warns
    confirm = manager_client.get(merge_url, {"other": zhang.pk})
    assert confirm.status_code == 200
    assert 'id="merge-warning"' in html(confirm)
    assert "jd_zhang" in html(confirm)
    assert "小鱼爱喝茶" in html(confirm)
    assert Customer.objects.get(pk=dup.pk).merged_into_id is None  # nothing happened yet
    # then POST merges and goes to the target
    response = manager_client.post(merge_url, {"target": zhang.pk})
    assert response.status_code == 302
    assert response["Location"] == detail_url(zhang)
    assert Customer.objects.get(pk=dup.pk).merged_into_id == zhang.pk
    assert set(zhang.identities.values_list("handle", flat=True)) == {"小鱼爱喝茶", "jd_zhang"}
    assert Note.objects.get(body="京东的记事").customer_id == zhang.pk
    assert AuditEntry.objects.filter(action=AuditEntry.Action.MERGE, target_id=str(zhang.pk)).exists()


def test_merge_into_itself_is_refused(manager_client, zhang):
    response = manager_client.post(reverse("customers:merge", args=[zhang.pk]), {"target": zhang.pk}, follow=True)
    assert response.status_code == 200
    assert list(response.context["messages"])
    assert Customer.objects.get(pk=zhang.pk).merged_into_id is None


@pytest.mark.parametrize("other", ["self", "999999", "abc"])
def test_merge_confirmation_refuses_a_bad_pick(manager_client, zhang, other):
    value = str(zhang.pk) if other == "self" else other
    response = manager_client.get(reverse("customers:merge", args=[zhang.pk]), {"other": value})
    assert response.status_code == 200
    assert "target" not in response.context
    assert list(response.context["messages"])


def test_merge_needs_the_permission(agent_client, zhang):
    other = CustomerFactory.create()
    url = reverse("customers:merge", args=[other.pk])
    assert agent_client.get(url).status_code == 403
    assert agent_client.post(url, {"target": zhang.pk}).status_code == 403
    assert Customer.objects.get(pk=other.pk).merged_into_id is None


@pytest.mark.parametrize("q", NASTY)
def test_merge_search_never_fails(manager_client, zhang, q):
    response = manager_client.get(reverse("customers:merge", args=[zhang.pk]), {"q": q}, **HTMX)
    assert response.status_code == 200


# --- in a real browser ---------------------------------------------------------------------------------------


@pytest.mark.browser
@pytest.mark.django_db(transaction=True)
def test_browser_live_search_swaps_the_table_and_notes_post_with_htmx(browser, live_server, make_user):
    make_user("agent", username="web-agent")
    target = CustomerFactory.create(name="张小凡", phone=PHONE)
    CustomerFactory.create(name="李四")
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    try:
        page.goto(f"{live_server.url}/login/")
        page.fill("input[name=username]", "web-agent")
        page.fill("input[name=password]", "pass-word-123")
        page.click("button[type=submit]")
        page.goto(f"{live_server.url}{LIST}")
        assert page.locator("#customer-table tbody tr").count() == 2
        # typing swaps only the table and pushes the URL
        page.locator("#f-search").press_sequentially("张")
        page.wait_for_function("() => location.search.includes('search=')")
        page.wait_for_function("() => document.querySelectorAll('#customer-table tbody tr').length === 1")
        assert page.locator("#customer-table").inner_text().count("张小凡") == 1
        assert page.locator("#filter-form").count() == 1
        assert "138****5678" in page.content()
        # the note form posts with htmx and shows the new note
        page.goto(f"{live_server.url}{detail_url(target)}")
        page.fill("#id_body", "喜欢绿茶")
        page.click("#customer-notes button[type=submit]")
        page.wait_for_selector("#customer-notes .note")
        assert "喜欢绿茶" in page.locator("#customer-notes").inner_text()
        assert Note.objects.get(customer=target).body == "喜欢绿茶"
    finally:
        page.close()
