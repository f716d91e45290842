"""`huitouke care-run [--at ISO-DATETIME] [--dry-run] [--json]`."""

from __future__ import annotations

import json
from datetime import date, datetime
from io import StringIO
from zoneinfo import ZoneInfo

import pytest
from django.core.management import CommandError, call_command

from huitouke.care.tests.factories import make_rule
from huitouke.customers.tests.factories import CustomerFactory
from huitouke.messaging.models import Message
from huitouke.orders.tests.factories import ShopFactory

pytestmark = pytest.mark.django_db

SH = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def birthday_rule():
    ShopFactory.create(name="小店")
    CustomerFactory.create(name="寿星", birthday=date(1990, 5, 17))
    return make_rule("birthday", now=datetime(2026, 5, 17, 0, 0, tzinfo=SH))


def run(*args: str) -> str:
    out = StringIO()
    call_command("care_run", *args, stdout=out)
    return out.getvalue()


def test_json_output_per_rule(birthday_rule):
    payload = json.loads(run("--at", "2026-05-17T10:00:00+08:00", "--json"))
    assert payload["at"] == "2026-05-17T10:00:00+08:00"
    assert payload["rules"] == [
        {
            "id": birthday_rule.pk,
            "name": birthday_rule.name,
            "trigger": "birthday",
            "matched": 1,
            "enqueued": 1,
            "suppressed": {},
        }
    ]
    again = json.loads(run("--at", "2026-05-17T10:00:00+08:00", "--json"))
    assert again["rules"][0]["enqueued"] == 0
    assert again["rules"][0]["suppressed"] == {"already_sent": 1}
    assert Message.objects.count() == 1


def test_dry_run_writes_nothing_and_a_naive_at_is_shop_time(birthday_rule):
    payload = json.loads(run("--at", "2026-05-17 10:00", "--dry-run", "--json"))
    assert payload["at"] == "2026-05-17T10:00:00+08:00"
    assert (payload["dry_run"], payload["rules"][0]["enqueued"]) == (True, 1)
    assert not Message.objects.exists()


def test_the_summary_names_each_rule(birthday_rule):
    text = run("--at", "2026-05-17T10:00:00+08:00")
    assert "Care tick at 2026-05-17 10:00:00" in text
    assert f"#{birthday_rule.pk} {birthday_rule.name} [birthday]: matched 1, enqueued 1, suppressed: none" in text


def test_a_bad_instant_is_one_clear_error():
    with pytest.raises(CommandError, match="--at: 'yesterday' is not an ISO date-time"):
        run("--at", "yesterday")


def test_a_failing_rule_exits_non_zero(birthday_rule):
    type(birthday_rule).objects.filter(pk=birthday_rule.pk).update(params={"days_ahead": -4})
    with pytest.raises(CommandError, match=f"1 rule\\(s\\) failed: #{birthday_rule.pk}"):
        run("--at", "2026-05-17T10:00:00+08:00", "--json")
