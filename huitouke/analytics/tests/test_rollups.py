"""The rollups kept incrementally by the import equal a full recomputation, across day and month boundaries in
the shop's own time zone (Asia/Tokyo here, one hour ahead of the business time zone the file's times are read
in), after imports that add orders, change them, refund them in part and in full, and move a buyer's cohort."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from huitouke.analytics import rollups, selectors
from huitouke.analytics.models import CohortMonth, CohortSize, CustomerMonth, ProductDay, SalesDay
from huitouke.analytics.rollups import rollups_rebuild, rollups_update
from huitouke.customers.models import Customer
from huitouke.jobs import ImportRequest, orders_import
from huitouke.orders.models import Shop

pytestmark = pytest.mark.django_db

HEADER = (
    "订单编号,买家会员名,买家应付货款,买家应付邮费,总金额,买家实际支付金额,订单状态,收货人姓名,收货地址,"
    "联系手机,订单创建时间,订单付款时间,宝贝标题,宝贝总数量,物流单号,物流公司,店铺名称,退款金额\n"
)
TOKYO = ZoneInfo("Asia/Tokyo")


def _row(
    no: str, buyer: str, paid: str, when: str, status: str = "交易成功", refund: str = "0.00", qty: int = 1
) -> str:
    title = "龙井茶 250g" if int(no) % 2 else "桂花糕"
    return (
        f'="{no}",{buyer},{paid},0.00,{paid},{paid},{status},张**,浙江省 杭州市 西湖区 文三路1号(310000),'
        f"'13800001234,{when},{when},{title},{qty},,,山岚茶食,{refund}"
    )


def _file(tmp_path: Path, name: str, rows: list[str]) -> Path:
    path = tmp_path / name
    path.write_text(HEADER + "".join(r + "\n" for r in rows), encoding="gb18030")
    return path


def _state() -> dict[str, list[tuple]]:
    return {
        "sales": sorted(SalesDay.objects.values_list("shop_id", "day", "orders", "revenue")),
        "products": sorted(
            ProductDay.objects.values_list("shop_id", "day", "product_id", "units", "revenue", "orders", "last_at")
        ),
        "months": sorted(
            CustomerMonth.objects.values_list("customer_id", "shop_id", "month", "cohort", "orders", "revenue")
        ),
        "cohorts": sorted(CohortMonth.objects.values_list("cohort", "month", "buyers", "orders", "revenue")),
        "sizes": sorted(CohortSize.objects.values_list("cohort", "buyers", "repeaters")),
    }


def _assert_equals_full_recomputation() -> dict[str, list[tuple]]:
    incremental = _state()
    rollups_rebuild()
    assert _state() == incremental
    return incremental


FIRST = [
    _row("1001", "tb_a", "100.00", "2025-06-30 22:30:00"),  # 23:30 in Tokyo: still 30 June
    _row("1002", "tb_a", "50.00", "2025-06-30 23:30:00"),  # 00:30 on 1 July in Tokyo: July
    _row("1003", "tb_b", "80.00", "2025-07-01 00:10:00", qty=2),
    _row("1004", "tb_c", "30.00", "2025-05-31 23:20:00"),  # Tokyo: 1 June
    _row("1005", "tb_c", "60.00", "2025-07-02 12:00:00"),
    _row("1006", "tb_d", "20.00", "2025-07-02 12:00:00", status="交易关闭"),
]
SECOND = [
    _row("1002", "tb_a", "50.00", "2025-06-30 23:30:00", status="交易关闭", refund="50.00"),  # refunded in full
    _row("1003", "tb_b", "80.00", "2025-07-01 00:10:00", refund="30.00", qty=2),  # refunded in part
    _row("1007", "tb_b", "45.00", "2025-04-30 23:05:00"),  # an older order: B's cohort moves to May (Tokyo)
    _row("1008", "tb_e", "70.00", "2025-07-02 23:59:00"),  # a new buyer, 3 July in Tokyo
    _row("1006", "tb_d", "20.00", "2025-07-02 12:00:00"),  # the closed one completes after all
]


def test_rollups_after_imports_equal_a_full_recomputation(tmp_path, monkeypatch):
    # the incremental path even though these imports touch most buyers (a first import rebuilds everything)
    monkeypatch.setattr(rollups, "_buyers_rolled_up", lambda: 10**9)
    Shop.objects.create(name="山岚茶食", platform="taobao", timezone="Asia/Tokyo")

    orders_import(request=ImportRequest(path=str(_file(tmp_path, "first.csv", FIRST))))
    first = _assert_equals_full_recomputation()
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "second.csv", SECOND))))
    second = _assert_equals_full_recomputation()
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "second.csv", SECOND))))  # re-import: no-op
    assert _assert_equals_full_recomputation() == second

    shop = Shop.objects.get().pk
    assert [(d, n, v) for s, d, n, v in first["sales"] if s == shop] == [
        (date(2025, 6, 1), 1, Decimal("30.00")),
        (date(2025, 6, 30), 1, Decimal("100.00")),
        (date(2025, 7, 1), 2, Decimal("130.00")),
        (date(2025, 7, 2), 1, Decimal("60.00")),
    ]
    assert [(d, n, v) for s, d, n, v in second["sales"]] == [
        (date(2025, 5, 1), 1, Decimal("45.00")),
        (date(2025, 6, 1), 1, Decimal("30.00")),
        (date(2025, 6, 30), 1, Decimal("100.00")),
        (date(2025, 7, 1), 1, Decimal("50.00")),
        (date(2025, 7, 2), 2, Decimal("80.00")),
        (date(2025, 7, 3), 1, Decimal("70.00")),
    ]
    # cohort cells (first month, month, buyers, orders, value): B joined May's cohort, D and E July's
    assert second["cohorts"] == [
        (date(2025, 5, 1), date(2025, 5, 1), 1, 1, Decimal("45.00")),
        (date(2025, 5, 1), date(2025, 7, 1), 1, 1, Decimal("50.00")),
        (date(2025, 6, 1), date(2025, 6, 1), 2, 2, Decimal("130.00")),
        (date(2025, 6, 1), date(2025, 7, 1), 1, 1, Decimal("60.00")),
        (date(2025, 7, 1), date(2025, 7, 1), 2, 2, Decimal("90.00")),
    ]
    # May: B (two orders, 1003 and 1007); June: A (1001 counted, 1002 refunded) and C (two); July: D, E
    assert second["sizes"] == [
        (date(2025, 5, 1), 1, 1),
        (date(2025, 6, 1), 2, 1),
        (date(2025, 7, 1), 2, 0),
    ]
    units = {(d, n) for _s, d, _p, n, _v, _o, _t in second["products"]}
    assert (date(2025, 7, 1), 2) in units  # B's two units of 1003 (partly refunded: the lines stay sold)


def test_dashboard_and_cohorts_read_the_rollups(tmp_path):
    Shop.objects.create(name="山岚茶食", platform="taobao", timezone="Asia/Tokyo")
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "first.csv", FIRST))))
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "second.csv", SECOND))))

    months = {m.month: (m.orders, m.revenue, m.buyers) for m in selectors.sales_by_month(today=date(2025, 7, 15))}
    assert months[date(2025, 7, 1)] == (4, Decimal("200.00"), 4)  # B, C, D, E (A's July order was refunded)
    assert months[date(2025, 6, 1)] == (2, Decimal("130.00"), 2)
    figures = selectors.customer_figures(today=date(2025, 7, 15))
    assert (figures.new, figures.returning, figures.buyers, figures.repeat_buyers, figures.total) == (2, 2, 5, 2, 5)
    july = {c.month: c for c in selectors.cohorts(months=3, today=date(2025, 7, 15))}
    assert (july[date(2025, 5, 1)].customers, july[date(2025, 5, 1)].active) == (1, [1, 0, 1])


def test_touching_more_customers_than_the_rollups_hold_rebuilds_everything(tmp_path):
    Shop.objects.create(name="山岚茶食", platform="taobao", timezone="Asia/Tokyo")
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "first.csv", FIRST))))  # 3 buyers rolled up
    ids = list(Customer.objects.values_list("pk", flat=True))  # 4 customers
    assert rollups_update(customer_ids=ids).customers is None
    assert rollups_update(customer_ids=ids[:2]).customers == 2


def test_a_full_rebuild_indexes_the_large_rollups_after_filling_them(tmp_path):
    """On PostgreSQL the product days and customer months are filled bare and indexed at the end of the rebuild:
    afterwards every declared index and unique constraint is there again, and the constraint holds."""
    from django.db import IntegrityError, connection, transaction

    if connection.vendor != "postgresql":
        pytest.skip("the rebuild indexes after filling on PostgreSQL only")
    Shop.objects.create(name="山岚茶食", platform="taobao", timezone="Asia/Tokyo")
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "first.csv", FIRST))))
    before = _state()

    rollups_rebuild()

    assert _state() == before
    tables = [m._meta.db_table for m in rollups.BUILT_BARE]
    with connection.cursor() as cur:
        cur.execute("SELECT indexname FROM pg_indexes WHERE tablename = ANY(%s)", [tables])
        indexes = {name for (name,) in cur.fetchall()}
        cur.execute(
            "SELECT conname FROM pg_constraint WHERE contype = 'u' AND conrelid::regclass::text = ANY(%s)", [tables]
        )
        constraints = {name for (name,) in cur.fetchall()}
    declared = {i.name for m in rollups.BUILT_BARE for i in m._meta.indexes}
    unique = {c.name for m in rollups.BUILT_BARE for c in m._meta.constraints}
    assert declared | unique <= indexes
    assert constraints == unique == {"productday_shop_day_product_uniq", "customermonth_customer_uniq"}
    day = ProductDay.objects.first()
    assert day is not None
    with pytest.raises(IntegrityError), transaction.atomic():
        ProductDay.objects.create(
            shop_id=day.shop_id,
            day=day.day,
            product_id=day.product_id,
            units=1,
            revenue=1,
            orders=1,
            last_at=day.last_at,
        )


def test_update_for_some_customers_rewrites_only_their_days(tmp_path):
    Shop.objects.create(name="山岚茶食", platform="taobao", timezone="Asia/Tokyo")
    orders_import(request=ImportRequest(path=str(_file(tmp_path, "first.csv", FIRST))))
    c = Customer.objects.get(identities__handle="tb_c").pk

    result = rollups_update(customer_ids=[c])

    assert (result.customers, result.shop_days, result.cohort_cells) == (1, 2, 2)  # 1 June, 2 July; (Jun, Jun|Jul)
    assert rollups_update(customer_ids=[]).shop_days == 0
    assert datetime(2025, 6, 1, 0, 20, tzinfo=TOKYO) == ProductDay.objects.get(day=date(2025, 6, 1)).last_at


def test_a_stored_figure_that_no_longer_fits_the_code_is_computed_again():
    from django.utils import timezone

    from huitouke.analytics.models import FigureSnapshot
    from huitouke.analytics.snapshots import snapshot_read

    FigureSnapshot.objects.create(key="groups", value=b"not a pickle", computed_at=timezone.now())
    groups = snapshot_read("groups")
    assert (groups.buyers, groups.top_customers) == (0, 0)
    assert bytes(FigureSnapshot.objects.get(key="groups").value) != b"not a pickle"
