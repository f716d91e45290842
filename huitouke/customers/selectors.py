"""Reads of the customer archive: the filtered list, search, the 360 page and the timeline."""

from __future__ import annotations

import re
from dataclasses import dataclass, field, fields, replace
from datetime import date, datetime, time
from decimal import Decimal, InvalidOperation
from heapq import nlargest
from typing import Any

from django.contrib.auth import get_user_model
from django.db import connection
from django.db.models import Prefetch, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from huitouke.core.counting import ListCount, list_count
from huitouke.core.errors import ApplicationError, NotFoundError
from huitouke.core.pii import PHONE_RUN
from huitouke.customers.models import Customer, CustomerIdentity, Note, Tag
from huitouke.customers.pii import email_match, last4_match, phone_match, real_name_match
from huitouke.customers.registry import TimelineEvent, registry

#: Longest search string that is looked up; longer input is cut (nothing in the archive is that long).
SEARCH_MAX = 128
#: A live search lists at most this many matches (sorted and paginated among themselves); a broader search
#: (a two-letter pinyin prefix matching tens of thousands) says how many match and asks for more letters.
#: This bounds the work per keystroke whatever the archive's size.
SEARCH_CAP = 2000

SORTS = {
    "last_order": ("-last_order_at", "-id"),
    "-last_order": ("last_order_at", "id"),
    "spent": ("-total_spent", "-id"),
    "-spent": ("total_spent", "id"),
    "orders": ("-order_count", "-id"),
    "-orders": ("order_count", "id"),
    "created": ("-created_at", "-id"),
    "name": ("name", "id"),
}
DEFAULT_SORT = "last_order"


@dataclass(frozen=True)
class CustomerFilter:
    """Every way the archive can be narrowed, shared by the list page, exports, the API and the CLI.

    `extra` holds the values of filters registered by other apps (shop, level …), keyed by filter key.
    `contact_prefix` lets the search match phones, emails and handles that are contact data by prefix: only for
    viewers who may see contact data unmasked (`from_params(..., unmasked=True)`). Everyone else finds them by
    the whole value or a phone's last four digits (see `contact_search_kind`): a prefix search would let them
    read a masked number digit by digit.
    """

    search: str = ""
    tag: str = ""
    province: str = ""
    last_order_from: date | None = None
    last_order_to: date | None = None
    spent_min: Decimal | None = None
    spent_max: Decimal | None = None
    orders_min: int | None = None
    orders_max: int | None = None
    sort: str = DEFAULT_SORT
    extra: dict[str, str] = field(default_factory=dict)
    contact_prefix: bool = False

    @classmethod
    def from_params(cls, params: Any, *, unmasked: bool = False) -> CustomerFilter:
        """Build a filter from query parameters; a bad value raises ApplicationError naming the parameter.
        `unmasked`: the viewer holds core.unmask_pii (their search may match contact data by prefix)."""

        def text(name: str) -> str:
            value = params.get(name) or ""
            # NUL cannot be stored or compared by PostgreSQL; nothing in the archive contains one.
            return str(value).replace("\x00", "").strip()

        def as_date(name: str) -> date | None:
            raw = text(name)
            if not raw:
                return None
            try:
                return date.fromisoformat(raw)
            except ValueError as exc:
                raise ApplicationError(
                    _("%(name)s must be a date like 2025-06-18") % {"name": name}, field=name
                ) from exc

        def as_decimal(name: str) -> Decimal | None:
            raw = text(name)
            if not raw:
                return None
            try:
                value = Decimal(raw)
            except InvalidOperation as exc:
                raise ApplicationError(
                    _("%(name)s must be an amount like 199.00") % {"name": name}, field=name
                ) from exc
            if not value.is_finite() or value < 0 or value > Decimal("1e12"):
                raise ApplicationError(_("%(name)s must be an amount between 0 and 10^12") % {"name": name}, field=name)
            return value

        def as_int(name: str) -> int | None:
            raw = text(name)
            if not raw:
                return None
            if not raw.isdigit() or len(raw) > 9:
                raise ApplicationError(_("%(name)s must be a whole number") % {"name": name}, field=name)
            return int(raw)

        sort = text("sort") or DEFAULT_SORT
        if sort not in SORTS:
            raise ApplicationError(_("sort must be one of %(sorts)s") % {"sorts": ", ".join(SORTS)}, field="sort")
        own = {f.name for f in fields(cls)}
        extra = {k: text(k) for k in registry.filters if k not in own and text(k)}
        return cls(
            search=text("search")[:SEARCH_MAX],
            tag=text("tag"),
            province=text("province"),
            last_order_from=as_date("last_order_from"),
            last_order_to=as_date("last_order_to"),
            spent_min=as_decimal("spent_min"),
            spent_max=as_decimal("spent_max"),
            orders_min=as_int("orders_min"),
            orders_max=as_int("orders_max"),
            sort=sort,
            extra=extra,
            contact_prefix=unmasked,
        )

    def is_empty(self) -> bool:
        return self == CustomerFilter(sort=self.sort, contact_prefix=self.contact_prefix)


_PHONE_JUNK = re.compile(r"[\s\-()]")
#: The kinds of search that look a customer up by contact data, for viewers who may not see it: the whole email,
#: the whole phone number (or a masked one as the archive stores it), or a phone's last four digits.
EMAIL, PHONE, LAST4 = "email", "phone", "last4"


def _phone_query(q: str) -> str:
    phone = _PHONE_JUNK.sub("", q)
    return phone[3:] if phone.startswith("+86") else phone


def contact_search_kind(q: str) -> str | None:
    """What a search by a viewer without core.unmask_pii looks up as contact data: EMAIL (a value with "@"),
    PHONE (at least PHONE_RUN digits, or a masked number like 136****0792), LAST4 (exactly four digits), or None
    (a name or handle: matched by prefix, but never against handles that are contact data). Pure."""
    if "@" in q:
        return EMAIL
    phone = _phone_query(q)
    digits = phone.removeprefix("+")
    if len(digits) == 4 and digits.isdigit() and not phone.startswith("+"):
        return LAST4
    if len(digits) >= PHONE_RUN and digits.replace("*", "").isdigit() and any(c.isdigit() for c in digits):
        return PHONE
    return None


def _search_ids(q: str, *, contact_prefix: bool) -> QuerySet[Any, int]:
    """Ids of customers whose display name starts with `q`, whose handle matches it, or whose real name, phone or
    email is it.

    Real names, phones and emails are encrypted at rest, so they match as whole values only, through their keyed
    digests (customers.pii): the whole phone number, its last four digits, the email, the real name; for every
    viewer. With `contact_prefix` (viewers who see contact data) handles match by prefix whatever they hold;
    without it the handle prefix branch leaves out handles that are contact data (an email or phone used as a
    handle, core.pii's rule), which then match as a whole value only. Each branch is an index range scan (a
    prefix on the name or handle index, equality on a digest's index); the union lets the database use them all.
    """
    active = Customer.objects.filter(merged_into__isnull=True).order_by()
    identities = CustomerIdentity.objects.order_by()
    handles = identities.filter(handle__startswith=q)
    if not contact_prefix:
        handles = handles.exclude(handle__contains="@").exclude(handle__regex=f"[0-9]{{{PHONE_RUN}}}")
    parts: list[QuerySet[Any]] = [
        active.filter(name__startswith=q).values("id"),
        active.filter(real_name_match(q)).values("id"),
        handles.values("customer_id"),
    ]
    phone = _phone_query(q)
    kind = contact_search_kind(q)
    if kind == EMAIL:
        parts.append(active.filter(email_match(q)).values("id"))
        if not contact_prefix:
            parts.append(identities.filter(handle__in=list(dict.fromkeys([q, q.lower()]))).values("customer_id"))
    elif kind == PHONE:
        parts.append(active.filter(phone_match(phone)).values("id"))
        if not contact_prefix:
            parts.append(identities.filter(handle__in=list(dict.fromkeys([q, phone]))).values("customer_id"))
    elif kind == LAST4:
        parts.append(active.filter(last4_match(phone)).values("id"))
    return parts[0].union(*parts[1:]).values_list("id", flat=True)


def customer_list(*, filters: CustomerFilter | None = None, capped: bool = True) -> QuerySet[Customer]:
    """Active (not merged) customers matching `filters`, in the filter's sort order.

    A search lists at most SEARCH_CAP matches (the live list); `capped=False` returns every match (exports)."""
    f = filters or CustomerFilter()
    qs = Customer.objects.filter(merged_into__isnull=True)
    if f.search:
        matches = _search_ids(f.search, contact_prefix=f.contact_prefix)
        qs = qs.filter(id__in=matches[:SEARCH_CAP] if capped else matches)
    if f.tag:
        qs = qs.filter(customer_tags__tag__name=f.tag)
    if f.province:
        qs = qs.filter(province=f.province)
    tz = timezone.get_current_timezone()
    if f.last_order_from:
        qs = qs.filter(last_order_at__gte=datetime.combine(f.last_order_from, time.min, tzinfo=tz))
    if f.last_order_to:
        qs = qs.filter(last_order_at__lte=datetime.combine(f.last_order_to, time.max, tzinfo=tz))
    if f.spent_min is not None:
        qs = qs.filter(total_spent__gte=f.spent_min)
    if f.spent_max is not None:
        qs = qs.filter(total_spent__lte=f.spent_max)
    if f.orders_min is not None:
        qs = qs.filter(order_count__gte=f.orders_min)
    if f.orders_max is not None:
        qs = qs.filter(order_count__lte=f.orders_max)
    for key, value in f.extra.items():
        qs = registry.filters[key].apply(qs, value)
    return qs.order_by(*SORTS[f.sort])


def customer_list_after(qs: QuerySet[Customer], *, sort: str, after_id: int) -> QuerySet[Customer] | None:
    """Keyset pagination: the rows of `qs` (in the `sort` order of SORTS) that come after customer `after_id`,
    so a deep page reads on from the sort index instead of skipping every row before it (OFFSET). None when
    there is no such customer (the caller falls back to the page number).

    NULLs (customers without an order have no last order) sort first in a descending PostgreSQL index and last
    in SQLite; the condition follows the database's order. A bound on the sort column alone gives the index
    scan its start."""
    field_key, id_key = SORTS[sort]
    field, desc = field_key.lstrip("-"), field_key.startswith("-")
    row = Customer.objects.filter(pk=after_id).values(field).first()
    if row is None:
        return None
    value = row[field]
    id_beyond = Q(**{f"id__{'lt' if id_key.startswith('-') else 'gt'}": after_id})
    nulls_first = (connection.vendor == "postgresql") == desc
    if value is None:
        cond = Q(**{f"{field}__isnull": True}) & id_beyond
        if nulls_first:
            cond |= Q(**{f"{field}__isnull": False})
        return qs.filter(cond)
    beyond, bound = ("lt", "lte") if desc else ("gt", "gte")
    cond = Q(**{f"{field}__{beyond}": value}) | (Q(**{field: value}) & id_beyond)
    if nulls_first:
        return qs.filter(cond, **{f"{field}__{bound}": value})
    return qs.filter(cond | Q(**{f"{field}__isnull": True}))


def customer_count(*, filters: CustomerFilter | None = None) -> int:
    """How many customers match `filters`, computed the cheap way when only a search is given: the union of
    the index-only search branches is counted without visiting the customer table (every branch already
    excludes merged customers; merged customers keep no identities). With a search, the list itself shows at
    most SEARCH_CAP of them: compare with `SEARCH_CAP` to tell the user to narrow the search."""
    f = filters or CustomerFilter()
    if f.search and replace(f, search="", sort=DEFAULT_SORT).is_empty():
        return _search_ids(f.search, contact_prefix=f.contact_prefix).count()
    if f.search:
        matches = _search_ids(f.search, contact_prefix=f.contact_prefix)
        return customer_list(filters=replace(f, search="")).filter(id__in=matches).count()
    return customer_list(filters=f).count()


def customer_list_count(*, filters: CustomerFilter | None = None) -> ListCount:
    """The count the list shows: a search is counted exactly (customer_count; its list is capped anyway);
    otherwise exactly up to core.counting.EXACT_UP_TO matches and estimated beyond (shown as "about")."""
    f = filters or CustomerFilter()
    if f.search:
        return ListCount(customer_count(filters=f), True)
    return list_count(customer_list(filters=f))


def customer_list_rows(qs: QuerySet[Customer]) -> QuerySet[Customer]:
    """The list queryset ready to display: registered annotations and tags loaded in a fixed number of queries."""
    for annotation in registry.annotations.values():
        qs = annotation.annotate(qs)
    return qs.prefetch_related(
        Prefetch("tags", queryset=Tag.objects.order_by("name")),
        Prefetch("identities", queryset=CustomerIdentity.objects.order_by("platform", "handle")),
    )


def customer_page_rows(page: QuerySet[Customer]) -> list[Customer]:
    """One page of a list queryset (sliced, from customer_list / customer_list_after), ready to display, in two
    steps: the page's ids first, which the sort index answers alone when it carries the filtered columns (no
    table row is read for the customers the filter skips), then those rows with their annotations and tags."""
    ids = list(page.values_list("pk", flat=True))
    rows = {c.pk: c for c in customer_list_rows(Customer.objects.filter(pk__in=ids))}
    return [rows[pk] for pk in ids if pk in rows]


def customer_get(*, customer_id: int) -> Customer:
    """One customer with identities, tags and the registered annotations; a merged one is still returned
    (its page points at the customer it was merged into). Raises NotFoundError."""
    qs = customer_list_rows(Customer.objects.filter(pk=customer_id))
    customer = qs.first()
    if customer is None:
        raise NotFoundError(f"customer {customer_id} not found", field="id")
    return customer


def customer_merge_candidates(*, source: Customer, query: str, limit: int, unmasked: bool = False) -> list[Customer]:
    """Customers `source` could be merged into: the one with the id typed, else those matching the search, else
    (no query) those sharing the source's phone or email. Never the source itself or a merged customer.
    `unmasked`: the viewer may see contact data (their search may match it by prefix)."""
    query = query.replace("\x00", "").strip()
    if query.isdigit() and len(query) <= 9:
        found = list(
            customer_list_rows(Customer.objects.filter(pk=int(query), merged_into__isnull=True).exclude(pk=source.pk))
        )
        if found:
            return found
    search = query or (source.phone if source.phone and not source.phone_is_masked else "") or source.email
    if not search:
        return []
    try:
        filters = CustomerFilter.from_params({"search": search, "sort": "name"}, unmasked=unmasked)
    except ApplicationError:
        return []
    return list(customer_list_rows(customer_list(filters=filters).exclude(pk=source.pk))[:limit])


def note_list_for_customer(*, customer: Customer) -> QuerySet[Note]:
    return Note.objects.filter(customer=customer).select_related("author", "follow_up_owner")


def note_get(*, customer_id: int, note_id: int) -> Note:
    """One note of one customer; NotFoundError otherwise."""
    note = Note.objects.select_related("author", "follow_up_owner").filter(pk=note_id, customer_id=customer_id).first()
    if note is None:
        raise NotFoundError(f"customer {customer_id} has no note {note_id}", field="note_id")
    return note


def follow_ups_open(*, owner: Any, due_by: date | None = None) -> QuerySet[Note]:
    """The owner's follow-ups not marked done, earliest day first; with `due_by`, only those due on or before
    that day (today: what is due now, overdue ones included). The customer comes along for the list."""
    qs = Note.objects.filter(
        follow_up_owner=owner, follow_up_on__isnull=False, follow_up_done_at__isnull=True
    ).select_related("customer", "author", "follow_up_owner")
    if due_by is not None:
        qs = qs.filter(follow_up_on__lte=due_by)
    return qs.order_by("follow_up_on", "id")


def follow_up_owner_choices() -> QuerySet[Any]:
    """Active users who may see customers (and so may be asked to follow one up), by username."""
    user_model = get_user_model()
    can_view = Q(
        groups__permissions__codename="view_customer", groups__permissions__content_type__app_label="customers"
    )
    ids = user_model.objects.filter(Q(is_superuser=True) | can_view, is_active=True).values("pk")
    return user_model.objects.filter(pk__in=ids).order_by("username")


def follow_up_owner_get(*, username: str) -> Any:
    """The active user with this username who may follow customers up; NotFoundError naming follow_up_owner."""
    user = follow_up_owner_choices().filter(username=username).first()
    if user is None:
        raise NotFoundError(f"no user {username!r} who can follow up customers", field="follow_up_owner")
    return user


def tag_list() -> QuerySet[Tag]:
    return Tag.objects.order_by("name")


def province_list() -> list[str]:
    """Provinces that occur in the archive, for the filter drop-down.

    A loose index scan (one index probe per distinct province, a recursive CTE that both databases run) instead
    of SELECT DISTINCT, which reads every row: ~35 probes instead of a million-row scan on a large archive.
    """
    table = connection.ops.quote_name(Customer._meta.db_table)
    sql = f"""
        WITH RECURSIVE p(v) AS (
            SELECT MIN(province) FROM {table} WHERE province > ''
            UNION ALL
            SELECT (SELECT MIN(province) FROM {table} WHERE province > p.v) FROM p WHERE p.v IS NOT NULL
        )
        SELECT v FROM p WHERE v IS NOT NULL
    """
    with connection.cursor() as cur:
        cur.execute(sql)
        return [row[0] for row in cur.fetchall()]


def _note_events(customer: Customer, limit: int) -> list[TimelineEvent]:
    return [
        TimelineEvent(at=n.created_at, kind="note", title=n.author.get_username() if n.author else "", body=n.body)
        for n in note_list_for_customer(customer=customer)[:limit]
    ]


def customer_timeline(*, customer: Customer, limit: int = 50) -> list[TimelineEvent]:
    """The newest `limit` events about a customer from notes and every registered source, newest first."""
    events: list[TimelineEvent] = list(_note_events(customer, limit))
    for source in registry.timeline_sources.values():
        events.extend(source(customer, limit))
    return nlargest(limit, events, key=lambda e: e.at)


def filter_choices() -> dict[str, Any]:
    """Options for the list page's filter drop-downs, including those of registered filters."""
    return {
        "tags": list(tag_list().values_list("name", flat=True)),
        "provinces": province_list(),
        "extra": [(f.key, f.label, f.choices()) for f in registry.filters.values()],
        "sorts": list(SORTS),
    }
