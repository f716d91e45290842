"""The care rule API: /api/v1/care/rules (GET list, POST create), /api/v1/care/rules/{id} (GET, PUT, DELETE)."""

from __future__ import annotations

import pytest

from huitouke.care.models import CareActivation, CareRule
from huitouke.care.tests.factories import care_template, make_rule

pytestmark = pytest.mark.django_db

URL = "/api/v1/care/rules"


def body(**changes):
    data = {
        "name": "生日祝福",
        "trigger": "birthday",
        "params": {"days_ahead": 1},
        "channel": "sms",
        "template": care_template("birthday").pk,
        "send_time": "09:30",
        "enabled": True,
    }
    data.update(changes)
    return data


def test_create_read_list_update_delete(api_client_as):
    api = api_client_as("manager")
    created = api.post(URL, body(), content_type="application/json")
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["trigger"] == "birthday"
    assert out["params"] == {"days_ahead": 1}
    assert (out["send_time"], out["enabled"], out["status"], out["activation"]) == ("09:30", True, "on", 1)
    assert out["template"]["key"] == "care_birthday"
    pk = out["id"]

    assert api.get(f"{URL}/{pk}").json()["name"] == "生日祝福"
    assert [r["id"] for r in api.get(URL).json()] == [pk]
    assert api.get(URL, {"trigger": "holiday"}).json() == []

    updated = api.put(f"{URL}/{pk}", body(params={"days_ahead": 3}), content_type="application/json")
    assert updated.status_code == 200
    assert (updated.json()["params"], updated.json()["activation"]) == ({"days_ahead": 3}, 2)
    assert CareActivation.objects.filter(rule_id=pk).count() == 2

    assert api.delete(f"{URL}/{pk}").status_code == 204
    assert api.get(f"{URL}/{pk}").status_code == 404
    assert api.get(URL).json() == []
    assert CareRule.objects.get(pk=pk).archived_at is not None  # its records stay traceable


def test_a_template_may_be_named_by_trigger_or_key_and_language(api_client_as):
    api = api_client_as("manager")
    by_trigger = api.post(
        URL, body(template="birthday", language="en", channel="email"), content_type="application/json"
    )
    assert by_trigger.status_code == 201, by_trigger.content
    assert by_trigger.json()["template"]["id"] == care_template("birthday", "email", "en").pk
    by_key = api.post(URL, body(template="care_holiday", trigger="holiday", params={}), content_type="application/json")
    assert by_key.json()["template"]["key"] == "care_holiday"


@pytest.mark.parametrize(
    ("changes", "status", "field", "message"),
    [
        ({"trigger": "teleport"}, 400, "trigger", "unknown trigger"),
        ({"params": {"days_ahead": 99}}, 400, "params", "params.days_ahead"),
        ({"send_time": "25:00"}, 400, "send_time", "time of day"),
        ({"template": 999999}, 400, "template", "does not exist"),
        ({"template": "no_such"}, 400, "template", "no template"),
        ({"channel": "email"}, 400, "template", "关怀·生日祝福"),
        ({"name": None}, 422, "name", ""),
    ],
)
def test_bad_input_names_the_field(api_client_as, changes, status, field, message):
    response = api_client_as("manager").post(URL, body(**changes), content_type="application/json")
    assert response.status_code == status
    assert response.json()["field"] == field
    assert message in response.json()["message"]
    assert not CareRule.objects.exists()


def test_permissions(api_client_as):
    make_rule("birthday")
    agent = api_client_as("agent")
    assert agent.get(URL).status_code == 403
    assert agent.post(URL, body(), content_type="application/json").status_code == 403
    assert api_client_as("marketer").get(URL).status_code == 200


def test_unknown_rule_is_404(api_client_as):
    api = api_client_as("owner")
    assert api.get(f"{URL}/424242").status_code == 404
    assert api.put(f"{URL}/424242", body(), content_type="application/json").status_code == 404
    assert api.delete(f"{URL}/424242").status_code == 404
