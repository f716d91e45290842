"""Care pages: thin wiring (status, template, the service called with the form's values, htmx partials)."""

from __future__ import annotations

from datetime import date, datetime, time
from zoneinfo import ZoneInfo

import pytest
from django.urls import reverse
from freezegun import freeze_time

from huitouke.care.models import CareRule, CarrierTransit
from huitouke.care.tests.factories import care_template, make_rule
from huitouke.care.ticks import care_run
from huitouke.core.models import Job
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.tests.factories import ProductFactory, ShopFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")


def form_data(**changes):
    data = {
        "name": "生日祝福",
        "trigger": "birthday",
        "shown_trigger": "birthday",
        "channel": "sms",
        "shown_channel": "sms",
        "template": str(care_template("birthday").pk),
        "send_time": "09:30",
        "p_days_ahead": "0",
        "enabled": "on",
        "auto_extend": "on",
    }
    data.update(changes)
    return data


def test_the_list_shows_rules_and_their_state(client_as, django_assert_max_num_queries):
    make_rule("birthday", name="生日")
    make_rule("holiday", name="节日", enabled=False)
    client = client_as("manager")
    with django_assert_max_num_queries(12):
        response = client.get(reverse("care:list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "生日" in html
    assert "节日" in html
    assert 'id="install-suggested"' in html


def test_a_new_rule_from_the_form(client_as):
    client = client_as("manager")
    page = client.get(reverse("care:new"), {"trigger": "no_contact"})
    assert page.status_code == 200
    assert 'name="p_days"' in page.content.decode()
    response = client.post(reverse("care:new"), form_data())
    rule = CareRule.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("care:detail", args=[rule.pk])
    assert (rule.trigger, rule.params, rule.send_time, rule.activation) == (
        "birthday",
        {"days_ahead": 0},
        time(9, 30),
        1,
    )


def test_a_bad_parameter_is_shown_under_its_field(client_as):
    response = client_as("manager").post(reverse("care:new"), form_data(p_days_ahead="99"))
    assert response.status_code == 400
    html = response.content.decode()
    assert 'id="param-days_ahead"' in html
    assert "less than or equal to 30" in html
    assert not CareRule.objects.exists()


def test_new_product_codes_are_resolved_and_unknown_ones_named(client_as):
    shop = ShopFactory.create(name="店")
    lamp = ProductFactory.create(shop=shop, external_id="LAMP-1", title="台灯")
    client = client_as("manager")
    data = form_data(
        trigger="new_product",
        shown_trigger="new_product",
        template=str(care_template("new_product").pk),
        p_products="LAMP-1, NOPE",
        p_opt_in_only="1",
    )
    bad = client.post(reverse("care:new"), data)
    assert bad.status_code == 400
    assert "NOPE" in bad.content.decode()
    good = client.post(reverse("care:new"), {**data, "p_products": "LAMP-1"})
    assert good.status_code == 302
    assert CareRule.objects.get().params == {"products": [lamp.pk], "opt_in_only": True}


def test_changing_the_trigger_swaps_the_parameters_and_the_template(client_as):
    response = client_as("manager").post(
        reverse("care:new"), form_data(trigger="dormant", refresh="1"), headers={"HX-Request": "true"}
    )
    assert response.status_code == 200
    html = response.content.decode()
    assert html.lstrip().startswith('<div id="dynamic">')
    assert 'name="p_max_days"' in html
    assert f'value="{care_template("dormant").pk}" selected' in html


def test_editing_the_content_in_the_form_starts_a_new_activation(client_as):
    rule = make_rule("birthday")
    client = client_as("manager")
    assert client.get(reverse("care:edit", args=[rule.pk])).status_code == 200
    response = client.post(reverse("care:edit", args=[rule.pk]), form_data(p_days_ahead="2"))
    assert response.status_code == 302
    rule.refresh_from_db()
    assert (rule.params, rule.activation) == ({"days_ahead": 2}, 2)


def test_the_results_page_shows_activations_and_records(client_as):
    ShopFactory.create(name="小店")
    who = CustomerFactory.create(name="寿星", birthday=date(1990, 5, 17))
    noon = datetime(2026, 5, 17, 12, 0, tzinfo=SH)
    rule = make_rule("birthday", now=noon)
    care_run(at=noon)
    response = client_as("manager").get(reverse("care:detail", args=[rule.pk]))
    assert response.status_code == 200
    html = response.content.decode()
    assert 'id="activations"' in html
    assert who.name in html
    assert "生日快乐" in html


def test_the_preview_and_tomorrow_pages(client_as):
    ShopFactory.create(name="小店")
    CustomerFactory.create(name="明日寿星", birthday=date(1990, 5, 18))
    with freeze_time(datetime(2026, 5, 17, 12, 0, tzinfo=SH)):
        rule = make_rule("birthday", send_time=time(9, 30))
        client = client_as("marketer")
        page = client.get(reverse("care:preview", args=[rule.pk]))
        assert page.status_code == 200
        assert "亲爱的明日寿星，生日快乐" in page.content.decode()
        tomorrow = client.get(reverse("care:tomorrow"))
        assert f'hx-get="{reverse("care:preview", args=[rule.pk])}"' in tomorrow.content.decode()
        part = client.get(reverse("care:preview", args=[rule.pk]), headers={"HX-Request": "true"})
        assert part.content.decode().lstrip().startswith(f'<section class="card" id="preview-{rule.pk}">')


def test_switch_off_on_run_and_delete(client_as, django_capture_on_commit_callbacks):
    rule = make_rule("birthday")
    client = client_as("manager")
    client.post(reverse("care:toggle", args=[rule.pk]), {"enabled": "0"})
    rule.refresh_from_db()
    assert not rule.enabled
    client.post(reverse("care:toggle", args=[rule.pk]), {"enabled": "1"})
    rule.refresh_from_db()
    assert (rule.enabled, rule.activation) == (True, 2)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(reverse("care:run", args=[rule.pk]))
    job = Job.objects.get()
    assert response["Location"] == reverse("core:job", args=[job.pk])
    job.refresh_from_db()
    assert job.status == Job.Status.DONE
    client.post(reverse("care:delete", args=[rule.pk]))
    assert client.get(reverse("care:detail", args=[rule.pk])).status_code == 404


def test_suggested_rules_and_carriers(client_as):
    client = client_as("owner")
    client.post(reverse("care:install"))
    assert CareRule.objects.count() == 12
    shop = ShopFactory.create(name="店")
    assert client.post(reverse("care:carriers"), {"shop": shop.pk, "carrier": "中通", "days": "2"}).status_code == 302
    assert CarrierTransit.objects.get().days == 2
    bad = client.post(reverse("care:carriers"), {"shop": "", "carrier": "x", "days": "99"})
    assert bad.status_code == 400
    assert client.get(reverse("care:carriers")).status_code == 200


def test_agents_cannot_see_care(client_as):
    assert client_as("agent").get(reverse("care:list")).status_code == 403


def test_the_pages_read_in_english_too(client_as):
    rule = make_rule("holiday", name="Greetings", template=care_template("holiday", language="en"))
    client = client_as("manager")
    client.post(reverse("set_language"), {"language": "en", "next": "/"})
    listing = client.get(reverse("care:list")).content.decode()
    assert "Customer care" in listing
    assert "Holiday greetings" in listing
    detail = client.get(reverse("care:detail", args=[rule.pk])).content.decode()
    assert "Results by activation" in detail
    form = client.get(reverse("care:edit", args=[rule.pk])).content.decode()
    assert "Spring Festival (春节)" in form
    preview = client.get(reverse("care:preview", args=[rule.pk])).content.decode()
    assert "Who gets what" in preview
