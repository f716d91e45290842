"""Every value a person reads is in the page's language: no stage codes, parameter names, status or platform codes,
and no browser date picker whose format follows the browser instead of the page."""

from __future__ import annotations

from typing import Any

import pytest
from django.utils import timezone

from huitouke.care.models import CareRule
from huitouke.care.services import care_rules_install
from huitouke.core.models import Job
from huitouke.customers.models import CustomerIdentity
from huitouke.customers.tests.factories import CustomerFactory

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("language", "running", "finished"),
    [("zh-hans", "进行中 · 导入订单", "已完成"), ("en", "Running · Importing orders", "Done")],
)
def test_job_page_names_the_stage_in_the_page_language(
    client_as: Any, language: str, running: str, finished: str
) -> None:
    # given an import job at its "orders" stage, then done
    client = client_as("owner")
    client.cookies["django_language"] = language
    job = Job.objects.create(
        kind="import_orders", status=Job.Status.RUNNING, stage="orders", done=5, total=10, params={"title": "x"}
    )

    # when its page is opened, running and then finished
    page = client.get(f"/jobs/{job.pk}/", headers={"accept-language": language}).content.decode()
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, finished_at=timezone.now(), result={})
    done = client.get(f"/jobs/{job.pk}/", headers={"accept-language": language}).content.decode()

    # then the stage is named, never shown as its code
    assert running in page
    assert f"{finished} · orders" not in done
    assert "· orders" not in page + done
    assert finished in done


def test_care_rule_page_shows_parameters_by_their_labels(client_as: Any) -> None:
    # given the suggested birthday rule (one day ahead) and the delivery follow-up (counted from confirmation)
    care_rules_install()
    birthday = CareRule.objects.get(key="birthday")
    CareRule.objects.filter(pk=birthday.pk).update(params={"days_ahead": 1})
    followup = CareRule.objects.get(key="delivered_followup")
    CareRule.objects.filter(pk=followup.pk).update(params={**followup.params, "after": "confirmed"})
    client = client_as("owner")

    # when their pages are opened
    birthday_page = client.get(f"/care/{birthday.pk}/").content.decode()
    followup_page = client.get(f"/care/{followup.pk}/").content.decode()

    # then parameters read as label: value, choices by their label
    assert "days_ahead" not in birthday_page
    assert "提前天数（0 = 当天）：1" in birthday_page
    assert "after=" not in followup_page
    assert "confirmed" not in followup_page
    assert "确认收货" in followup_page


def test_customer_list_names_platforms(client_as: Any) -> None:
    customer = CustomerFactory.create(name="王小明")
    CustomerIdentity.objects.create(customer=customer, platform="taobao", handle="tb_wang")
    page = client_as("owner").get("/customers/").content.decode()
    assert ">taobao<" not in page
    assert "淘宝" in page


def test_birthday_is_a_year_month_day_field_on_every_page(client_as: Any) -> None:
    # given a customer born on 12 May 1990
    customer = CustomerFactory.create(name="王小明", birthday="1990-05-12")

    # when the edit form is shown
    page = client_as("owner").get(f"/customers/{customer.pk}/").content.decode()

    # then the birthday is a text field in year-month-day order (not the browser's own date picker)
    assert 'type="date"' not in page
    assert 'name="birthday" value="1990-05-12"' in page


def test_import_summary_names_the_format(client_as: Any) -> None:
    # given a finished Taobao import
    job = Job.objects.create(
        kind="import_orders",
        status=Job.Status.DONE,
        stage="orders",
        params={"title": "x", "summary_template": "orders/_import_summary.html"},
        result={"format": "taobao", "rows": 3, "orders_created": 2, "errors": 1},
        finished_at=timezone.now(),
    )
    # then its summary names the format, not its code
    page = client_as("owner").get(f"/jobs/{job.pk}/").content.decode()
    assert "<dd>taobao</dd>" not in page
    assert "淘宝" in page


def test_charts_show_their_labels_as_given() -> None:
    # plotly reads "2026-01" as a date and writes "Jan 2026" under the axis; the labels are already localized
    from huitouke.analytics.tables import bar_chart, bar_line_chart

    months = ["2026-01", "2026-02"]
    assert bar_line_chart(months, ("销售额", [1, 2]), ("客单价", [3, 4]))["layout"]["xaxis"] == {"type": "category"}
    assert bar_chart(months, [("客户", [1, 2])])["layout"]["xaxis"] == {"type": "category"}


def test_list_filter_errors_read_in_the_page_language(client_as: Any) -> None:
    # a half-typed date in the customer and message list filters is explained in Chinese on a Chinese page
    owner = client_as("owner")
    customers = owner.get("/customers/?last_order_from=2025-13").content.decode()
    messages = owner.get("/messages/?date_from=2025-13").content.decode()
    assert "last_order_from 应为形如 2025-06-18 的日期" in customers
    assert "date_from：不是形如 2025-05-17 的日期" in messages
