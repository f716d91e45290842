"""Reading a transaction log (one purchase per row) for `huitouke fit-clv`: pure, no ORM.

Any CSV with a header: the customer column (any text), the date column (2025-06-18, 2025/6/18, 20250618, with or
without a time, which is ignored) and optionally an amount column (199.00, ¥1,299, $12.50). UTF-8 (with or without
BOM) or GB18030 (Chinese spreadsheets). A bad cell raises LogError naming the row (as a spreadsheet numbers it:
the header is row 1), the column and the value; nothing is fitted then.
"""

from __future__ import annotations

import csv
import io
import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any

import numpy as np
from numpy.typing import NDArray

from huitouke.analytics import clv


class LogError(ValueError):
    """The file cannot be read as a transaction log; the message names the row/column/value."""


@dataclass(frozen=True)
class TransactionLog:
    """Customers as integer codes (in order of first appearance, `names` gives them back), days as proleptic
    Gregorian ordinals, amounts (None without an amount column)."""

    customers: NDArray[np.int64]
    days: NDArray[np.int64]
    amounts: NDArray[np.float64] | None
    names: list[str]

    @property
    def rows(self) -> int:
        return int(self.days.size)


_COMPACT = re.compile(r"^(\d{4})(\d{2})(\d{2})$")
_SPLIT = re.compile(r"^(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?$")
_MONEY_JUNK = re.compile(r"[¥￥$€£,\s]|^CNY|^RMB|元$")


def parse_day(text: str) -> date:
    """A calendar day from the usual spellings; a time after a space or 'T' is ignored. Raises ValueError."""
    value = text.strip()
    for sep in (" ", "T"):
        if sep in value:
            value = value.split(sep, 1)[0]
    match = _COMPACT.match(value) or _SPLIT.match(value)
    if not match:
        raise ValueError(text)
    return date(int(match[1]), int(match[2]), int(match[3]))


def parse_amount(text: str) -> float:
    """An amount such as 199.00, ¥1,299 or 12.5元. Raises ValueError."""
    value = _MONEY_JUNK.sub("", text.strip())
    try:
        number = Decimal(value)
    except InvalidOperation as exc:
        raise ValueError(text) from exc
    if not number.is_finite():
        raise ValueError(text)
    return float(number)


def _text(path: Path) -> str:
    raw = path.read_bytes()
    try:
        return raw.decode("utf-8-sig")
    except UnicodeDecodeError:
        try:
            return raw.decode("gb18030")
        except UnicodeDecodeError as exc:
            raise LogError(f"{path.name}: neither UTF-8 nor GB18030 text") from exc


def read_log(path: Path, *, customer_col: str, date_col: str, amount_col: str | None = None) -> TransactionLog:
    """Read the three columns of a transaction log. Rows with an empty customer are refused like bad dates:
    a log with holes would fit the wrong customers."""
    if not path.is_file():
        raise LogError(f"{path}: no such file")
    reader = csv.reader(io.StringIO(_text(path), newline=""))
    header = next(reader, None)
    if not header:
        raise LogError(f"{path.name}: the file is empty")
    header = [h.strip() for h in header]
    wanted = {"--customer-col": customer_col, "--date-col": date_col}
    if amount_col:
        wanted["--amount-col"] = amount_col
    index: dict[str, int] = {}
    for option, name in wanted.items():
        if name not in header:
            raise LogError(f"{option}: no column {name!r} in {path.name} (columns: {', '.join(header)})")
        index[option] = header.index(name)
    codes: dict[str, int] = {}
    customers: list[int] = []
    days: list[int] = []
    amounts: list[float] = []
    width = max(index.values()) + 1
    for row_no, row in enumerate(reader, start=2):
        if not any(cell.strip() for cell in row):
            continue
        if len(row) < width:
            raise LogError(f"row {row_no}: has {len(row)} columns, the header has {len(header)}")
        who = row[index["--customer-col"]].strip()
        if not who:
            raise LogError(f"row {row_no}: column {customer_col!r} is empty")
        cell = row[index["--date-col"]]
        try:
            day = parse_day(cell)
        except ValueError:
            raise LogError(
                f"row {row_no}: {cell!r} in column {date_col!r} is not a date (write 2025-06-18 or 20250618)"
            ) from None
        if amount_col:
            cell = row[index["--amount-col"]]
            try:
                amounts.append(parse_amount(cell))
            except ValueError:
                raise LogError(
                    f"row {row_no}: {cell!r} in column {amount_col!r} is not an amount (write 199.00)"
                ) from None
        customers.append(codes.setdefault(who, len(codes)))
        days.append(day.toordinal())
    if not days:
        raise LogError(f"{path.name}: no transactions under the header")
    return TransactionLog(
        customers=np.asarray(customers, dtype=np.int64),
        days=np.asarray(days, dtype=np.int64),
        amounts=np.asarray(amounts, dtype=np.float64) if amount_col else None,
        names=list(codes),
    )


UNIT_DAYS = {"day": 1.0, "week": 7.0}


@dataclass(frozen=True)
class LogFit:
    """What `fit-clv` reports: customers in the calibration period, the BG/NBD fit and, with amounts, the
    Gamma-Gamma fit on the repeat customers."""

    customers: int
    repeat_customers: int
    calibration_end: date
    unit: str
    bgnbd: clv.BgNbdParams
    gamma_gamma: clv.GammaGammaParams | None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"customers": self.customers, "bgnbd": self.bgnbd.as_json()}
        if self.gamma_gamma is not None:
            out["gamma_gamma"] = self.gamma_gamma.as_json()
        return out


def fit_log(log: TransactionLog, *, calibration_end: date | None = None, unit: str = "day") -> LogFit:
    """Fit BG/NBD (and Gamma-Gamma when the log has amounts) on the purchases up to `calibration_end` (default:
    the last day in the log), times in days or weeks. Raises clv.FitError when the data cannot support a fit."""
    if unit not in UNIT_DAYS:
        raise LogError(f"--unit: {unit!r} is not one of {', '.join(UNIT_DAYS)}")
    end = calibration_end or date.fromordinal(int(log.days.max()))
    summary = clv.summarise(log.customers, log.days, log.amounts, end_day=end.toordinal(), unit_days=UNIT_DAYS[unit])
    if summary.size == 0:
        raise clv.FitError(f"no purchase on or before the calibration end {end.isoformat()}")
    bgnbd = clv.bgnbd_fit(summary.x, summary.t_x, summary.T)
    gamma_gamma = clv.gamma_gamma_fit(summary.x, summary.monetary) if log.amounts is not None else None
    return LogFit(
        customers=summary.size,
        repeat_customers=int((summary.x > 0).sum()),
        calibration_end=end,
        unit=unit,
        bgnbd=bgnbd,
        gamma_gamma=gamma_gamma,
    )
