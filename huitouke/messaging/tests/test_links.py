"""Every marketing message carries the customer's preferences link and an unsubscribe link (short in an SMS, a
footer in an email), both signed and working when followed; agents send the preferences link from the 360 page."""

from __future__ import annotations

import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.test import Client
from django.urls import reverse
from freezegun import freeze_time

from huitouke.audiences.selectors import consent_group_status
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Consent
from huitouke.customers.services import consent_set
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.dispatch import messages_dispatch
from huitouke.messaging.models import Message
from huitouke.messaging.services import OutgoingMessage, channel_config_save, message_enqueue_many

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("no_wake")]

BASE = "https://crm.example.com"
LINK = re.compile(r"https://crm\.example\.com/([up])/([0-9a-z]+\.[A-Za-z0-9_-]{12})/")
NOON = datetime(2025, 5, 17, 14, 0, tzinfo=ZoneInfo("Asia/Shanghai"))


@pytest.fixture(autouse=True)
def _public_url(settings):
    settings.HUITOUKE_PUBLIC_URL = BASE


def _enqueue(customer, channel, purpose="marketing", key="k", body="春茶上新，满100减20", language="zh-hans"):
    message_enqueue_many(
        messages=[
            OutgoingMessage(
                idempotency_key=key,
                channel=channel,
                purpose=purpose,
                customer_id=customer.pk,
                subject="春茶" if channel == "email" else "",
                body=body,
                language=language,
            )
        ]
    )
    return Message.objects.get(idempotency_key=key)


def _links(text: str) -> dict[str, str]:
    found = LINK.findall(text)
    assert len(found) == 2, text  # each link exactly once
    return dict(found)


def test_a_marketing_sms_carries_both_links_in_their_shortest_form():
    c = CustomerFactory.create(phone="13800000001")
    body = _enqueue(c, "sms").body
    links = _links(body)
    assert body == (f"春茶上新，满100减20 退订 {BASE}/u/{links['u']}/ 消息设置 {BASE}/p/{links['p']}/ 回T退订")
    # the shortest form: a one-letter path and a token of a base-36 id and 12 signature characters
    assert re.fullmatch(r"s[0-9a-z]+\.[A-Za-z0-9_-]{12}", links["u"])
    assert re.fullmatch(r"[0-9a-z]+\.[A-Za-z0-9_-]{12}", links["p"])
    english = _enqueue(c, "sms", key="en", body="New tea is in", language="en").body
    assert english.startswith(f"New tea is in Opt out {BASE}/u/")
    assert english.endswith("/ Reply T to opt out")


def test_a_marketing_email_carries_both_links_in_a_footer():
    c = CustomerFactory.create(email="buyer@example.com")
    body = _enqueue(c, "email").body
    links = _links(body)
    assert body == (
        "春茶上新，满100减20\n\n--\n"
        f"想收到哪些消息，在这里设置： {BASE}/p/{links['p']}/\n"
        f"不想再收到这类邮件？退订： {BASE}/u/{links['u']}/"
    )


@pytest.mark.parametrize("purpose", ["service", "transactional", "care"])
def test_other_messages_carry_no_marketing_links(purpose):
    c = CustomerFactory.create(phone="13800000001")
    assert _enqueue(c, "sms", purpose=purpose).body == "春茶上新，满100减20"


def test_the_unsubscribe_link_works_when_followed_and_only_for_its_channel():
    c = CustomerFactory.create(phone="13800000001", email="buyer@example.com")
    waiting = _enqueue(c, "sms")
    token = _links(waiting.body)["u"]
    client = Client()
    page = client.get(f"/u/{token}/")
    assert page.status_code == 200
    assert 'id="unsubscribe-button"' in page.content.decode()
    assert not Consent.objects.exists()  # looking is not unsubscribing (link scanners)
    assert client.post(f"/u/{token}/").status_code == 200
    answers = dict(Consent.objects.filter(customer=c).values_list("purpose", "granted").filter(channel="sms"))
    assert answers == {"marketing": False, "new_products": False}
    assert not Consent.objects.filter(channel="email").exists()  # the SMS link says nothing about email
    waiting.refresh_from_db()
    assert (waiting.status, waiting.reason) == ("suppressed", "opted_out")


def test_the_preferences_link_works_when_followed():
    c = CustomerFactory.create(phone="13800000001")
    token = _links(_enqueue(c, "sms").body)["p"]
    client = Client()
    assert client.get(f"/p/{token}/").status_code == 200
    client.post(f"/p/{token}/", {"member": "yes"})
    assert consent_group_status(customer=c) == {"sms": True, "email": True, "im": True}


def test_links_in_old_messages_keep_working_after_a_merge():
    old = CustomerFactory.create(phone="13800000001")
    kept = CustomerFactory.create(phone="13800000001")
    links = _links(_enqueue(old, "sms").body)
    type(old).objects.filter(pk=old.pk).update(merged_into=kept)
    client = Client()
    client.post(f"/p/{links['p']}/", {"member": "yes"})
    assert consent_group_status(customer=kept) == {"sms": True, "email": True, "im": True}
    assert client.post(f"/u/{links['u']}/").status_code == 200
    answers = dict(Consent.objects.filter(customer=kept, channel="sms").values_list("purpose", "granted"))
    assert answers == {"marketing": False, "new_products": False}
    assert not Consent.objects.filter(customer=old).exists()


@pytest.mark.parametrize("path", ["u", "p"])
def test_forged_or_cut_links_are_refused(path):
    c = CustomerFactory.create(phone="13800000001")
    other = CustomerFactory.create(phone="13800000002")
    token = _links(_enqueue(c, "sms").body)[path]
    value, signature = token.split(".")
    forged_id = ("s" if path == "u" else "") + format(other.pk, "x")  # someone else's id with c's signature
    for bad in (token[:-1], f"{forged_id}.{signature}", f"{value}.{'A' * 12}", "x"):
        assert Client().get(f"/{path}/{bad}/").status_code == 404
    assert not Consent.objects.exists()


def test_email_as_sent_has_the_footer_once_and_the_one_click_header(smtp_sink):
    channel_config_save(
        shop_id=None,
        channel="email",
        provider="smtp",
        options={"host": "127.0.0.1", "port": str(smtp_sink.port), "security": "none", "from_email": "s@example.com"},
    )
    c = CustomerFactory.create(email="buyer@example.com")
    consent_set(customer=c, channel="email", purpose="new_products", granted=True, source="t")
    with freeze_time(NOON):
        _enqueue(c, "email")
        messages_dispatch()
    (mail,) = smtp_sink.messages
    text = mail.get_payload(decode=True).decode()
    assert len(_links(text)) == 2
    assert "Unsubscribe:" not in text  # no second footer from the channel
    assert mail["List-Unsubscribe"].startswith(f"<{BASE}/messages/u/")


# --- the 360 page's button -----------------------------------------------------------------------------------


def test_an_agent_sends_the_preferences_link_from_the_360_page(client_as):
    c = CustomerFactory.create(name="小王", phone="13800000001")
    agent = client_as("agent")
    page = agent.get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert 'id="send-preferences-link"' in page
    url = reverse("messaging:preferences-send", args=[c.pk])
    response = agent.post(url, {"channel": "sms", "language": "zh-hans"})
    assert response.status_code == 302
    m = Message.objects.get(customer=c)
    assert (m.purpose, m.source_kind, m.channel, m.status) == ("service", "manual", "sms", "queued")
    ((kind, token),) = LINK.findall(m.body)
    assert kind == "p"
    assert m.body == f"您好小王，想收到哪些消息（新品、活动、关怀），可以在这里随时设置：{BASE}/p/{token}/"
    assert Client().get(f"/p/{token}/").status_code == 200  # the link works
    entry = AuditEntry.objects.get(action="message")
    assert (entry.target_type, entry.target_id, entry.detail["message"]) == ("customer", str(c.pk), m.pk)
    # the send record shows on the panel; a second click at once is refused, not sent twice
    page = agent.get(reverse("customers:detail", args=[c.pk])).content.decode()
    assert reverse("messaging:detail", args=[m.pk]) in page
    agent.post(url, {"channel": "sms"})
    assert Message.objects.filter(customer=c).count() == 1
    agent.post(url, {"channel": "email"})  # another channel is another send
    assert Message.objects.filter(customer=c).count() == 2


def test_the_button_needs_the_right_and_a_known_channel(client_as):
    c = CustomerFactory.create(phone="13800000001")
    marketer = client_as("marketer")
    assert 'id="send-preferences-link"' not in marketer.get(reverse("customers:detail", args=[c.pk])).content.decode()
    url = reverse("messaging:preferences-send", args=[c.pk])
    assert marketer.post(url, {"channel": "sms"}).status_code == 403
    client_as("agent").post(url, {"channel": "webhook"})
    assert not Message.objects.exists()
