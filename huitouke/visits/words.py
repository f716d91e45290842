"""Feedback words by product: what customers said on their visits, cut into words (jieba, Chinese word
segmentation) and counted per product. Pure: no ORM; callers pass (product title, feedback) pairs."""

from __future__ import annotations

import logging
import re
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable
from dataclasses import dataclass

#: words that say nothing about a product (particles, pronouns, fillers a visit's notes are full of)
_STOP_TEXT = (
    "的 了 是 我 你 他 她 它 们 我们 你们 他们 就 都 也 还 很 挺 太 比较 非常 "
    "有点 一点 一下 这个 那个 这 那 在 和 跟 与 有 没有 没 不 吗 呢 吧 啊 呀 "
    "哦 嗯 说 觉得 感觉 就是 还是 但是 可以 因为 所以 如果 已经 一直 然后 "
    "什么 怎么 这样 那样 客户 顾客 买家 回访 电话 "
    "the and but for with was were this that very its not are you have has had"
)
STOPWORDS = frozenset(_STOP_TEXT.split())
#: a word is kept when it has 2+ CJK characters, or 3+ Latin letters
_KEEP = re.compile(r"^(?:[\u4e00-\u9fff]{2,}|[a-z][a-z'-]{2,})$")
_lock = threading.Lock()
_ready = False


def _jieba() -> object:
    global _ready
    import jieba

    with _lock:
        if not _ready:
            jieba.setLogLevel(logging.WARNING)
            jieba.initialize()
            _ready = True
    return jieba


def tokens(text: str) -> list[str]:
    """The words of one text worth counting, lower-cased, stopwords and punctuation dropped."""
    jieba = _jieba()
    out = []
    for raw in jieba.lcut((text or "")[:4000]):  # type: ignore[attr-defined]  # jieba has no type hints
        word = raw.strip().lower()
        if word and word not in STOPWORDS and _KEEP.match(word):
            out.append(word)
    return out


@dataclass(frozen=True)
class ProductWords:
    product: str
    feedbacks: int
    words: list[tuple[str, int]]


def words_by_product(pairs: Iterable[tuple[str, str]], *, top: int = 10, products: int = 20) -> list[ProductWords]:
    """Per product: how many feedbacks mention it and its `top` words (a word counts once per feedback), the
    products with most feedback first (ties by title), at most `products` of them."""
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    seen: Counter[str] = Counter()
    for product, text in pairs:
        seen[product] += 1
        counts[product].update(set(tokens(text)))
    ranked = sorted(seen, key=lambda p: (-seen[p], p))[:products]
    return [ProductWords(p, seen[p], sorted(counts[p].items(), key=lambda kv: (-kv[1], kv[0]))[:top]) for p in ranked]
