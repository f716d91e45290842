"""Every write of the reviews app: reviews from files and the API (idempotent per shop, order, sub-order and
role), the negative-review case and its outcome, and the shop's credit settings."""

from huitouke.reviews.services.cases import (
    review_case_alert_claim,
    review_case_open,
    review_case_outcome_set,
    review_explain,
)
from huitouke.reviews.services.entry import review_save
from huitouke.reviews.services.importing import (
    BATCH,
    CASE_WINDOW_DAYS,
    COPY_FROM,
    REFRESH_LIMIT,
    VALUE_FIELDS,
    ReviewImportResult,
    reviews_import_rows,
)
from huitouke.reviews.services.settings import credit_settings_set

__all__ = [
    "BATCH",
    "CASE_WINDOW_DAYS",
    "COPY_FROM",
    "REFRESH_LIMIT",
    "VALUE_FIELDS",
    "ReviewImportResult",
    "credit_settings_set",
    "review_case_alert_claim",
    "review_case_open",
    "review_case_outcome_set",
    "review_explain",
    "review_save",
    "reviews_import_rows",
]
