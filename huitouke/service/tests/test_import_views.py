"""The after-sales import pages: upload → recognised layout or mapping (saved for next time) → background job →
summary → rejected rows."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huitouke.core.models import Job
from huitouke.service.models import AftersalesMapping, Ticket

pytestmark = pytest.mark.django_db
GOLDEN = Path(__file__).parent.parent / "importers" / "tests" / "golden"


def upload(client: Any, name: str, **data: Any) -> Any:
    files = {"file": SimpleUploadedFile(name, (GOLDEN / name).read_bytes())}
    return client.post("/service/import/", {"shop": "", **data, **files})


@pytest.fixture
def orders(shop: Any, customer: Any) -> None:
    from huitouke.orders.tests.factories import OrderFactory, OrderLineFactory

    for no in ("3901234567890123456", "3901234567890123457", "3901234567890123458"):
        OrderLineFactory.create(order=OrderFactory.create(shop=shop, customer=customer, order_no=no), line_no=1)


def test_marketers_cannot_import(client_as: Any) -> None:
    assert client_as("marketer").get("/service/import/").status_code == 403


def test_taobao_refunds_detected_imported_in_background(
    client_as: Any, orders: None, django_capture_on_commit_callbacks: Any, no_wake: Any
) -> None:
    client = client_as("agent")
    assert client.get("/service/import/").status_code == 200
    response = upload(client, "taobao-refunds-v1.csv")
    assert response.status_code == 302
    confirm = client.get(response["Location"])
    assert 'id="detected-layout"' in confirm.content.decode()
    assert Ticket.objects.count() == 0  # nothing before the seller confirms
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"])
    job = Job.objects.get()
    assert started["Location"] == f"/jobs/{job.pk}/"
    assert job.status == "done"
    assert job.result is not None
    assert (job.result["created"], job.result["rejected"]) == (5, 4)
    summary = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="import-summary"' in summary
    assert 'id="error-report"' in summary
    errors = client.get(f"/service/import/jobs/{job.pk}/errors.csv")
    assert errors.status_code == 200
    assert "退款金额" in b"".join(errors.streaming_content).decode("utf-8-sig")
    assert "taobao-refunds-v1.csv" in client.get("/service/import/").content.decode()


def test_generic_export_asks_for_the_mapping_and_saves_it(
    client_as: Any, shop: Any, customer: Any, django_capture_on_commit_callbacks: Any, no_wake: Any
) -> None:
    from huitouke.orders.tests.factories import OrderFactory

    OrderFactory.create(shop=shop, customer=customer, order_no="88001")
    client = client_as("manager")
    response = upload(client, "jd-aftersales.csv")
    page = client.get(response["Location"])
    assert 'id="mapping-form"' in page.content.decode()
    form = page.context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    assert data["map_refund_id"] == "服务单号"
    assert data["map_status"] == "服务单状态"
    data["save_as"] = "京东服务单"
    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"], data)
    assert started.status_code == 302
    job = Job.objects.get()
    assert job.result is not None
    assert (job.status, job.result["created"], job.result["layout"]) == ("done", 2, "generic")
    saved = AftersalesMapping.objects.get(name="京东服务单")
    assert saved.mapping["refund_id"] == "服务单号"
    again = upload(client, "jd-aftersales.csv", saved_mapping=str(saved.pk))
    assert "京东服务单" in client.get(again["Location"]).content.decode()


def test_mapping_without_required_columns_is_refused(client_as: Any) -> None:
    client = client_as("manager")
    response = upload(client, "jd-aftersales.csv")
    form = client.get(response["Location"]).context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data["map_status"] = ""
    page = client.post(response["Location"], data)
    assert page.status_code == 200
    assert page.context["form"].errors["map_status"]
    assert Job.objects.count() == 0


def test_unreadable_upload_is_explained(client_as: Any) -> None:
    client = client_as("manager")
    response = client.post("/service/import/", {"file": SimpleUploadedFile("x.csv", b"")})
    assert response.status_code == 200  # the form refuses an empty file
    bad = client.post("/service/import/", {"file": SimpleUploadedFile("x.csv", b"\x00\x01\x02binary")})
    assert bad.status_code == 302
    page = client.get(bad["Location"])
    assert page.status_code == 422
    assert 'id="file-error"' in page.content.decode()
