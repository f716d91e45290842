"""Wiring of the levels pages: permissions, the settings form (errors naming row and field, saving in the request
or as a background job), the htmx simulation partial, the at-risk list, the nav link and the API's at-risk list."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal

import pytest
from django.conf import settings
from django.urls import reverse
from django.utils import translation
from freezegun import freeze_time

from huitouke.core.models import AuditEntry, Job
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory
from huitouke.loyalty.models import Level, LevelPolicy, Membership
from huitouke.loyalty.services import LevelSpec, level_policy_set, levels_regrade, levels_set
from huitouke.orders.tests.factories import OrderFactory, ShopFactory

pytestmark = pytest.mark.django_db

HTMX = {"HTTP_HX_REQUEST": "true"}
SPECS = [LevelSpec("普通会员", Decimal("0.01"), 1, 100), LevelSpec("VIP", Decimal("500"), 4, 95)]


@pytest.fixture(autouse=True)
def _english():
    with translation.override("en"):
        yield


@pytest.fixture
def client_en(client_as):
    """client_as with the pages in English (the site speaks Chinese until a user picks a language)."""

    def make(role):
        client = client_as(role)
        client.cookies[settings.LANGUAGE_COOKIE_NAME] = "en"
        return client

    return make


@pytest.fixture
def shop():
    """普通会员 / VIP; a customer with ¥300 in 2 orders (普通会员) and one with ¥600 (VIP)."""
    shop = ShopFactory.create(name="山岚茶食")
    levels_set(shop=shop, specs=SPECS)
    small, big = CustomerFactory.create(name="小单"), CustomerFactory.create(name="大单")
    for _ in range(2):
        OrderFactory.create(shop=shop, customer=small, paid_amount=Decimal("150"))
    OrderFactory.create(shop=shop, customer=big, paid_amount=Decimal("600"))
    levels_regrade()
    return shop


def form_data(rows, *, basis="lifetime", months="", downgrade="never", grace="30", initial=None):
    data = {
        "levels-TOTAL_FORMS": str(len(rows)),
        "levels-INITIAL_FORMS": str(len(rows) if initial is None else initial),
        "levels-MIN_NUM_FORMS": "0",
        "levels-MAX_NUM_FORMS": "12",
        "basis": basis,
        "window_months": months,
        "downgrade": downgrade,
        "grace_days": grace,
    }
    for i, row in enumerate(rows):
        for key, value in row.items():
            data[f"levels-{i}-{key}"] = value
    return data


ROWS = [
    {"name": "普通会员", "min_amount": "0.01", "min_orders": "1", "discount": "100", "benefits": ""},
    {"name": "VIP", "min_amount": "250", "min_orders": "2", "discount": "95", "benefits": "包邮"},
]


def settings_url(shop):
    return reverse("loyalty:settings", args=[shop.pk])


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_settings_and_simulation_are_403_for_other_roles(client_en, shop, role):
    client = client_en(role)

    assert client.get(settings_url(shop)).status_code == 403
    assert client.post(settings_url(shop), form_data(ROWS)).status_code == 403
    assert client.post(reverse("loyalty:simulate", args=[shop.pk]), form_data(ROWS)).status_code == 403
    assert list(Level.objects.filter(shop=shop).values_list("min_amount", flat=True)) == [Decimal("0.01"), 500]


@pytest.mark.parametrize(("role", "target"), [("owner", "settings"), ("manager", "settings"), ("agent", "at-risk")])
def test_index_leads_to_what_the_role_may_use(client_en, shop, role, target):
    response = client_en(role).get(reverse("loyalty:index"))

    assert response.status_code == 302
    assert response["Location"] == reverse(f"loyalty:{target}", args=[shop.pk])


def test_nav_links_to_levels_for_roles_that_see_them(client_en, shop):
    page = client_en("agent").get(reverse("customers:list")).content.decode()
    assert reverse("loyalty:index") in page


def test_settings_page_shows_the_levels_and_policy(client_en, shop):
    level_policy_set(shop=shop, window_months=6, downgrade="review", grace_days=14)

    response = client_en("manager").get(settings_url(shop))

    body = response.content.decode()
    assert response.status_code == 200
    assert 'value="VIP"' in body
    assert 'name="window_months" value="6"' in body
    assert re.search(r'value="review"[^>]*checked', body)
    assert reverse("loyalty:at-risk", args=[shop.pk]) in body
    assert reverse("loyalty:export", args=[shop.pk]) in body


def test_simulation_partial_for_htmx(client_en, shop):
    response = client_en("manager").post(reverse("loyalty:simulate", args=[shop.pk]), form_data(ROWS), **HTMX)

    body = response.content.decode()
    assert response.status_code == 200
    assert body.lstrip().startswith('<section class="card simulation" id="simulation"')
    assert "<html" not in body
    # ¥300 in 2 orders now reaches VIP (¥250 or 2 orders): one up, one stays
    assert '<strong id="sim-up">1</strong>' in body
    assert '<strong id="sim-stay">1</strong>' in body
    assert Membership.objects.filter(level__name="VIP").count() == 1  # nothing saved


def test_simulation_lists_rule_errors_by_row_and_field(client_en, shop):
    rows = [dict(ROWS[0]), dict(ROWS[1], min_orders="1")]

    response = client_en("manager").post(reverse("loyalty:simulate", args=[shop.pk]), form_data(rows), **HTMX)

    body = response.content.decode()
    assert "Level 2 (VIP) · Minimum orders: Must be more orders than the level below (普通会员)." in body
    assert 'id="sim-up"' not in body


@freeze_time("2025-12-01")
def test_save_regrades_in_the_request_for_a_small_shop(client_en, shop):
    response = client_en("manager").post(settings_url(shop), form_data(ROWS, basis="window", months="12"))

    assert response.status_code == 302
    assert response["Location"] == settings_url(shop)
    assert Membership.objects.filter(level__name="VIP").count() == 2
    assert LevelPolicy.objects.get(shop=shop).window_months == 12
    assert Level.objects.get(shop=shop, rank=2).benefits == "包邮"


@pytest.mark.parametrize(
    ("change", "expected"),
    [
        ({"levels-1-min_amount": "0"}, "Level 2 (VIP) · Minimum paid amount: Must be higher than the level below"),
        ({"levels-1-discount": "0"}, "Level 2 (VIP) · Discount: Enter 1–100"),
        ({"levels-1-name": "普通会员"}, "Level 2 (普通会员) · Name: A lower level already has this name."),
        ({"levels-1-min_orders": "lots"}, "Level 2 · Minimum orders: Enter a whole number."),
        ({"basis": "window", "window_months": ""}, "Policy · Months: Say how many months count."),
    ],
)
def test_save_errors_name_row_and_field_and_change_nothing(client_en, shop, change, expected):
    data = {**form_data(ROWS), **change}

    response = client_en("manager").post(settings_url(shop), data)

    assert response.status_code == 400
    assert expected in response.content.decode()
    assert list(Level.objects.filter(shop=shop).values_list("name", "min_amount")) == [
        ("普通会员", Decimal("0.01")),
        ("VIP", Decimal("500.00")),
    ]


def test_removed_and_added_rows(client_en, shop):
    rows = [
        dict(ROWS[0]),
        dict(ROWS[1], DELETE="on"),
        {"name": "金卡", "min_amount": "550", "min_orders": "9", "discount": "90", "benefits": ""},
        {"name": "", "min_amount": "", "min_orders": "", "discount": "", "benefits": ""},  # an added row left empty
    ]

    response = client_en("owner").post(settings_url(shop), form_data(rows, initial=2))

    assert response.status_code == 302
    assert list(Level.objects.filter(shop=shop).values_list("name", flat=True)) == ["普通会员", "金卡"]
    assert Membership.objects.filter(level__name="金卡").count() == 1


def test_save_of_a_large_shop_runs_as_a_job(client_en, shop, settings, django_capture_on_commit_callbacks):
    settings.HUITOUKE_LEVELS_INLINE_ORDERS = 0  # every shop counts as large

    with django_capture_on_commit_callbacks(execute=True):
        response = client_en("manager").post(settings_url(shop), form_data(ROWS))

    job = Job.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert job.status == Job.Status.DONE
    assert job.result == {"levels": 2, "regraded": "afresh", "memberships": 2, "changes": 1}
    page = client_en("owner").get(reverse("core:job", args=[job.pk])).content.decode()
    assert 'id="levels-summary"' in page
    assert settings_url(shop) in page


# --- at risk ---------------------------------------------------------------------------------------------------


@pytest.fixture
def lapsing(shop):
    level_policy_set(shop=shop, window_months=12, downgrade="review", grace_days=30)
    customer = CustomerFactory.create(name="快掉级", phone="13812345678")
    IdentityFactory.create(customer=customer, platform="taobao", handle="tb_lapse")
    OrderFactory.create(
        shop=shop, customer=customer, paid_amount=Decimal("600"), ordered_at=datetime(2025, 1, 10, tzinfo=UTC)
    )
    with freeze_time("2025-06-01"):
        levels_regrade()
    return customer


@freeze_time("2026-03-01")
def test_at_risk_page_masks_phones_for_agents_and_links_to_the_customer(client_en, shop, lapsing):
    response = client_en("agent").get(reverse("loyalty:at-risk", args=[shop.pk]))

    body = response.content.decode()
    assert response.status_code == 200
    assert "138****5678" in body
    assert "13812345678" not in body
    assert reverse("customers:detail", args=[lapsing.pk]) in body
    assert "Spend ¥500.00 more or place 4 more orders" in body
    assert "1 member at risk" in body
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.UNMASK).exists()


@freeze_time("2026-03-01")
def test_at_risk_page_unmasked_for_managers_is_audited(client_en, shop, lapsing):
    body = client_en("manager").get(reverse("loyalty:at-risk", args=[shop.pk])).content.decode()

    assert "13812345678" in body
    entry = AuditEntry.objects.get(action=AuditEntry.Action.UNMASK)
    assert entry.detail == {"ids": [lapsing.pk], "page": "at-risk"}


def test_at_risk_page_says_when_the_shop_never_drops(client_en, shop):
    body = client_en("agent").get(reverse("loyalty:at-risk", args=[shop.pk])).content.decode()

    assert 'id="no-review"' in body
    assert "never lowers a member's level" in body


@freeze_time("2026-03-01")
def test_api_at_risk(api_client_as, shop, lapsing):
    response = api_client_as("agent").get("/api/v1/levels/at-risk", {"shop": shop.pk})

    assert response.status_code == 200
    body = response.json()
    assert (body["shop"]["name"], body["reviewing"], body["grace_days"], body["window_months"]) == (
        "山岚茶食",
        True,
        30,
        12,
    )
    assert body["count"] == 1
    assert body["items"] == [
        {
            "customer": {"id": lapsing.pk, "name": "快掉级"},
            "level": "VIP",
            "amount": "0.00",
            "orders": 0,
            "amount_needed": "500.00",
            "orders_needed": 4,
            "deadline": "2026-03-01T00:00:00Z",
        }
    ]


def test_api_at_risk_validates_the_page(api_client_as, shop):
    response = api_client_as("agent").get("/api/v1/levels/at-risk", {"page_size": 0})

    assert response.status_code == 422
    assert response.json()["field"] == "page_size"


def test_index_without_shops_says_to_import_first(client_en):
    response = client_en("manager").get(reverse("loyalty:index"))

    assert response.status_code == 200
    assert "There are no shops yet" in response.content.decode()
    assert reverse("orders:import") in response.content.decode()


# --- deleting every row (issue 14, item 9) ------------------------------------------------------------------------


def _all_deleted():
    return form_data([dict(ROWS[0], DELETE="on"), dict(ROWS[1], DELETE="on")])


def test_deleting_every_row_asks_for_confirmation(client_en, shop):
    client = client_en("manager")
    response = client.post(settings_url(shop), _all_deleted())

    assert response.status_code == 409
    page = response.content.decode()
    assert "saving removes all levels of this shop and drops all 2 memberships" in page
    assert 'id="confirm-remove-all"' in page
    assert Level.objects.filter(shop=shop).count() == 2
    assert Membership.objects.filter(shop=shop).count() == 2
    assert not AuditEntry.objects.filter(action="levels", actor_name="manager-client").exists()

    confirmed = client.post(settings_url(shop), {**_all_deleted(), "confirm_remove_all": "1"})

    assert confirmed.status_code == 302
    assert Level.objects.filter(shop=shop).count() == 0
    assert Membership.objects.filter(shop=shop).count() == 0
    entry = AuditEntry.objects.get(action="levels", actor_name="manager-client")
    assert entry.detail["after"] == []
    assert len(entry.detail["before"]) == 2


def test_the_background_save_is_audited_and_refuses_removing_all(
    client_en, shop, settings, django_capture_on_commit_callbacks
):
    settings.HUITOUKE_LEVELS_INLINE_ORDERS = 0  # every shop counts as large
    client = client_en("manager")
    assert client.post(settings_url(shop), _all_deleted()).status_code == 409  # refused before any job
    assert not Job.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(settings_url(shop), form_data(ROWS))

    entry = AuditEntry.objects.get(action="levels", actor_name="manager-client")
    assert entry.detail["after"][1] == "VIP ≥¥250.00 or 2 orders · 95"
