"""The managers' alert of a negative review by e-mail and group robot: sent after the import committed, once per
review, contact data masked, destinations checked when saved and again when sent (a real local HTTP server
stands in for the WeCom / DingTalk robot; Django's mail outbox for the mailbox)."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.core import mail
from django.core.management import call_command

from huitouke.core.errors import ApplicationError
from huitouke.messaging.tests.sinks import HttpSink
from huitouke.reviews.models import CreditSettings, Review, ReviewCase
from huitouke.reviews.services import credit_settings_set
from huitouke.reviews.tests.fixtures import GOLDEN, golden_archive
from huitouke.service.models import Ticket
from huitouke.service.services.review_alerts import negative_review_alert_send, negative_review_alert_text

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("review_clock")]

RULES: dict[str, Any] = {
    "preset": "course",
    "rating_period_days": 345,
    "default_good_after_days": 45,
    "monthly_cap": 6,
    "same_item_days": 14,
}

BOB = (
    "Huitouke: 店A received a Bad review\n"
    "Order: 9001000000000002\n"
    "Item: 羊毛围巾\n"
    "Buyer: anonymous\n"
    "Shop scores: as described 2, service 3, delivery 4\n"
    "Text: 起球严重，和描述不符"
)
DAN = "Huitouke: 店A received a Neutral review\nOrder: 9001000000000004\nItem: 棉袜\nBuyer: tb_dan\nText: 一般"
FAY = (
    "Huitouke: 店A received a low shop score\n"
    "Order: 9001000000000005\n"
    "Item: 棉袜\n"
    "Buyer: 138****5678\n"
    "Shop scores: as described 5, service 1, delivery —\n"
    "Text: 客服态度差，打我电话139****0000或写信z***@example.com"
)


def errcode_ok(_hit):
    return 200, {"errcode": 0, "errmsg": "ok"}, {}


@pytest.fixture
def robot():
    sink = HttpSink(responder=errcode_ok).start()
    yield sink
    sink.stop()


@pytest.fixture
def english(settings):
    settings.LANGUAGE_CODE = "en"  # the alert's language is the site's; the Chinese catalogue is compiled later


def imp(path: Path) -> None:
    call_command("import_reviews", str(path), "--json", stdout=StringIO())


def _fay_file(tmp_path: Path) -> Path:
    """A good rating with a service score of 1 (a low shop score alerts too), the buyer's contact data inside."""
    path = tmp_path / "fay.csv"
    path.write_text(
        "订单编号,子订单编号,评价角色,买家昵称,评价结果,评价时间,宝贝标题,宝贝ID,评价内容,解释,是否匿名,描述相符,服务态度\n"
        "9001000000000005,9001000000000105,买家,tb_fay,好评,2025-07-01 10:00:00,棉袜,6002,"
        "客服态度差，打我电话13900000000或写信zoe@example.com,,否,5,1\n",
        encoding="utf-8",
    )
    return path


def test_each_negative_review_alerts_once_by_email_and_robot_after_the_import(
    robot, english, tmp_path, django_capture_on_commit_callbacks
):
    shop, orders = golden_archive()
    orders[4].customer.name = "13812345678"  # a phone as the display name: masked in the alert
    orders[4].customer.save(update_fields=["name"])
    credit_settings_set(
        shop=shop,
        **RULES,
        alert_email="boss@example.com；ops@example.com",
        alert_robot_url=f"{robot.url}/cgi-bin/webhook/send?key=k1",
    )
    with django_capture_on_commit_callbacks(execute=True) as queued:
        imp(GOLDEN / "traderate_gb18030.csv")
    # bob's 差评 and dan's 中评; alice's 好评 and the shop's rating of carol: nothing (the other callback asks for the
    # shop's credit figure to be recounted)
    assert len(_alerts(queued)) == 2
    assert [(m.subject, m.body, m.to) for m in mail.outbox] == [
        ("Huitouke: 店A received a Bad review", BOB, ["boss@example.com", "ops@example.com"]),
        ("Huitouke: 店A received a Neutral review", DAN, ["boss@example.com", "ops@example.com"]),
    ]
    assert [(h.path, h.query, h.json()) for h in robot.hits] == [
        ("/cgi-bin/webhook/send", {"key": ["k1"]}, {"msgtype": "text", "text": {"content": BOB}}),
        ("/cgi-bin/webhook/send", {"key": ["k1"]}, {"msgtype": "text", "text": {"content": DAN}}),
    ]
    assert ReviewCase.objects.filter(alerted_at__isnull=False).count() == 2

    with django_capture_on_commit_callbacks(execute=True) as again:
        imp(GOLDEN / "traderate_gb18030.csv")  # the same export again: no new case, no alert
        imp(GOLDEN / "traderate_later_gb18030.csv")  # bob's rating changed to good: an event, no alert
    assert (len(_alerts(again)), len(mail.outbox), len(robot.hits)) == (0, 2, 2)
    bob = Review.objects.get(tid=orders[1].order_no)
    sent = negative_review_alert_send(review_id=bob.pk)  # a retried task or a second worker: claimed already
    assert (sent.claimed, len(mail.outbox), len(robot.hits)) == (False, 2, 2)

    with django_capture_on_commit_callbacks(execute=True):
        imp(_fay_file(tmp_path))
    assert (mail.outbox[-1].body, robot.hits[-1].json()["text"]["content"]) == (FAY, FAY)
    assert Ticket.objects.filter(type="negative_review").count() == 3  # the in-app path is unchanged


def test_no_destination_queues_nothing_and_the_ticket_still_opens(django_capture_on_commit_callbacks):
    golden_archive()
    with django_capture_on_commit_callbacks(execute=True) as queued:
        imp(GOLDEN / "traderate_gb18030.csv")
    assert (len(_alerts(queued)), len(mail.outbox), Ticket.objects.filter(type="negative_review").count()) == (0, 0, 2)
    assert ReviewCase.objects.filter(alerted_at__isnull=False).count() == 0


def test_destinations_are_checked_when_saved(settings):
    shop, _orders = golden_archive()
    credit_settings_set(shop=shop, **RULES, alert_email="a@example.com", alert_robot_url="https://robot.example.com/x")
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = False
    cases: list[tuple[dict[str, Any], str]] = [
        ({"alert_robot_url": "http://127.0.0.1:8080/robot"}, "alert_robot_url"),
        ({"alert_robot_url": "http://localhost/robot"}, "alert_robot_url"),
        ({"alert_robot_url": "http://169.254.169.254/latest"}, "alert_robot_url"),
        ({"alert_robot_url": "ftp://robot.example.com/x"}, "alert_robot_url"),
        ({"alert_email": "boss@example.com, not-an-address"}, "alert_email"),
        ({"alert_email": ",".join(f"m{i}@example.com" for i in range(6))}, "alert_email"),
    ]
    for change, field in cases:
        with pytest.raises(ApplicationError) as caught:
            credit_settings_set(shop=shop, **{**RULES, "monthly_cap": 5}, **change)
        assert caught.value.field == field, change
    stored = CreditSettings.objects.get(shop=shop)  # nothing written by a refused save
    assert (stored.monthly_cap, stored.alert_email, stored.alert_robot_url) == (
        6,
        "a@example.com",
        "https://robot.example.com/x",
    )
    credit_settings_set(shop=shop, **RULES, alert_email="", alert_robot_url="")  # "" clears, None keeps
    stored.refresh_from_db()
    assert (stored.alert_email, stored.alert_robot_url) == ("", "")


def test_a_robot_url_on_a_refused_address_is_not_called_at_send_time(robot, english, settings):
    shop, orders = golden_archive()
    credit_settings_set(shop=shop, **RULES, alert_email="boss@example.com", alert_robot_url=f"{robot.url}/r")
    imp(GOLDEN / "traderate_gb18030.csv")  # outside the capture: the alerts stay queued, never run
    settings.HUITOUKE_OUTBOUND_ALLOW_PRIVATE = False  # e.g. the operator tightened the rules since it was saved
    bob = Review.objects.get(tid=orders[1].order_no)
    sent = negative_review_alert_send(review_id=bob.pk)
    assert (sent.claimed, sent.emails, sent.robot, len(robot.hits)) == (True, 1, False, 0)
    assert mail.outbox[0].body == BOB


def test_a_robot_that_refuses_is_logged_and_not_retried(english, caplog):
    sink = HttpSink(responder=lambda _hit: (200, {"errcode": 93000, "errmsg": "invalid webhook url"}, {})).start()
    try:
        shop, orders = golden_archive()
        credit_settings_set(shop=shop, **RULES, alert_robot_url=f"{sink.url}/r")
        imp(GOLDEN / "traderate_gb18030.csv")
        bob = Review.objects.get(tid=orders[1].order_no)
        first = negative_review_alert_send(review_id=bob.pk)
        second = negative_review_alert_send(review_id=bob.pk)
    finally:
        sink.stop()
    assert (first.claimed, first.robot, second.claimed, len(sink.hits)) == (True, False, False, 1)
    assert "negative-review robot alert refused: HTTP 200" in caplog.text


def test_alert_text_names_the_rating_in_the_site_language():
    _shop, orders = golden_archive()
    imp(GOLDEN / "traderate_gb18030.csv")
    subject, text = negative_review_alert_text(Review.objects.get(tid=orders[1].order_no))
    lines = text.splitlines()
    assert "差评" in subject  # the rating in the site's language (zh-hans)
    assert "9001000000000002" in lines[1]
    assert "羊毛围巾" in lines[2]


def test_api_and_page_set_the_alert_destinations(api_client_as, client_as):
    shop, _orders = golden_archive()
    manager = api_client_as("manager")
    url = "/api/v1/credit/settings?shop=店A"
    body = {**RULES, "alert_email": "boss@example.com, ops@example.com", "alert_robot_url": "https://r.example.com/x"}
    done = manager.put(url, json.dumps(body), content_type="application/json")
    assert done.status_code == 200
    assert done.json() == {"shop": "店A", **body, "tmall": False}
    kept = manager.put(url, json.dumps(RULES), content_type="application/json").json()  # keys omitted: unchanged
    assert (kept["alert_email"], kept["alert_robot_url"]) == (
        "boss@example.com, ops@example.com",
        body["alert_robot_url"],
    )
    bad = manager.put(url, json.dumps({**RULES, "alert_email": "boss"}), content_type="application/json")
    assert (bad.status_code, bad.json()["field"]) == (400, "alert_email")

    owner = client_as("owner")
    page = owner.get(f"/reviews/credit/settings/?shop={shop.pk}").content.decode()
    assert 'name="alert_email"' in page
    assert 'name="alert_robot_url"' in page
    answer = owner.post(
        f"/reviews/credit/settings/?shop={shop.pk}",
        {**RULES, "alert_email": "", "alert_robot_url": "https://robot.example.com/cgi-bin/webhook/send?key=k2"},
    )
    assert answer.status_code == 302
    stored = CreditSettings.objects.get(shop=shop)
    assert (stored.alert_email, stored.alert_robot_url) == ("", "https://robot.example.com/cgi-bin/webhook/send?key=k2")
    wrong = owner.post(f"/reviews/credit/settings/?shop={shop.pk}", {**RULES, "alert_robot_url": "not a url"})
    assert wrong.status_code == 200
    assert "field-error" in wrong.content.decode()


def _alerts(callbacks: list) -> list:
    """The on-commit callbacks that queue an alert (not the credit figure's or the review analytics' recount)."""
    return [
        c
        for c in callbacks
        if "credit_figures" not in getattr(c, "__qualname__", "")
        and "review_figures" not in getattr(c, "__qualname__", "")
    ]
