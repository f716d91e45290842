"""The review list export (reviews/exports.py through core.exports): the list's filters, labels and local times,
masked nicks, the audit entry, the background job past the inline limit; and the list's keyset pages."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from django.contrib.auth.models import Permission, User
from django.test import Client
from django.urls import reverse

from huitouke.core.models import AuditEntry, Job
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.orders.models import Shop
from huitouke.orders.tests.factories import OrderFactory
from huitouke.reviews.models import Review, ReviewCredit

pytestmark = pytest.mark.django_db

EXPORT = reverse("reviews:export")
HEADER = [
    "ID", "Rated at", "Shop", "Order", "Sub-order", "Item id", "Item", "Customer ID", "Buyer", "Anonymous",
    "Who rated", "Rating", "Text", "Explanation", "Credit", "Why it does not score", "Case",
]  # fmt: skip


def login(make_user: Any, role: str) -> Client:
    c = Client()
    c.force_login(make_user(role, username=f"{role}-r"))
    c.cookies["django_language"] = "en"
    return c


def body(response: Any) -> bytes:
    return b"".join(response.streaming_content)


def read_csv(data: bytes) -> list[list[str]]:
    assert data.startswith(b"\xef\xbb\xbf")
    return list(csv.reader(io.StringIO(data.decode("utf-8-sig"))))


def user_with(*perms: str) -> User:
    user = User.objects.create_user("exporter", password="pass-word-123")
    for name in perms:
        app, codename = name.split(".")
        user.user_permissions.add(Permission.objects.get(content_type__app_label=app, codename=codename))
    return User.objects.get(pk=user.pk)


def review(shop: Shop, customer: Any, no: str, rated: datetime, **kw: Any) -> Review:
    """A review; `scores`, `points` and `not_scored_reason` given: its stored credit ledger row too."""
    order: Any = OrderFactory(shop=shop, order_no=no, customer=customer)
    ledger = {k: kw.pop(k) for k in ("scores", "points", "not_scored_reason") if k in kw}
    made = Review.objects.create(shop=shop, order=order, customer=customer, tid=no, created_at=rated, **kw)
    if ledger:
        ReviewCredit.objects.create(
            review=made,
            scores=ledger["scores"],
            points=ledger.get("points", 0),
            reason=ledger.get("not_scored_reason", ""),
        )
    return made


@pytest.fixture
def reviews(db: Any) -> dict[str, Any]:
    """Three reviews at known times (UTC; Shanghai is 8 hours ahead) in two shops."""
    tea = Shop.objects.create(name="茶铺", platform="taobao", timezone="Asia/Shanghai")
    cup = Shop.objects.create(name="杯店", platform="taobao", timezone="Asia/Shanghai")
    bob = CustomerFactory(name="鲍勃")
    good = review(
        tea, bob, "T1", datetime(2025, 5, 1, 2, 0, tzinfo=UTC), role="buyer", result="good", content="好喝",
        nick="tb_bob", num_iid="100", item_title="龙井", scores=True, points=1,
    )  # fmt: skip
    bad = review(
        tea, bob, "T2", datetime(2025, 5, 2, 17, 0, tzinfo=UTC), role="buyer", result="bad", content="=HYPERLINK()",
        nick="13812345678", anonymous=True, scores=False, not_scored_reason="monthly_cap", reply="抱歉",
    )  # fmt: skip
    other = review(cup, bob, "C1", datetime(2025, 5, 3, 0, 0, tzinfo=UTC), role="seller", result="neutral")
    return {"tea": tea, "cup": cup, "bob": bob, "good": good, "bad": bad, "other": other}


def test_csv_export_is_the_filtered_list_with_labels_and_local_times(make_user, reviews):
    tea, bob = reviews["tea"], reviews["bob"]
    response = login(make_user, "manager").get(EXPORT, {"shop": tea.pk, "format": "csv"})

    assert response.status_code == 200
    rows = read_csv(body(response))
    assert rows[0] == HEADER
    good, bad = reviews["good"], reviews["bad"]
    assert rows[1:] == [
        [str(bad.pk), "2025-05-03 01:00", "茶铺", "T2", "", "", "", str(bob.pk), "13812345678", "yes",
         "Buyer rates the shop", "Bad", "'=HYPERLINK()", "抱歉", "0",
         "The buyer's monthly cap was already reached", ""],
        [str(good.pk), "2025-05-01 10:00", "茶铺", "T1", "", "100", "龙井", str(bob.pk), "tb_bob", "no",
         "Buyer rates the shop", "Good", "好喝", "", "1", "", ""],
    ]  # fmt: skip
    entry = AuditEntry.objects.get(action=AuditEntry.Action.EXPORT)
    assert (entry.target_type, entry.detail) == (
        "review",
        {"filters": {"shop": str(tea.pk)}, "count": 2, "format": "csv", "unmasked": True},
    )


def test_the_export_follows_every_filter_of_the_list(make_user, reviews):
    manager = login(make_user, "manager")

    def tids(**params: Any) -> list[str]:
        return [r[3] for r in read_csv(body(manager.get(EXPORT, params)))[1:]]

    assert tids() == ["C1", "T2", "T1"]
    assert tids(result="bad") == ["T2"]
    assert tids(scored="yes") == ["T1"]
    assert tids(product="龙井") == ["T1"]
    assert tids(text="HYPER") == ["T2"]
    assert tids(reason="monthly_cap") == ["T2"]
    assert tids(shop="999999") == ["C1", "T2", "T1"]  # a shop that is not there: the list shows every review too
    row = read_csv(body(manager.get(EXPORT, {"result": "neutral"})))[1]
    assert row[10:17] == ["Shop rates the buyer", "Neutral", "", "", "not computed", "", ""]


def test_nicks_are_masked_for_an_exporter_without_unmask(reviews):
    client = Client()
    client.force_login(user_with("core.export_customers", "reviews.view_review"))
    rows = read_csv(body(client.get(EXPORT, {"shop": reviews["tea"].pk})))
    assert [r[8] for r in rows[1:]] == ["138****5678", "tb_bob"]  # a phone used as a nick is contact data
    assert AuditEntry.objects.get(action=AuditEntry.Action.EXPORT).detail["unmasked"] is False


@pytest.mark.parametrize("role", ["agent", "marketer"])
def test_roles_without_the_export_permission_are_refused(make_user, reviews, role):
    assert login(make_user, role).get(EXPORT).status_code == 403
    assert not AuditEntry.objects.filter(action=AuditEntry.Action.EXPORT).exists()


@pytest.mark.django_db(transaction=True)
def test_a_long_list_is_exported_in_the_background_then_downloaded(make_user, reviews, settings):
    settings.HUITOUKE_INLINE_EXPORT = 2
    manager = login(make_user, "manager")

    response = manager.get(EXPORT, {"format": "csv"})

    job = Job.objects.get(kind="reviews_export")
    assert response["Location"] == reverse("core:job", args=[job.pk])
    assert (job.status, job.result, job.total) == (Job.Status.DONE, {"count": 3, "format": "csv"}, 3)
    rows = read_csv(body(manager.get(reverse("core:export-file", args=[job.pk]))))
    assert [r[3] for r in rows[1:]] == ["C1", "T2", "T1"]
    assert manager.get(EXPORT, {"format": "csv", "shop": reviews["tea"].pk}).status_code == 200  # 2 rows: inline


def test_the_list_pages_on_from_the_last_row(make_user, monkeypatch):
    from huitouke.reviews import views

    shop = Shop.objects.create(name="茶铺", platform="taobao", timezone="Asia/Shanghai")
    buyer = CustomerFactory(name="鲍勃")
    at = datetime(2025, 6, 1, tzinfo=UTC)
    for n in range(5):
        review(shop, buyer, f"K{n}", at + timedelta(hours=n // 2), role="buyer", result="good")  # ties in pairs
    monkeypatch.setattr(views, "PAGE_SIZE", 2)
    manager = login(make_user, "manager")
    ids = list(Review.objects.order_by("-created_at", "-id").values_list("pk", flat=True))

    html = manager.get(reverse("reviews:list")).content.decode()
    assert f"page=2&after={ids[1]}" in html
    keyset = manager.get(reverse("reviews:list"), {"page": 2, "after": ids[1]}).context["rows"]
    offset = manager.get(reverse("reviews:list"), {"page": 2}).context["rows"]
    assert [r.pk for r, _n, _l in keyset] == [r.pk for r, _n, _l in offset] == ids[2:4]
    last = manager.get(reverse("reviews:list"), {"page": 3, "after": ids[3]}).context["rows"]
    assert [r.pk for r, _n, _l in last] == ids[4:]


def test_the_export_buttons_carry_the_lists_filters_for_exporters_only(make_user, reviews):
    page = login(make_user, "manager").get(reverse("reviews:list"), {"result": "bad"}).content.decode()
    assert 'href="/reviews/export/?result=bad&amp;format=xlsx"' in page
    assert 'id="export-links"' not in login(make_user, "agent").get(reverse("reviews:list")).content.decode()
