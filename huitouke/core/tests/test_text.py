"""Control characters (#14 item 7): refused by the API naming the field, stripped from form posts and imported
cells, and never able to break an XLSX export of what is already stored."""

from __future__ import annotations

import io
import json
from decimal import Decimal

import pytest
from django.urls import reverse
from hypothesis import given, settings
from hypothesis import strategies as st
from openpyxl import Workbook, load_workbook

from huitouke.core.text import CONTROLS_MESSAGE, controls_in, has_controls, sheet_cells, strip_controls
from huitouke.customers.models import Customer, CustomerTag, Tag
from huitouke.customers.tests.factories import CustomerFactory, IdentityFactory, TagFactory
from huitouke.loyalty.exports import members_export
from huitouke.loyalty.services import LevelSpec, levels_regrade, levels_set
from huitouke.orders.tests.factories import OrderFactory, ShopFactory
from huitouke.orders.tests.test_importing import row, run, taobao

BAD = ["\x00", "\x07", "\x0b", "\x0c", "\x1f", "\ud800", "\ufffe"]


# ---------------------------------------------------------------------------------------------------- pure


@settings(deadline=None, max_examples=60)  # each example saves a workbook: slow on a busy machine
@given(st.text())
def test_stripped_text_has_none_left_and_fits_in_a_spreadsheet(value):
    clean = strip_controls(value)
    assert not has_controls(clean)
    assert clean == "".join(ch for ch in value if not has_controls(ch))
    book = Workbook(write_only=True)
    book.create_sheet().append(sheet_cells([value, 1, None]))
    book.save(io.BytesIO())  # openpyxl raises IllegalCharacterError for what XML cannot hold


@pytest.mark.parametrize("ch", BAD)
def test_each_forbidden_character_is_found_nested(ch):
    assert has_controls(f"a{ch}b")
    assert controls_in({"k": ["ok", f"x{ch}"]})
    assert controls_in({f"k{ch}": "v"})
    assert not controls_in({"k": ["tab\there", "line\r\nbreak", 7, None]})


# ------------------------------------------------------------------------------------------ API and forms


@pytest.mark.django_db
@pytest.mark.parametrize("ch", ["\x07", "\x0b", "\x00"])
def test_the_api_refuses_control_characters_naming_the_field(api_client_as, ch):
    client = api_client_as("owner")
    response = client.post(
        "/api/v1/customers",
        json.dumps({"name": "张三", "tags": ["VIP", f"V{ch}IP"], "identities": []}),
        content_type="application/json",
    )
    assert response.status_code == 422
    body = response.json()
    assert body["field"] == "tags"
    assert CONTROLS_MESSAGE in body["message"]
    assert not Customer.objects.exists()
    shop = ShopFactory.create()
    levels = [{"name": f"银{ch}卡", "min_amount": "0.00", "min_orders": 1, "discount": 100}]
    response = client.put(f"/api/v1/levels?shop={shop.pk}", json.dumps(levels), content_type="application/json")
    assert response.status_code == 422
    assert CONTROLS_MESSAGE in response.json()["message"]


@pytest.mark.django_db
def test_a_form_post_arrives_without_control_characters(client_as):
    customer = CustomerFactory.create()
    response = client_as("owner").post(reverse("customers:tag-add", args=[customer.pk]), {"name": "V\x0bI\x07P"})
    assert response.status_code == 302  # without htmx: back to the customer
    assert list(CustomerTag.objects.filter(customer=customer).values_list("tag__name", flat=True)) == ["VIP"]


@pytest.mark.django_db
def test_imported_cells_arrive_without_control_characters(tmp_path):
    result = run(taobao(tmp_path, [row("7001", "tb_\x0bbell\x07", "10.00", carrier="顺\x0c丰")]))
    assert result["orders_created"] == 1
    assert Customer.objects.get().name == "tb_bell"


# ------------------------------------------------------------------------------- what is already stored


@pytest.mark.django_db
def test_exports_write_what_is_stored_even_with_control_characters(client_as, manager):
    # given a customer and a tag stored with control characters (before the API refused them)
    shop = ShopFactory.create(name="茶铺")
    levels_set(shop=shop, specs=[LevelSpec("普通\x07会员", Decimal("0.01"), 1, 100)])
    customer = CustomerFactory.create(name="张\x0b三", address="文三路\x071号")
    IdentityFactory.create(customer=customer, platform="taobao", handle="tb\x0bzhang")
    CustomerTag.objects.create(customer=customer, tag=TagFactory.create(name="VIP\x07"))
    OrderFactory.create(shop=shop, customer=customer, paid_amount=Decimal("10"))
    levels_regrade()
    assert Tag.objects.get().name == "VIP\x07"
    # when the customers are exported as XLSX, then the file is written without those characters
    response = client_as("owner").get(reverse("customers:export") + "?format=xlsx")
    assert response.status_code == 200
    data = b"".join(response.streaming_content) if response.streaming else response.content
    cells = [c for r in load_workbook(io.BytesIO(data), read_only=True).active.iter_rows(values_only=True) for c in r]
    assert "张三" in cells
    assert "VIP" in cells
    # and the member export too
    out = io.BytesIO()
    assert members_export(user=manager, out=out, shop=shop) == 1
    sheet = load_workbook(io.BytesIO(out.getvalue()), read_only=True).active
    assert "普通会员" in [c for r in sheet.iter_rows(values_only=True) for c in r]
