"""One-off sends from the customer list (seed 001): the selection, the preview's policy forecast, the campaign
record and its launch, against the real database; then the page's wiring (roles, masking, audit, job)."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from decimal import Decimal

import pytest
from freezegun import freeze_time

from huitouke.campaigns import oneoff, services
from huitouke.campaigns.models import Campaign, CampaignRecipient
from huitouke.campaigns.selectors import campaign_list, campaign_results
from huitouke.campaigns.services import campaign_launch
from huitouke.core.errors import ApplicationError
from huitouke.core.models import AuditEntry
from huitouke.customers.models import Consent, Customer
from huitouke.customers.services import customers_tag
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.messaging.forecast import send_forecast
from huitouke.messaging.models import Message, Template
from huitouke.messaging.services import contact_policy_save
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 6, 1, 2, 0, tzinfo=UTC)  # 10:00 in Shanghai: outside quiet hours


@pytest.fixture(autouse=True)
def _urls_loaded():
    import huitouke.urls  # noqa: F401  (the API's schemas are built before freezegun swaps `date`)


@pytest.fixture
def template():
    return Template.objects.create(
        channel="sms", purpose="marketing", language="zh-hans", name="好消息", body="{name}您好，{shop}新到{product}"
    )


@pytest.fixture
def shop():
    shop = ShopFactory.create(name="茶小铺")
    contact_policy_save(
        shop_id=shop.pk,
        quiet_start=time(21),
        quiet_end=time(9),
        budget_days=7,
        budget_marketing=1,
        budget_care=2,
        marketing_consent="opt_out",
    )
    return shop


@pytest.fixture
def people():
    """Seven customers, one per policy outcome (the name says which)."""
    made = {
        "ok1": CustomerFactory.create(name="ok1", phone="13800000001"),
        "ok2": CustomerFactory.create(name="ok2", phone="13800000002"),
        "opted_out": CustomerFactory.create(name="opted_out", phone="13800000003"),
        "erased": CustomerFactory.create(name="erased", phone="13800000004", erased_at=NOW - timedelta(days=1)),
        "no_phone": CustomerFactory.create(name="no_phone", phone=""),
        "masked_phone": CustomerFactory.create(name="masked_phone", phone="138****0006"),
        "budget": CustomerFactory.create(name="budget", phone="13800000007"),
    }
    Consent.objects.create(customer=made["opted_out"], channel="sms", purpose="marketing", granted=False, source="x")
    Message.objects.create(
        customer=made["budget"],
        channel="sms",
        purpose="marketing",
        status="sent",
        scheduled_at=NOW - timedelta(days=6),
        next_attempt_at=NOW - timedelta(days=6),
        contacted_at=NOW - timedelta(days=6),  # the budget frees in a day, within the send's 3-day deadline
        idempotency_key="earlier",
    )
    return made


def _ids(people, *names):
    return sorted(people[n].pk for n in names)


# --- selection ------------------------------------------------------------------------------------------------


def test_selection_keeps_ticked_ids_sorted_once():
    assert oneoff.one_off_selection(ids=[5, 3, 5], filters=None) == {"ids": [3, 5]}


def test_selection_of_the_filtered_list_keeps_the_filters():
    selection = oneoff.one_off_selection(ids=[], filters={"tag": "VIP", "province": "", "spent_min": "100"})

    assert selection == {"filters": {"tag": "VIP", "spent_min": "100"}}


@pytest.mark.parametrize(
    ("ids", "filters", "field"),
    [
        ([], None, "selection"),
        ([], {"spent_min": "lots"}, "spent_min"),
        ([], {f"k{i}": "1" for i in range(31)}, "selection"),
    ],
)
def test_bad_selections_name_the_field(ids, filters, field):
    with pytest.raises(ApplicationError) as exc:
        oneoff.one_off_selection(ids=ids, filters=filters)
    assert exc.value.field == field


def test_too_many_ticked_customers_are_refused(monkeypatch):
    monkeypatch.setattr(oneoff, "ONE_OFF_MAX", 3)

    with pytest.raises(ApplicationError) as exc:
        oneoff.one_off_selection(ids=[1, 2, 3, 4], filters=None)
    assert exc.value.field == "selection"


# --- forecast and preview ----------------------------------------------------------------------------------------


def test_forecast_applies_the_contact_policy_per_customer(shop, people):
    forecast = send_forecast(
        customer_ids=[c.pk for c in people.values()], channel="sms", shop_id=shop.pk, now=NOW, deadline=timedelta(3)
    )

    assert (forecast.total, forecast.send, forecast.waiting, forecast.not_sent) == (7, 3, 1, 4)
    assert forecast.suppressed == {"erased": 1, "no_address": 2, "opted_out": 1}


def test_forecast_by_email_needs_an_email_and_reads_the_email_consent(shop, people):
    Customer.objects.filter(pk=people["ok1"].pk).update(email="ok1@example.com")
    Customer.objects.filter(pk=people["opted_out"].pk).update(email="out@example.com")  # opted out of SMS only

    forecast = send_forecast(
        customer_ids=_ids(people, "ok1", "ok2", "opted_out"), channel="email", shop_id=shop.pk, now=NOW,
        deadline=timedelta(3),
    )  # fmt: skip

    assert (forecast.send, forecast.suppressed) == (2, {"no_address": 1})


def test_forecast_in_quiet_hours_counts_everyone_reachable_as_waiting(shop, people):
    night = datetime(2026, 6, 1, 14, 0, tzinfo=UTC)  # 22:00 in Shanghai

    forecast = send_forecast(
        customer_ids=_ids(people, "ok1", "ok2", "budget"),
        channel="sms",
        shop_id=shop.pk,
        now=night,
        deadline=timedelta(3),
    )

    assert (forecast.send, forecast.waiting, forecast.suppressed) == (3, 3, {})


def test_forecast_with_required_opt_in_suppresses_those_without_a_yes(shop, people):
    contact_policy_save(
        shop_id=shop.pk, quiet_start=time(0), quiet_end=time(0), budget_days=7, budget_marketing=5, budget_care=5,
        marketing_consent="opt_in",
    )  # fmt: skip
    Consent.objects.create(customer=people["ok1"], channel="sms", purpose="marketing", granted=True, source="x")

    forecast = send_forecast(
        customer_ids=_ids(people, "ok1", "ok2", "opted_out"), channel="sms", shop_id=shop.pk, now=NOW,
        deadline=timedelta(3),
    )  # fmt: skip

    assert (forecast.send, forecast.suppressed) == (1, {"no_opt_in": 1, "opted_out": 1})


def test_preview_renders_for_the_first_picked_customer(template, shop, people):
    selection = oneoff.one_off_selection(ids=_ids(people, "ok2", "ok1", "opted_out"), filters=None)

    preview = oneoff.one_off_preview(
        selection=selection,
        data=oneoff.OneOffInput(template_id=template.pk, shop_id=shop.pk, context={"product": "明前龙井"}),
        now=NOW,
    )

    assert (preview.picked, preview.outside_group, preview.forecast.send, preview.forecast.not_sent) == (3, 0, 2, 1)
    assert preview.sample == people["ok1"]
    assert preview.preview is not None
    assert preview.preview.body.startswith("ok1您好，茶小铺新到明前龙井")


def test_preview_of_a_promotion_keeps_only_the_new_products_group(template, shop, people):
    Consent.objects.create(customer=people["ok2"], channel="sms", purpose="new_products", granted=True, source="x")
    selection = oneoff.one_off_selection(ids=_ids(people, "ok1", "ok2", "erased"), filters=None)

    preview = oneoff.one_off_preview(
        selection=selection,
        data=oneoff.OneOffInput(template_id=template.pk, kind="promotion", shop_id=shop.pk),
        now=NOW,
    )

    assert (preview.picked, preview.outside_group, preview.forecast.total, preview.forecast.send) == (3, 2, 1, 1)
    assert preview.sample == people["ok2"]


@pytest.mark.parametrize(("purpose", "field"), [("service", "template"), (None, "template")])
def test_preview_needs_a_marketing_template(shop, people, purpose, field):
    template_id = None
    if purpose:
        template_id = Template.objects.create(channel="sms", purpose=purpose, name="svc", body="x").pk
    with pytest.raises(ApplicationError) as exc:
        oneoff.one_off_preview(selection={"ids": [people["ok1"].pk]}, data=oneoff.OneOffInput(template_id=template_id))
    assert exc.value.field == field


def test_preview_of_a_filter_matching_too_many_is_refused(monkeypatch, template, people):
    monkeypatch.setattr(oneoff, "ONE_OFF_MAX", 6)
    monkeypatch.setattr(services, "ONE_OFF_MAX", 6)

    with pytest.raises(ApplicationError) as exc:
        oneoff.one_off_preview(selection={"filters": {}}, data=oneoff.OneOffInput(template_id=template.pk))
    assert exc.value.field == "selection"
    assert exc.value.message.startswith("选中的客户超过 6 位（6+）")


# --- the send ------------------------------------------------------------------------------------------------------


def test_send_records_a_one_off_campaign_and_enqueues_each_picked_customer(template, shop, people, owner):
    selection = oneoff.one_off_selection(ids=_ids(people, "ok1", "ok2", "opted_out"), filters=None)
    with freeze_time(NOW):
        campaign = oneoff.campaign_one_off_create(
            selection=selection,
            data=oneoff.OneOffInput(template_id=template.pk, shop_id=shop.pk, context={"product": "白茶"}),
            user=owner,
        )
        assert campaign.status == Campaign.Status.LAUNCHING
        result = campaign_launch(campaign=campaign, now=NOW)

    campaign.refresh_from_db()
    assert (result.targeted, result.held_out, result.enqueued) == (3, 0, 3)
    assert (campaign.one_off, campaign.segment, campaign.holdout_share, campaign.channel) == (
        True,
        None,
        Decimal("0.00"),
        "sms",
    )
    assert campaign.name == "给选中客户的消息 2026-06-01 10:00"
    assert campaign.created_by == owner
    keys = set(
        Message.objects.filter(source_id=campaign.pk, purpose="marketing").values_list("idempotency_key", flat=True)
    )
    assert keys == {f"campaign:{campaign.pk}:{cid}" for cid in selection["ids"]}
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", "holdout")) == {
        (cid, False) for cid in selection["ids"]
    }
    assert list(campaign_list()) == [campaign]
    assert campaign_results(campaign).targeted == 3
    body = Message.objects.get(idempotency_key=f"campaign:{campaign.pk}:{people['ok1'].pk}").body
    assert body.startswith("ok1您好，茶小铺新到白茶")


def test_two_unnamed_sends_in_one_minute_get_distinct_names(template, shop, people):
    with freeze_time(NOW):
        first = oneoff.campaign_one_off_create(
            selection={"ids": [people["ok1"].pk]}, data=oneoff.OneOffInput(template_id=template.pk), user=None
        )
        second = oneoff.campaign_one_off_create(
            selection={"ids": [people["ok1"].pk]}, data=oneoff.OneOffInput(template_id=template.pk), user=None
        )

    assert second.name == f"{first.name} (2)"


def test_the_filtered_list_is_resolved_when_the_send_runs(template, shop, people):
    customers_tag(customer_ids=_ids(people, "ok1", "budget"), tag_name="VIP")
    campaign = oneoff.campaign_one_off_create(
        selection=oneoff.one_off_selection(ids=[], filters={"tag": "VIP"}),
        data=oneoff.OneOffInput(template_id=template.pk, shop_id=shop.pk, name="VIP 通知"),
        user=None,
    )
    customers_tag(customer_ids=_ids(people, "ok2"), tag_name="VIP")  # tagged before the job runs

    result = campaign_launch(campaign=campaign, now=NOW)

    assert result.targeted == 3
    assert set(CampaignRecipient.objects.filter(campaign=campaign).values_list("customer_id", flat=True)) == set(
        _ids(people, "ok1", "ok2", "budget")
    )


def test_a_launch_over_the_bound_fails_whole(monkeypatch, template, people):
    monkeypatch.setattr(services, "ONE_OFF_MAX", 6)
    campaign = oneoff.campaign_one_off_create(
        selection={"filters": {}}, data=oneoff.OneOffInput(template_id=template.pk), user=None
    )

    with pytest.raises(ApplicationError) as exc:
        campaign_launch(campaign=campaign, now=NOW)

    assert exc.value.field == "selection"
    assert CampaignRecipient.objects.count() == 0
    assert Message.objects.filter(source_kind="campaign").count() == 0


def test_merged_customers_are_never_picked(template, people):
    other = CustomerFactory.create(name="other", phone="13800000099")
    Customer.objects.filter(pk=other.pk).update(merged_into=people["ok1"])
    campaign = oneoff.campaign_one_off_create(
        selection={"ids": [other.pk, people["ok1"].pk]}, data=oneoff.OneOffInput(template_id=template.pk), user=None
    )

    assert campaign_launch(campaign=campaign, now=NOW).targeted == 1


# --- pages ------------------------------------------------------------------------------------------------------------


def _post(client, data):
    return client.post("/campaigns/one-off/", data)


def test_the_list_offers_the_send_button_to_those_who_may_send_marketing(client_as):
    CustomerFactory.create()
    for role, shown in (("owner", True), ("manager", True), ("marketer", True), ("agent", False)):
        html = client_as(role).get("/customers/").content.decode()
        assert ('id="bulk-send-message"' in html) is shown, role
        assert ('formaction="/campaigns/one-off/"' in html) is shown


def test_agents_may_not_send(client_as, people):
    assert _post(client_as("agent"), {"ids": [people["ok1"].pk]}).status_code == 403


def test_the_list_post_opens_the_form_with_the_picked_customers(client_as, people):
    response = _post(client_as("marketer"), {"ids": _ids(people, "ok1", "ok2"), "query": "tag=VIP", "next": "/x"})

    html = response.content.decode()
    assert response.status_code == 200
    assert "已勾选 2 位客户。" in html
    assert f'<input type="hidden" name="ids" value="{people["ok1"].pk}">' in html
    assert 'href="/customers/?tag=VIP"' in html


def test_nothing_ticked_is_a_clear_400(client_as):
    response = _post(client_as("marketer"), {"query": ""})

    assert response.status_code == 400
    assert 'id="one-off-error"' in response.content.decode()


def test_preview_masks_contact_data_for_marketers_and_audits_for_managers(client_as, template, shop, people):
    IdentityFactory.create(customer=people["ok1"], platform="shopify", handle="ok1.buyer@example.com")
    # a display name kept from before names were cleaned of contact data: the preview masks it all the same
    Customer.objects.filter(pk=people["ok1"].pk).update(name="ok1.buyer@example.com")
    template.body = "{name} {nick} 新到{product}"
    template.save()
    data = {
        "ids": _ids(people, "ok1", "opted_out"),
        "step": "preview",
        "template": template.pk,
        "kind": "announcement",
        "shop": shop.pk,
        "product": "白茶",
    }

    with freeze_time(NOW):
        marketer = _post(client_as("marketer"), data).content.decode()
        manager = _post(client_as("manager"), data).content.decode()

    sample = marketer[marketer.index('id="one-off-sample"') :]
    assert "ok1.buyer@example.com" not in marketer
    assert "13800000001" not in marketer
    assert "（138****0001）" in sample
    assert '<pre class="message-body">o***@example.com ' in sample
    assert '<strong id="count-send">1</strong>' in marketer
    assert '<strong id="count-suppressed">1</strong>' in marketer
    assert '<pre class="message-body">ok1.buyer@example.com ' in manager
    assert "（13800000001）" in manager
    entries = AuditEntry.objects.filter(action="unmask", target_type="customer", target_id=str(people["ok1"].pk))
    assert entries.count() == 1


def test_send_step_starts_the_job_and_the_campaign_lists_it(
    client_as, template, shop, people, django_capture_on_commit_callbacks
):
    client = client_as("marketer")
    data = {"ids": _ids(people, "ok1", "ok2"), "step": "send", "template": template.pk, "kind": "announcement"}

    with django_capture_on_commit_callbacks(execute=True):
        response = _post(client, data)

    assert response.status_code == 302
    assert response["Location"].startswith("/jobs/")
    campaign = Campaign.objects.get(one_off=True)
    assert (campaign.status, campaign.targeted) == (Campaign.Status.SENT, 2)  # tests run the job at once
    listing = client.get("/campaigns/").content.decode()
    assert campaign.name in listing
    assert "从列表勾选的客户" in listing


def test_a_form_error_keeps_the_selection(client_as, people):
    response = _post(client_as("marketer"), {"ids": _ids(people, "ok1"), "step": "preview", "kind": "announcement"})

    html = response.content.decode()
    assert response.status_code == 400
    assert f'name="ids" value="{people["ok1"].pk}"' in html
    assert Campaign.objects.count() == 0


def test_every_customer_the_filters_match_is_picked_from_the_query(client_as, template, shop, people):
    customers_tag(customer_ids=_ids(people, "ok1", "ok2", "erased"), tag_name="VIP")
    data = {"scope": "all", "query": "tag=VIP&sort=spent", "ids": [people["budget"].pk], "step": "preview"}
    data.update({"template": template.pk, "kind": "announcement", "shop": shop.pk})

    with freeze_time(NOW):
        html = _post(client_as("marketer"), data).content.decode()

    assert "已选：列表筛选条件匹配的全部客户。" in html
    assert "<li>已选: <strong>3</strong></li>" in html
    assert '<strong id="count-send">2</strong>' in html
    assert '<strong id="count-suppressed">1</strong>' in html


def test_a_bad_filter_in_the_query_is_a_clear_400(client_as):
    response = _post(client_as("marketer"), {"scope": "all", "query": "spent_min=lots"})

    assert response.status_code == 400
    assert 'id="one-off-error"' in response.content.decode()
