"""What `audiences` adds to the customer archive: the segment filter of the customer list, API and exports, so
"show the members" / "export the members" of a segment is the customer list with ?segment=ID."""

from __future__ import annotations

from typing import Any

from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from huitouke.customers.models import Customer
from huitouke.customers.registry import DetailPanel, ListFilter, register_filter, register_panel


def _segment_choices() -> list[tuple[str, str]]:
    from huitouke.audiences.selectors import segment_list

    return [(str(pk), name) for pk, name in segment_list().values_list("pk", "name")]


def _segment_filter(qs: QuerySet[Customer], value: str) -> QuerySet[Customer]:
    from huitouke.audiences.conditions import DefinitionError
    from huitouke.audiences.models import Segment
    from huitouke.audiences.selectors import segment_customers

    segment = Segment.objects.filter(pk=int(value)).first() if value.isdigit() else None
    if segment is None:
        return qs.none()
    try:
        members = segment_customers(segment.definition)
    except DefinitionError:
        return qs.none()
    return qs.filter(pk__in=members.values("pk"))


def _consent_context(customer: Customer, request: Any) -> dict[str, Any]:
    from huitouke.audiences.selectors import consent_group_status

    answers = consent_group_status(customer=customer)
    return {
        "answers": answers,
        "member": any(answers.values()),
        "can_change": request.user.has_perm("customers.change_customer"),
    }


def register() -> None:
    register_filter(ListFilter(key="segment", label=_("Segment"), choices=_segment_choices, apply=_segment_filter))
    register_panel(
        DetailPanel(
            key="consent_group",
            title=_("New products and promotions"),
            template="audiences/_consent_panel.html",
            context=_consent_context,
            order=8,
        )
    )
