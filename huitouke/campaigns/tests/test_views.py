"""Wiring of the campaign pages: permissions, the draft form with its errors, preview, send through a job,
pause/resume/cancel, results, prices."""

from __future__ import annotations

from decimal import Decimal

import pytest

from huitouke.audiences.services import segment_create
from huitouke.campaigns.models import Campaign, ChannelPrice
from huitouke.customers.models import Consent
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message, Template

pytestmark = pytest.mark.django_db


@pytest.fixture
def setup():
    template = Template.objects.create(
        channel="sms", purpose="marketing", language="zh-hans", name="上新通知", body="亲，上新啦：{product}"
    )
    segment = segment_create(name="老客", definition={"conditions": [{"field": "order_count", "min": 1}]})
    for i in range(6):
        c = CustomerFactory.create(name=f"老客{i}", order_count=3, phone=f"1390000{i:04d}")
        if i < 4:
            Consent.objects.create(customer=c, channel="sms", purpose="new_products", granted=True)
    return template, segment


def _post(template, segment, **extra):
    return {
        "name": "春季上新",
        "kind": "new_products",
        "segment": segment.pk,
        "channel": "sms",
        "template": template.pk,
        "product": "碧螺春",
        "holdout_percent": "0",
        "attribution_days": "7",
        **extra,
    }


def test_create_preview_send_and_results(client_as, setup, django_capture_on_commit_callbacks):
    template, segment = setup
    client = client_as("marketer")
    response = client.post("/campaigns/new/", _post(template, segment))
    campaign = Campaign.objects.get(name="春季上新")
    assert response["Location"] == f"/campaigns/{campaign.pk}/"
    page = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert "<strong>4</strong>" in page  # only the consenting customers
    assert "亲，上新啦：碧螺春" in page  # the preview with a real member
    with django_capture_on_commit_callbacks(execute=True):
        sent = client.post(f"/campaigns/{campaign.pk}/send/")
    assert sent.status_code == 302
    assert sent["Location"].startswith("/jobs/")
    campaign.refresh_from_db()  # the job ran at once (tests run background tasks immediately)
    assert campaign.status == Campaign.Status.SENT
    assert Message.objects.filter(source_kind="campaign", source_id=campaign.pk).count() == 4
    results = client.get(f"/campaigns/{campaign.pk}/").content.decode()
    assert 'id="uplift"' in results
    assert 'id="delivery"' in results


def test_form_errors_name_the_field_and_keep_the_input(client_as, setup):
    _template, segment = setup
    email = Template.objects.create(channel="email", purpose="marketing", name="mail", subject="s", body="hi")
    response = client_as("marketer").post("/campaigns/new/", _post(email, segment))
    assert response.status_code == 400
    body = response.content.decode()
    assert "The template is for another channel." in body or "模板属于另一个渠道" in body
    assert 'value="春季上新"' in body
    assert not Campaign.objects.exists()


def test_agents_cannot_see_campaigns(client_as, setup):
    assert client_as("agent").get("/campaigns/").status_code == 403


def test_pause_resume_cancel_buttons(client_as, setup, django_capture_on_commit_callbacks):
    template, segment = setup
    client = client_as("manager")
    client.post("/campaigns/new/", _post(template, segment, kind="winback"))
    campaign = Campaign.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(f"/campaigns/{campaign.pk}/send/")
    # the dispatcher ran on commit in tests; put the messages back to waiting to exercise the buttons
    Message.objects.filter(source_kind="campaign").update(status=Message.Status.QUEUED)
    client.post(f"/campaigns/{campaign.pk}/pause/")
    assert Campaign.objects.get().status == Campaign.Status.PAUSED
    assert not Message.objects.filter(source_kind="campaign", status=Message.Status.QUEUED).exists()
    client.post(f"/campaigns/{campaign.pk}/resume/")
    assert Campaign.objects.get().status == Campaign.Status.SENT
    client.post(f"/campaigns/{campaign.pk}/cancel/")
    assert Campaign.objects.get().status == Campaign.Status.CANCELLED
    assert Message.objects.filter(source_kind="campaign", reason="cancelled").count() == 6


def test_prices_page(client_as):
    client = client_as("manager")
    assert (
        client.post("/campaigns/prices/", {"price_sms": "0.05", "price_email": "0", "price_manual": "1"}).status_code
        == 302
    )
    assert ChannelPrice.objects.get(channel="sms").price == Decimal("0.05")
    response = client.post("/campaigns/prices/", {"price_sms": "abc"})
    assert "must be a number" in response.content.decode() or "必须是数字" in response.content.decode()


def test_deleting_a_segment_a_campaign_uses_is_refused(client_as, api_client_as, setup):
    """Web and API answer 409 naming the campaigns (it was a ProtectedError, a 500); nothing is deleted."""
    from huitouke.audiences.models import Segment

    template, segment = setup
    client = client_as("owner")
    client.post("/campaigns/new/", _post(template, segment))
    client.post("/campaigns/new/", _post(template, segment, name="秋季上新"))
    assert Campaign.objects.count() == 2
    page = client.post(f"/segments/{segment.pk}/delete/")
    assert page.status_code == 409
    text = page.content.decode()
    assert "“春季上新”、“秋季上新”" in text
    api = api_client_as("owner")
    answer = api.delete(f"/api/v1/segments/{segment.pk}")
    assert answer.status_code == 409
    body = answer.json()
    assert body["code"] == "conflict"
    assert body["field"] == "segment"
    assert "“春季上新”、“秋季上新”" in body["message"]
    assert Segment.objects.filter(pk=segment.pk).exists()
