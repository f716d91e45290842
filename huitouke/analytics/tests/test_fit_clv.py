"""`huitouke fit-clv` and the transaction-log reader behind it."""

from __future__ import annotations

import json
from datetime import date
from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from huitouke.analytics.logs import LogError, parse_amount, parse_day, read_log
from huitouke.analytics.tests import cdnow


def run(*args: str) -> str:
    out = StringIO()
    call_command("fit_clv", *args, stdout=out)
    return out.getvalue()


@pytest.fixture(scope="module")
def cdnow_csv(tmp_path_factory):
    return cdnow.write_csv(tmp_path_factory.mktemp("cdnow") / "cdnow.csv")


def test_fit_clv_json_reproduces_the_published_cdnow_fits(cdnow_csv):
    out = run(
        "--transactions", str(cdnow_csv), "--customer-col", "customer", "--date-col", "date",
        "--amount-col", "amount", "--calibration-end", "1997-09-30", "--unit", "week", "--json",
    )  # fmt: skip
    payload = json.loads(out)
    assert set(payload) == {"customers", "bgnbd", "gamma_gamma"}
    assert payload["customers"] == 2357
    bg = payload["bgnbd"]
    assert set(bg) == {"r", "alpha", "a", "b", "loglik", "se"}
    assert set(bg["se"]) == {"r", "alpha", "a", "b"}
    assert [f"{bg[k]:.3g}" for k in ("r", "alpha", "a", "b")] == ["0.243", "4.41", "0.793", "2.43"]
    assert round(bg["loglik"], 1) == -9582.4
    gg = payload["gamma_gamma"]
    assert set(gg) == {"p", "q", "gamma", "loglik", "customers"}
    assert gg["customers"] == 946
    assert [round(gg[k], 2) for k in ("p", "q", "gamma")] == [6.25, 3.74, 15.44]


def test_fit_clv_without_amounts_has_no_gamma_gamma_and_prints_a_table(cdnow_csv):
    args = ["--transactions", str(cdnow_csv), "--customer-col", "customer", "--date-col", "date"]
    payload = json.loads(run(*args, "--calibration-end", "1997-09-30", "--unit", "week", "--json"))
    assert set(payload) == {"customers", "bgnbd"}
    text = run(*args, "--calibration-end", "1997-09-30", "--unit", "week")
    assert "2357 customers (946 with repeat purchases) up to 1997-09-30, time in weeks" in text
    assert "log-likelihood -9582.43" in text
    assert "Gamma-Gamma" not in text


def test_fit_clv_in_days_scales_alpha_by_seven(cdnow_csv):
    args = ["--transactions", str(cdnow_csv), "--customer-col", "customer", "--date-col", "date"]
    weeks = json.loads(run(*args, "--calibration-end", "1997-09-30", "--unit", "week", "--json"))["bgnbd"]
    days = json.loads(run(*args, "--calibration-end", "1997-09-30", "--json"))["bgnbd"]
    assert days["alpha"] == pytest.approx(7 * weeks["alpha"], rel=1e-6)
    assert days["r"] == pytest.approx(weeks["r"], rel=1e-6)


def test_without_a_calibration_end_the_whole_log_is_used(cdnow_csv):
    payload = json.loads(
        run("--transactions", str(cdnow_csv), "--customer-col", "customer", "--date-col", "date", "--json")
    )
    assert payload["customers"] == 2357
    assert payload["bgnbd"]["r"] != pytest.approx(0.2426, rel=1e-3)  # 78 weeks of data, not 39


@pytest.mark.parametrize(
    ("rows", "args", "message"),
    [
        ("who,when\na,2025-01-01\n", ["--customer-col", "customer"], "--customer-col: no column 'customer'"),
        ("c,d,amount\na,2025-01-01,9\nb,yesterday,3\n", [], "row 3: 'yesterday' in column 'd' is not a date"),
        ("c,d,amount\na,2025-01-01,lots\n", ["--amount-col", "amount"], "row 2: 'lots' in column 'amount'"),
        ("c,d\n,2025-01-01\n", [], "row 2: column 'c' is empty"),
        ("c,d\n", [], "no transactions under the header"),
        ("c,d\n" + "".join(f"u{i},2025-01-0{1 + i % 3}\n" for i in range(12)), [], "at least 20 customers"),
    ],
)
def test_bad_logs_are_refused_with_one_line_naming_the_problem(tmp_path, rows, args, message):
    path = tmp_path / "log.csv"
    path.write_text(rows, encoding="utf-8")
    base = {"--customer-col": "c", "--date-col": "d"}
    for flag, value in zip(args[::2], args[1::2], strict=True):
        base[flag] = value
    flat = [item for pair in base.items() for item in pair]
    with pytest.raises(CommandError, match=message):
        run("--transactions", str(path), *flat)


def test_bad_calibration_end_and_missing_file_are_named(tmp_path):
    with pytest.raises(CommandError, match="--calibration-end: 'soon' is not a date"):
        run("--transactions", "x.csv", "--customer-col", "c", "--date-col", "d", "--calibration-end", "soon")
    with pytest.raises(CommandError, match="no such file"):
        run("--transactions", str(tmp_path / "none.csv"), "--customer-col", "c", "--date-col", "d")


def test_nothing_before_the_calibration_end_cannot_be_fitted(tmp_path):
    path = tmp_path / "log.csv"
    path.write_text("c,d\na,2025-03-01\n", encoding="utf-8")
    with pytest.raises(CommandError, match="cannot fit: no purchase on or before the calibration end 2025-01-01"):
        run("--transactions", str(path), "--customer-col", "c", "--date-col", "d", "--calibration-end", "2025-01-01")


@pytest.mark.parametrize(
    ("text", "day"),
    [
        ("2025-06-18", date(2025, 6, 18)),
        ("2025/6/8", date(2025, 6, 8)),
        ("20250618", date(2025, 6, 18)),
        ("2025-06-18 23:59:00", date(2025, 6, 18)),
        ("2025-06-18T08:00:00+08:00", date(2025, 6, 18)),
        ("2025年6月18日", date(2025, 6, 18)),
        (" 2025.06.18 ", date(2025, 6, 18)),
    ],
)
def test_parse_day_reads_the_usual_spellings(text, day):
    assert parse_day(text) == day


@pytest.mark.parametrize("text", ["", "18/06/2025", "2025-13-01", "2025-02-30", "June 18"])
def test_parse_day_refuses_others(text):
    with pytest.raises(ValueError):  # noqa: PT011  (the caller words the message)
        parse_day(text)


@pytest.mark.parametrize(
    ("text", "amount"), [("199.00", 199.0), ("¥1,299", 1299.0), ("12.5元", 12.5), (" $3 ", 3.0), ("-4", -4.0)]
)
def test_parse_amount(text, amount):
    assert parse_amount(text) == amount


def test_read_log_codes_customers_and_reads_gb18030(tmp_path):
    path = tmp_path / "gb.csv"
    path.write_bytes("买家,日期,金额\n张三,2025-01-02,10\n李四,2025-01-03,¥20\n张三,2025-02-01,30\n".encode("gb18030"))
    log = read_log(path, customer_col="买家", date_col="日期", amount_col="金额")
    assert log.names == ["张三", "李四"]
    assert log.customers.tolist() == [0, 1, 0]
    assert log.days.tolist() == [
        date(2025, 1, 2).toordinal(),
        date(2025, 1, 3).toordinal(),
        date(2025, 2, 1).toordinal(),
    ]
    assert log.amounts is not None
    assert log.amounts.tolist() == [10.0, 20.0, 30.0]
    with pytest.raises(LogError, match="--amount-col: no column 'amount'"):
        read_log(path, customer_col="买家", date_col="日期", amount_col="amount")
