"""Shop-language text: normalisation, jieba words and synonyms, so 宝贝包邮吗 meets 商品免运费吗.

Buyers write the same question many ways: full-width or half-width, traditional or
simplified characters, 亲/哦/呢 fillers, Taobao slang (宝贝 = the item), and sometimes
English. `tokens` maps all of them onto one vocabulary of canonical words before BM25 sees
them; `signature` and `similarity` compare whole replies (answer clustering, evaluation).
"""

from __future__ import annotations

import logging
import re
import threading
import unicodedata
from collections.abc import Callable
from functools import lru_cache

import jieba

# Canonical word <- the ways buyers and agents say it (Chinese and English). Every variant is
# also added to jieba's dictionary so it stays one word.
SYNONYMS: dict[str, tuple[str, ...]] = {
    "商品": ("宝贝", "商品", "货品", "产品", "东西", "item", "product", "goods"),
    "发货": (
        "发货",
        "发出",
        "寄出",
        "出货",
        "发走",
        "寄出去",
        "发了",
        "ship",
        "shipped",
        "shipping",
        "dispatch",
        "dispatched",
        "send",
        "sent",
    ),
    "快递": ("快递", "物流", "快件", "快递公司", "courier", "express", "logistics", "carrier"),
    "包邮": ("包邮", "免邮", "免运费", "免费配送", "免费送", "freeshipping"),
    "运费": ("运费", "邮费", "快递费", "配送费", "postage"),
    "退换": (
        "退换",
        "退换货",
        "退货",
        "换货",
        "退回",
        "寄回",
        "退",
        "换",
        "return",
        "returns",
        "exchange",
    ),
    "退款": ("退款", "退钱", "返款", "refund", "refunds", "money back"),
    "尺码": ("尺码", "尺寸", "码数", "码子", "大小", "号码", "几码", "size", "sizes"),
    "价格": (
        "价格",
        "价钱",
        "多少钱",
        "几块钱",
        "售价",
        "单价",
        "price",
        "cost",
        "costs",
        "howmuch",
    ),
    "优惠": (
        "优惠",
        "优惠券",
        "折扣",
        "打折",
        "券",
        "满减",
        "便宜点",
        "coupon",
        "coupons",
        "discount",
        "discounts",
    ),
    "有货": ("有货", "现货", "库存", "有库存", "还有货", "instock", "stock", "available"),
    "缺货": ("缺货", "没货", "断货", "售罄", "卖完", "outofstock", "soldout"),
    "何时": ("什么时候", "啥时候", "几时", "多久", "多长时间", "几天", "when", "howlong"),
    "正品": ("正品", "真货", "正版", "原装", "真的", "genuine", "authentic", "original"),
    "发票": ("发票", "开票", "开发票", "invoice", "receipt"),
    "材质": ("材质", "面料", "材料", "布料", "成分", "什么料", "material", "fabric", "made"),
    "颜色": ("颜色", "色号", "配色", "color", "colour", "colors", "colours"),
    "到货": ("到货", "送到", "收到", "到达", "签收", "arrive", "arrives", "delivered", "delivery"),
    "可以": ("可以", "能", "能不能", "可不可以", "行不行", "可否", "can", "could"),
    "你好": ("你好", "您好", "在吗", "在么", "在不在", "有人吗", "哈喽", "hello", "hi"),
    "人工": ("人工", "真人", "转人工", "人工客服", "human", "agent", "person"),
}


def _words(line: str) -> list[str]:
    """Space-separated words (word lists read better as one line of text)."""
    return line.split()


# More shop words jieba should keep whole (not synonyms of anything).
EXTRA_WORDS = (
    *_words("运费险 七天无理由 花呗 借呗 起球 掉色 色差 顺丰 京东 淘宝"),
    *_words("保价 售后 维修 质保 保修 预售 定金"),
)
# English phrases folded into one word before splitting (the synonyms list their joined form).
PHRASES = {
    "free shipping": "freeshipping",
    "out of stock": "outofstock",
    "sold out": "soldout",
    "in stock": "instock",
    "how long": "howlong",
    "how much": "howmuch",
    "money back": "moneyback",
}
# Words that carry no meaning for matching: fillers, particles, pronouns, English glue.
STOPWORDS = frozenset(
    [
        *_words("亲 亲亲 亲爱的 哦 噢 呢 呀 啊 吧 嘛 哈 啦 的 了 吗 么 嗯 嗯嗯 额 呃 哟 咯 喔 滴"),
        *_words("这个 那个 一下 请问 我 你 您 我们 你们 是 就 都 也 还 和 跟 与 在 有 这 那 个"),
        *_words("么么哒 什么 啥"),
        *_words("a an the is are am be do does did i you me my your we our to of in on at for"),
        *_words("it its this that these those and or please pls any there what which"),
    ]
)
# Placeholders of anonymised logs (JDDC: [数字x], [ORDERID_1], #E-s[数字x] emoticons) and URLs.
_PLACEHOLDER = re.compile(r"#e-s\[[^\]]*\]|\[[^\[\]]{1,40}\]|https?://\S+|www\.\S+", re.I)
_SPACE_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)
_ENGLISH = re.compile(r"[a-z][a-z0-9']*|[0-9]+(?:\.[0-9]+)?")
_LATIN = re.compile(r"[a-zA-Z]")
_CJK = re.compile(r"[\u4e00-\u9fff]")
_FILLER_CHARS = re.compile(r"亲爱的|亲亲|[亲哦噢呢呀啊吧嘛哈啦哟咯喔嗯滴~～]")
_DIGITS = re.compile(r"[0-9]+")
_A_NOT_A = re.compile(r"([\u4e00-\u9fff])[不没]\1")  # 包不包邮 = 包邮吗, 有没有货 = 有货吗

_CANONICAL: dict[str, str] = {
    v.replace(" ", ""): canon for canon, variants in SYNONYMS.items() for v in variants
}
_lock = threading.Lock()
_tokenizer: jieba.Tokenizer | None = None


def _to_simplified() -> Callable[[str], str]:
    """OpenCC's traditional->simplified converter, or identity when OpenCC is absent."""
    try:
        import opencc
    except ImportError:  # pragma: no cover - opencc is a declared dependency
        return lambda s: s
    conv = opencc.OpenCC("t2s")
    return conv.convert


_t2s = _to_simplified()


def tokenizer() -> jieba.Tokenizer:
    """A private jieba tokenizer with the shop words added (other modules keep their own)."""
    global _tokenizer
    if _tokenizer is None:
        with _lock:
            if _tokenizer is None:
                jieba.setLogLevel(logging.WARNING)
                tk = jieba.Tokenizer()
                tk.initialize()
                from kefu.faq.lexicon import lexicon_words

                # the matching lexicon's words too, from the start: segmentation never depends
                # on which module asked first
                for word in [*_CANONICAL, *EXTRA_WORDS, *lexicon_words()]:
                    if _CJK.search(word) and len(word) > 1:
                        tk.add_word(word, freq=200_000)
                _tokenizer = tk
    return _tokenizer


def clean(text: str) -> str:
    """NFKC (full-width to half-width), simplified characters, A-not-A questions folded
    (包不包邮 -> 包邮), lower case, no placeholders."""
    s = unicodedata.normalize("NFKC", text)
    if _CJK.search(s):
        s = _A_NOT_A.sub(r"\1", _t2s(s))
    return _PLACEHOLDER.sub(" ", s).lower()


def normalize(text: str) -> str:
    """`clean` without spaces and punctuation: the text two equal questions share."""
    return _SPACE_PUNCT.sub("", clean(text))


def signature(text: str) -> str:
    """A reply's identity for clustering: `normalize` without fillers and with digits as 0."""
    return _DIGITS.sub("0", _FILLER_CHARS.sub("", normalize(text)))


@lru_cache(maxsize=65_536)
def tokens(text: str) -> tuple[str, ...]:
    """Canonical words of `text` for BM25: jieba words, synonyms folded, fillers dropped."""
    s = clean(text)
    if _LATIN.search(s):
        for phrase, joined in PHRASES.items():
            if phrase in s:
                s = s.replace(phrase, f" {joined} ")
    out: list[str] = []
    for raw in tokenizer().lcut(s):
        w = raw.strip()
        if not w:
            continue
        if _LATIN.search(w) or w[0].isdigit():
            words = _ENGLISH.findall(w)
        elif _SPACE_PUNCT.fullmatch(w):
            continue
        else:
            words = [w]
        for word in words:
            canon = _CANONICAL.get(word)
            if canon is None and len(word) > 1 and word[0] == "有":
                canon = _CANONICAL.get(word[1:])  # jieba keeps 有券 whole: 有 + 券
            if canon is None:
                if word in STOPWORDS:
                    continue
                canon = _stem(word) if word.isascii() else word
            out.append(canon)
    return tuple(out)


def _stem(word: str) -> str:
    """A light English stem (plural and -ing/-ed), enough for short shop questions."""
    for suffix in ("ing", "ed", "es", "s"):
        if len(word) > len(suffix) + 3 and word.endswith(suffix):
            return word[: -len(suffix)]
    return word


def is_english(text: str) -> bool:
    """True when the text has Latin letters and no Chinese characters (reply in English)."""
    return bool(_LATIN.search(text)) and not _CJK.search(text)


def bigrams(s: str) -> set[str]:
    """Character bigrams of a normalised string (a single character counts as itself)."""
    if len(s) < 2:
        return {s} if s else set()
    return {s[i : i + 2] for i in range(len(s) - 1)}


def dice(a: set[str], b: set[str]) -> float:
    """Dice coefficient of two sets, 0 when both are empty."""
    if not a or not b:
        return 0.0
    return 2 * len(a & b) / (len(a) + len(b))


def similarity(a: str, b: str) -> float:
    """Character-bigram Dice of the two texts' signatures, in [0, 1]."""
    return dice(bigrams(signature(a)), bigrams(signature(b)))
