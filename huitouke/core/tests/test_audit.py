"""The audit trail: entries record the request's address, cannot be changed or deleted, are pruned past the
retention period (audited), show contact data masked, and are read by owners on a page, as XLSX and by the API."""

from __future__ import annotations

import io
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.core.management import call_command
from django.test import Client
from freezegun import freeze_time
from hypothesis import given
from hypothesis import strategies as st
from openpyxl import load_workbook

from huitouke.core.audit import audit_prune, detail_masked, record
from huitouke.core.models import AuditEntry, AuditEntryImmutableError
from huitouke.core.selectors import AuditFilter, audit_count, audit_entries

T0 = datetime(2026, 6, 1, 10, 0, tzinfo=UTC)


def _entry(**kwargs: Any) -> AuditEntry:
    values: dict[str, Any] = {"actor": None, "action": AuditEntry.Action.EXPORT, "ip": "", **kwargs}
    return record(**values)


# --- writing ----------------------------------------------------------------------------------------------------


def test_an_entry_made_during_a_request_carries_its_address(client_as: Callable[[str], Client]) -> None:
    client = client_as("owner")

    client.post("/tokens/", {"name": "erp"}, REMOTE_ADDR="192.0.2.44")

    [entry] = AuditEntry.objects.filter(action="token")
    assert (entry.actor_name, entry.ip, entry.outcome, entry.detail) == (
        "owner-client",
        "192.0.2.44",
        "success",
        {"op": "create"},
    )


@pytest.mark.django_db
def test_an_entry_made_outside_a_request_has_no_address_and_names_the_system() -> None:
    entry = record(actor=None, action=AuditEntry.Action.IMPORT, target_type="orders", rows=3)

    assert (entry.actor_name, entry.ip, entry.detail) == ("system", "", {"rows": 3})


@pytest.mark.django_db
def test_entries_cannot_be_changed_or_deleted() -> None:
    entry = _entry(target_type="customer", target_id=7)

    entry.target_id = "8"
    with pytest.raises(AuditEntryImmutableError):
        entry.save()
    with pytest.raises(AuditEntryImmutableError):
        entry.delete()
    with pytest.raises(AuditEntryImmutableError):
        AuditEntry.objects.filter(pk=entry.pk).update(target_id="9")
    with pytest.raises(AuditEntryImmutableError):
        AuditEntry.objects.all().delete()
    assert AuditEntry.objects.get(pk=entry.pk).target_id == "7"


@pytest.mark.django_db
def test_deleting_a_user_keeps_their_entries_under_their_name(make_user: Callable[..., User]) -> None:
    user = make_user("agent", username="kefu")
    record(actor=user, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=1)

    user.delete()

    entry = AuditEntry.objects.get(action="unmask")
    assert (entry.actor_id, entry.actor_name) == (None, "kefu")


# --- retention ---------------------------------------------------------------------------------------------------


@pytest.mark.django_db
def test_prune_removes_entries_past_the_retention_and_records_that_it_did() -> None:
    for days_ago in (400, 366, 364, 10):
        with freeze_time(T0 - timedelta(days=days_ago)):
            _entry(target_id=days_ago)

    removed = audit_prune(now=T0, days=365)

    assert removed == 2
    kept = sorted(AuditEntry.objects.exclude(action="prune").values_list("target_id", flat=True))
    assert kept == ["10", "364"]
    [prune] = AuditEntry.objects.filter(action="prune")
    assert prune.actor_name == "system"
    assert prune.detail == {"removed": 2, "before": (T0 - timedelta(days=365)).isoformat(), "retention_days": 365}


@pytest.mark.django_db
def test_prune_with_zero_days_keeps_everything() -> None:
    with freeze_time(T0 - timedelta(days=4000)):
        _entry()

    assert audit_prune(now=T0, days=0) == 0
    assert AuditEntry.objects.count() == 1


@pytest.mark.django_db
def test_the_prune_command_uses_the_setting(settings: Any) -> None:
    settings.HUITOUKE_AUDIT_RETENTION_DAYS = 30
    with freeze_time(datetime.now(tz=UTC) - timedelta(days=31)):
        _entry()
    out = io.StringIO()

    call_command("audit_prune", "--json", stdout=out)

    assert json.loads(out.getvalue()) == {"removed": 1, "retention_days": 30}
    assert list(AuditEntry.objects.values_list("action", flat=True)) == ["prune"]


# --- masking -------------------------------------------------------------------------------------------------------


def test_detail_masks_contact_data_by_meaning_and_inside_text() -> None:
    detail = {
        "source": {"phone": "13812345678", "email": "zhang@example.com", "address": "浙江省杭州市西湖区文三路1号",
                   "real_name": "张伟", "name": "小张"},
        "search": "13812345678",
        "ids": [1, 2],
        "note": "call a@b.cn",
    }  # fmt: skip

    assert detail_masked(detail) == {
        "source": {"phone": "138****5678", "email": "z***@example.com", "address": "浙江省杭州市****",
                   "real_name": "张*", "name": "小张"},
        "search": "138****5678",
        "ids": [1, 2],
        "note": "call a***@b.cn",
    }  # fmt: skip


@given(st.text(alphabet="0123456789", min_size=11, max_size=11))
def test_no_phone_number_survives_masking(phone: str) -> None:
    shown = json.dumps(detail_masked({"phone": phone, "search": phone, "nested": [{"x": f"tel {phone}"}]}))
    assert phone not in shown


# --- reading: selector, page, export, API ------------------------------------------------------------------------


@pytest.fixture
def trail(make_user: Callable[..., User]) -> dict[str, AuditEntry]:
    kefu = make_user("agent", username="kefu")
    boss = make_user("owner", username="boss")
    AuditEntry.objects.all()._prune()  # the users' own creation entries
    with freeze_time(datetime(2026, 5, 1, 12, 0, tzinfo=UTC)):
        old = record(actor=kefu, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=5, ip="10.0.0.1")
    with freeze_time(datetime(2026, 5, 20, 12, 0, tzinfo=UTC)):
        merge = record(
            actor=boss,
            action=AuditEntry.Action.MERGE,
            target_type="customer",
            target_id=6,
            source={"phone": "13900001111"},
        )
    with freeze_time(datetime(2026, 5, 21, 12, 0, tzinfo=UTC)):
        failed = record(
            actor=None, actor_name="kefu", action=AuditEntry.Action.LOGIN_FAILED, outcome=AuditEntry.Outcome.FAILURE
        )
    return {"old": old, "merge": merge, "failed": failed}


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        (AuditFilter(), ["failed", "merge", "old"]),
        (AuditFilter(actor="kefu"), ["failed", "old"]),
        (AuditFilter(action="merge"), ["merge"]),
        (AuditFilter(target_type="customer", target_id="5"), ["old"]),
        (AuditFilter(outcome="failure"), ["failed"]),
        (AuditFilter(date_from=datetime(2026, 5, 20).date()), ["failed", "merge"]),
        (AuditFilter(date_to=datetime(2026, 5, 20).date()), ["merge", "old"]),
    ],
)
def test_audit_entries_filters(trail: dict[str, AuditEntry], filters: AuditFilter, expected: list[str]) -> None:
    names = {e.pk: n for n, e in trail.items()}
    assert [names[e.pk] for e in audit_entries(filters=filters)] == expected


def test_counts_stop_at_the_cap(trail: dict[str, AuditEntry]) -> None:
    qs = audit_entries(filters=AuditFilter())

    assert audit_count(qs, cap=2) == (2, True)
    assert audit_count(qs, cap=3) == (3, False)
    assert audit_count(qs, cap=5) == (3, False)


def test_the_page_says_when_the_count_is_capped(
    trail: dict[str, AuditEntry], client_as: Callable[[str], Client], monkeypatch: pytest.MonkeyPatch
) -> None:
    owner = client_as("owner")
    monkeypatch.setattr(audit_count, "__kwdefaults__", {"cap": 2})

    capped = owner.get("/audit/")
    exact = owner.get("/audit/", {"action": "merge"})

    assert (capped.context["capped"], capped.context["page"].paginator.count) == (True, 2)
    assert "超过 2 条记录" in capped.content.decode()
    assert "超过" not in exact.content.decode()
    assert (exact.context["capped"], exact.context["page"].paginator.count) == (False, 1)


def test_the_page_is_for_owners_only(client_as: Callable[[str], Client]) -> None:
    for role in ("manager", "agent", "marketer"):
        assert client_as(role).get("/audit/").status_code == 403
    assert Client().get("/audit/").status_code == 302


def test_the_page_filters_and_masks(trail: dict[str, AuditEntry], client_as: Callable[[str], Client]) -> None:
    owner = client_as("owner")

    page = owner.get("/audit/", {"action": "merge"})

    assert page.status_code == 200
    assert [e.pk for e, _d in page.context["rows"]] == [trail["merge"].pk]
    html = page.content.decode()
    assert "139****1111" in html
    assert "13900001111" not in html


def test_the_page_names_a_bad_filter(client_as: Callable[[str], Client]) -> None:
    page = client_as("owner").get("/audit/", {"date_from": "2026-05-20", "date_to": "2026-05-01", "action": "nope"})

    assert page.status_code == 200
    assert set(page.context["form"].errors) == {"date_to", "action"}
    assert page.context["rows"] == []


def test_the_xlsx_export_holds_the_filtered_rows_masked_and_is_audited(
    trail: dict[str, AuditEntry], client_as: Callable[[str], Client]
) -> None:
    owner = client_as("owner")

    response = owner.get("/audit/", {"actor": "kefu", "format": "xlsx"})

    assert response.status_code == 200
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 3
    assert [(r[0], r[2], r[4], r[8]) for r in rows[1:]] == [
        (trail["failed"].pk, "kefu", "login_failed", None),  # an empty cell
        (trail["old"].pk, "kefu", "unmask", "10.0.0.1"),
    ]
    [export] = AuditEntry.objects.filter(action="export", target_type="audit")
    assert (export.actor_name, export.detail) == ("owner-client", {"rows": 2, "filters": {"actor": "kefu"}})


def test_the_api_answers_owners_with_masked_entries(
    trail: dict[str, AuditEntry], api_client_as: Callable[[str], Client]
) -> None:
    client = api_client_as("owner")

    response = client.get("/api/v1/audit", {"target_type": "customer", "page_size": "1"})

    assert response.status_code == 200
    body = response.json()
    assert (body["count"], body["count_capped"]) == (2, False)
    [item] = body["items"]
    assert (item["id"], item["actor"], item["action"], item["detail"]) == (
        trail["merge"].pk,
        "boss",
        "merge",
        {"source": {"phone": "139****1111"}},
    )


@pytest.mark.parametrize("role", ["manager", "agent", "marketer"])
def test_the_api_refuses_everyone_but_owners(role: str, api_client_as: Callable[[str], Client]) -> None:
    response = api_client_as(role).get("/api/v1/audit")

    assert response.status_code == 403
    assert response.json()["code"] == "forbidden"


@pytest.mark.parametrize(
    ("params", "field"),
    [({"date_from": "2026-05-02", "date_to": "2026-05-01"}, "date_to"), ({"action": "nope"}, "action")],
)
def test_the_api_names_a_bad_parameter(
    params: dict[str, str], field: str, api_client_as: Callable[[str], Client]
) -> None:
    response = api_client_as("owner").get("/api/v1/audit", params)

    assert response.status_code in (400, 422)
    assert field in json.dumps(response.json())


@pytest.mark.django_db
def test_the_api_is_in_the_openapi_document() -> None:
    from huitouke.api import api

    operation = api.get_openapi_schema()["paths"]["/api/v1/audit"]["get"]
    names = {p["name"] for p in operation["parameters"]}
    assert {"actor", "action", "target_type", "target_id", "outcome", "date_from", "date_to", "page"} <= names
    assert {"200", "403"} <= {str(c) for c in operation["responses"]}


def test_the_page_and_the_api_cost_a_fixed_number_of_queries(
    make_user: Callable[..., User],
    client_as: Callable[[str], Client],
    api_client_as: Callable[[str], Client],
    django_assert_max_num_queries: Any,
) -> None:
    kefu = make_user("agent", username="kefu")
    page, api = client_as("owner"), api_client_as("owner")
    page.get("/audit/")  # the session and permission caches warm up
    api.get("/api/v1/audit")
    for i in range(60):
        record(actor=kefu, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=i)

    with django_assert_max_num_queries(12):
        assert page.get("/audit/").status_code == 200
    with django_assert_max_num_queries(8):
        assert api.get("/api/v1/audit", {"page_size": "60"}).status_code == 200
