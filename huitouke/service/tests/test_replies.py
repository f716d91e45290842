"""Canned replies against the real database: the live context of a ticket/customer/order, search by substring
and pinyin initials, who sees and changes which reply, usage counts, pictures, the starter library."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest

from huitouke.core.errors import ApplicationError, NotFoundError, PermissionDeniedError
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.orders.tests.factories import OrderFactory, ShopFactory
from huitouke.service import services as ticket_services
from huitouke.service.replies import selectors, services
from huitouke.service.replies.links import self_service_link_register
from huitouke.service.replies.models import CannedReply
from huitouke.service.replies.starter import STARTERS

pytestmark = pytest.mark.django_db

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


@pytest.fixture
def ticket(shop: Any, customer: Any, order: Any, agent: Any) -> Any:
    order.logistics_company = "顺丰速运"
    order.tracking_no = "SF1234567"
    order.save()
    IdentityFactory.create(customer=customer, platform="taobao", handle="tea_lover_88")
    return ticket_services.ticket_create(
        customer=customer, order=order, type="logistics", channel="wangwang", subject="没收到", actor=agent
    )


def _reply(actor: Any, body: str, title: str = "测试话术", **kw: Any) -> CannedReply:
    kw.setdefault("scope", "personal")
    kw.setdefault("category", "general")
    return services.canned_reply_create(actor=actor, title=title, body=body, **kw)


def test_the_context_is_read_from_the_ticket_order_and_customer(ticket, agent, settings):
    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.com"
    agent.first_name = "小美"
    agent.save()
    target = selectors.reply_target(ticket_id=ticket.pk)
    ctx = selectors.reply_context(target=target, agent=agent)
    assert ctx == {
        "name": "王小二",
        "nick": "tea_lover_88",
        "shop": "茶小铺",
        "order_no": "T100",
        "items": "龙井、茶杯",
        "carrier": "顺丰速运",
        "tracking_no": "SF1234567",
        "agent": "小美",
        "ticket_no": str(ticket.number),
        "self_service_link": ctx["self_service_link"],
    }
    token = ctx["self_service_link"].removeprefix("https://crm.example.com/help/t/").rstrip("/")
    assert ctx["self_service_link"] == f"https://crm.example.com/help/t/{token}/"
    from huitouke.service import portal

    assert portal.ticket_from_token(token).pk == ticket.pk  # the signed status page of this very ticket
    assert selectors.reply_context(target=target, agent=agent, language="en")["items"] == "龙井, 茶杯"


def test_refund_amount_comes_from_approved_refunds_then_the_order(ticket, agent):
    def refund() -> str | None:
        target = selectors.reply_target(ticket_id=ticket.pk)
        return selectors.reply_context(target=target, agent=agent).get("refund_amount")

    assert refund() is None
    ticket.order.refund_amount = Decimal("20.00")
    ticket.order.save()
    assert refund() == "¥20.00"
    ticket_services.compensation_add(ticket=ticket, kind="partial_refund", amount=Decimal("12.5"), actor=agent)
    ticket_services.compensation_add(ticket=ticket, kind="coupon", amount=Decimal("5"), actor=agent)
    assert refund() == "¥12.50"


def test_values_are_read_at_the_moment_of_use_never_cached(ticket, agent):
    reply = _reply(agent, "亲，运单号{tracking_no}")
    target = selectors.reply_target(ticket_id=ticket.pk)
    assert services.canned_reply_use(reply=reply, target=target, agent=agent).text == "亲，运单号SF1234567"
    ticket.order.tracking_no = "YT999"
    ticket.order.save()
    target = selectors.reply_target(ticket_id=ticket.pk)
    assert services.canned_reply_use(reply=reply, target=target, agent=agent).text == "亲，运单号YT999"


def test_nick_and_name_never_carry_contact_data(shop, agent):
    buyer = CustomerFactory.create(name="13912345678")
    IdentityFactory.create(customer=buyer, platform="shopify", handle="buyer@example.com")
    ctx = selectors.reply_context(target=selectors.reply_target(customer_id=buyer.pk), agent=agent)
    assert "nick" not in ctx
    assert "name" not in ctx
    other = CustomerFactory.create(name="Ann Lee")
    IdentityFactory.create(customer=other, platform="shopify", handle="ann@example.com")
    ctx = selectors.reply_context(target=selectors.reply_target(customer_id=other.pk), agent=agent)
    assert (ctx["name"], ctx["nick"]) == ("Ann Lee", "Ann Lee")


def test_a_missing_variable_refuses_the_text_and_is_not_counted(customer, agent):
    reply = _reply(agent, "亲，{name}，您的运单号是{tracking_no}，承运{carrier}")
    target = selectors.reply_target(customer_id=customer.pk)
    refused = services.canned_reply_use(reply=reply, target=target, agent=agent)
    assert (refused.text, refused.missing) == (None, ("tracking_no", "carrier"))
    reply.refresh_from_db()
    assert (reply.usage_count, reply.last_used) == (0, None)
    done = services.canned_reply_use(
        reply=reply, target=target, agent=agent, values={"tracking_no": "YT1", "carrier": "圆通"}
    )
    assert done.text == "亲，王小二，您的运单号是YT1，承运圆通"
    reply.refresh_from_db()
    assert reply.usage_count == 1
    assert reply.last_used is not None
    with pytest.raises(ApplicationError) as err:
        services.canned_reply_use(reply=reply, target=target, agent=agent, values={"coupon": "x"})
    assert err.value.field == "values.coupon"
    with pytest.raises(ApplicationError):
        services.canned_reply_use(reply=reply, target=target, agent=agent, values={"carrier": "x" * 501})


def test_the_self_service_link_comes_from_a_registered_provider(ticket, agent, settings):
    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.com"
    previous = self_service_link_register(lambda **kw: f"https://h.example/help/t/{kw['ticket'].number}/")
    try:
        ctx = selectors.reply_context(target=selectors.reply_target(ticket_id=ticket.pk), agent=agent)
        assert ctx["self_service_link"] == f"https://h.example/help/t/{ticket.number}/"
        self_service_link_register(None)  # no provider: the public help page
        ctx = selectors.reply_context(target=selectors.reply_target(ticket_id=ticket.pk), agent=agent)
        assert ctx["self_service_link"] == "https://crm.example.com/help/"
    finally:
        self_service_link_register(previous)


def test_no_self_service_link_while_the_shop_has_its_page_off(ticket, customer, agent, settings):
    from huitouke.service import portal

    settings.HUITOUKE_PUBLIC_URL = "https://crm.example.com"
    order_ctx = selectors.reply_context(
        target=selectors.reply_target(customer_id=customer.pk, order_no="T100"), agent=agent
    )
    assert order_ctx["self_service_link"].startswith("https://crm.example.com/help/o/")
    bare = selectors.reply_context(target=selectors.reply_target(customer_id=customer.pk), agent=agent)
    assert bare["self_service_link"] == "https://crm.example.com/help/"
    portal.portal_enabled_set(shop=ticket.shop, enabled=False)
    ctx = selectors.reply_context(target=selectors.reply_target(ticket_id=ticket.pk), agent=agent)
    assert "self_service_link" not in ctx


def test_target_lookup_names_the_parameter(ticket, customer, shop):
    assert selectors.reply_target(customer_id=customer.pk, order_no="T100").order == ticket.order
    for kwargs, field in (
        ({"ticket_id": 999999}, "ticket_id"),
        ({"customer_id": 999999}, "customer_id"),
        ({"customer_id": customer.pk, "order_no": "NOPE"}, "order_no"),
    ):
        with pytest.raises(NotFoundError) as err:
            selectors.reply_target(**kwargs)
        assert err.value.field == field
    other_shop = ShopFactory.create(name="别家")
    OrderFactory.create(shop=other_shop, customer=CustomerFactory.create(), order_no="T100")
    with pytest.raises(ApplicationError) as several:
        selectors.reply_target(order_no="T100")
    assert several.value.field == "order_no"


def test_search_by_substring_and_pinyin_initials(agent):
    a = _reply(agent, "亲，非常抱歉", title="中差评解释")
    b = _reply(agent, "亲，满额包邮", title="包邮说明")
    mine = CannedReply.objects.filter(pk__in=[a.pk, b.pk])
    assert a.initials == "zcpjs"

    def found(q: str) -> list[int]:
        return list(selectors.reply_list(user=agent, q=q).filter(pk__in=mine).values_list("pk", flat=True))

    assert found("zcp") == [a.pk]
    assert found("ZCP") == [a.pk]
    assert found("差评") == [a.pk]
    assert found("满额") == [b.pk]  # the text counts too
    assert found("by") == [b.pk]
    assert found("xyz") == []


def test_who_sees_and_changes_which_reply(shop, agent, agent2, manager):
    other_shop = ShopFactory.create(name="别家")
    personal = _reply(agent, "亲，我的")
    theirs = _reply(agent2, "亲，别人的")
    shop_reply = _reply(manager, "亲，店铺的", scope="shop", shop=shop)
    other_reply = _reply(manager, "亲，别家的", scope="shop", shop=other_shop)
    shipped = CannedReply.objects.get(key="tracking", language="zh-hans")
    seen = set(selectors.visible_replies(user=agent, shop=shop).values_list("pk", flat=True))
    assert {personal.pk, shop_reply.pk, shipped.pk} <= seen
    assert theirs.pk not in seen
    assert other_reply.pk not in seen
    with pytest.raises(NotFoundError):
        selectors.reply_get(user=agent, reply_id=theirs.pk)
    with pytest.raises(PermissionDeniedError):
        _reply(agent, "亲", scope="shop", shop=shop)
    with pytest.raises(PermissionDeniedError):
        services.canned_reply_update(
            reply=shipped, actor=manager, title="x", body="亲", category="general", language="zh-hans"
        )
    with pytest.raises(PermissionDeniedError):
        services.canned_reply_delete(reply=shop_reply, actor=agent)
    services.canned_reply_update(
        reply=shop_reply, actor=manager, title="店铺话术", body="亲，改过", category="shipping", language="zh-hans"
    )
    shop_reply.refresh_from_db()
    assert (shop_reply.title, shop_reply.initials, shop_reply.category) == ("店铺话术", "dphs", "shipping")
    services.canned_reply_delete(reply=personal, actor=agent)
    assert not CannedReply.objects.filter(pk=personal.pk).exists()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("title", {"title": " "}),
        ("body", {"body": "亲 {coupon}"}),
        ("body", {"body": "亲 {name"}),
        ("body", {"body": "x" * 2001}),
        ("category", {"category": "nope"}),
        ("ticket_type", {"ticket_type": "nope"}),
        ("language", {"language": "fr"}),
    ],
)
def test_bad_replies_are_refused_naming_the_field(agent, field, kwargs):
    args = {"title": "t", "body": "亲", "category": "general", "language": "zh-hans", **kwargs}
    with pytest.raises(ApplicationError) as err:
        services.canned_reply_create(actor=agent, scope="personal", **args)
    assert err.value.field == field


def test_pictures_are_sniffed_and_limited(agent, settings, tmp_path):
    settings.HUITOUKE_HOME = tmp_path
    settings.HUITOUKE_REPLY_IMAGE_MAX_BYTES = 100
    reply = _reply(agent, "亲，看图")
    image = services.reply_image_add(reply=reply, actor=agent, name="../尺码.png", content=PNG)
    assert (image.content_type, image.name, image.size) == ("image/png", "尺码.png", len(PNG))
    for content, message in ((b"plain text", "only JPEG"), (PNG + b"\x00" * 100, "larger than"), (b"", "empty")):
        with pytest.raises(ApplicationError, match=message):
            services.reply_image_add(reply=reply, actor=agent, name="a.png", content=content)
    for _ in range(3):
        services.reply_image_add(reply=reply, actor=agent, name="a.png", content=PNG)
    with pytest.raises(ApplicationError, match="at most 4"):
        services.reply_image_add(reply=reply, actor=agent, name="a.png", content=PNG)
    assert reply.images.count() == 4


def test_the_starter_library_is_loaded_in_both_languages_and_kept_up_to_date(db):
    assert CannedReply.objects.filter(shop__isnull=True, owner__isnull=True).count() == 2 * len(STARTERS)
    row = CannedReply.objects.get(key="review_sorry", language="en")
    row.body = "changed"
    row.save()
    assert services.replies_starter_load() == 1
    row.refresh_from_db()
    assert row.body == STARTERS[0].en
    assert services.replies_starter_load() == 0


def test_wording_rules_are_per_shop(shop, manager, agent):
    assert selectors.wording_rules_for(shop=shop).banned == ("肯定", "保证", "绝对")
    services.wording_rules_set(
        shop=shop, actor=manager, enabled=True, greeting="您好", banned="一定、包您", sms_limit=60
    )
    rules = selectors.wording_rules_for(shop=shop)
    assert (rules.greeting, rules.banned, rules.sms_limit) == ("您好", ("一定", "包您"), 60)
    with pytest.raises(PermissionDeniedError):
        services.wording_rules_set(shop=shop, actor=agent, enabled=True, greeting="", banned="", sms_limit=70)
    with pytest.raises(ApplicationError) as err:
        services.wording_rules_set(shop=shop, actor=manager, enabled=True, greeting="", banned="", sms_limit=5000)
    assert err.value.field == "sms_limit"


def test_reply_to_a_customer_becomes_a_manual_task(customer, shop, agent):
    from huitouke.messaging.models import Message

    message = services.reply_task_create(customer=customer, shop=shop, body="亲，您好", actor=agent)
    assert (message.channel, message.purpose, message.body, message.customer_id) == (
        "manual",
        "service",
        "亲，您好",
        customer.pk,
    )
    with pytest.raises(ApplicationError, match=r"\{order_no\}"):
        services.reply_task_create(customer=customer, shop=shop, body="亲，{order_no}", actor=agent)
    assert Message.objects.filter(customer=customer).count() == 1
