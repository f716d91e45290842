"""REST endpoints of segments: list, read (with a live count), create, replace, delete, and count a draft.

Thin: check the permission -> call the audiences services/selectors -> respond. A definition that does not
validate comes back as 422 {code: "invalid", message, field: "definition"} where the message names the condition
and parameter (e.g. `conditions[1] (total_spent): min must not be greater than max`).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema, Status

from huitouke.audiences import selectors, services
from huitouke.audiences.conditions import DefinitionError
from huitouke.audiences.models import Segment
from huitouke.core.api import Int64, errors, require_perms
from huitouke.core.audit import record
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.schemas import TextInput
from huitouke.customers.models import Customer

router = Router(tags=["segments"])


class SegmentIn(TextInput):
    name: str
    description: str = ""
    definition: dict[str, Any] = {}


class DefinitionIn(TextInput):
    definition: dict[str, Any] = {}


class SegmentOut(Schema):
    id: int
    name: str
    description: str
    definition: dict[str, Any]
    last_count: int
    count: int | None = None


class CountOut(Schema):
    count: int


def _invalid(exc: DefinitionError) -> ApplicationError:
    more = f" (and {len(exc.messages) - 1} more)" if len(exc.messages) > 1 else ""
    error = ApplicationError(exc.messages[0] + more, field="definition")
    error.status = 422
    return error


def _get(pk: Int64) -> Segment:
    segment = Segment.objects.filter(pk=pk).first()
    if segment is None:
        raise NotFoundError(f"no segment {pk}", field="id")
    return segment


def _out(segment: Segment, *, count: bool = False) -> SegmentOut:
    live = None
    if count:
        try:
            live = selectors.segment_count(segment.definition)
        except DefinitionError as exc:
            raise _invalid(exc) from None
    return SegmentOut(
        id=segment.pk,
        name=segment.name,
        description=segment.description,
        definition=segment.definition,
        last_count=segment.last_count,
        count=live,
    )


@router.get("/segments", response=list[SegmentOut], summary="Saved segments")
def segments_list(request: HttpRequest) -> list[SegmentOut]:
    require_perms(request, "audiences.view_segment")
    return [_out(s) for s in selectors.segment_list()]


@router.post("/segments/count", response=CountOut, summary="Count the customers a draft definition selects")
def segments_count(request: HttpRequest, payload: DefinitionIn) -> CountOut:
    require_perms(request, "audiences.view_segment")
    try:
        return CountOut(count=selectors.segment_count(payload.definition))
    except DefinitionError as exc:
        raise _invalid(exc) from None


@router.post("/segments", response={201: SegmentOut}, summary="Create a segment")
def segments_create(request: HttpRequest, payload: SegmentIn) -> Status[Any]:
    require_perms(request, "audiences.add_segment")
    try:
        segment = services.segment_create(
            name=payload.name, description=payload.description, definition=payload.definition, user=request.user
        )
    except DefinitionError as exc:
        raise _invalid(exc) from None
    return Status(201, _out(segment))


@router.get("/segments/{pk}", response=SegmentOut, summary="A segment with its live member count")
def segments_get(request: HttpRequest, pk: Int64) -> SegmentOut:
    require_perms(request, "audiences.view_segment")
    return _out(_get(pk), count=True)


@router.put("/segments/{pk}", response=SegmentOut, summary="Replace a segment's name and conditions")
def segments_update(request: HttpRequest, pk: Int64, payload: SegmentIn) -> SegmentOut:
    require_perms(request, "audiences.change_segment")
    try:
        segment = services.segment_update(
            segment=_get(pk), name=payload.name, description=payload.description, definition=payload.definition
        )
    except DefinitionError as exc:
        raise _invalid(exc) from None
    return _out(segment)


@router.delete("/segments/{pk}", response={204: None}, summary="Delete a segment", openapi_extra=errors(409))
def segments_delete(request: HttpRequest, pk: Int64) -> Status[Any]:
    require_perms(request, "audiences.delete_segment")
    services.segment_delete(segment=_get(pk))
    record(actor=request.user, action=AuditEntry.Action.DELETE, target_type="segment", target_id=pk)
    return Status(204, None)


class ConsentGroupIn(TextInput):
    member: bool
    channels: list[str] | None = None


class ConsentGroupOut(Schema):
    customer: int
    member: bool
    channels: dict[str, bool | None]


@router.put(
    "/customers/{customer_id}/consent-groups/new_products",
    response=ConsentGroupOut,
    summary="Join or leave the new products and promotions group",
)
def consent_group_put(request: HttpRequest, customer_id: Int64, payload: ConsentGroupIn) -> ConsentGroupOut:
    """`{"member": true}` records the customer's yes on every channel (or only `channels`: sms, email, im);
    `{"member": false}` their no. Campaigns of type new_products or promotion reach only members."""
    require_perms(request, "customers.change_customer")
    customer = Customer.objects.filter(pk=customer_id, merged_into__isnull=True).first()
    if customer is None:
        raise NotFoundError(f"no customer {customer_id}", field="customer_id")
    services.consent_group_set(customer=customer, member=payload.member, source="api", channels=payload.channels)
    answers = selectors.consent_group_status(customer=customer)
    return ConsentGroupOut(customer=customer.pk, member=any(answers.values()), channels=answers)
