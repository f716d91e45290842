"""Importing a platform's refund / after-sales export: one ticket per (shop, platform refund id).

A new refund opens a ticket (channel `platform`) for the order's customer, about the order and — when it can be
told — the refunded line, typed from the buyer's reason (`importers.rules.ticket_type`); the platform's status
moves the ticket to waiting on a third party, resolved or closed (`rules.TICKET_STATUS`) through
`ticket_status_set`, so the history and SLA clocks follow. A refund paid out (SUCCESS) adds one refund entry to
the compensation ledger. A refund seen before changes nothing unless its platform status (or paid amount) moved;
then the ticket moves with an event saying so. Rows that cannot be used go to an errors CSV (row, column, value,
reason); each row is written in its own savepoint, so a bad row never leaves half a ticket.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from huitouke.core.errors import ApplicationError
from huitouke.orders.importing import ErrorReport
from huitouke.orders.models import Order, OrderLine, Shop
from huitouke.service import selectors
from huitouke.service.importers import GENERIC_FIELDS, ImportFileError, RefundRow, RowError, parse_refunds, rules
from huitouke.service.models import AftersalesMapping, Compensation, Ticket, TicketEvent, TicketStatus
from huitouke.service.services.aftersales_bulk import LEDGER_NOTE, NewRefund, ledger_kind, tickets_open_bulk
from huitouke.service.services.common import event_add
from huitouke.service.services.tickets import TRANSITIONS, follow_up_cancel, ticket_status_set

BATCH = 500
IMPORT_JOB_KIND = "aftersales_import"


@dataclass
class AftersalesResult:
    """What `huitouke import-aftersales --json` prints (exactly these keys) and the upload page shows."""

    layout: str = ""
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    errors_file: str | None = None

    def as_json(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "rejected": self.rejected,
            "errors_file": self.errors_file,
        }


def aftersales_import(
    *,
    path: Path | str,
    shop: str = "",
    layout: str = "auto",
    mapping: dict[str, str] | None = None,
    actor: Any = None,
    progress: Callable[[int], None] | None = None,
    report_name: str = "",
) -> AftersalesResult:
    """Import a refund export (see the module's docstring). `shop` names the shop whose orders the refunds
    belong to (default: the shop holding each order number; several → the row is rejected and asks for one).
    Raises ImportFileError when the file cannot be read at all or the shop does not exist (nothing written)."""
    the_shop: Shop | None = None
    if shop:
        the_shop = Shop.objects.filter(name=shop).first()
        if the_shop is None:
            raise ImportFileError(f"no shop named {shop!r}; import its orders first")
    stream = parse_refunds(Path(path), layout=layout, mapping=mapping, tz=settings.TIME_ZONE)
    stamp = timezone.now().strftime("%Y%m%d-%H%M%S-%f")
    report = ErrorReport(Path(settings.HUITOUKE_HOME) / "reports" / f"aftersales-errors-{report_name or stamp}.csv")
    result = AftersalesResult(layout=stream.layout)
    writer = _Writer(the_shop, stream.columns, actor, result)
    done = 0
    batch: list[RefundRow] = []
    pending: list[RowError] = []  # the parser's errors, written with the batch's so the report stays in row order

    def flush() -> None:
        nonlocal done, batch, pending
        errors = [*pending, *writer.write(batch)] if batch else pending
        for error in sorted(errors, key=lambda e: e.row_no):
            report.add(error)
        result.rejected += len(errors)
        done += len(batch)
        batch, pending = [], []
        if progress:
            progress(done)

    try:
        for item in stream.rows:
            if isinstance(item, RowError):
                pending.append(item)
                continue
            batch.append(item)
            if len(batch) >= BATCH:
                flush()
        flush()
    finally:
        report.close()
    result.errors_file = str(report.path) if report.count else None
    return result


class _Writer:
    def __init__(self, shop: Shop | None, columns: dict[str, str], actor: Any, result: AftersalesResult) -> None:
        self.shop, self.columns, self.actor, self.result = shop, columns, actor, result
        self.now = timezone.now()
        self.errors: list[RowError] = []

    def reject(self, row: RefundRow, field: str, value: str, reason: str) -> None:
        self.errors.append(RowError(row.row_no, self.columns.get(field, ""), value, reason))

    def write(self, rows: list[RefundRow]) -> list[RowError]:
        """Write a batch; returns the rows it rejected. New refunds open their tickets in bulk per shop."""
        self.errors = []
        orders = self._orders({r.order_no for r in rows})
        tickets = self._tickets({r.refund_id for r in rows})
        lines = self._lines([o.pk for found in orders.values() if len(found) == 1 for o in found])
        known = self._known([t.pk for t in tickets.values()])
        new: dict[int, list[NewRefund]] = {}
        for row in rows:
            found = orders.get(row.order_no, [])
            if not found:
                where = f" in shop {self.shop.name}" if self.shop else ""
                self.reject(row, "order_no", row.order_no, f"no order {row.order_no}{where}; import the orders first")
                continue
            if len(found) > 1:
                self.reject(row, "order_no", row.order_no, "this order number is in several shops; give the shop")
                continue
            order = found[0]
            ticket = tickets.get((order.shop_id, row.refund_id))
            if ticket is None:
                created = min(row.created_at or self.now, self.now)
                at = min(max(row.modified_at or self.now, created), self.now)
                line = _line(row, lines.get(order.pk, []))
                new.setdefault(order.shop_id, []).append(NewRefund(row, order, line, created, at))
                continue
            if self._same(row, ticket, known):
                self.result.unchanged += 1  # seen before and nothing moved: no write, no savepoint
                continue
            try:
                with transaction.atomic():
                    if self._update(row, ticket):
                        self.result.updated += 1
                    else:
                        self.result.unchanged += 1
            except ApplicationError as exc:
                self.reject(row, "refund_id", row.refund_id, exc.message)
        for items in new.values():
            self._open(items)
        return self.errors

    def _open(self, items: list[NewRefund]) -> None:
        try:
            with transaction.atomic():
                tickets_open_bulk(shop=items[0].order.shop, items=items, actor=self.actor, now=self.now)
            self.result.created += len(items)
            return
        except IntegrityError:
            pass  # another import opened some of these meanwhile: go one by one, counting what each finds
        for item in items:
            try:
                with transaction.atomic():
                    existing = Ticket.objects.filter(
                        shop=item.order.shop, platform_refund_id=item.row.refund_id
                    ).first()
                    if existing is None:
                        tickets_open_bulk(shop=item.order.shop, items=[item], actor=self.actor, now=self.now)
                        self.result.created += 1
                    elif self._update(item.row, existing):
                        self.result.updated += 1
                    else:
                        self.result.unchanged += 1
            except (ApplicationError, IntegrityError) as exc:
                self.reject(item.row, "refund_id", item.row.refund_id, getattr(exc, "message", str(exc)))

    def _orders(self, numbers: Iterable[str]) -> dict[str, list[Order]]:
        qs = Order.objects.filter(order_no__in=list(numbers)).select_related("shop", "customer")
        if self.shop is not None:
            qs = qs.filter(shop=self.shop)
        out: dict[str, list[Order]] = {}
        for order in qs:
            out.setdefault(order.order_no, []).append(order)
        return out

    def _tickets(self, refund_ids: Iterable[str]) -> dict[tuple[int, str], Ticket]:
        qs = Ticket.objects.filter(platform_refund_id__in=list(refund_ids))
        if self.shop is not None:
            qs = qs.filter(shop=self.shop)
        return {(t.shop_id, t.platform_refund_id): t for t in qs}

    def _lines(self, order_ids: list[int]) -> dict[int, list[OrderLine]]:
        out: dict[int, list[OrderLine]] = {}
        for line in OrderLine.objects.filter(order_id__in=order_ids).order_by("order_id", "line_no"):
            out.setdefault(line.order_id, []).append(line)
        return out

    def _known(self, ticket_ids: list[int]) -> dict[int, tuple[OrderLine | None, tuple[str, Decimal] | None]]:
        """Per ticket already imported: its first order line and its import ledger entry (kind, amount)."""
        lines: dict[int, OrderLine] = {}
        through = Ticket.order_lines.through.objects.filter(ticket_id__in=ticket_ids).select_related("orderline")
        for link in through.order_by("id"):
            lines.setdefault(link.ticket_id, link.orderline)
        entries: dict[int, tuple[str, Decimal]] = {}
        found = Compensation.objects.filter(ticket_id__in=ticket_ids, note__startswith=LEDGER_NOTE.format(refund_id=""))
        for ticket_id, kind, amount in found.values_list("ticket_id", "kind", "amount"):
            entries[ticket_id] = (kind, amount)
        return {i: (lines.get(i), entries.get(i)) for i in ticket_ids}

    def _same(
        self, row: RefundRow, ticket: Ticket, known: dict[int, tuple[OrderLine | None, tuple[str, Decimal] | None]]
    ) -> bool:
        """Whether the export says nothing new about this ticket (platform status and paid-out refund alike)."""
        if ticket.platform_status != row.platform_status:
            return False
        if row.platform_status != rules.SUCCESS or row.refund_fee <= 0:
            return True
        line, entry = known.get(ticket.pk, (None, None))
        return entry == (ledger_kind(row, line), row.refund_fee)

    def _update(self, row: RefundRow, ticket: Ticket) -> bool:
        changed = False
        if ticket.platform_status != row.platform_status:
            old = ticket.platform_status
            Ticket.objects.filter(pk=ticket.pk).update(platform_status=row.platform_status)
            ticket.platform_status = row.platform_status
            at = self._at(row, ticket)
            event_add(
                ticket=ticket,
                kind=TicketEvent.Kind.UPDATED,
                actor=self.actor,
                old=old,
                new=row.platform_status,
                note="platform_status",
                at=at,
            )
            self._move(row, ticket)
            changed = True
        line = ticket.order_lines.first()
        return self._ledger(row, ticket, line) or changed

    def _at(self, row: RefundRow, ticket: Ticket) -> datetime:
        at = row.modified_at or self.now
        return min(max(at, ticket.created_at), self.now)

    def _move(self, row: RefundRow, ticket: Ticket) -> None:
        """Bring the ticket to the status the platform's refund status means (reopening first if needed)."""
        target = rules.TICKET_STATUS[row.platform_status]
        fresh = Ticket.objects.get(pk=ticket.pk)
        if fresh.status == target:
            return
        at = self._at(row, fresh)
        note = f"platform: {row.platform_status}"
        if target not in TRANSITIONS[fresh.status]:
            fresh = ticket_status_set(ticket=fresh, status=TicketStatus.OPEN, actor=self.actor, note=note, at=at)
        fresh = ticket_status_set(ticket=fresh, status=target, actor=self.actor, note=note, at=at)
        if fresh.resolved_at is not None:
            days = selectors.settings_for_shop(shop=fresh.shop).follow_up_days
            if fresh.resolved_at + timedelta(days=days) < self.now:
                follow_up_cancel(fresh)  # a refund settled long ago: asking now whether the fix held is too late

    def _ledger(self, row: RefundRow, ticket: Ticket, line: OrderLine | None) -> bool:
        """One refund entry once the platform paid the refund out; its amount follows a later export."""
        if row.platform_status != rules.SUCCESS or row.refund_fee <= 0:
            return False
        note = LEDGER_NOTE.format(refund_id=row.refund_id)
        entry = Compensation.objects.filter(ticket=ticket, note=note).first()
        kind = ledger_kind(row, line)
        at = self._at(row, ticket)
        if entry is not None:
            if entry.amount == row.refund_fee and entry.kind == kind:
                return False
            old = f"{entry.kind} {entry.amount}"
            entry.amount = entry.cost = row.refund_fee
            entry.kind = kind
            entry.save(update_fields=["amount", "cost", "kind"])
            event_add(
                ticket=ticket,
                kind=TicketEvent.Kind.COMPENSATION,
                actor=self.actor,
                old=old,
                new=f"{kind} {row.refund_fee}",
                note=note,
                at=at,
            )
            return True
        Compensation.objects.create(
            ticket=ticket,
            kind=kind,
            amount=row.refund_fee,
            cost=row.refund_fee,
            order_line=line,
            note=note,
            granted_by=None,
            status=Compensation.Status.APPROVED,
            approved_at=at,
        )
        event_add(
            ticket=ticket,
            kind=TicketEvent.Kind.COMPENSATION,
            actor=self.actor,
            new=f"{kind} {row.refund_fee}",
            note=note,
            at=at,
        )
        return True


def _line(row: RefundRow, lines: list[OrderLine]) -> OrderLine | None:
    """The refunded line: the order's only line, else the one with the export's title (when exactly one)."""
    if len(lines) == 1:
        return lines[0]
    if row.title:
        same = [ln for ln in lines if ln.title == row.title]
        if len(same) == 1:
            return same[0]
    return None


def aftersales_mapping_save(*, name: str, mapping: dict[str, str]) -> AftersalesMapping:
    """Save (or replace) a named column mapping for refund exports. Empty names and unknown fields are refused."""
    name = (name or "").strip()
    if not name:
        raise ApplicationError("the mapping needs a name", field="save_as")
    if len(name) > 64:
        raise ApplicationError("a mapping name has at most 64 characters", field="save_as")
    unknown = sorted(set(mapping) - set(GENERIC_FIELDS))
    if unknown:
        raise ApplicationError(f"unknown field(s): {', '.join(unknown)}", field="mapping")
    clean = {k: v[:200] for k, v in mapping.items() if v}
    saved, _created = AftersalesMapping.objects.update_or_create(name=name, defaults={"mapping": clean})
    return saved
