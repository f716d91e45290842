"""Wiring of the messaging pages and the API: filters and partials, masking, manual tasks, templates with
preview, channel settings (secrets never shown back), contact rules, unsubscribe (page and RFC 8058 POST),
resend, the inbound-SMS webhook, the commands."""

from __future__ import annotations

import json
import re
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils.html import escape

from huitouke.core.models import AuditEntry
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import ChannelConfig, ContactPolicy, Message, SourceKind, Template
from huitouke.messaging.services import (
    OutgoingMessage,
    SourceRef,
    channel_config_save,
    message_enqueue_many,
    unsubscribe_token,
)

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

LIST = reverse("messaging:list")
HTMX = {"HTTP_HX_REQUEST": "true"}


def html(response) -> str:
    return response.content.decode()


def enqueue(customer, key, **kw):
    kw.setdefault("channel", "sms")
    kw.setdefault("purpose", "care")
    kw.setdefault("body", f"亲，这是{key}")
    message_enqueue_many(messages=[OutgoingMessage(idempotency_key=key, customer_id=customer.pk, **kw)])
    return Message.objects.get(idempotency_key=key)


@pytest.fixture
def sent(db):
    c = CustomerFactory.create(name="张小凡", phone="13812345678")
    m = enqueue(c, "k1")
    Message.objects.filter(pk=m.pk).update(status="sent", to_address="13812345678")
    return m


def test_list_shows_records_with_masked_addresses_for_agents(client_as, sent):
    agent = client_as("agent")
    body = html(agent.get(LIST))
    assert "张小凡" in body
    assert "亲，这是k1" in body
    detail = html(agent.get(reverse("messaging:detail", args=[sent.pk])))
    assert "138****5678" in detail
    assert "13812345678" not in detail


def test_managers_see_the_full_address(client_as, sent):
    assert "13812345678" in html(client_as("manager").get(reverse("messaging:detail", args=[sent.pk])))


@pytest.mark.parametrize(
    ("query", "shown"),
    [("status=sent", ["k1"]), ("status=suppressed", ["k2"]), ("reason=opted_out", ["k2"]), ("channel=email", ["k3"])],
)
def test_filters(client_as, sent, query, shown):
    c = CustomerFactory.create()
    k2 = enqueue(c, "k2")
    Message.objects.filter(pk=k2.pk).update(status="suppressed", reason="opted_out")
    enqueue(c, "k3", channel="email", subject="s")
    body = html(client_as("manager").get(f"{LIST}?{query}", **HTMX))
    for key in ("k1", "k2", "k3"):
        assert (f"亲，这是{key}" in body) == (key in shown)


def test_htmx_gets_the_table_only(client_as, sent):
    body = html(client_as("manager").get(LIST, **HTMX))
    assert body.lstrip().startswith('<div id="message-table"')
    assert "<html" not in body


def test_a_bad_filter_is_named(client_as):
    body = html(client_as("manager").get(f"{LIST}?date_from=yesterday"))
    assert "date_from" in body


def test_list_runs_a_fixed_number_of_queries(client_as, shop):
    manager = client_as("manager")

    def make(n, prefix):
        for i in range(n):
            c = CustomerFactory.create()
            enqueue(c, f"{prefix}{i}", shop_id=shop.pk, source=SourceRef.of(SourceKind.CAMPAIGN, shop))

    make(3, "a")
    with CaptureQueriesContext(connection) as small:
        manager.get(LIST)
    make(20, "b")
    with CaptureQueriesContext(connection) as large:
        manager.get(LIST)
    assert len(large) == len(small)


def test_the_source_summary_offers_resend_of_the_failed_only(client_as, shop):
    source = SourceRef.of(SourceKind.CAMPAIGN, shop)
    c = CustomerFactory.create()
    ok = enqueue(c, "ok", source=source)
    bad = enqueue(c, "bad", source=source)
    Message.objects.filter(pk=ok.pk).update(status="sent")
    Message.objects.filter(pk=bad.pk).update(status="failed", reason="rejected")
    manager = client_as("manager")
    query = f"?source_kind=campaign&source={source.type_id}:{source.object_id}"
    body = html(manager.get(LIST + query))
    assert 'id="resend-source"' in body
    response = manager.post(
        reverse("messaging:resend"), {"source_kind": "campaign", "source": f"{source.type_id}:{source.object_id}"}
    )
    assert response.status_code == 302
    ok.refresh_from_db()
    bad.refresh_from_db()
    assert (ok.status, bad.status) == ("sent", "queued")


def test_agents_cannot_resend(client_as):
    assert client_as("agent").post(reverse("messaging:resend"), {"source_kind": "campaign"}).status_code == 403


def test_marketers_do_not_work_manual_tasks(client_as):
    assert client_as("marketer").get(reverse("messaging:tasks")).status_code == 403


@pytest.fixture
def task(db):
    c = CustomerFactory.create(name="李四")
    m = enqueue(c, "task", channel="manual", purpose="service", body="亲，您的退款已到账")
    Message.objects.filter(pk=m.pk).update(status="sending", lease_until=None, to_address="taobao:lisi")
    return m


def test_task_queue_and_mark_sent_by_htmx(client_as, task):
    agent = client_as("agent")
    assert "亲，您的退款已到账" in html(agent.get(reverse("messaging:tasks")))
    response = agent.post(reverse("messaging:task-sent", args=[task.pk]), **HTMX)
    assert 'class="done"' in html(response)
    task.refresh_from_db()
    assert (task.status, task.claimed_by) == ("sent", "agent-client")
    again = agent.post(reverse("messaging:task-sent", args=[task.pk]), **HTMX)
    assert "不在待发送任务里" in html(again)  # "not waiting in the task queue", in the default language


def test_skip_a_task(client_as, task):
    client_as("agent").post(reverse("messaging:task-skip", args=[task.pk]))
    task.refresh_from_db()
    assert (task.status, task.reason) == ("suppressed", "cancelled")


def test_template_create_and_unknown_variable_is_named(client_as):
    marketer = client_as("marketer")
    data = {"name": "新品", "channel": "sms", "purpose": "marketing", "language": "zh-hans", "body": "亲，{phone}"}
    response = marketer.post(reverse("messaging:template-new"), data)
    assert response.status_code == 200
    assert "unknown variable {phone}" in html(response)
    data["body"] = "亲，{shop}上新啦"
    response = marketer.post(reverse("messaging:template-new"), data)
    assert response.status_code == 302
    assert Template.objects.get(name="新品").body == "亲，{shop}上新啦"


def test_system_templates_are_read_only_but_can_be_copied(client_as):
    system = Template.objects.filter(system=True, channel="sms", language="zh-hans", key="birthday").get()
    manager = client_as("manager")
    response = manager.post(reverse("messaging:template-edit", args=[system.pk]), {"name": "x", "body": "y"})
    assert response.status_code == 403
    response = manager.post(reverse("messaging:template-copy", args=[system.pk]))
    copy = Template.objects.get(pk=int(response.url.rstrip("/").rsplit("/", 1)[1]))
    assert (copy.system, copy.body) == (False, system.body)


def test_preview_renders_for_a_real_customer_with_the_sms_count(client_as, shop):
    CustomerFactory.create(name="王小明")
    channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "http://127.0.0.1:9/", "sign_name": "茶小铺"},
        secrets_new={"access_key_id": "a", "access_key_secret": "b"},
    )
    params = {
        "channel": "sms",
        "purpose": "marketing",
        "body": "{name}，{shop}上新：{product}",
        "customer": "王小明",
        "shop": shop.pk,
    }
    marketer = client_as("marketer")
    body = html(marketer.get(reverse("messaging:template-preview"), params, **HTMX))
    assert "【茶小铺】王小明，茶小铺上新：明前龙井 250g 回T退订" in body
    assert 'id="sms-count"' in body
    params["body"] = "{coupon}x{nick}"
    body = html(marketer.get(reverse("messaging:template-preview"), params, **HTMX))
    assert "{nick}" in body  # the customer has no platform handle: shown as missing
    assert 'id="preview-missing"' in body


def test_preview_by_phone_is_a_contact_search_for_roles_without_unmask(client_as, settings):
    """The preview's customer box finds a whole phone number: for agents and marketers that is the list's
    contact search (audited, rate-limited), not a free way to test guessed numbers."""
    from huitouke.core.models import AuditEntry

    settings.HUITOUKE_CONTACT_SEARCHES_PER_HOUR = 1
    CustomerFactory.create(name="王小明", phone="13601230792")
    params = {"channel": "sms", "purpose": "service", "body": "{name}您好", "customer": "13601230792"}
    agent = client_as("agent")

    assert "王小明您好" in html(agent.get(reverse("messaging:template-preview"), params, **HTMX))
    entry = AuditEntry.objects.get(action="search")
    assert entry.detail == {"kind": "phone", "search": "13601230792"}
    refused = html(agent.get(reverse("messaging:template-preview"), {**params, "customer": "13601230793"}, **HTMX))
    assert "王小明" not in refused
    assert "稍后再试" in refused or "try again later" in refused
    by_name = html(agent.get(reverse("messaging:template-preview"), {**params, "customer": "王小明"}, **HTMX))
    assert "王小明您好" in by_name  # a name is no contact search
    manager = client_as("manager")
    assert "王小明您好" in html(manager.get(reverse("messaging:template-preview"), params, **HTMX))
    assert AuditEntry.objects.filter(action="search").count() == 1


def test_channel_settings_never_show_secrets(client_as, shop):
    owner = client_as("owner")
    url = reverse("messaging:channel-edit", args=[shop.pk, "sms"])
    response = owner.post(
        url,
        {
            "provider": "aliyun",
            "opt_endpoint": "https://dysmsapi.aliyuncs.com/",
            "opt_sign_name": "茶小铺",
            "secret_access_key_id": "LTAI-visible-id",
            "secret_access_key_secret": "super-secret-value",
            "enabled": "on",
            "rate_per_second": "50",
        },
    )
    assert response.status_code == 302
    config = ChannelConfig.objects.get(shop=shop, channel="sms")
    assert "super-secret-value" not in config.secrets_encrypted
    assert config.rate_per_second == 50
    page = html(owner.get(url))
    assert "super-secret-value" not in page
    assert "LTAI-visible-id" not in page
    assert "茶小铺" in page
    # saving again without secrets keeps them
    owner.post(
        url,
        {
            "provider": "aliyun",
            "opt_endpoint": "https://dysmsapi.aliyuncs.com/",
            "opt_sign_name": "新名",
            "enabled": "on",
        },
    )
    from huitouke.messaging.secrets import secrets_decrypt

    config.refresh_from_db()
    assert secrets_decrypt(config.secrets_encrypted)["access_key_secret"] == "super-secret-value"
    assert config.options["sign_name"] == "新名"


def test_channel_settings_name_the_missing_setting(client_as, shop):
    response = client_as("owner").post(
        reverse("messaging:channel-edit", args=[0, "webhook"]), {"provider": "webhook", "opt_url": "", "enabled": "on"}
    )
    assert response.status_code == 200
    assert "url is not set" in html(response)


def test_agents_cannot_open_channel_settings(client_as):
    assert client_as("agent").get(reverse("messaging:channels")).status_code == 403


def test_contact_rules_are_saved_per_shop(client_as, shop):
    owner = client_as("owner")
    assert "茶小铺" in html(owner.get(reverse("messaging:channels")))
    prefix = f"p{shop.pk}"
    owner.post(
        reverse("messaging:policy-edit", args=[shop.pk]),
        {
            f"{prefix}-quiet_start": "22:00",
            f"{prefix}-quiet_end": "08:30",
            f"{prefix}-budget_days": "7",
            f"{prefix}-budget_marketing": "2",
            f"{prefix}-budget_care": "3",
            f"{prefix}-negative_review_days": "14",
            f"{prefix}-marketing_consent": "opt_in",
        },
    )
    policy = shop.contact_policy
    assert (str(policy.quiet_start), policy.budget_marketing, policy.negative_review_days) == ("22:00:00", 2, 14)
    assert policy.marketing_consent == "opt_in"
    assert not AuditEntry.objects.filter(action="settings").exists()  # the model the shop works under is unchanged


def test_the_consent_model_is_explained_switched_per_shop_and_audited(client_as, shop):
    owner = client_as("owner")
    page = html(owner.get(reverse("messaging:channels")))
    # both choices on every shop's form, opt-in checked by default, with the explanation
    assert page.count(f'name="p{shop.pk}-marketing_consent"') == 2
    checked = re.findall(rf'name="p{shop.pk}-marketing_consent" value="(\w+)"[^>]*checked', page)
    assert checked == ["opt_in"]
    assert escape(str(ContactPolicy._meta.get_field("marketing_consent").help_text)) in page
    prefix = f"p{shop.pk}"
    data = {
        f"{prefix}-quiet_start": "21:00",
        f"{prefix}-quiet_end": "09:00",
        f"{prefix}-budget_days": "7",
        f"{prefix}-budget_marketing": "1",
        f"{prefix}-budget_care": "2",
        f"{prefix}-negative_review_days": "30",
        f"{prefix}-marketing_consent": "opt_out",
    }
    owner.post(reverse("messaging:policy-edit", args=[shop.pk]), data)
    assert shop.contact_policy.marketing_consent == "opt_out"
    assert not ContactPolicy.objects.filter(shop__isnull=True).exists()  # the default (opt-in) is untouched
    entry = AuditEntry.objects.get(action="settings")
    assert entry.actor is not None
    assert entry.actor.groups.get().name == "owner"
    assert (entry.target_type, entry.target_id) == ("shop", str(shop.pk))
    assert entry.detail == {"setting": "marketing_consent", "before": "opt_in", "after": "opt_out"}
    owner.post(reverse("messaging:policy-edit", args=[shop.pk]), data)  # saved again unchanged: no second entry
    assert AuditEntry.objects.filter(action="settings").count() == 1
    data[f"{prefix}-marketing_consent"] = "everyone"
    owner.post(reverse("messaging:policy-edit", args=[shop.pk]), data)  # not a choice: refused, nothing changes
    shop.contact_policy.refresh_from_db()
    assert shop.contact_policy.marketing_consent == "opt_out"


def test_unsubscribe_page_and_one_click_post(sent):
    c = Client()
    sent_marketing = sent
    Message.objects.filter(pk=sent.pk).update(purpose="marketing")
    url = reverse("messaging:unsubscribe", args=[unsubscribe_token(sent_marketing.pk)])
    page = c.get(url)
    assert page.status_code == 200
    assert 'id="unsubscribe-button"' in html(page)
    assert not Consent.objects.exists()  # looking is not unsubscribing (link scanners)
    done = c.post(url, "List-Unsubscribe=One-Click", content_type="application/x-www-form-urlencoded")
    assert done.status_code == 200
    assert Consent.objects.get(channel="sms", purpose="marketing").granted is False


def test_a_forged_unsubscribe_token_is_refused(sent):
    token = unsubscribe_token(sent.pk)
    forged = token[:-1] + ("A" if token[-1] != "A" else "B")
    assert Client().get(reverse("messaging:unsubscribe", args=[forged])).status_code == 404
    assert Client().post(reverse("messaging:unsubscribe", args=["zz.abcdefghijkl"])).status_code == 404


# --- API -----------------------------------------------------------------------------------------------------------


def test_api_enqueue_is_idempotent_and_lists(api_client_as):
    c = CustomerFactory.create(phone="13812345678")
    api = api_client_as("manager")
    payload = {"idempotency_key": "api-1", "channel": "sms", "purpose": "service", "customer_id": c.pk, "body": "亲"}
    first = api.post("/api/v1/messages", payload, content_type="application/json")
    again = api.post("/api/v1/messages", payload, content_type="application/json")
    assert (first.status_code, again.status_code) == (201, 200)
    assert first.json()["id"] == again.json()["id"]
    listed = api.get("/api/v1/messages?status=queued").json()
    assert [m["idempotency_key"] for m in listed["items"]] == ["api-1"]
    assert api.get(f"/api/v1/messages/{first.json()['id']}").json()["status"] == "queued"


def test_api_names_the_bad_field(api_client_as):
    c = CustomerFactory.create()
    response = api_client_as("manager").post(
        "/api/v1/messages",
        {"idempotency_key": "x", "channel": "fax", "purpose": "service", "customer_id": c.pk, "body": "b"},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["field"] == "channel"


def test_api_masks_addresses_for_agents(api_client_as, sent):
    item = api_client_as("agent").get(f"/api/v1/messages/{sent.pk}").json()
    assert item["to_address"] == "138****5678"


def test_api_agents_cannot_enqueue(api_client_as):
    response = api_client_as("agent").post("/api/v1/messages", {}, content_type="application/json")
    assert response.status_code in (403, 422)


def test_api_resend(api_client_as, shop):
    source = SourceRef.of(SourceKind.CAMPAIGN, shop)
    m = enqueue(CustomerFactory.create(), "f", source=source)
    Message.objects.filter(pk=m.pk).update(status="expired", reason="quiet_hours")
    response = api_client_as("marketer").post(
        "/api/v1/messages/resend",
        {"source_kind": "campaign", "source_type_id": source.type_id, "source_id": source.object_id},
        content_type="application/json",
    )
    assert response.json() == {"queued": 1}


def test_api_templates_list_their_variables(api_client_as):
    items = api_client_as("agent").get("/api/v1/message-templates?channel=sms&language=zh-hans").json()
    birthday = next(t for t in items if t["key"] == "birthday")
    assert birthday["variables"] == ["name", "shop"]


def test_inbound_sms_is_wired(shop):
    """The webhook's route and answer; what it accepts and refuses is tested in test_inbound.py."""
    from huitouke.messaging.inbound import signed_headers

    config = channel_config_save(
        shop_id=shop.pk,
        channel="sms",
        provider="aliyun",
        options={"endpoint": "https://dysmsapi.aliyuncs.com/", "sign_name": "s"},
        secrets_new={"access_key_id": "a", "access_key_secret": "b"},
    )
    body = json.dumps({"phone": "13812345678", "text": "t"}).encode()
    url = reverse("api-v1:inbound_sms", args=["generic"])
    headers = signed_headers(config=config, body=body, nonce="wired-0123456789ab")
    response = Client().post(url, body, content_type="application/json", headers=headers)
    assert response.json() == {"received": 1, "opted_out": 0, "duplicates": 0, "stale": 0}
    assert Client().post(url, body, content_type="application/json").status_code == 401


# --- commands ------------------------------------------------------------------------------------------------------


def test_templates_load_command():
    out = StringIO()
    Template.objects.filter(system=True, key="birthday").update(body="changed")
    call_command("templates_load", "--json", stdout=out)
    counts = json.loads(out.getvalue())
    assert counts["updated"] == 6  # 3 channels × 2 languages of the birthday scenario
    assert counts["created"] == 0


def test_dispatch_command_prints_one_json_object(shop):
    c = CustomerFactory.create(phone="13812345678")
    enqueue(c, "k", shop_id=shop.pk)
    out = StringIO()
    call_command("dispatch", "--json", stdout=out)
    stats = json.loads(out.getvalue())
    assert (stats["claimed"], stats["failed"]) == (1, 1)  # no SMS channel set up: failed, reason no_channel


def test_a_page_number_past_the_offset_bound_reads_no_deeper_than_the_bound(client_as, monkeypatch):
    from huitouke.messaging import message_views, views

    customer = CustomerFactory.create(name="赵六")
    for n in range(7):
        enqueue(customer, f"d{n}")
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    monkeypatch.setattr(message_views, "PAGE_SIZE", 2)
    monkeypatch.setattr(message_views, "MAX_OFFSET_PAGE", 2)
    ids = list(Message.objects.order_by("-created_at", "-id").values_list("pk", flat=True))
    manager = client_as("manager")
    deep = manager.get(LIST, {"page": 9}).context
    assert ([m.pk for m in deep["rows"]], deep["page_no"], deep["has_next"]) == (ids[2:4], 2, True)
    within = manager.get(LIST, {"page": 2}).context
    assert [m.pk for m in within["rows"]] == ids[2:4]


def test_list_rows_carry_their_links_labels_and_excerpt(client_as):
    customer = CustomerFactory.create(name="钱七")
    m = enqueue(customer, "r1", body="亲" * 70)
    Message.objects.filter(pk=m.pk).update(status="suppressed", reason="opted_out")
    manager = client_as("manager")
    manager.cookies["django_language"] = "en"
    body = re.sub(r"\s+", " ", html(manager.get(LIST, **HTMX)))
    assert f'<a href="/messages/{m.pk}/">' in body
    assert f'<a href="/customers/{customer.pk}/">钱七</a>' in body
    assert f'<td class="text">{"亲" * 59}…</td>' in body
    assert '<span class="badge status-suppressed">Suppressed</span>' in body
    assert "<td>Customer opted out</td>" in body
