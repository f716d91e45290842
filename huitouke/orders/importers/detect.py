"""Recognise an export's format from its header row (never the generic one: that needs a mapping)."""

from __future__ import annotations

from huitouke.orders.importers import jd, pdd, shopify, taobao, woocommerce
from huitouke.orders.importers.common import Required, missing_columns
from huitouke.orders.importers.rows import ImportFileError
from huitouke.orders.importers.table import header_key

#: format → (label, required columns); each required column lists its accepted header spellings.
SIGNATURES: dict[str, tuple[str, Required]] = {
    "taobao": (taobao.LABEL, taobao.REQUIRED),
    "jd": (jd.LABEL, jd.REQUIRED),
    "pdd": (pdd.LABEL, pdd.REQUIRED),
    "shopify": (shopify.LABEL, shopify.REQUIRED),
    "woocommerce": (woocommerce.LABEL, woocommerce.REQUIRED),
}


def detect_format(headers: list[str]) -> str:
    """The format whose required columns are all present; ImportFileError naming what the closest one lacks."""
    keys = {header_key(h) for h in headers if h}
    matches = [fmt for fmt, (_label, required) in SIGNATURES.items() if not missing_columns(keys, required)]
    if matches:
        return max(matches, key=lambda fmt: len(SIGNATURES[fmt][1]))
    if not missing_columns(keys, taobao.ITEMS_REQUIRED):
        raise ImportFileError(
            "this is a Taobao/Tmall item report (宝贝报表): import the order report (订单报表) and give this file "
            "as its items file"
        )

    def present(fmt: str) -> float:
        required = SIGNATURES[fmt][1]
        return 1 - len(missing_columns(keys, required)) / len(required)

    closest = max(SIGNATURES, key=present)
    label, required = SIGNATURES[closest]
    missing = missing_columns(keys, required)
    raise ImportFileError(
        f"unrecognised file: the closest format is the {label}, which also needs the column(s) {', '.join(missing)}; "
        "for any other table use the generic format with a column mapping"
    )
