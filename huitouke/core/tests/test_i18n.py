"""The Chinese catalogue is complete and compiled: every string of the product has a translation."""

from __future__ import annotations

import gettext
import re
from pathlib import Path

import pytest
from django.conf import settings
from django.utils import translation

PO = Path(settings.BASE_DIR) / "locale" / "zh_Hans" / "LC_MESSAGES" / "django.po"
MO = PO.with_suffix(".mo")


def _entries() -> list[tuple[str, str, bool, bool]]:
    """(msgid, msgstr, fuzzy, plural) for every entry of the .po file (a small reader for what makemessages writes)."""
    entries: list[tuple[str, str, bool, bool]] = []
    text = PO.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [ln for ln in block.splitlines() if ln.strip()]
        fuzzy = any(ln.startswith("#,") and "fuzzy" in ln for ln in lines)
        parts: dict[str, str] = {}
        key = ""
        for ln in lines:
            if ln.startswith("#"):
                continue
            m = re.match(r'^(msgid|msgid_plural|msgstr(?:\[0\])?)\s+"(.*)"$', ln)
            if m:
                key = m.group(1).replace("[0]", "")
                parts[key] = m.group(2)
            elif ln.startswith('"') and key:
                parts[key] += ln[1:-1]
        if parts.get("msgid") and "msgctxt" not in block:
            entries.append((parts["msgid"], parts.get("msgstr", ""), fuzzy, "msgid_plural" in parts))
    return entries


def test_every_string_is_translated_and_none_is_fuzzy():
    entries = _entries()
    assert len(entries) > 100
    assert [e[0] for e in entries if not e[1]] == []
    assert [e[0] for e in entries if e[2]] == []


def _unescape(s: str) -> str:
    return s.replace('\\"', '"').replace("\\n", "\n").replace("\\\\", "\\")


def test_the_compiled_catalogue_matches_the_source():
    with MO.open("rb") as fh:
        catalogue = gettext.GNUTranslations(fh)
    stale = [
        msgid
        for msgid, msgstr, _fuzzy, plural in _entries()
        if not plural and catalogue.gettext(_unescape(msgid)) != _unescape(msgstr)
    ]
    assert stale == [], "run scripts/messages.sh --compile after editing the .po file"


@pytest.mark.parametrize(("text", "chinese"), [("Customers", "客户"), ("Order", "订单")])
def test_key_terms_read_as_a_chinese_seller_expects(text, chinese):
    with translation.override("zh-hans"):
        assert chinese in translation.gettext(text)
