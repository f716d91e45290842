"""Search keys of canned replies: pinyin initials (pypinyin), so that "zcp" finds 中差评 and "by" finds 包邮.
Pure: no ORM. The initials are stored with a reply when it is saved, so a search is a plain indexed filter."""

from __future__ import annotations

import re

from pypinyin import Style, lazy_pinyin

INITIALS_MAX = 200
_ASCII_WORD = re.compile(r"[a-z0-9]+")


def initials(text: str) -> str:
    """The first letter of each Chinese character's pinyin, with Latin letters and digits kept as they are,
    lower-case, without spaces or punctuation: 中差评解释 -> zcpjs, 包邮 FAQ -> byfaq."""
    out: list[str] = []
    for part in lazy_pinyin(text or "", style=Style.FIRST_LETTER, errors=lambda s: s):
        for ch in part.lower():
            if ch.isascii() and ch.isalnum():
                out.append(ch)
    return "".join(out)[:INITIALS_MAX]


def is_initials_query(q: str) -> bool:
    """A query that may be pinyin initials: Latin letters (and digits) only."""
    return bool(q) and _ASCII_WORD.fullmatch(q.lower()) is not None
