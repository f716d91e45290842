"""Public pages (a customer's link needs no login) are limited per address, counted in a table every web process
shares."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/p/not-a-token/", "/u/not-a-token/", "/messages/u/not-a-token/"])
def test_a_public_page_answers_429_past_the_burst_for_that_address_only(path: str) -> None:
    # given one address that has used its burst of 30 requests
    noisy, other = Client(REMOTE_ADDR="203.0.113.7"), Client(REMOTE_ADDR="203.0.113.8")
    first = [noisy.get(path).status_code for _ in range(30)]

    # when it asks once more, and another address asks once
    refused, fine = noisy.get(path), other.get(path)

    # then the 31st is refused with a page that says to wait, and the other address is served as usual
    assert set(first) == {404}
    assert (refused.status_code, refused["Retry-After"]) == (429, "60")
    assert "请稍等一分钟再试" in refused.content.decode()
    assert fine.status_code == 404


def test_the_customer_list_declares_its_429(client_as: Any) -> None:
    # the contact-search limit answers 429; the OpenAPI document says so
    doc = client_as("owner").get("/api/v1/openapi.json").json()
    responses = doc["paths"]["/api/v1/customers"]["get"]["responses"]
    assert responses["429"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Error"}
