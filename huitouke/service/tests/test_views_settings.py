"""Wiring of the service settings pages: managers and owners only, every form's bad input named at its field."""

from __future__ import annotations

import re

import pytest

from huitouke.service import services
from huitouke.service.models import Playbook, ServiceCalendar, ServiceSettings, SlaPolicy
from huitouke.service.tests.test_views import login, text

pytestmark = pytest.mark.django_db

# --- settings ------------------------------------------------------------------------------------------------

SETTINGS_PAGES = [
    "/service/settings/",
    "/service/settings/policies/",
    "/service/settings/policies/new/",
    "/service/settings/playbooks/",
    "/service/settings/playbooks/edit/",
]


@pytest.mark.parametrize("url", SETTINGS_PAGES)
def test_settings_pages_for_managers_and_owners_only(make_user, shop, url):
    for role in ("manager", "owner"):
        c, _u = login(make_user, role)
        assert c.get(url).status_code == 200, (role, url)
    for role in ("agent", "marketer"):
        c, _u = login(make_user, role)
        assert c.get(url).status_code == 403, (role, url)
        assert c.post(url, {}).status_code == 403, (role, url)


def test_calendar_saved_and_bad_values_named(make_user, shop):
    c, _m = login(make_user, "manager")
    good = {
        "form": "calendar",
        "shop": shop.pk,
        "timezone": "Asia/Shanghai",
        "periods": "09:00-12:00， 13:00-17:30",
        "weekdays": ["1", "2", "3", "4", "5", "6"],
        "public_holidays": "on",
        "days_off": "2026-05-06\n",
        "workdays": "2026-05-09",
    }
    r = c.post("/service/settings/", good)
    assert r.status_code == 302
    row = ServiceCalendar.objects.get(shop=shop)
    assert (row.periods, row.weekdays, row.public_holidays) == (
        ["09:00-12:00", "13:00-17:30"],
        [1, 2, 3, 4, 5, 6],
        "CN",
    )
    assert (row.days_off, row.workdays) == (["2026-05-06"], ["2026-05-09"])
    r = c.post("/service/settings/", {**good, "days_off": "2026-05-06\n6 May"})
    assert r.status_code == 400
    assert "Line 2: 6 May is not a date like 2026-10-08." in text(r)
    r = c.post("/service/settings/", {**good, "periods": "18:00-09:00"})
    assert r.status_code == 400
    assert re.search(r'id="field-periods">.*class="field-error" role="alert">[^<]+', text(r))
    r = c.post("/service/settings/", {**good, "timezone": "Mars/Base"})
    assert r.status_code == 400
    assert "Mars/Base" in text(r)
    r = c.post("/service/settings/", {**good, "weekdays": []})
    assert r.status_code == 400
    assert "This field is required." in text(r)
    assert ServiceCalendar.objects.get(shop=shop).periods == ["09:00-12:00", "13:00-17:30"]
    assert c.post("/service/settings/", {**good, "shop": "999999"}).status_code == 404
    assert c.get("/service/settings/?shop=abc").status_code == 404


def test_limits_saved_and_checked(make_user, shop):
    c, _m = login(make_user, "owner")
    data = {"form": "limits", "shop": shop.pk, "agent_compensation_limit": "30", "follow_up_days": "5"}
    r = c.post("/service/settings/", {**data, "breaching_soon_percent": "75"})
    assert r.status_code == 302
    row = ServiceSettings.objects.get(shop=shop)
    assert (str(row.agent_compensation_limit), row.follow_up_days, row.breaching_soon_percent) == ("30.00", 5, 75)
    r = c.post("/service/settings/", {**data, "breaching_soon_percent": "100"})
    assert r.status_code == 400
    assert "Ensure this value is less than or equal to 99." in text(r)
    assert c.post("/service/settings/", {"form": "other"}).status_code == 400


def test_policies_create_edit_order_delete(make_user, shop):
    c, _m = login(make_user, "manager")
    data = {
        "name": "差评加急",
        "scope": "shop",
        "position": "5",
        "types": ["negative_review"],
        "levels": "金卡, 银卡",
        "first_response_minutes": "30",
        "next_response_minutes": "60",
        "resolution_minutes": "450",
    }
    r = c.post(f"/service/settings/policies/new/?shop={shop.pk}", data)
    assert r.status_code == 302
    p = SlaPolicy.objects.get(name="差评加急")
    assert (p.shop_id, p.types, p.levels, p.first_response_minutes) == (
        shop.pk,
        ["negative_review"],
        ["金卡", "银卡"],
        30,
    )
    page = text(c.get(f"/service/settings/policies/?shop={shop.pk}"))
    assert page.index("差评加急") < page.index("Urgent") < page.index("Standard")
    r = c.post(f"/service/settings/policies/{p.pk}/", {**data, "position": "7", "scope": "all"})
    assert r.status_code == 302
    p.refresh_from_db()
    assert (p.position, p.shop_id) == (7, None)
    r = c.post(f"/service/settings/policies/{p.pk}/", {**data, "first_response_minutes": "0"})
    assert r.status_code == 400
    assert "Ensure this value is greater than or equal to 1." in text(r)
    r = c.post(f"/service/settings/policies/{p.pk}/", {**data, "name": ""})
    assert r.status_code == 400
    assert "This field is required." in text(r)
    assert c.get("/service/settings/policies/999999/").status_code == 404
    assert c.post(f"/service/settings/policies/{p.pk}/delete/").status_code == 302
    assert not SlaPolicy.objects.filter(pk=p.pk).exists()
    assert c.post(f"/service/settings/policies/{p.pk}/delete/").status_code == 404


def test_playbook_adapted_for_the_shop_with_a_suggested_step(make_user, shop, customer, no_wake):
    c, _m = login(make_user, "manager")
    page = text(c.get(f"/service/settings/playbooks/edit/?shop={shop.pk}&from=recovery"))
    assert 'value="apologise"' in page
    data = {
        "shop": shop.pk,
        "key": "recovery",
        "name": "补救",
        "position": "20",
        "types": ["quality", "logistics"],
        "suggested": ["ask_photos"],
        "step-0-key": "apologise",
        "step-0-label": "道歉",
        "step-0-required": "on",
        "step-1-key": "fix",
        "step-1-label": "解决",
        "step-2-key": "gone",
        "step-2-label": "去掉",
        "step-2-remove": "on",
    }
    r = c.post("/service/settings/playbooks/edit/", data)
    assert r.status_code == 302
    own = Playbook.objects.get(shop=shop)
    assert [(s.key, s.required) for s in own.steps.all()] == [
        ("apologise", True),
        ("fix", False),
        ("ask_photos", False),
    ]
    t = services.ticket_create(customer=customer, type="logistics", channel="phone", subject="破损", shop=shop)
    assert list(t.steps.values_list("key", flat=True)) == ["apologise", "fix", "ask_photos"]
    r = c.post("/service/settings/playbooks/edit/", {**data, "types": []})
    assert r.status_code == 400
    assert "This field is required." in text(r)
    r = c.post("/service/settings/playbooks/edit/", {**data, "step-1-key": ""})
    assert r.status_code == 400
    assert "Step 2: give both a key and a name." in text(r)
    r = c.post("/service/settings/playbooks/edit/", {**data, "key": "bad key!"})
    assert r.status_code == 400
    assert "Enter a valid “slug”" in text(r)
    assert c.get(f"/service/settings/playbooks/edit/?shop={shop.pk}&key=nope").status_code == 404
    assert c.post("/service/settings/playbooks/delete/", {"shop": shop.pk, "key": "recovery"}).status_code == 302
    assert not Playbook.objects.filter(shop=shop).exists()
    assert c.post("/service/settings/playbooks/delete/", {"shop": shop.pk, "key": "recovery"}).status_code == 404
