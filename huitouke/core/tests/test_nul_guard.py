"""A NUL character in a query string or body field never reaches the database: PostgreSQL cannot store one and
answered 500 (found by the API fuzz); both databases now answer 400 with the API's error shape."""

from __future__ import annotations

import json
from collections.abc import Callable

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


def test_a_nul_in_a_query_parameter_is_a_400(api_client_as: Callable[[str], Client]) -> None:
    client = api_client_as("owner")

    resp = client.get("/api/v1/message-templates", {"channel": "\x00p"})

    assert resp.status_code == 400
    body = resp.json()
    assert (body["code"], body["field"]) == ("invalid", "text")
    assert "NUL" in body["message"]  # in either language


def test_a_nul_in_a_body_field_is_a_400(api_client_as: Callable[[str], Client]) -> None:
    client = api_client_as("owner")
    body = {
        "shop": "茶\x00铺",
        "order_no": "T1",
        "result": "neutral",
        "role": "buyer",
        "created_at": "2026-01-01T00:00:00Z",
    }

    resp = client.post("/api/v1/reviews", json.dumps(body), content_type="application/json")

    assert resp.status_code == 400
    assert resp.json()["field"] == "text"


def test_a_nul_in_a_page_query_is_a_400_page(client_as: Callable[[str], Client]) -> None:
    client = client_as("owner")

    resp = client.get("/messages/templates/", {"channel": "sms\x00"})

    assert resp.status_code in (200, 400)  # the page's filter may drop an unknown channel before any query
    assert resp.status_code != 500
