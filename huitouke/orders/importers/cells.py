"""Cell parsers: one string in, one typed value out, or `CellError` with a short plain-English reason.

Each parser tries the cheap exact form first (a plain `12.50`, a `2024-02-25 22:00:54`) and only cleans or
regex-matches when that fails, because they run once per cell of million-line files.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta, timezone, tzinfo
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

ZERO = Decimal(0)
CENT = Decimal("0.01")

# What the archive can hold and what is plausible (#14): beyond these a value is a row error, never stored.
#: the largest amount of any kind (order totals, lines, shipping): below what every amount column holds (shipping
#: has 10 digits, 2 after the point) and far above any real order
MAX_AMOUNT = Decimal("99999999.99")
#: the largest quantity of one line
MAX_QUANTITY = 1_000_000
#: the earliest plausible order time (naive; compared before the time zone is attached)
EARLIEST = datetime(1990, 1, 1)  # noqa: DTZ001  # naive by design: compared with naive times
#: how far past the moment a file is read a time may lie (the file's time zone and clock skew)
FUTURE_SLACK = timedelta(days=2)


class CellError(ValueError):
    """A cell that cannot be read; `reason` is shown to the seller next to row, column and value."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# ---------------------------------------------------------------- text and ids

_BLANKS = "\u3000\xa0\ufeff\t\r\n "


def text(s: str) -> str:
    """A text cell, trimmed. Cells starting with = + - @ stay as written (nothing is ever evaluated)."""
    return s.strip(_BLANKS)


def unwrap(s: str) -> str:
    """Strip the `="…"` wrapper and the leading apostrophe exports put around IDs to keep Excel from mangling them."""
    first = s[:1]
    if first != "=" and first != "'" and first not in _BLANKS and s[-1] not in _BLANKS:
        return s  # the common case: nothing to strip
    if first == "=" and s[1:2] == '"' and s[-1] == '"' and len(s) >= 4:
        inner = s[2:-1]  # `="1930679858170647"`, how Taobao writes every id
        if inner[0] not in _BLANKS and inner[-1] not in _BLANKS:
            return inner
    s = s.strip(_BLANKS)
    if s.startswith('="') and s.endswith('"') and len(s) >= 3:
        s = s[2:-1].strip(_BLANKS)
    elif s.startswith("'"):
        s = s[1:].strip(_BLANKS)
    return s


_SCI = re.compile(r"^\d(\.\d+)?[eE]\+?\d+$")


def parse_id(s: str) -> str:
    """An order/item number, always as the exact string (modern Taobao ids exceed 2^53, so never a float)."""
    s = unwrap(s)
    if not s:
        raise CellError("missing order number")
    if _SCI.match(s):
        raise CellError("the number was turned into a rounded float by a spreadsheet (export again, do not re-save)")
    return s


# ---------------------------------------------------------------- amounts and counts

_PLAIN_AMOUNT = re.compile(r"\d+(\.\d{1,2})?")  # more decimals take the slow path (rounded to the cent)
_CURRENCY = re.compile(r"\(元\)|（元）|RMB|CNY|USD|EUR|GBP|HKD|[元¥￥$€£,，'\s\u3000\xa0\ufeff]", re.IGNORECASE)
_CLEAN_AMOUNT = re.compile(r"(\d+(\.\d*)?|\.\d+)")
_EMPTY = frozenset({"", "-", "--", "null", "NULL", "None", "无", "N/A", "n/a"})


def parse_amount(s: str) -> Decimal:
    """A money amount ≥ 0 and ≤ MAX_AMOUNT, to the cent (more decimals are rounded half up); empty means 0.
    Tolerates ¥/￥/元/(元)/currency codes, thousands separators, spaces."""
    if _PLAIN_AMOUNT.fullmatch(s):
        d = Decimal(s)
        if d > MAX_AMOUNT:
            raise CellError(TOO_LARGE)
        return d
    t = s.strip(_BLANKS)
    if t in _EMPTY:
        return ZERO
    core = _CURRENCY.sub("", t)
    negative = False
    if core[:1] in ("-", "+"):
        negative, core = core[0] == "-", core[1:]
    elif core.startswith("(") and core.endswith(")"):  # accounting notation for a negative amount
        negative, core = True, core[1:-1]
    if not _CLEAN_AMOUNT.fullmatch(core):
        raise CellError("not an amount")
    if negative:
        raise CellError("amount is negative")
    try:
        return _in_range(Decimal(core), core)
    except InvalidOperation:  # pragma: no cover - the regex already guarantees a decimal literal
        raise CellError("not an amount") from None


TOO_LARGE = f"amount larger than {MAX_AMOUNT:,} (not a plausible amount)"


def _in_range(d: Decimal, literal: str) -> Decimal:
    if d > MAX_AMOUNT:
        raise CellError(TOO_LARGE)
    dot = literal.find(".")
    if dot >= 0 and len(literal) - dot > 3:  # more decimals than the columns keep
        return d.quantize(CENT, ROUND_HALF_UP)
    return d


def parse_quantity(s: str) -> int:
    """A line quantity ≥ 1 (`2`, `2.0`, `2件`)."""
    t = s.strip(_BLANKS)
    if t.isdigit():
        n = int(t)
    else:
        t = t.removesuffix("件").removesuffix("个").replace(",", "")
        try:
            f = Decimal(t)
        except InvalidOperation:
            raise CellError("missing quantity" if not t else "not a whole number") from None
        if not f.is_finite() or f != f.to_integral_value():
            raise CellError("not a whole number")
        n = int(f)
    if n < 1:
        raise CellError("quantity must be at least 1")
    if n > MAX_QUANTITY:
        raise CellError(f"quantity larger than {MAX_QUANTITY:,} (not a plausible quantity)")
    return n


def unit_price(amount: Decimal, quantity: int) -> Decimal:
    """Unit price of a line whose total is known, to the cent."""
    return (amount / quantity).quantize(CENT) if quantity > 1 else amount


# ---------------------------------------------------------------- dates

_DATE = re.compile(
    r"(\d{4})[-/.年](\d{1,2})[-/.月](\d{1,2})日?"
    r"(?:[ T]+(\d{1,2})[:：](\d{1,2})(?:[:：](\d{1,2})(?:\.(\d{1,6}))?)?)?"
    r"\s*(Z|UTC|GMT|[+-]\d{2}:?\d{2})?"
)
_EXCEL_EPOCH = datetime(1899, 12, 30, tzinfo=UTC)
_NO_DATE = frozenset({"", "-", "--", "null", "NULL", "None", "0000-00-00 00:00:00", "0000-00-00"})


_fromisoformat = datetime.fromisoformat


def zone(name: str) -> tzinfo:
    """The IANA time zone used for naive times in a file."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown time zone {name!r}") from None


def parse_datetime(s: str, tz: tzinfo) -> datetime | None:
    """A timestamp, timezone-aware (naive → `tz`); empty → None.

    Accepts `2024-02-25 22:00:54`, Excel-resaved `2024/2/25 22:00`, `2024-02-25`, `2024年2月25日 22:00`,
    ISO `2025-10-07T09:50:26+02:00`, Shopify `2025-10-07 09:50:26 +0200` and Excel serial numbers (45347.5).
    """
    if not s:
        return None
    if len(s) == 19 and s[4] == "-" and s[10] == " " and s[13] == ":" and s[16] == ":":
        try:
            naive = _fromisoformat(s)
        except ValueError:
            pass  # fall through: the slow path gives the precise reason
        else:
            if naive < EARLIEST or naive > _latest:
                _out_of_range(naive)
            return naive.replace(tzinfo=tz)
    t = s.strip(_BLANKS)
    if t in _NO_DATE:
        return None
    m = _DATE.fullmatch(t)
    if m is None:
        return _excel_serial(t, tz)
    year, month, day, hour, minute, second, frac, offset = m.groups()
    zone_: tzinfo = tz
    if offset in ("Z", "UTC", "GMT"):
        zone_ = UTC
    elif offset is not None:
        digits = offset[1:].replace(":", "")
        delta = timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
        if delta >= timedelta(hours=24):
            raise CellError("not a valid time zone offset")
        zone_ = timezone(-delta if offset[0] == "-" else delta)
    try:
        naive = datetime(  # noqa: DTZ001  # the zone is attached after the plausibility check
            int(year),
            int(month),
            int(day),
            int(hour or 0),
            int(minute or 0),
            int(second or 0),
            int((frac or "0").ljust(6, "0")),
        )
    except ValueError:
        raise CellError("not a valid date") from None
    if naive < EARLIEST or naive > _latest:
        _out_of_range(naive)
    return naive.replace(tzinfo=zone_)


def _excel_serial(t: str, tz: tzinfo) -> datetime:
    try:
        serial = float(t)
    except ValueError:
        raise CellError("not a date (expected e.g. 2024-02-25 22:00:54)") from None
    if not 20000 <= serial <= 80000:  # 1954 … 2119: anything else is not a date at all
        raise CellError("not a date (expected e.g. 2024-02-25 22:00:54)")
    naive = (_EXCEL_EPOCH + timedelta(seconds=round(serial * 86400))).replace(tzinfo=None)
    if naive < EARLIEST or naive > _latest:
        _out_of_range(naive)
    return naive.replace(tzinfo=tz)


#: the latest plausible time (naive): `FUTURE_SLACK` past the moment the current file was opened
_latest = datetime.now(UTC).replace(tzinfo=None) + FUTURE_SLACK


def set_clock(now: datetime | None = None) -> None:
    """Fix "now" for the plausibility of times (`parse_orders` calls it once per file, so that a long-running
    worker does not compare with the day it started; a plain comparison per cell stays cheap)."""
    global _latest
    _latest = (now or datetime.now(UTC)).replace(tzinfo=None) + FUTURE_SLACK


def _out_of_range(naive: datetime) -> None:
    if naive < EARLIEST:
        raise CellError(f"date before {EARLIEST.year} (not a plausible order date)")
    raise CellError(f"date in the future (after {_latest:%Y-%m-%d})")


# ---------------------------------------------------------------- status, flags, phones

_STATUS_SPACES = str.maketrans({",": "，", " ": None, "\u3000": None, "\t": None})


def status_key(s: str) -> str:
    """The lookup form of a status text: no spaces, full-width commas, lower case (`买家已付款,等待卖家发货`)."""
    return s.strip(_BLANKS).translate(_STATUS_SPACES).lower()


def parse_status(s: str, table: dict[str, str]) -> str:
    """Map a platform's status text through `table` (keys already in `status_key` form)."""
    found = table.get(s)  # the text as exported usually is its own lookup form
    if found is not None:
        return found
    try:
        return table[status_key(s)]
    except KeyError:
        raise CellError("missing order status" if not s.strip() else "unknown order status") from None


_YES = frozenset({"yes", "y", "true", "1", "是", "subscribed", "opt-in", "同意", "愿意"})
_NO = frozenset({"no", "n", "false", "0", "否", "not_subscribed", "unsubscribed", "不同意", "不愿意"})


def parse_bool(s: str) -> bool | None:
    """yes/no, true/false, 1/0, 是/否, 同意/不同意, 愿意/不愿意; empty → None (the file does not say)."""
    t = s.strip(_BLANKS).lower()
    if not t:
        return None
    if t in _YES:
        return True
    if t in _NO:
        return False
    raise CellError("expected yes or no")


_PHONE_DROP = str.maketrans({" ": None, "\u3000": None, "\xa0": None, "\t": None})


def parse_phone(s: str) -> str:
    """A phone number without wrapper, apostrophe, spaces or the +86 country code; masked digits kept as written.

    Idempotent: parse_phone(parse_phone(x)) == parse_phone(x).
    """
    t = unwrap(s).translate(_PHONE_DROP)
    while True:
        before = t
        if t.startswith("'"):
            t = t[1:]
        for prefix in ("+86-", "+86", "(+86)", "（+86）", "0086-", "0086"):
            if t.startswith(prefix):
                t = t[len(prefix) :]
                break
        if len(t) == 13 and t.startswith("861") and t[2:].isdigit():
            t = t[2:]
        if t == before:
            return t


# ---------------------------------------------------------------- addresses

_PROVINCES = (
    "北京", "天津", "上海", "重庆", "河北", "山西", "辽宁", "吉林", "黑龙江", "江苏", "浙江", "安徽", "福建", "江西",
    "山东", "河南", "湖北", "湖南", "广东", "海南", "四川", "贵州", "云南", "陕西", "甘肃", "青海", "台湾", "内蒙古",
    "广西", "西藏", "宁夏", "新疆", "香港", "澳门",
)  # fmt: skip
_PROVINCE_SUFFIXES = ("壮族自治区", "回族自治区", "维吾尔自治区", "特别行政区", "自治区", "省", "市")
_POSTCODE = re.compile(r"\s*[(（](\d{6})[)）]\s*$")
_CITY = re.compile(r"(.{1,12}?(?:自治州|地区|盟|市))")
_DISTRICT = re.compile(r"(.{1,12}?(?:自治县|自治旗|新区|区|县|旗|市))")
_MUNICIPALITIES = ("北京", "天津", "上海", "重庆")


_PROVINCE_SET = frozenset(_PROVINCES)


def _province_prefix(s: str) -> str:
    name = s[:3] if s[:3] in _PROVINCE_SET else s[:2] if s[:2] in _PROVINCE_SET else ""
    if name:
        for suffix in _PROVINCE_SUFFIXES:
            if s.startswith(suffix, len(name)):
                return name + suffix
    return name


def split_address(s: str) -> tuple[str, str, str, str, str]:
    """Split a Chinese delivery address into (province, city, district, street, postcode).

    Taobao writes "浙江省 杭州市 西湖区 文三路1号(310000)" (municipalities "北京 北京市 朝阳区 …"); unspaced
    addresses are split best-effort with the province list. Anything not recognised stays in `street`.
    """
    t = s.strip(_BLANKS)
    if not t:
        return "", "", "", "", ""
    postcode = ""
    m = _POSTCODE.search(t)
    if m:
        postcode = m.group(1)
        t = t[: m.start()]
    parts = t.split()
    if len(parts) >= 3 and _province_prefix(parts[0]) == parts[0]:
        province, city = parts[0], parts[1]
        if len(parts) >= 4 and _DISTRICT.fullmatch(parts[2]):
            return province, city, parts[2], " ".join(parts[3:]), postcode
        return province, city, "", " ".join(parts[2:]), postcode
    flat = "".join(parts) if len(parts) > 1 and _province_prefix(parts[0]) else t
    province = _province_prefix(flat)
    if not province:
        return "", "", "", t, postcode
    rest = flat[len(province) :]
    city = ""
    if province[:2] in _MUNICIPALITIES:
        city = province if province.endswith("市") else province + "市"
        rest = rest.removeprefix(city)
    else:
        m = _CITY.match(rest)
        if m:
            city = m.group(1)
            rest = rest[m.end() :]
    district = ""
    m = _DISTRICT.match(rest)
    if m and city:
        district = m.group(1)
        rest = rest[m.end() :]
    return province, city, district, rest, postcode
