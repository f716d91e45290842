"""core.rows gives what the template tags give, from work done once per page."""

from __future__ import annotations

import pytest
from django.template.defaultfilters import truncatechars
from django.urls import reverse
from django.utils import translation

from huitouke.core.rows import choice_labels, excerpter, link_for
from huitouke.reviews.models import Result


@pytest.mark.parametrize("language", ["zh-hans", "en"])
def test_excerpts_match_truncatechars(language: str) -> None:
    texts = ["", "短", "亲" * 80, "亲" * 81, "a" * 200, "e\u0301" * 3 + "x" * 90]
    with translation.override(language):
        cut = excerpter(80)
        assert [cut(t) for t in texts] == [truncatechars(t, 80) for t in texts]
        assert len(cut("亲" * 81)) == 80


def test_links_and_labels() -> None:
    detail = link_for("reviews:detail")
    assert [detail(7), detail(2**63 - 1)] == [reverse("reviews:detail", args=[7]), f"/reviews/{2**63 - 1}/"]
    with translation.override("zh-hans"):
        labels = choice_labels(Result.choices)
        assert labels["bad"] == str(Result.BAD.label)
