"""Values the archive cannot hold, or that are not plausible, are row errors at import: nothing is stored that
would break reading the customer afterwards (#14: one 1e20 amount made the 360 page, the API and every export
answer 500)."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest
from django.urls import reverse

from huitouke.customers.models import Customer
from huitouke.orders.models import Order
from huitouke.orders.tests.test_importing import row, run, taobao

pytestmark = pytest.mark.django_db


def test_out_of_range_amounts_and_dates_are_row_errors_and_the_customer_stays_readable(
    tmp_path: Path, client_as, api_client_as
):
    path = taobao(
        tmp_path,
        [
            row("5001", "tb_big", "128.00"),
            row("5002", "tb_big", "99999999999999999999.99"),
            row("5003", "tb_big", "10.00", when="2099-01-01 10:00:00"),
            row("5004", "tb_big", "10.00", when="1989-12-31 10:00:00"),
        ],
    )

    result = run(path)

    assert (result["orders_created"], result["errors"]) == (1, 3)
    assert list(Order.objects.values_list("order_no", flat=True)) == ["5001"]
    with open(result["error_report"], encoding="utf-8-sig") as fh:
        report = [(r["row"], r["column"], r["reason"]) for r in csv.DictReader(fh)]
    assert report == [
        ("3", "买家应付货款", "amount larger than 99,999,999.99 (not a plausible amount)"),
        ("4", "订单创建时间", report[1][2]),
        ("5", "订单创建时间", "date before 1990 (not a plausible order date)"),
    ]
    assert report[1][2].startswith("date in the future (after ")
    # and everything that reads the customer answers
    customer = Customer.objects.get()
    assert str(customer.total_spent) == "128.00"
    owner = client_as("owner")
    assert owner.get(reverse("customers:detail", args=[customer.pk])).status_code == 200
    for fmt in ("csv", "xlsx"):
        assert owner.get(reverse("customers:export") + f"?format={fmt}").status_code == 200
    api = api_client_as("owner")
    assert api.get(f"/api/v1/customers/{customer.pk}").json()["total_spent"] == "128.00"
    assert [o["order_no"] for o in api.get(f"/api/v1/customers/{customer.pk}/orders").json()["items"]] == ["5001"]
