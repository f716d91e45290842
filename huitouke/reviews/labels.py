"""Words for the reason codes of the credit ledger, shared by the review pages and forms."""

from __future__ import annotations

from django.utils.translation import gettext_lazy

#: why a rating does not score, as a person reads it
REASON_LABELS = {
    "rates_buyer": gettext_lazy("The shop's rating of a buyer (counts for the buyer)"),
    "tmall_no_credit": gettext_lazy("Tmall order (no credit points)"),
    "not_paid_or_not_successful": gettext_lazy("Trade not paid or not completed"),
    "outside_rating_period": gettext_lazy("Given outside the rating period"),
    "no_default": gettext_lazy("No default good rating under these rules"),
    "default_not_due": gettext_lazy("Default good rating not due yet"),
    "same_item_14_days": gettext_lazy("Same item from the same buyer within the window: counted once"),
    "monthly_cap": gettext_lazy("The buyer's monthly cap was already reached"),
}
