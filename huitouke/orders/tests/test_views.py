"""Import pages: wiring of upload → confirm/mapping → background job → summary → error report."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from huitouke.core.models import Job
from huitouke.orders.models import ImportMapping, Order

pytestmark = pytest.mark.django_db

GOLDEN = Path(__file__).resolve().parents[1] / "importers" / "tests" / "golden"


def upload(client, name, *, items=None, **data):
    files = {"orders_file": SimpleUploadedFile(name, (GOLDEN / name).read_bytes())}
    if items:
        files["items_file"] = SimpleUploadedFile(items, (GOLDEN / items).read_bytes())
    return client.post("/imports/", {"fmt": "auto", "shop": "", **data, **files})


def test_agents_and_marketers_cannot_import(client_as):
    assert client_as("agent").get("/imports/").status_code == 403
    assert client_as("marketer").get("/imports/").status_code == 403


def test_taobao_pair_upload_detects_runs_in_background_and_summarises(client_as, django_capture_on_commit_callbacks):
    client = client_as("manager")
    page = client.get("/imports/")
    assert page.status_code == 200

    response = upload(client, "taobao_71_ExportOrderList202506.csv", items="taobao_71_ExportOrderDetailList202506.csv")
    assert response.status_code == 302
    confirm = client.get(response["Location"])
    assert "淘宝" in confirm.content.decode()  # the recognised format, in the default language
    assert Order.objects.count() == 0  # nothing runs before the seller confirms

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"])

    job = Job.objects.get()
    assert started["Location"] == f"/jobs/{job.pk}/"
    assert job.status == "done"
    assert job.result is not None
    assert job.result["orders_created"] == 2
    summary = client.get(f"/jobs/{job.pk}/").content.decode()
    assert 'id="import-summary"' in summary
    assert Order.objects.count() == 2
    listing = client.get("/imports/").content.decode()
    assert "taobao_71_ExportOrderList202506.csv" in listing


def test_generic_file_asks_for_the_mapping_and_can_save_it(client_as, django_capture_on_commit_callbacks):
    client = client_as("owner")
    response = upload(client, "archive_seed004.csv")
    mapping_page = client.get(response["Location"])
    assert 'id="mapping-form"' in mapping_page.content.decode()
    form = mapping_page.context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data["save_as"] = "我的客户表"

    with django_capture_on_commit_callbacks(execute=True):
        started = client.post(response["Location"], data)

    assert started.status_code == 302
    job = Job.objects.get()
    assert job.result is not None
    assert (job.status, job.result["format"]) == ("done", "generic")
    assert job.result["orders_created"] == 2  # the two rows of the golden file
    saved = ImportMapping.objects.get(name="我的客户表")
    assert saved.mapping["buyer_handle"]
    again = upload(client, "archive_seed004.csv", saved_mapping=str(saved.pk))
    assert "我的客户表" in client.get(again["Location"]).content.decode()


def test_mapping_without_amount_is_refused(client_as):
    client = client_as("manager")
    response = upload(client, "archive_seed004.csv")
    form = client.get(response["Location"]).context["form"]
    data = {name: field.initial or "" for name, field in form.fields.items()}
    data["map_paid_amount"] = data["map_total_amount"] = ""

    page = client.post(response["Location"], data)

    assert page.status_code == 200
    assert page.context["form"].errors["map_paid_amount"]
    assert Job.objects.count() == 0


def test_unreadable_upload_is_explained(client_as):
    client = client_as("manager")
    response = client.post(
        "/imports/", {"fmt": "auto", "orders_file": SimpleUploadedFile("x.csv", b"\x00\x01\x02\xff" * 50)}
    )
    page = client.get(response["Location"])
    assert page.status_code == 422
    assert 'id="file-error"' in page.content.decode()
    assert client.get("/imports/not-a-token/").status_code == 404


def test_error_report_download(client_as, tmp_path, django_capture_on_commit_callbacks):
    client = client_as("manager")
    response = upload(client, "woocommerce_orders_2025-09.csv")
    with django_capture_on_commit_callbacks(execute=True):
        client.post(response["Location"])
    job = Job.objects.get()
    assert job.result is not None
    assert job.result["errors"] == 1

    report = client.get(f"/imports/jobs/{job.pk}/errors.csv")

    body = b"".join(report.streaming_content).decode("utf-8-sig")
    assert report["Content-Disposition"].startswith("attachment")
    assert body.splitlines()[0] == "row,column,value,reason"
    Job.objects.filter(pk=job.pk).update(result={**job.result, "error_report": "/etc/passwd"})
    assert client.get(f"/imports/jobs/{job.pk}/errors.csv").status_code == 404
