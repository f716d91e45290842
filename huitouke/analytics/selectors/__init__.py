"""Analytics reads: the latest refresh, the dashboard's figures, products, customer groups and cohorts.

Every figure a page shows comes from one function here (and a test checks it against hand-computed data).
Conventions: a purchase is a counted order (Order.COUNTED: paid and neither closed nor refunded) and its value
is paid minus refunded, as in the customers' stats; months, days, hours and weekdays are those of the business
time zone (settings.TIME_ZONE). One module per page area: `scores`, `dashboard`, `products`, `groups`,
`cohorts`, over the shared pieces in `common`.
"""

from huitouke.analytics.selectors.cohorts import Cohort, cohorts
from huitouke.analytics.selectors.common import MONEY, ZERO, fetch_int_rows, local_day_sql
from huitouke.analytics.selectors.dashboard import CustomerFigures, MonthSales, customer_figures, sales_by_month
from huitouke.analytics.selectors.groups import (
    PRICE_BANDS,
    GroupComparison,
    GroupDimension,
    GroupRow,
    customer_groups,
    top_threshold,
)
from huitouke.analytics.selectors.products import (
    GROWTH_MIN_UNITS,
    ProductBoard,
    ProductQuality,
    ProductSales,
    ReplenishmentDue,
    RepurchaseCycle,
    product_board,
    product_quality,
    product_repurchase_cycles,
    product_sales,
    replenishment_due,
)
from huitouke.analytics.selectors.scores import (
    Movement,
    movements_latest,
    movers_filter,
    score_for_customer,
    score_run_latest,
    score_run_since,
    segment_distribution,
)

__all__ = [
    "GROWTH_MIN_UNITS",
    "MONEY",
    "PRICE_BANDS",
    "ZERO",
    "Cohort",
    "CustomerFigures",
    "GroupComparison",
    "GroupDimension",
    "GroupRow",
    "MonthSales",
    "Movement",
    "ProductBoard",
    "ProductQuality",
    "ProductSales",
    "ReplenishmentDue",
    "RepurchaseCycle",
    "cohorts",
    "customer_figures",
    "customer_groups",
    "fetch_int_rows",
    "local_day_sql",
    "movements_latest",
    "movers_filter",
    "product_board",
    "product_quality",
    "product_repurchase_cycles",
    "product_sales",
    "replenishment_due",
    "sales_by_month",
    "score_for_customer",
    "score_run_latest",
    "score_run_since",
    "segment_distribution",
    "top_threshold",
]
