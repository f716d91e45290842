"""PIPL requests for one customer: a copy of everything held about them, and erasure; and the retention rule.

`customers` sits below the apps that hold a customer's orders, messages, tickets, visits and reviews, so it reads
them through Django's relations (every model with a foreign key to Customer, and the rows that hang off those),
never by importing those apps. What erasure clears in them is declared here, by model label, in `ERASE_IN`.

- `customer_data_export`: one JSON document and one XLSX workbook (a sheet per kind of record) in a ZIP bundle:
  the profile (clear, the export is for the customer), identities, tags, notes, consents, every related record
  and the audit entries about the customer (who saw, exported, merged them). Audited (action `data_export`).
- `customer_erase`: removes or irreversibly overwrites the personal data everywhere, keeping orders and their
  amounts (the shop's figures stay right): the profile is blanked (name becomes "#id"), handles are replaced by
  "erased:<id>", notes, tags and uploaded photos are deleted, order addresses and remarks, message texts and
  addresses, ticket, survey and review texts, visit feedback are cleared. `erased_at` is set, so messaging never
  sends to them again. Erasing an erased customer changes nothing and writes no second entry. Audited (action
  `data_erase`).
- `customers_retention_erase`: erases every customer whose last order (or, with none, creation) is older than
  settings.HUITOUKE_PII_RETENTION_YEARS years; the periodic tick calls it.
"""

from __future__ import annotations

import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.db import connection, models, transaction
from django.db.models import Q
from django.db.models.expressions import RawSQL
from django.utils import timezone
from openpyxl import Workbook

from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.models import AuditEntry
from huitouke.core.services import audit_log
from huitouke.core.text import sheet_cells
from huitouke.customers.models import Customer, CustomerIdentity, CustomerTag, Note

#: Audit actions of the two requests.
EXPORT_ACTION = AuditEntry.Action.DATA_EXPORT
ERASE_ACTION = AuditEntry.Action.DATA_ERASE
#: Rows per kind of record in an export (a customer with more is exported with the first ones and a note saying
#: how many were left out): bounds the work one request causes.
EXPORT_MAX_ROWS = 20_000
#: Customers erased per transaction by the retention job.
RETENTION_BATCH = 500

#: What erasure overwrites in the records of other apps, by model label: field → the value written. Amounts,
#: dates, statuses and order numbers are kept (the shop's figures).
ERASE_IN: dict[str, dict[str, Any]] = {
    "orders.order": {
        "receiver_name": "",
        "receiver_phone": "",
        "receiver_address": "",
        "buyer_remark": "",
        "gift": "",
    },
    "messaging.message": {"to_address": "", "subject": "", "body": "", "params": {}, "detail": ""},
    "service.ticket": {"subject": "—", "description": "", "resolve_reason": ""},
    "service.ticketreply": {"body": "—"},
    "service.ticketevent": {"note": ""},
    "service.compensation": {"note": ""},
    "reviews.review": {"content": "", "follow_up": "", "reply": "", "nick": ""},
    "visits.visittask": {"feedback": "", "answers": {}},
    "service.survey": {"comment": "", "answers": {}},
}
#: Records erasure deletes with their files (photos a customer uploaded), by model label.
DELETE_IN = {"service.attachment"}
#: Profile fields erasure clears (name, province and city are handled apart: "#id", kept for regional figures).
ERASED_PROFILE = {
    "real_name": "",
    "gender": "",
    "birthday": None,
    "phone": "",
    "email": "",
    "district": "",
    "address": "",
    "pref_choice": "",
    "pref_decision": "",
    "pref_price": "",
    "pref_knowledge": "",
}


class CustomerMergedError(ApplicationError):
    """The customer was merged into another: the request is made for the customer it was merged into."""


@dataclass(frozen=True)
class ExportBundle:
    """What `customer_data_export` produced: the ZIP's bytes and its parts (for the CLI and tests)."""

    filename: str
    content: bytes
    data: dict[str, Any]


def _customer(customer_id: int, *, for_update: bool = False) -> Customer:
    qs = Customer.objects.select_for_update() if for_update else Customer.objects.all()
    customer = qs.filter(pk=customer_id).first()
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", field="id")
    return customer


def _cell(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, (dict, list)):
        return value
    if value is None or isinstance(value, (bool, int, float, str)):
        return value
    return str(value)


def _row(obj: models.Model) -> dict[str, Any]:
    return {f.attname: _cell(getattr(obj, f.attname)) for f in obj._meta.concrete_fields}


def _reverse_relations(model: type[models.Model]) -> Iterator[tuple[type[models.Model], str]]:
    """(model, field name) of every foreign key pointing at `model`, in a fixed order."""
    found = [
        (rel.related_model, rel.field.name)
        for rel in model._meta.related_objects
        if rel.one_to_many and not rel.field.many_to_many and isinstance(rel.related_model, type)
    ]
    yield from sorted(found, key=lambda pair: (pair[0]._meta.label_lower, pair[1]))


#: Relations of a customer that the profile part of the export covers, or that are no data about the person.
_OWN = {"customers.customeridentity", "customers.customertag", "customers.note", "customers.consent"}
_SKIP = {"customers.customer"}


def _related_sections(customer: Customer) -> dict[str, dict[str, Any]]:
    """Every record that points at the customer (orders, messages, tickets, visits, reviews, level history …) and
    every record that points at those (order lines, ticket replies …), per model label."""
    sections: dict[str, dict[str, Any]] = {}
    seen: dict[str, set[Any]] = {}

    def add(model: type[models.Model], qs: models.QuerySet[Any]) -> list[Any]:
        label = model._meta.label_lower
        total = qs.count()
        rows = list(qs.order_by("pk")[:EXPORT_MAX_ROWS])
        section = sections.setdefault(label, {"rows": [], "left_out": 0})
        known = seen.setdefault(label, set())
        # a record reached twice (a ticket is the customer's and its order's) is listed once
        section["rows"].extend(_row(r) for r in rows if r.pk not in known)
        known.update(r.pk for r in rows)
        section["left_out"] += max(total - len(rows), 0)
        return [r.pk for r in rows]

    for model, field in _reverse_relations(Customer):
        label = model._meta.label_lower
        if label in _OWN or label in _SKIP:
            continue
        ids = add(model, model._default_manager.filter(**{field: customer}))
        if not ids:
            continue
        for child, child_field in _reverse_relations(model):
            if child._meta.label_lower in _SKIP:
                continue
            add(child, child._default_manager.filter(**{f"{child_field}__in": ids}))
    return {k: v for k, v in sections.items() if v["rows"]}


def _listed_in(customer_id: int) -> Any:
    """Ids of the audit entries of list pages that showed this customer unmasked (`detail.ids` holds it)."""
    if connection.vendor == "postgresql":
        return AuditEntry.objects.filter(detail__ids__contains=[customer_id]).values("id")
    table = connection.ops.quote_name(AuditEntry._meta.db_table)
    return RawSQL(f"SELECT a.id FROM {table} a, json_each(a.detail, '$.ids') j WHERE j.value = %s", [customer_id])


def _audit_rows(customer: Customer) -> list[dict[str, Any]]:
    """Who did what about the customer: entries naming them, and list pages that showed them unmasked."""
    own = Q(target_type="customer", target_id=str(customer.pk))
    listed = Q(target_type="customer_list", id__in=_listed_in(customer.pk))
    entries = AuditEntry.objects.filter(own | listed).order_by("created_at", "id")
    return [
        {
            "at": _cell(e.created_at),
            "who": e.actor_name,
            "action": e.action,
            "object": e.target_type,
            # the merge snapshot is someone else's profile, the ids of a list other customers
            "detail": {k: v for k, v in e.detail.items() if k not in ("source", "ids")},
        }
        for e in entries[:EXPORT_MAX_ROWS]
    ]


def customer_data_collect(*, customer: Customer) -> dict[str, Any]:
    """Everything held about one customer, as JSON-ready data (clear values: this is their own data)."""
    profile = _row(customer)
    for name in ("phone_digest", "phone_last4_digest", "email_digest", "real_name_digest"):
        profile.pop(name, None)
    return {
        "customer": profile,
        "identities": [_row(i) for i in CustomerIdentity.objects.filter(customer=customer).order_by("pk")],
        "tags": list(
            CustomerTag.objects.filter(customer=customer).order_by("tag__name").values_list("tag__name", flat=True)
        ),
        "notes": [_row(n) for n in Note.objects.filter(customer=customer).order_by("pk")],
        "consents": [_row(c) for c in customer.consents.order_by("channel", "purpose")],
        "related": _related_sections(customer),
        "audit": _audit_rows(customer),
    }


def _sheet_name(label: str, used: set[str]) -> str:
    name = label.replace(".", " ")[:31]
    n = 2
    while name in used:
        name = f"{label[:27]} {n}"
        n += 1
    used.add(name)
    return name


def _workbook(data: dict[str, Any]) -> bytes:
    """The export as a workbook: the profile as field/value pairs, then a sheet per kind of record."""
    book = Workbook(write_only=True)
    used: set[str] = set()
    sheet = book.create_sheet(_sheet_name("customer", used))
    for key, value in data["customer"].items():
        sheet.append(sheet_cells([key, _flat(value)]))
    tables: list[tuple[str, list[dict[str, Any]]]] = [
        ("identities", data["identities"]),
        ("tags", [{"tag": t} for t in data["tags"]]),
        ("notes", data["notes"]),
        ("consents", data["consents"]),
        *((label, section["rows"]) for label, section in data["related"].items()),
        ("audit", data["audit"]),
    ]
    for label, rows in tables:
        if not rows:
            continue
        sheet = book.create_sheet(_sheet_name(label, used))
        header = list(rows[0])
        sheet.append(header)
        for row in rows:
            sheet.append(sheet_cells([_flat(row.get(k)) for k in header]))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _flat(value: Any) -> Any:
    if isinstance(value, (dict, list)):
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    return value


def customer_data_export(*, customer_id: int, actor: Any) -> ExportBundle:
    """A copy of everything held about one customer, for their PIPL access request: a ZIP holding
    customer-<id>.json and customer-<id>.xlsx. Writes one audit entry (data_export). Raises NotFoundError, and
    CustomerMergedError for a merged customer (their data lives with the customer they were merged into)."""
    customer = _customer(customer_id)
    if customer.merged_into_id:
        raise CustomerMergedError(
            f"customer {customer_id} was merged into customer {customer.merged_into_id}: export that one",
            field="id",
        )
    data = customer_data_collect(customer=customer)
    stem = f"customer-{customer.pk}"
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as bundle:
        bundle.writestr(f"{stem}.json", json.dumps(data, ensure_ascii=False, indent=2, sort_keys=True))
        bundle.writestr(f"{stem}.xlsx", _workbook(data))
    counts = {"related": {k: len(v["rows"]) for k, v in data["related"].items()}, "audit": len(data["audit"])}
    audit_log(actor=actor, action=EXPORT_ACTION, target_type="customer", target_id=customer.pk, counts=counts)
    return ExportBundle(filename=f"{stem}.zip", content=buffer.getvalue(), data=data)


def _erase_related(customer: Customer) -> dict[str, int]:
    """Overwrite ERASE_IN's fields in every record pointing at the customer and in the records under those."""
    counts: dict[str, int] = {}
    for model, field in _reverse_relations(Customer):
        label = model._meta.label_lower
        if label in _OWN or label in _SKIP:
            continue
        own = model._default_manager.filter(**{field: customer})
        if label in ERASE_IN:
            counts[label] = counts.get(label, 0) + own.update(**ERASE_IN[label])
        for child, child_field in _reverse_relations(model):
            child_label = child._meta.label_lower
            if child_label in DELETE_IN:
                rows = list(child._default_manager.filter(**{f"{child_field}__in": own.values("pk")}))
                for row in rows:
                    for f in row._meta.concrete_fields:
                        if isinstance(f, models.FileField):
                            getattr(row, f.attname).delete(save=False)
                    row.delete()
                counts[child_label] = counts.get(child_label, 0) + len(rows)
            elif child_label in ERASE_IN:
                done = child._default_manager.filter(**{f"{child_field}__in": own.values("pk")}).update(
                    **ERASE_IN[child_label]
                )
                counts[child_label] = counts.get(child_label, 0) + done
    return counts


def _erase_one(customer: Customer, now: datetime) -> dict[str, int]:
    counts = _erase_related(customer)
    counts["customers.note"] = Note.objects.filter(customer=customer).delete()[0]
    counts["customers.customertag"] = CustomerTag.objects.filter(customer=customer).delete()[0]
    identities = list(CustomerIdentity.objects.filter(customer=customer))
    for identity in identities:
        identity.handle = f"erased:{identity.pk}"
    CustomerIdentity.objects.bulk_update(identities, ["handle", "updated_at"])
    counts["customers.customeridentity"] = len(identities)
    for name, value in ERASED_PROFILE.items():
        setattr(customer, name, value)
    customer.name = f"#{customer.pk}"
    customer.erased_at = now
    customer.save(update_fields=[*ERASED_PROFILE, "name", "erased_at", "updated_at"])
    return counts


def customer_erase(*, customer_id: int, actor: Any) -> Customer:
    """Erase one customer's personal data on request (PIPL): see the module's docstring for what goes. The
    orders and their amounts stay. Erasing an erased customer does nothing (no second audit entry). One audit
    entry (data_erase) with how many records were cleared. Raises NotFoundError, CustomerMergedError."""
    with transaction.atomic():
        customer = _customer(customer_id, for_update=True)
        if customer.merged_into_id:
            raise CustomerMergedError(
                f"customer {customer_id} was merged into customer {customer.merged_into_id}: erase that one",
                field="id",
            )
        if customer.erased_at is not None:
            return customer
        counts = _erase_one(customer, timezone.now())
        for source in Customer.objects.filter(merged_into=customer).select_for_update():
            # the tombstones of customers merged into this one still hold their old profile
            _erase_one(source, timezone.now())
        audit_log(actor=actor, action=ERASE_ACTION, target_type="customer", target_id=customer.pk, cleared=counts)
    return customer


def retention_cutoff(*, years: int, today: date) -> date:
    """The day before which a last order makes a customer due for anonymisation (29 February → 28 February)."""
    try:
        return today.replace(year=today.year - years)
    except ValueError:
        return today.replace(year=today.year - years, day=28)


def customers_retention_due(*, years: int, today: date | None = None) -> models.QuerySet[Customer]:
    """Customers not erased nor merged whose last order (or, with no order, whose creation) lies more than `years`
    years back."""
    day = retention_cutoff(years=years, today=today or timezone.localdate())
    cutoff = datetime.combine(day, datetime.min.time(), tzinfo=timezone.get_current_timezone())
    stale = Q(last_order_at__lt=cutoff) | Q(last_order_at__isnull=True, created_at__lt=cutoff)
    return Customer.objects.filter(stale, erased_at__isnull=True, merged_into__isnull=True).order_by("pk")


def customers_retention_erase(*, years: int | None = None, limit: int | None = None) -> int:
    """Erase the customers kept longer than the retention setting (settings.HUITOUKE_PII_RETENTION_YEARS, or
    `years`; 0 turns it off), in batches, each one audited as an erasure by "system"; returns how many."""
    keep = settings.HUITOUKE_PII_RETENTION_YEARS if years is None else years
    if keep <= 0:
        return 0
    done = 0
    while limit is None or done < limit:
        take = RETENTION_BATCH if limit is None else min(RETENTION_BATCH, limit - done)
        ids = list(customers_retention_due(years=keep).values_list("pk", flat=True)[:take])
        if not ids:
            break
        for customer_id in ids:
            customer_erase(customer_id=customer_id, actor=None)
        done += len(ids)
    return done
