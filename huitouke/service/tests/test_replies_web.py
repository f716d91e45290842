"""The canned-reply API (contract as the issue gives it) and the wiring of the pages: picker, fill-in, wording
hints, the reply box's refusal of an unfilled variable, management pages, the 360 page's reply as a task."""

from __future__ import annotations

import json
from typing import Any

import pytest
from django.urls import reverse
from django.utils import translation
from django.utils.text import Truncator

from huitouke.messaging.models import Message
from huitouke.service import services as ticket_services
from huitouke.service.models import TicketReply, TicketType
from huitouke.service.replies import services
from huitouke.service.replies.models import CannedReply, ReplyCategory, ReplyLanguage, WordingRules

pytestmark = pytest.mark.django_db


@pytest.fixture
def ticket(shop: Any, customer: Any, order: Any, agent: Any) -> Any:
    return ticket_services.ticket_create(
        customer=customer, order=order, type="logistics", channel="wangwang", subject="没收到", actor=agent
    )


def _post(client: Any, url: str, body: dict[str, Any]) -> Any:
    return client.post(url, data=json.dumps(body), content_type="application/json")


def test_api_search_answers_the_contract(api_client_as):
    client = api_client_as("agent")
    answer = client.get("/api/v1/replies?q=zcp&language=zh-hans")
    assert answer.status_code == 200
    data = answer.json()
    assert data["count"] == 1
    assert data["items"] == [
        {
            "id": CannedReply.objects.get(key="review_sorry", language="zh-hans").pk,
            "title": "中差评：先道歉再商量",
            "category": "review",
            "body": data["items"][0]["body"],
            "variables": ["name", "order_no"],
        }
    ]
    everything = client.get("/api/v1/replies?limit=5").json()
    assert (len(everything["items"]), everything["count"]) == (5, CannedReply.objects.count())


def test_api_render_fills_refuses_and_takes_values(api_client_as, ticket, customer):
    client = api_client_as("agent")
    tracking = CannedReply.objects.get(key="tracking", language="zh-hans")
    url = f"/api/v1/replies/{tracking.pk}/render"
    refused = _post(client, url, {"ticket_id": ticket.pk})
    assert refused.status_code == 200
    assert refused.json() == {"text": None, "missing": ["carrier", "tracking_no"]}
    filled = _post(client, url, {"ticket_id": ticket.pk, "values": {"carrier": "顺丰", "tracking_no": "SF1"}})
    assert filled.json() == {
        "text": "亲，您的订单T100已由顺丰发出，运单号SF1，可以在快递官网或App查看进度。有延误我们会帮您跟进。",
        "missing": [],
    }
    by_order = _post(client, url, {"customer_id": customer.pk, "order_no": "T100", "values": {"carrier": "圆通"}})
    assert by_order.json()["missing"] == ["tracking_no"]
    tracking.refresh_from_db()
    assert tracking.usage_count == 1


@pytest.mark.parametrize(
    ("path", "body", "status", "field"),
    [
        ("/api/v1/replies/99999999/render", {}, 404, "id"),
        ("/api/v1/replies/{id}/render", {"ticket_id": 99999999}, 404, "ticket_id"),
        ("/api/v1/replies/{id}/render", {"customer_id": 99999999}, 404, "customer_id"),
        ("/api/v1/replies/{id}/render", {"order_no": "NOPE"}, 404, "order_no"),
        ("/api/v1/replies/{id}/render", {"values": {"coupon": "x"}}, 400, "values.coupon"),
        ("/api/v1/replies/{id}/render", {"ticket_id": 2**63}, 400, "ticket_id"),
        ("/api/v1/replies/99999999999999999999/render", {}, 404, "reply_id"),
    ],
)
def test_api_render_errors_name_the_field(api_client_as, path, body, status, field):
    reply = CannedReply.objects.get(key="tracking", language="zh-hans")
    answer = _post(api_client_as("agent"), path.format(id=reply.pk), body)
    assert answer.status_code == status
    assert answer.json()["field"] == field


def test_api_needs_the_agent_permission(api_client_as):
    answer = api_client_as("marketer").get("/api/v1/replies")
    assert answer.status_code == 403
    assert answer.json()["code"] == "forbidden"


def test_api_is_documented_with_its_errors(api_client_as):
    schema = api_client_as("agent").get("/api/v1/openapi.json").json()
    render = schema["paths"]["/api/v1/replies/{reply_id}/render"]["post"]
    assert {"200", "400", "401", "403", "404", "422"} <= set(render["responses"])


def test_the_ticket_page_has_the_picker_and_the_hints(client_as, ticket):
    page = client_as("agent").get(reverse("service:ticket", args=[ticket.pk]))
    html = page.content.decode()
    assert 'id="reply-picker"' in html
    assert reverse("service:reply-pick") in html
    assert reverse("service:wording-hints") in html
    assert "replies.js" in html


def test_picker_lists_the_ticket_types_replies_first(client_as, ticket):
    client = client_as("agent")
    page = client.get(reverse("service:reply-pick"), {"ticket": ticket.pk, "q": ""})
    assert page.status_code == 200
    html = page.content.decode()
    assert "<html" not in html  # a fragment
    logistics = CannedReply.objects.filter(language="zh-hans", ticket_type="logistics").values_list("pk", flat=True)
    first_two = [int(x.split('"')[0]) for x in html.split('id="pick-')[1:3]]
    assert sorted(first_two) == sorted(logistics)
    searched = client.get(reverse("service:reply-pick"), {"ticket": ticket.pk, "q": "by"}).content.decode()
    assert "包邮" in searched
    assert "物流查询" not in searched


def test_use_shows_fill_in_fields_then_the_text(client_as, ticket):
    client = client_as("agent")
    reply = CannedReply.objects.get(key="tracking", language="zh-hans")
    url = reverse("service:reply-use", args=[reply.pk])
    asked = client.post(url, {"ticket": ticket.pk}).content.decode()
    assert 'name="value_carrier"' in asked
    assert 'name="value_tracking_no"' in asked
    assert "data-text" not in asked
    done = client.post(url, {"ticket": ticket.pk, "value_carrier": "顺丰", "value_tracking_no": "SF1"}).content.decode()
    assert 'data-text="亲，您的订单T100已由顺丰发出，运单号SF1' in done
    bad = client.post(url, {"ticket": 99999999})
    assert bad.status_code == 400


def test_wording_hints_fragment(client_as, shop, manager):
    client = client_as("agent")
    html = client.post(reverse("service:wording-hints"), {"body": "您好，保证没问题", "shop": shop.pk}).content.decode()
    assert "亲" in html
    assert "保证" in html
    services.wording_rules_set(shop=shop, actor=manager, enabled=False, greeting="亲", banned="", sms_limit=70)
    html = client.post(reverse("service:wording-hints"), {"body": "您好，保证没问题", "shop": shop.pk}).content.decode()
    assert "hint" not in html


def test_a_reply_with_an_unfilled_variable_is_not_sent(client_as, ticket):
    client = client_as("agent")
    answer = client.post(
        reverse("service:reply", args=[ticket.pk]),
        {"body": "亲，运单号{tracking_no}", "as": "reply", "channel": "manual"},
    )
    assert answer.status_code == 400
    assert "{tracking_no}" in answer.content.decode()
    assert not TicketReply.objects.filter(ticket=ticket).exists()
    note = client.post(reverse("service:reply", args=[ticket.pk]), {"body": "内部：{tracking_no} 待查", "as": "note"})
    assert note.status_code == 302  # an internal note is never sent: no refusal


def test_management_pages(client_as, agent, shop):
    client = client_as("agent")
    assert client.get(reverse("service:replies"), {"q": "zcp"}).status_code == 200
    new = client.post(
        reverse("service:reply-new"),
        {
            "title": "我的话术",
            "category": "general",
            "ticket_type": "",
            "language": "zh-hans",
            "body": "亲，{name}",
            "scope": "personal",
        },
    )
    reply = CannedReply.objects.get(title="我的话术")
    assert new.status_code == 302
    assert reply.owner is not None
    assert reply.owner.get_username() == "agent-client"
    refused = client.post(
        reverse("service:reply-new"),
        {
            "title": "店铺的",
            "category": "general",
            "language": "zh-hans",
            "body": "亲",
            "scope": "shop",
            "shop": shop.pk,
        },
    )
    assert refused.status_code == 400  # agents have no "shop" choice
    bad = client.post(
        reverse("service:reply-edit", args=[reply.pk]),
        {"title": "我的话术", "category": "general", "language": "zh-hans", "body": "亲，{coupon}"},
    )
    assert bad.status_code == 400
    assert "coupon" in bad.content.decode()
    shipped = CannedReply.objects.get(key="tracking", language="zh-hans")
    assert client.post(reverse("service:reply-edit", args=[shipped.pk]), {"title": "x"}).status_code == 403
    copy = client.get(reverse("service:reply-new"), {"copy": shipped.pk}).content.decode()
    assert "物流查询" in copy
    assert client.post(reverse("service:reply-delete", args=[reply.pk])).status_code == 302
    assert not CannedReply.objects.filter(pk=reply.pk).exists()


def test_wording_settings_are_for_managers(client_as, shop):
    assert client_as("agent").get(reverse("service:wording-settings")).status_code == 403
    client = client_as("manager")
    answer = client.post(
        reverse("service:wording-settings"),
        {"shop": shop.pk, "enabled": "on", "greeting": "您好", "banned": "一定，包您", "sms_limit": "60"},
    )
    assert answer.status_code == 302
    rules = WordingRules.objects.get(shop=shop)
    assert (rules.greeting, rules.banned, rules.sms_limit) == ("您好", ["一定", "包您"], 60)


def test_reply_to_this_customer_from_the_360_page(client_as, customer, order):
    client = client_as("agent")
    page = client.get(reverse("customers:detail", args=[customer.pk])).content.decode()
    assert reverse("service:reply-compose") in page
    form = client.get(reverse("service:reply-compose"), {"customer": customer.pk}).content.decode()
    assert 'value="T100" selected' in form
    sent = client.post(
        reverse("service:reply-compose"), {"customer": customer.pk, "order_no": "T100", "body": "亲，您好"}
    )
    assert sent.status_code == 302
    task = Message.objects.get(customer=customer)
    assert (task.channel, task.body, task.shop_id) == ("manual", "亲，您好", order.shop_id)
    assert client.get(reverse("service:reply-compose"), {"customer": 99999999}).status_code == 404


def test_lists_read_a_fixed_number_of_queries(client_as, agent):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_as("agent")

    def queries(url: str) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert client.get(url).status_code == 200
        return len(ctx.captured_queries)

    before = (queries(reverse("service:replies")), queries(reverse("service:reply-pick")))
    for n in range(15):
        services.canned_reply_create(
            actor=agent, scope="personal", title=f"话术{n}", body="亲，{name}", category="general"
        )
    assert (queries(reverse("service:replies")), queries(reverse("service:reply-pick"))) == before


def test_the_pictures_of_a_reply_go_onto_the_ticket(client, client_as, ticket, agent, settings, tmp_path):
    from huitouke.service.models import Attachment

    settings.HUITOUKE_HOME = tmp_path
    png = b"\x89PNG\r\n\x1a\n" + b"\x00" * 32
    reply = services.canned_reply_create(
        actor=agent, scope="personal", title="看图", body="亲，看图", category="general"
    )
    services.reply_image_add(reply=reply, actor=agent, name="尺码表.png", content=png)
    client.force_login(agent)
    used = client.post(reverse("service:reply-use", args=[reply.pk]), {"ticket": ticket.pk}).content.decode()
    assert reverse("service:reply-attach", args=[reply.pk]) in used
    # another agent does not find this personal reply
    other = client_as("agent").post(reverse("service:reply-attach", args=[reply.pk]), {"ticket": ticket.pk})
    assert other.status_code == 404
    assert client.post(reverse("service:reply-attach", args=[reply.pk]), {"ticket": 99999999}).status_code == 404
    done = client.post(reverse("service:reply-attach", args=[reply.pk]), {"ticket": ticket.pk})
    assert done.status_code == 200
    assert "1" in done.content.decode()
    files = list(Attachment.objects.filter(ticket=ticket).values_list("name", "content_type", "size"))
    assert files == [("尺码表.png", "image/png", len(png))]


def test_picker_language_choice(client_as, ticket):
    client = client_as("agent")
    url = reverse("service:reply-pick")
    chinese = client.get(url, {"ticket": ticket.pk, "q": "tracking"}).content.decode()
    english = client.get(url, {"ticket": ticket.pk, "q": "parcel", "language": "en"}).content.decode()
    both = client.get(url, {"ticket": ticket.pk, "q": "", "language": "all"}).content.decode()
    assert "Where is my parcel" not in chinese
    assert "Where is my parcel" in english
    assert both.count('id="pick-') == 30  # the picker's page: both languages, 2 × 22 replies capped at 30
    assert 'id="picker-language"' in client.get(reverse("service:ticket", args=[ticket.pk])).content.decode()


def test_the_api_refuses_a_public_reply_with_an_unfilled_variable(api_client_as, ticket):
    client = api_client_as("agent")
    url = f"/api/v1/tickets/{ticket.pk}/replies"
    refused = _post(client, url, {"body": "亲，运单号{tracking_no}", "channel": "manual"})
    assert refused.status_code == 400
    assert refused.json()["field"] == "body"
    assert "{tracking_no}" in refused.json()["message"]
    assert _post(client, url, {"body": "内部：{tracking_no} 待查", "internal": True}).status_code == 201
    assert _post(client, url, {"body": "亲，写法 {{tracking_no}} 是字面的", "channel": "manual"}).status_code == 201


def test_the_manual_task_queue_links_each_task_to_a_canned_reply_for_its_customer(client_as, customer, shop, agent):
    # given a manual task for a customer, waiting in messaging's queue (as the dispatcher leaves it)
    task = services.reply_task_create(customer=customer, shop=shop, body="亲，您好", actor=agent)
    Message.objects.filter(pk=task.pk).update(status="sending", lease_until=None)
    compose = reverse("service:reply-compose") + f"?customer={customer.pk}"

    # then the queue links the task to a canned reply for that customer (registered by the service desk)
    page = client_as("agent").get(reverse("messaging:tasks")).content.decode()
    assert "亲，您好" in page
    assert f'href="{compose}"' in page
    assert "用话术回复" in page


def test_list_rows_show_labels_links_and_excerpts(client, agent):
    """What the list works out per row in the view: the scenario, type and language labels, Edit for the
    agent's own reply and Copy for a shipped one, and the text cut at 80 characters like `truncatechars`."""
    mine = services.canned_reply_create(
        actor=agent,
        scope="personal",
        title="我的长话术",
        body="亲" * 100,
        category="tracking",
        ticket_type="logistics",
        language="zh-hans",
    )
    with translation.override("zh-hans"):
        labels = [str(x) for x in (ReplyCategory.TRACKING.label, TicketType.LOGISTICS.label, ReplyLanguage.ZH.label)]
        excerpt = Truncator("亲" * 100).chars(80)  # what the template filter truncatechars:80 gives
    shipped = CannedReply.objects.get(key="review_sorry", language="zh-hans")
    client.force_login(agent)
    client.cookies["django_language"] = "zh-hans"
    text = client.get(reverse("service:replies"), {"q": "话术"}).content.decode()
    row = text[text.index(f'<tr id="reply-{mine.pk}">') :]
    row = row[: row.index("</tr>")]
    assert f'<a href="/service/replies/{mine.pk}/">我的长话术</a>' in row
    assert len(excerpt) == 80
    assert f'<small class="muted">{excerpt}</small>' in row
    assert f'<a href="/service/replies/{mine.pk}/">编辑</a>' in row
    assert [label in row for label in labels] == [True, True, True]
    text = client.get(reverse("service:replies"), {"q": "zcp"}).content.decode()
    row = text[text.index(f'<tr id="reply-{shipped.pk}">') :]
    row = row[: row.index("</tr>")]
    assert f'<a href="/service/replies/new/?copy={shipped.pk}">复制</a>' in row
    assert labels[2] in row
