"""schemathesis over the whole OpenAPI document, in process (WSGI), as an owner and as an agent: no server error,
every status code, content type and body as the document declares. Bounded: a few generated examples per
operation (HUITOUKE_FUZZ_EXAMPLES, default 3) and a deadline per operation, so the run stays near a minute in CI;
raise the variable for a deeper run (`HUITOUKE_FUZZ_EXAMPLES=50 pytest huitouke/core/tests/test_api_fuzz.py`)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import schemathesis
from django.contrib.auth.models import User
from django.core.signals import request_finished, request_started
from django.core.wsgi import get_wsgi_application
from django.db import close_old_connections
from hypothesis import HealthCheck, Phase, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from huitouke.api import api

EXAMPLES = int(os.environ.get("HUITOUKE_FUZZ_EXAMPLES", "3"))
CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]

schema = schemathesis.openapi.from_dict(api.get_openapi_schema(path_params={}))
schema.app = get_wsgi_application()


@pytest.fixture
def tokens(make_user: Callable[..., User]) -> Iterator[dict[str, str]]:
    """Bearer tokens of an owner and an agent. The WSGI handler closes the database connection after each
    request, which would close the test's transaction: as Django's test client does, that hook is off meanwhile."""
    from huitouke.core.services import token_create

    found = {}
    for role in ("owner", "agent"):
        _token, key = token_create(user=make_user(role, username=f"fuzz-{role}"), name="fuzz")
        found[role] = key
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        yield found
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)


@pytest.mark.django_db(transaction=False)
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    derandomize=True,
    phases=[Phase.explicit, Phase.generate],
    suppress_health_check=list(HealthCheck),
)
def test_api_answers_as_documented(case: Any, tokens: dict[str, str]) -> None:
    for role in ("owner", "agent"):
        case.call_and_validate(headers={"Authorization": f"Bearer {tokens[role]}"}, checks=CHECKS)
