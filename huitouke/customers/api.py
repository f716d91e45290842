"""REST endpoints of the customer archive: list/search, detail, create, update, notes and tags.

Thin: parse (schemas) -> check the permission -> call one selector/service -> mask -> respond. Contact data is
masked unless the caller holds core.unmask_pii; every response that shows it unmasked writes one audit entry.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils import timezone
from ninja import Query, Router, Status

from huitouke.core.api import Int64, errors, masker_for, require_perms
from huitouke.core.errors import NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.pii import Masker
from huitouke.core.services import audit_log
from huitouke.customers import selectors, services
from huitouke.customers.models import Customer
from huitouke.customers.schemas import (
    CustomerFilter,
    CustomerIn,
    CustomerOut,
    CustomerPage,
    CustomerPatch,
    IdentityOut,
    NoteIn,
    NoteOut,
    TagIn,
    TagOut,
)

router = Router(tags=["customers"])

VIEW, ADD, CHANGE = "customers.view_customer", "customers.add_customer", "customers.change_customer"
TAG_ADD, TAG_REMOVE, TAG_CREATE = "customers.add_customertag", "customers.delete_customertag", "customers.add_tag"


def customer_out(customer: Customer, masker: Masker) -> CustomerOut:
    """A customer loaded by customer_list_rows/customer_get (identities and tags prefetched), as JSON."""
    return CustomerOut(
        id=customer.pk,
        name=customer.name,
        real_name=customer.real_name,
        gender=customer.gender,
        identities=[
            IdentityOut(platform=i.platform, handle=masker.identifier(i.handle)) for i in customer.identities.all()
        ],
        phone=masker.phone(customer.phone),
        email=masker.email(customer.email),
        province=customer.province,
        city=customer.city,
        district=customer.district,
        address=masker.street(province=customer.province, city=customer.city, address=customer.address),
        level=getattr(customer, "level", None),
        order_count=customer.order_count,
        total_spent=f"{customer.total_spent:.2f}",
        first_order_at=customer.first_order_at,
        last_order_at=customer.last_order_at,
        birthday=customer.birthday,
        birthday_calendar=customer.birthday_calendar,
        pref_choice=customer.pref_choice,
        pref_decision=customer.pref_decision,
        pref_price=customer.pref_price,
        pref_knowledge=customer.pref_knowledge,
        tags=[t.name for t in customer.tags.all()],
        merged_into=customer.merged_into_id,
        created_at=customer.created_at,
        updated_at=customer.updated_at,
    )


def _detail(request: HttpRequest, customer_id: Int64) -> CustomerOut:
    masker = masker_for(request)
    customer = selectors.customer_get(customer_id=customer_id)
    if masker.unmasked:
        audit_log(actor=request.user, action=AuditEntry.Action.UNMASK, target_type="customer", target_id=customer.pk)
    return customer_out(customer, masker)


@router.get("/customers", response=CustomerPage, summary="List and search customers", openapi_extra=errors(429))
def customer_list(request: HttpRequest, filters: Query[CustomerFilter]) -> dict[str, Any]:
    """Active customers matching the filters, one page at a time, in the requested sort order."""
    require_perms(request, VIEW)
    params = filters.model_dump(exclude={"page", "page_size"}, exclude_none=True)
    masker = masker_for(request)
    wanted = selectors.CustomerFilter.from_params({k: str(v) for k, v in params.items()}, unmasked=masker.unmasked)
    services.contact_search_record(actor=request.user, filters=wanted)
    # Scripts page through every match (no live-search cap); the count is exact either way.
    qs = selectors.customer_list(filters=wanted, capped=False)
    count = selectors.customer_count(filters=wanted)
    start = (filters.page - 1) * filters.page_size
    rows = list(selectors.customer_list_rows(qs)[start : start + filters.page_size])
    if masker.unmasked and rows:
        audit_log(
            actor=request.user,
            action=AuditEntry.Action.UNMASK,
            target_type="customer_list",
            ids=[c.pk for c in rows],
        )
    return {"items": [customer_out(c, masker) for c in rows], "count": count}


@router.post("/customers", response={201: CustomerOut}, summary="Create a customer")
def customer_create(request: HttpRequest, payload: CustomerIn) -> Status[CustomerOut]:
    """Create a customer with optional identities and tags (new tag names are created)."""
    require_perms(request, ADD, *([TAG_ADD, TAG_CREATE] if payload.tags else []))
    values = payload.model_dump(exclude={"identities", "tags"}, exclude_unset=True)
    with transaction.atomic():
        customer = services.customer_create(identities=[(i.platform, i.handle) for i in payload.identities], **values)
        if payload.tags:
            services.customer_tags_set(customer=customer, names=payload.tags)
    return Status(201, _detail(request, customer.pk))


@router.get("/customers/{customer_id}", response=CustomerOut, summary="One customer")
def customer_detail(request: HttpRequest, customer_id: Int64) -> CustomerOut:
    """One customer; a merged one is returned too, with `merged_into` pointing at the customer it became."""
    require_perms(request, VIEW)
    return _detail(request, customer_id)


@router.patch("/customers/{customer_id}", response=CustomerOut, summary="Change a customer")
def customer_update(request: HttpRequest, customer_id: Int64, payload: CustomerPatch) -> CustomerOut:
    """Change only the fields sent; `tags`, when sent, becomes the customer's complete list of tags."""
    values = payload.model_dump(exclude_unset=True)
    tags = values.pop("tags", None)
    require_perms(request, CHANGE, *([TAG_ADD, TAG_REMOVE, TAG_CREATE] if tags is not None else []))
    customer = selectors.customer_get(customer_id=customer_id)
    with transaction.atomic():
        if values:
            services.customer_update(customer=customer, **values)
        if tags is not None:
            services.customer_tags_set(customer=customer, names=tags)
    return _detail(request, customer.pk)


@router.get("/customers/{customer_id}/notes", response=list[NoteOut], summary="A customer's notes")
def note_list(request: HttpRequest, customer_id: Int64) -> list[NoteOut]:
    """The customer's sticky notes (记事贴), pinned first, newest first."""
    require_perms(request, VIEW, "customers.view_note")
    customer = selectors.customer_get(customer_id=customer_id)
    return [_note_out(n) for n in selectors.note_list_for_customer(customer=customer)]


@router.post("/customers/{customer_id}/notes", response={201: NoteOut}, summary="Add a note")
def note_add(request: HttpRequest, customer_id: Int64, payload: NoteIn) -> Status[NoteOut]:
    """Add a note signed by the token's user."""
    require_perms(request, "customers.add_note")
    customer = selectors.customer_get(customer_id=customer_id)
    owner = selectors.follow_up_owner_get(username=payload.follow_up_owner) if payload.follow_up_owner else None
    note = services.note_add(
        customer=customer,
        author=request.user,
        body=payload.body,
        pinned=payload.pinned,
        follow_up_on=payload.follow_up_on,
        follow_up_owner=owner,
    )
    return Status(201, _note_out(note))


@router.post("/customers/{customer_id}/notes/{note_id}/done", response=NoteOut, summary="Mark a note's follow-up done")
def note_follow_up_done(request: HttpRequest, customer_id: Int64, note_id: Int64) -> NoteOut:
    """The follow-up leaves its owner's list and the dashboard; marking it again changes nothing. 400 when the
    note has no follow-up, 404 for an unknown customer or note."""
    require_perms(request, "customers.add_note")
    note = selectors.note_get(customer_id=selectors.customer_get(customer_id=customer_id).pk, note_id=note_id)
    return _note_out(services.note_follow_up_done(note=note, actor=request.user))


@router.get("/follow-ups", response=list[NoteOut], summary="My open follow-ups")
def follow_up_list(request: HttpRequest, due: bool = False) -> list[NoteOut]:
    """The token user's follow-ups not marked done, earliest first (at most 500); `due=true`: only those due
    by today (business date), overdue ones included."""
    require_perms(request, VIEW, "customers.view_note")
    due_by = timezone.localdate() if due else None
    return [_note_out(n) for n in selectors.follow_ups_open(owner=request.user, due_by=due_by)[:500]]


def _note_out(note: Any) -> NoteOut:
    return NoteOut(
        id=note.pk,
        customer_id=note.customer_id,
        body=note.body,
        pinned=note.pinned,
        author=note.author.get_username() if note.author else None,
        created_at=note.created_at,
        follow_up_on=note.follow_up_on,
        follow_up_owner=note.follow_up_owner.get_username() if note.follow_up_owner else None,
        follow_up_done_at=note.follow_up_done_at,
    )


@router.get("/tags", response=list[TagOut], summary="Every tag")
def tag_list(request: HttpRequest) -> list[TagOut]:
    """Every tag, by name."""
    require_perms(request, "customers.view_tag")
    return [TagOut(name=t.name, color=t.color) for t in selectors.tag_list()]


@router.post("/customers/{customer_id}/tags", response={201: list[str]}, summary="Tag a customer")
def customer_tag(request: HttpRequest, customer_id: Int64, payload: TagIn) -> Status[list[str]]:
    """Put a tag on the customer (a new name creates the tag); returns the customer's tag names."""
    require_perms(request, TAG_ADD)
    if not selectors.tag_list().filter(name=payload.name.strip()).exists():
        require_perms(request, TAG_CREATE)
    customer = selectors.customer_get(customer_id=customer_id)
    services.customers_tag(customer_ids=[customer.pk], tag_name=payload.name)
    return Status(201, [t.name for t in selectors.customer_get(customer_id=customer.pk).tags.all()])


@router.delete("/customers/{customer_id}/tags/{name}", response={204: None}, summary="Untag a customer")
def customer_untag(request: HttpRequest, customer_id: Int64, name: str) -> Status[None]:
    """Take a tag off the customer; 404 when the customer does not carry it."""
    require_perms(request, TAG_REMOVE)
    customer = selectors.customer_get(customer_id=customer_id)
    if "\x00" in name or not services.customers_untag(customer_ids=[customer.pk], tag_name=name):
        raise NotFoundError(f"customer {customer.pk} has no tag {name!r}", field="name")
    return Status(204, None)
