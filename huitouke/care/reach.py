"""How many of a marketing rule's audience the consent model leaves out, as a stored figure.

Counting it reads every customer of the audience (every customer for a rule without one) and their consent
answers, which grows with the archive (issue 22: a million customers). The rule page reads it from analytics'
FigureSnapshot instead: counted when the page is first opened on a day, again when the rule, its segment or the
shop's consent model has changed since, and by analytics' refresh after imports and at night (the refresher
registered in CareConfig.ready()). The page says when it was counted.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from django.utils import timezone

from huitouke.analytics.snapshots import StoredFigure, figure_keys, figure_read, figure_store, figures_forget
from huitouke.care.models import CareRule
from huitouke.care.selectors import rule_reach
from huitouke.messaging.selectors import MarketingReach, policy_settings_for

KEY = "care.reach"


@dataclass(frozen=True)
class StoredReach:
    """The reach of a rule as counted on the business date `day`, for the rule (and segment) as last saved at
    `version` under the consent model `model`."""

    day: date
    version: tuple[datetime | None, datetime | None]
    model: str
    reach: MarketingReach | None


def _key(rule: CareRule) -> str:
    return f"{KEY}:{rule.pk}"


def _version(rule: CareRule) -> tuple[datetime | None, datetime | None]:
    return (rule.updated_at, rule.segment.updated_at if rule.segment_id and rule.segment else None)


def _model(rule: CareRule) -> str:
    return policy_settings_for([rule.shop_id])[rule.shop_id][0].marketing_consent


def _count(rule: CareRule, today: date) -> StoredReach:
    return StoredReach(day=today, version=_version(rule), model=_model(rule), reach=rule_reach(rule))


def rule_reach_stored(rule: CareRule, *, today: date | None = None) -> StoredFigure | None:
    """The stored reach of a rule that sends marketing (`.value` a StoredReach, `.computed_at` when it was
    counted); None for other rules. Counted now when none is stored for today or what it depends on changed."""
    if rule.message_purpose != "marketing":
        return None
    today = today or timezone.localdate()
    version, model = _version(rule), _model(rule)
    return figure_read(
        key=_key(rule),
        compute=lambda: _count(rule, today),
        current=lambda v: isinstance(v, StoredReach) and (v.day, v.version, v.model) == (today, version, model),
    )


def reach_refresh(*, today: date | None = None) -> list[str]:
    """Count again the reach of each rule stored before that still sends marketing; drop the others (deleted or
    changed to care). Returns the keys written."""
    from huitouke.care.selectors import rule_list

    today = today or timezone.localdate()
    stored = {int(k.rsplit(":", 1)[1]): k for k in figure_keys(prefix=f"{KEY}:")}
    written = []
    for rule in rule_list().filter(pk__in=stored):
        if rule.message_purpose == "marketing":
            _store(rule, today)
            written.append(_key(rule))
    figures_forget(keys=[k for k in stored.values() if k not in written])
    return written


def _store(rule: CareRule, today: date) -> StoredFigure:
    return figure_store(key=_key(rule), compute=lambda: _count(rule, today))
