"""The campaign templates: every scenario in both languages and three channels, valid variables, loaded by migrate."""

from __future__ import annotations

import pytest

from huitouke.campaigns.library import SCENARIOS, library_rows
from huitouke.messaging import rendering
from huitouke.messaging.models import Template


def test_every_scenario_has_both_languages_on_every_channel():
    rows = list(library_rows())
    keys = {s.key for s in SCENARIOS}
    assert keys == {"campaign_restock", "campaign_holiday_sale", "campaign_member_day", "campaign_winback_coupon"}
    assert {(r["key"], r["language"], r["channel"]) for r in rows} == {
        (k, lang, ch) for k in keys for lang in ("zh-hans", "en") for ch in ("sms", "email", "manual")
    }


@pytest.mark.parametrize("row", list(library_rows()), ids=lambda r: f"{r['key']}-{r['channel']}-{r['language']}")
def test_each_text_uses_known_variables_and_sms_carry_the_opt_out_hint(row):
    rendering.variables_in(row["subject"] + "\n" + row["body"])  # raises on an unknown {variable}
    assert row["purpose"] == "marketing"
    if row["channel"] == "sms":
        assert rendering.sms_with_unsubscribe(row["body"], row["language"]) == row["body"].rstrip()


@pytest.mark.django_db
def test_they_are_loaded_with_the_library_and_offered_to_campaigns():
    from huitouke.campaigns.forms import CampaignForm

    loaded = Template.objects.filter(system=True, key__startswith="campaign_")
    assert loaded.count() == 24
    offered = set(CampaignForm().fields["template"].queryset.values_list("key", flat=True))  # type: ignore[attr-defined]
    assert {"campaign_restock", "new_arrival"} <= offered
