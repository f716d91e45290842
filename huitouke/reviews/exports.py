"""Export of the review list to CSV and XLSX, filtered as the list shows it.

Registered with core.exports: the list's Export button streams a short list and hands a long one to the background
export job; buyer nicks (platform handles: contact data) are masked for readers without core.unmask_pii, and
every export is audited.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from django.db.models import F
from django.http import QueryDict
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_noop

from huitouke.core.counting import list_count
from huitouke.core.exports import Cell, ExportKind, Labels, export_kinds, filters_detail, local_time
from huitouke.core.pii import Masker
from huitouke.reviews.forms import ReviewFilterForm, review_filter_args
from huitouke.reviews.labels import REASON_LABELS
from huitouke.reviews.models import Result, ReviewCase, Role
from huitouke.reviews.selectors import review_list

REVIEWS_EXPORT_JOB_KIND = "reviews_export"
CHUNK_SIZE = 2000

_FIELDS = (
    "id",
    "created_at",
    "shop__name",
    "tid",
    "oid",
    "num_iid",
    "item_title",
    "customer_id",
    "nick",
    "anonymous",
    "role",
    "result",
    "content",
    "reply",
    "case__outcome",
)
#: the stored credit ledger (ReviewCredit, None where never computed), under the names the cells read
_CREDIT = {"scores": F("credit__scores"), "points": F("credit__points"), "not_scored_reason": F("credit__reason")}


def review_headers() -> list[str]:
    """Column titles, in the reader's language."""
    return [
        _("ID"),
        _("Rated at"),
        _("Shop"),
        _("Order"),
        _("Sub-order"),
        _("Item id"),
        _("Item"),
        _("Customer ID"),
        _("Buyer"),
        _("Anonymous"),
        _("Who rated"),
        _("Rating"),
        _("Text"),
        _("Explanation"),
        _("Credit"),
        _("Why it does not score"),
        _("Case"),
    ]


def _credit(row: dict[str, Any], labels: Labels) -> Cell:
    if row["scores"] is None:
        return labels.word(gettext_noop("not computed"))
    return row["points"] if row["scores"] else 0


def review_cells(row: dict[str, Any], masker: Masker, tz: Any, labels: Labels) -> list[Cell]:
    """One review as cells: labels for the choices, the shop's local time, the nick as the reader may see it."""
    return [
        row["id"],
        local_time(row["created_at"], tz),
        row["shop__name"],
        row["tid"],
        row["oid"],
        row["num_iid"],
        row["item_title"],
        row["customer_id"],
        masker.identifier(row["nick"]),
        labels.word(gettext_noop("yes") if row["anonymous"] else gettext_noop("no")),
        labels("role", row["role"]),
        labels("result", row["result"]),
        row["content"],
        row["reply"],
        _credit(row, labels),
        str(REASON_LABELS.get(row["not_scored_reason"] or "", row["not_scored_reason"] or "")),
        labels("outcome", row["case__outcome"] or ""),
    ]


def review_export_args(query: QueryDict, user: Any = None) -> dict[str, Any]:
    """The review_list arguments of the list's query string, read as the list reads them."""
    return review_filter_args(ReviewFilterForm(query or None))


def _reviews(args: dict[str, Any]) -> Any:
    return review_list(**args).order_by("-created_at", "-id")  # Review.Meta.ordering, said out loud


def _rows(args: dict[str, Any], masker: Masker) -> Iterator[list[Cell]]:
    """The reviews in the list's order (newest first), read in chunks (a server-side cursor on PostgreSQL)."""
    tz, labels = (
        timezone.get_current_timezone(),
        Labels(role=Role.choices, result=Result.choices, outcome=ReviewCase.Outcome.choices),
    )
    for row in _reviews(args).values(*_FIELDS, **_CREDIT).iterator(chunk_size=CHUNK_SIZE):
        yield review_cells(row, masker, tz, labels)


REVIEWS = export_kinds.register(
    ExportKind(
        name=REVIEWS_EXPORT_JOB_KIND,
        target_type="review",
        file_stem="reviews",
        parse=review_export_args,
        count=lambda args, limit: list_count(_reviews(args), exact_up_to=limit).value,
        rows=_rows,
        headers=review_headers,
        sheet_title=lambda: _("Reviews"),
        permissions=("reviews.view_review",),
        audit_detail=lambda args: {"filters": filters_detail(args)},
    )
)
