"""The shared export machinery (core/exports.py, core/export_views.py) with a kind registered here: formula
neutralising, the writers, permissions, the audit entry, and the one download view's checks (kind, owner,
permission, finished)."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.http import QueryDict
from django.test import Client
from django.urls import reverse
from openpyxl import load_workbook

from huitouke.core.errors import ApplicationError, PermissionDeniedError
from huitouke.core.exports import (
    ExportKind,
    export_file_path,
    export_job_run,
    export_kinds,
    export_write,
    filters_detail,
    local_time,
    neutralise,
)
from huitouke.core.models import AuditEntry, Job
from huitouke.core.pii import Masker

pytestmark = pytest.mark.django_db


def _rows(filters: dict[str, Any], masker: Masker) -> Iterator[list[Any]]:
    for n in range(int(filters["n"])):
        yield [n, masker.phone("13812345678"), "=1+1" if n == 0 else "茶", Decimal("1.50"), None]


TEST_KIND = ExportKind(
    name="test_export",
    target_type="thing",
    file_stem="things",
    parse=lambda query, user: {"n": query.get("n", "2")},
    count=lambda filters, limit: int(filters["n"]),
    rows=_rows,
    headers=lambda: ["N", "Phone", "Text", "Amount", "Empty"],
    sheet_title=lambda: "Things",
    permissions=("core.view_audit",),
    audit_detail=lambda filters: {"filters": filters_detail(filters)},
    progress_every=1,
)


@pytest.fixture
def kind() -> Iterator[ExportKind]:
    export_kinds.register(TEST_KIND)
    yield TEST_KIND
    export_kinds._kinds.pop(TEST_KIND.name)


def user_with(name: str, *perms: str) -> User:
    user = User.objects.create_user(name, password="pass-word-123")
    for perm in perms:
        app, codename = perm.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize(
    ("value", "expected"),
    [("=SUM(A1)", "'=SUM(A1)"), ("+86", "'+86"), ("-1", "'-1"), ("@x", "'@x"), ("\tx", "'\tx"), ("a=b", "a=b"), (3, 3)],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


def test_local_time_is_the_wall_clock_to_the_minute():
    from zoneinfo import ZoneInfo

    at = datetime(2025, 5, 1, 16, 30, 59, 5, tzinfo=UTC)
    assert local_time(at, ZoneInfo("Asia/Shanghai")) == datetime(2025, 5, 2, 0, 30)
    assert local_time(None, ZoneInfo("Asia/Shanghai")) is None


def test_csv_is_masked_neutralised_and_audited(kind):
    out, seen = io.BytesIO(), list[int]()
    exporter = user_with("exporter", "core.export_customers")

    count = export_write(kind=kind, filters={"n": "2"}, user=exporter, fmt="csv", out=out, progress=seen.append)

    data = out.getvalue()
    assert data.startswith(b"\xef\xbb\xbf")
    assert list(csv.reader(io.StringIO(data.decode("utf-8-sig")))) == [
        ["N", "Phone", "Text", "Amount", "Empty"],
        ["0", "138****5678", "'=1+1", "1.50", ""],
        ["1", "138****5678", "茶", "1.50", ""],
    ]
    assert (count, seen) == (2, [1, 2])
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.actor_name, entry.target_type, entry.detail) == (
        "exporter",
        "thing",
        {"filters": {"n": "2"}, "count": 2, "format": "csv", "unmasked": False},
    )


def test_xlsx_keeps_numbers_and_the_operator_sees_everything(kind):
    out = io.BytesIO()
    assert export_write(kind=kind, filters={"n": "1"}, user=None, fmt="xlsx", out=out) == 1
    sheet = load_workbook(out).active
    assert sheet.title == "Things"
    assert list(sheet.iter_rows(values_only=True))[1] == (0, "13812345678", "'=1+1", 1.5, None)
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["unmasked"] is True


def test_refusals_write_nothing(kind):
    with pytest.raises(ApplicationError, match="format must be one of csv, xlsx"):
        export_write(kind=kind, filters={"n": "1"}, user=None, fmt="pdf", out=io.BytesIO())
    with pytest.raises(PermissionDeniedError, match=r"core\.export_customers"):
        export_write(kind=kind, filters={"n": "1"}, user=user_with("nobody"), fmt="csv", out=io.BytesIO())
    assert not AuditEntry.objects.exists()


def test_may_export_needs_the_export_and_the_lists_permissions(kind):
    assert kind.may_export(None)
    assert not kind.may_export(user_with("a", "core.export_customers"))
    assert kind.may_export(user_with("b", "core.export_customers", "core.view_audit"))


def _finished_job(kind: ExportKind, user: User, *, n: str = "3") -> Job:
    job = Job.objects.create(kind=kind.name, params={"query": f"n={n}", "fmt": "csv"}, created_by=user)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    job.refresh_from_db()
    result = export_job_run(job)
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, result=result)
    job.refresh_from_db()
    return job


def test_the_job_writes_the_file_with_progress_and_the_download_checks_who_asks(kind):
    owner_of_it = user_with("asker", "core.export_customers", "core.view_audit")
    job = _finished_job(kind, owner_of_it)

    assert (job.result, job.done, job.total, job.stage) == ({"count": 3, "format": "csv"}, 3, 3, "things")
    assert export_file_path(kind, job.pk, "csv").name == f"things-{job.pk}.csv"
    client = Client()
    client.force_login(owner_of_it)
    download = client.get(reverse("core:export-file", args=[job.pk]))
    assert download.status_code == 200
    assert download["Content-Disposition"] == f'attachment; filename="things-{job.pk}.csv"'
    content: Any = download
    assert b"".join(content.streaming_content).decode("utf-8-sig").splitlines()[1:] == [
        "0,138****5678,'=1+1,1.50,",
        "1,138****5678,茶,1.50,",
        "2,138****5678,茶,1.50,",
    ]
    # someone who may export but may not see this job (not theirs, not a manager's eyes): not found
    lacking = Client()
    lacking.force_login(user_with("lacking", "core.export_customers"))
    assert lacking.get(reverse("core:export-file", args=[job.pk])).status_code == 404
    # someone without the export permission: refused before anything is looked up
    agent = Client()
    agent.force_login(user_with("agent-like", "core.view_audit"))
    assert agent.get(reverse("core:export-file", args=[job.pk])).status_code == 403
    # the file of an unfinished job, of a job that is no export, or of another app's kind: not found
    Job.objects.filter(pk=job.pk).update(status=Job.Status.RUNNING)
    assert client.get(reverse("core:export-file", args=[job.pk])).status_code == 404
    Job.objects.filter(pk=job.pk).update(status=Job.Status.DONE, kind="import")
    assert client.get(reverse("core:export-file", args=[job.pk])).status_code == 404


def test_another_persons_export_is_not_found_for_someone_who_sees_only_their_own_jobs(kind):
    import huitouke.messaging.exports  # noqa: F401  (a kind whose permissions do not include seeing every job)

    asker = user_with("asker", "core.export_customers", "core.view_audit")
    job = _finished_job(kind, asker)
    Job.objects.filter(pk=job.pk).update(kind="messages_export")
    export_file_path(export_kinds.get("messages_export"), job.pk, "csv").write_bytes(b"x")  # type: ignore[arg-type]
    stranger = Client()
    stranger.force_login(user_with("stranger", "core.export_customers", "messaging.view_message"))
    assert stranger.get(reverse("core:export-file", args=[job.pk])).status_code == 404
    mine = Client()
    mine.force_login(asker)
    assert mine.get(reverse("core:export-file", args=[job.pk])).status_code == 403  # lacks messaging.view_message


def test_a_job_of_no_requesting_user_fails_with_a_reason(kind):
    job = Job.objects.create(kind=kind.name, params={"query": "n=1"})
    with pytest.raises(ApplicationError, match="no requesting user"):
        export_job_run(job)


def test_filters_detail_keeps_what_was_set():
    from dataclasses import dataclass

    @dataclass(frozen=True)
    class F:
        a: str = ""
        b: int | None = None
        c: bool = False

    assert filters_detail(F(a="x", c=False)) == {"a": "x", "c": "False"}
    assert filters_detail({"shop": None, "text": "茶"}) == {"text": "茶"}
    assert filters_detail(QueryDict("")) == {}


def test_a_job_asked_without_the_lists_query_is_refused_rather_than_guessed(kind):
    job = Job.objects.create(kind=kind.name, params={"shop_id": 1}, created_by=user_with("old", "core.view_audit"))
    with pytest.raises(ApplicationError, match="older version"):
        export_job_run(job)
