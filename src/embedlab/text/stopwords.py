"""Stop-word lists for English and Chinese.

English: the NLTK list (179 words). Chinese: common function words, pronouns, particles and
conjunctions of modern and classical usage. ``stopwords("en")`` returns a frozenset; the lists are
small data kept inline so no file lookup is needed.
"""

from __future__ import annotations

from ..errors import check_choice

__all__ = ["stopwords"]

_EN = """
i me my myself we our ours ourselves you you're you've you'll you'd your yours yourself yourselves
he him his himself she she's her hers herself it it's its itself they them their theirs themselves
what which who whom this that that'll these those am is are was were be been being have has had
having do does did doing a an the and but if or because as until while of at by for with about
against between into through during before after above below to from up down in out on off over
under again further then once here there when where why how all any both each few more most other
some such no nor not only own same so than too very s t can will just don don't should should've
now d ll m o re ve y ain aren aren't couldn couldn't didn didn't doesn doesn't hadn hadn't hasn
hasn't haven haven't isn isn't ma mightn mightn't mustn mustn't needn needn't shan shan't shouldn
shouldn't wasn wasn't weren weren't won won't wouldn wouldn't
"""

_ZH = """
的 了 和 是 在 我 有 他 她 它 这 那 你 们 我们 你们 他们 她们 它们 就 也 都 而 及 与 或 着 之 其 以 于
为 被 把 让 给 从 向 对 将 又 还 很 更 最 再 已 已经 并 并且 但 但是 而且 因为 所以 如果 虽然 然而
因此 只 只是 不 没 没有 无 非 个 些 这些 那些 这个 那个 什么 怎么 怎样 为什么 哪 哪里 谁 吗 呢 吧
啊 呀 哦 嗯 么 得 地 上 下 中 里 来 去 过 会 能 可 可以 要 就是 还是 一 一个 一些 一样 一直 自己
此 彼 亦 乃 矣 焉 哉 乎 者 也罢 耳 兮 曰 所 则 即 既 若 如 虽 故 因 等 等等 之后 之前 以及 关于 对于
由于 例如 比如 而已 罢了 便 却 倒 总 才 刚 正 每 各 某 另 其他 其它 别的 这样 那样 这么 那么 如此
""" + " ".join("，。、；：？！“”‘’（）《》【】…—·")

_LISTS = {"en": frozenset(_EN.split()), "zh": frozenset(_ZH.split())}


def stopwords(lang: str) -> frozenset[str]:
    """The stop-word set of ``lang`` ("en" or "zh")."""
    return _LISTS[check_choice("lang", "stopwords", lang, tuple(_LISTS))]
