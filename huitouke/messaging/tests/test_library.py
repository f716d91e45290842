"""The system template library: complete, valid, both languages, marketing SMS end with the unsubscribe hint."""

from __future__ import annotations

import pytest

from huitouke.messaging import rendering
from huitouke.messaging.library import SCENARIOS, library_load, library_register, library_rows
from huitouke.messaging.models import Template


def test_every_scenario_has_three_channels_in_two_languages():
    rows = library_rows()
    assert len(rows) == len(SCENARIOS) * 3 * 2
    assert len({(r["key"], r["channel"], r["language"]) for r in rows}) == len(rows)


@pytest.mark.parametrize("row", library_rows(), ids=lambda r: f"{r['key']}-{r['channel']}-{r['language']}")
def test_every_text_is_a_valid_template(row):
    rendering.parse(row["body"])
    rendering.parse(row["subject"])
    if row["channel"] == "email":
        assert row["subject"]
    if row["channel"] == "sms":
        if row["purpose"] == "marketing":
            assert rendering.sms_with_unsubscribe(row["body"], row["language"]) == row["body"]
        # a realistic fill keeps a care SMS within two parts with a shop signature
        filled = rendering.render(row["body"], dict.fromkeys(rendering.VARIABLES, "x" * 6)).text
        assert rendering.sms_count(filled, signature="茶小铺").parts <= 2


def test_chinese_texts_speak_to_the_customer_as_qin():
    zh_sms = [s.zh.sms for s in SCENARIOS]
    assert sum("亲" in text for text in zh_sms) >= len(zh_sms) - 2


@pytest.mark.django_db
def test_load_is_idempotent_and_takes_registered_rows():
    library_register(
        "tests",
        lambda: [
            {
                "key": "test_extra",
                "channel": "sms",
                "language": "en",
                "purpose": "care",
                "name": "Extra",
                "body": "Hi {name}",
            }
        ],
    )
    try:
        first = library_load()
        again = library_load()
    finally:
        from huitouke.messaging import library

        library._REGISTERED.pop("tests")
    assert first["created"] == 1  # the rest came with migrate
    assert (again["created"], again["updated"]) == (0, 0)
    assert Template.objects.get(key="test_extra").system
