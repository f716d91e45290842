"""The inputs of the credit ledger: one ``ReviewFact`` per rating, and the reason codes. Pure."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

Role = Literal["buyer", "seller"]
Result = Literal["good", "neutral", "bad"]

GENERATED_PREFIX = "default:"  # id of a generated default 好评: "default:" + the one-sided rating's id

POINTS: dict[str, int] = {"good": 1, "neutral": 0, "bad": -1}

# Why a rating does not score (checked in this order; the first that applies is the reason).
RATES_BUYER = "rates_buyer"  # the shop's rating of a buyer: it counts for the buyer, not for the shop
TMALL_NO_CREDIT = "tmall_no_credit"  # a Tmall order carries no credit (only shop scores)
NOT_PAID_OR_NOT_SUCCESSFUL = "not_paid_or_not_successful"  # not paid through Alipay, or the trade did not succeed
OUTSIDE_RATING_PERIOD = "outside_rating_period"  # given after the rating period ended (or before it began)
NO_DEFAULT = "no_default"  # a default 好评 the preset does not give (the rater's rating was not 好评)
DEFAULT_NOT_DUE = "default_not_due"  # a default 好评 that under the preset's numbers is not due yet
SAME_ITEM_14_DAYS = "same_item_14_days"  # same item, same pair, within the window: the result already scored once
MONTHLY_CAP = "monthly_cap"  # the pair's net points for the month were already at +cap (or -cap)
REASONS: tuple[str, ...] = (
    RATES_BUYER,
    TMALL_NO_CREDIT,
    NOT_PAID_OR_NOT_SUCCESSFUL,
    OUTSIDE_RATING_PERIOD,
    NO_DEFAULT,
    DEFAULT_NOT_DUE,
    SAME_ITEM_14_DAYS,
    MONTHLY_CAP,
)


@dataclass(frozen=True, slots=True)
class ReviewFact:
    """One rating on one order line, as the ledger needs it.

    ``id``: unique among the facts (e.g. str(review.pk)); ``line_key``: the order line (the buyer's and the
    seller's ratings of one trade line share it; one fact per line and role). ``role`` 'buyer' = the buyer rating
    the shop (counts for the shop's credit), 'seller' = the shop rating the buyer (decides default ratings).
    Instants are time-zone aware. ``trade_success_at`` is required when ``successful``. ``paid`` = paid through
    Alipay. ``buyer``/``seller``/``item``: stable keys (customer id, shop id, item id or title).
    ``is_default``: the platform's 系统默认好评 (imported); a default is not "a side rated", so a default on the
    shop's side never starts a default on the buyer's. Ids starting with ``default:`` are reserved.
    """

    id: str
    line_key: str
    role: Role
    result: Result
    created_at: datetime
    trade_created_at: datetime
    trade_success_at: datetime | None
    paid: bool
    successful: bool
    buyer: str
    seller: str
    item: str
    anonymous: bool = False
    is_default: bool = False
    tmall: bool = False

    def __post_init__(self) -> None:
        where = f"review {self.id!r}"
        if not isinstance(self.id, str) or not self.id:
            raise ValueError(f"id: must be a non-empty string, got {self.id!r}")
        if self.role not in ("buyer", "seller"):
            raise ValueError(f"{where}: role must be buyer or seller, got {self.role!r}")
        if self.result not in POINTS:
            raise ValueError(f"{where}: result must be good, neutral or bad, got {self.result!r}")
        for name in ("created_at", "trade_created_at", "trade_success_at"):
            value = getattr(self, name)
            if value is None and name == "trade_success_at":
                continue
            if not isinstance(value, datetime) or value.tzinfo is None:
                raise ValueError(f"{where}: {name} must be a time-zone aware datetime, got {value!r}")
        if self.successful and self.trade_success_at is None:
            raise ValueError(f"{where}: trade_success_at is required for a successful trade")

    @property
    def points(self) -> int:
        """The result's nominal points: 好评 +1, 中评 0, 差评 −1."""
        return POINTS[self.result]
