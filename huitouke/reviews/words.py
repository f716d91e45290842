"""The words of review texts (Chinese segmented by jieba, Latin words lower-cased), stop words removed. Pure."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

import jieba

jieba.setLogLevel(logging.WARNING)

#: function words and words every review uses; they say nothing about what went wrong
_STOP_TEXT = """
    的 了 和 是 就 都 而 及 与 着 或 也 很 还 又 在 有 吧 啊 呢 吗 哦 嗯 把 被 让 给 对 说 不 没 太 才 再 更 最
    一个 一些 一下 一点 一样 没有 我们 你们 他们 自己 这个 那个 这样 那样 什么 怎么 为什么 但是 可是 因为 所以
    如果 就是 还是 已经 非常 比较 真的 感觉 觉得 东西 宝贝 商品 卖家 店家 掌柜 亲 收到 购买 买 用 这次 一次 然后
    还有 而且 不过 只是 其实 可以 可能 应该 知道 以后 之前 之后 时候 现在 一直 有点 有些 不是 还要 一般 总体
    the and for are but not you your our was were this that with have has had its it's they them then than
    too very just all any can could would should will from into out about what when there their been also
    """
STOP_WORDS = frozenset(_STOP_TEXT.split())

_WORD = re.compile(r"[\u4e00-\u9fff]{2,}|[a-z][a-z'-]{2,}")


def review_words(text: str) -> set[str]:
    """The distinct words of one review text worth counting: Chinese runs segmented by jieba, words of two or
    more characters (Latin: three or more letters, lower-cased), stop words removed."""
    if not text:
        return set()
    out: set[str] = set()
    for token in jieba.lcut(text.lower()):
        token = token.strip()
        if token in STOP_WORDS or not _WORD.fullmatch(token):
            continue
        out.add(token)
    return out


def word_counts(texts: Iterable[tuple[str, bool]]) -> dict[str, tuple[int, int]]:
    """Per word: (reviews whose text has it, bad reviews among them), from (text, is_bad) pairs."""
    counts: dict[str, list[int]] = {}
    for text, bad in texts:
        for word in review_words(text):
            c = counts.setdefault(word, [0, 0])
            c[0] += 1
            c[1] += int(bad)
    return {w: (n, b) for w, (n, b) in counts.items()}
