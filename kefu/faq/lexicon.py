"""What buyers mean: kefu's own shop-language lexicon, colloquial rewrites and pinyin, for matching.

Buyers rarely use the store's wording: 啥时候发货 for 什么时候发货, 新疆能寄吗 for 偏远地区能发货吗,
可以机洗码 (码 typed for 吗), 能开发漂吗 (漂 for 票). `words` folds a text onto one vocabulary of
concepts (`CONCEPTS`: the many ways a buyer or an agent says one thing in a shop) after
rewriting the colloquial forms (`rewrite`); `sounds` gives the toneless pinyin syllable pairs of
a text, so a homophone typo still meets the word it stands for.

The lexicon is written for kefu (Apache-2.0, like the rest of the project) from ordinary
shop language; it copies no thesaurus. Pinyin comes from `pypinyin` (MIT; its dictionary is in
the wheel, nothing is downloaded). This module is for matching only: `kefu.faq.text.tokens`
keeps its narrower synonyms for learning and keyword statistics, where folding 新疆 into
偏远 would be wrong.
"""

from __future__ import annotations

import itertools
import re
from functools import lru_cache

from kefu.faq.text import PHRASES, STOPWORDS, SYNONYMS, _stem, clean, tokenizer


def _w(line: str) -> tuple[str, ...]:
    return tuple(line.split())


# concept <- the ways buyers and agents say it. A word belongs to one concept only.
CONCEPTS: dict[str, tuple[str, ...]] = {
    "发货": _w("发货 发出 寄出 出货 发走 寄出去 发了 发出去 出库 发件 寄 发 寄送 发过来 发吗"),
    "快递": _w("快递 物流 快件 快递公司 顺丰 中通 圆通 申通 韵达 邮政 ems 京东快递 极兔 百世"),
    "运费": _w("包邮 免邮 免运费 免费配送 运费 邮费 快递费 配送费 运费险 邮资"),
    "到货": _w("到货 送到 收到 到达 签收 送达 寄到 到 能到 送 收货"),
    "何时": _w(
        "什么时候 什么时侯 啥时候 几时 多久 多长时间 几天 多少天 哪天 什么时间 几号 多长 多少时间"
    ),
    "偏远": _w(
        "偏远 偏远地区 新疆 西藏 青海 内蒙古 内蒙 宁夏 甘肃 海南 偏僻 偏远地方 乌鲁木齐 拉萨"
    ),
    "地区": _w("地区 城市 北京 上海 广州 深圳 杭州 江浙沪 外地 本地 全国 省"),
    "退换": _w("退换 退换货 退货 换货 退回 寄回 退 换 退回去 退掉 调换 换一件 退换吗"),
    "无理由": _w("无理由 七天无理由 7天无理由 七天 7天 无理由退货"),
    "不满意": _w("不喜欢 不合适 不满意 穿不了 不想要 用不了 不合身"),
    "退款": _w("退款 退钱 返款 退费 退给我 退的钱 退给"),
    "到账": _w("到账 到帐 原路返回 退回来 回来 收到钱"),
    "操作": _w("申请 操作 弄 办理 流程 步骤 处理 申请售后 售后 手续"),
    "怎么": _w("怎么 如何 咋 怎样 怎么样 咋样 怎么弄 怎么办 咋办 怎么做"),
    "尺码": _w(
        "尺码 码数 码子 大小 号码 几码 多大码 大码 小码 码 偏大 偏小 尺码表 多大号 合身 size"
    ),
    "身材": _w("身高 体重 斤 公斤 胖 瘦 腰围 胸围 个子 穿多大 穿"),
    "发票": _w("发票 开票 开发票 专票 普票 增值税发票 电子发票 报销 抬头 税号 开具"),
    "地址": _w("地址 收货地址 收件地址 收货人 收件人 收货信息 电话"),
    "修改": _w("修改 更改 改 换个 变更 改一下"),
    "错误": _w("填错 写错 弄错 错了 写错了 填错了 拍错 拍错了"),
    "加急": _w("催 催一下 催催 加急 急 急用 尽快 快点 早点 赶时间 着急 抓紧 快一点 赶紧 急着"),
    "正品": _w("正品 真货 正版 原装 真的 保真 真品 假货 假的 高仿 仿品 山寨 验货 专柜 a货 假"),
    "优惠": _w(
        "优惠 优惠券 优惠卷 优惠劵 折扣 打折 券 满减 便宜点 便宜 活动 红包 减 降点 少点 新人 折"
    ),
    "预售": _w("预售 预定 预订 定金 订金 尾款 预售款 预约"),
    "有货": _w("有货 现货 库存 有库存 还有货 缺货 没货 断货 售罄 卖完 卖光 补货 到货提醒 存货 货"),
    "洗": _w("洗 清洗 机洗 手洗 水洗 干洗 洗衣机 洗涤 洗护 保养 漂白 洗的"),
    "掉色": _w("掉色 褪色 脱色 染色 浮色 掉颜色 串色 退色"),
    "起球": _w("起球 起毛球 起毛 掉毛 毛球 缩水 变形"),
    "色差": _w("色差 颜色正 偏色 差别 差距 不一样 一样"),
    "图片": _w("图片 照片 实物 实拍 实拍图 图 拍摄 描述 图上 图片上"),
    "保修": _w("保修 质保 维修 修 包修 包换 保固 修理 换新"),
    "破损": _w("破损 破 碎 摔碎 压坏 损坏 烂 坏 坏了 碎了 破了 裂 裂开 瑕疵"),
    "礼物": _w("礼物 礼品 送礼 送人 礼盒 贺卡 包装 礼品包装 礼品袋 送朋友"),
    "赠品": _w("赠品 赠送 附赠 小礼品 送的 赠"),
    "价保": _w("保价 价保 差价 退差价 补差价 降价 买贵了 买贵 价格保护"),
    "取消": _w("取消 撤销 撤回 不要了 不想要了 取消订单"),
    "少发": _w("少发 漏发 少了 缺了 没收全 少一件 缺件 缺少 漏 少 没发全 缺"),
    "付款": _w("花呗 分期 信用卡 借呗 付款 支付 刷卡 白条 分期付款 付钱"),
    "商品": _w("宝贝 商品 货品 产品 东西 配件 这款 这件 款"),
    "订单": _w("订单 单子 拍下 下单 拍了 买了 购买 拍"),
    "可以": _w("可以 能 能不能 可不可以 行不行 可否 行吗 可以吗 能否 支持 允许"),
    "价格": _w("价格 价钱 多少钱 几块钱 售价 单价 价格单 价签"),
    "材质": _w("材质 面料 材料 布料 成分 什么料 纯棉 棉 料子 质地"),
    "颜色": _w("颜色 色号 配色 几个色 什么色 色"),
    "你好": _w("你好 您好 在吗 在么 在不在 有人吗 哈喽 hello hi"),
    "人工": _w("人工 真人 转人工 人工客服"),
}

# Colloquial question forms rewritten before words are split (order matters).
_END = r"(?=[\s?？!！。.~～,，]*$)"
REWRITES: tuple[tuple[re.Pattern[str], str], ...] = (
    (re.compile(r"啥"), "什么"),
    (re.compile(r"咋"), "怎么"),
    (re.compile(r"(?<=[\u4e00-\u9fff])么" + _END), "吗"),
    (re.compile(r"(?<=[\u4e00-\u9fff])(?:不|没|没有)" + _END), "吗"),
    # 码 typed for 吗 at the end, unless a size word comes before it (多大码, XL码, 几码)
    (re.compile(r"(?<![大几小号尺多个中码加特么a-z0-9])码" + _END), "吗"),
)
_FILLERS = frozenset(_w("亲 亲亲 亲爱的 哦 噢 呢 呀 啊 吧 嘛 哈 啦 了 吗 嗯 额 呃 哟 咯 喔 滴 的"))
_QUESTION_WORDS = frozenset(_w("什么 吗 呢 请问 一下 那 这 这个 那个 我 你 您 是 就 都 也 还"))
_CJK = re.compile(r"[\u4e00-\u9fff]")
_LATIN_ANY = re.compile(r"[a-z]")
_LATIN_WORD = re.compile(r"[a-z][a-z0-9']*|[0-9]+(?:\.[0-9]+)?")
_SOUND_UNIT = re.compile(r"[\u4e00-\u9fff]|[a-z][a-z0-9']*")
# asking words carry no sound of their own (什么材质 must not sound like 发什么快递)
_ASKING = re.compile("什么|怎么|请问|一下|这个|那个|可以|是不是|有没有|能不能")
_PUNCT = re.compile(r"[\s\W_]+", re.UNICODE)

_CONCEPT_OF: dict[str, str] = {v: c for c, vs in CONCEPTS.items() for v in vs}
for _canon, _variants in SYNONYMS.items():  # the base synonyms, where the lexicon is silent
    for _v in _variants:
        _CONCEPT_OF.setdefault(_v.replace(" ", ""), _canon)


def lexicon_words() -> list[str]:
    """Every word of the lexicon (jieba keeps them whole: `kefu.faq.text.tokenizer`)."""
    return sorted(_CONCEPT_OF)


@lru_cache(maxsize=65_536)
def rewrite(text: str) -> str:
    """`clean` text, colloquial forms rewritten (啥 -> 什么, 包邮不 -> 包邮吗, 机洗码 -> 机洗吗)."""
    s = clean(text).strip()
    for pattern, repl in REWRITES:
        s = pattern.sub(repl, s)
    return s


@lru_cache(maxsize=1)
def _homophones() -> dict[str, str]:
    """Toneless pinyin of each 2-3 character lexicon word -> the word (first one wins)."""
    from pypinyin import lazy_pinyin

    out: dict[str, str] = {}
    for word in sorted(_CONCEPT_OF):
        if 2 <= len(word) <= 3 and all(_CJK.match(c) for c in word):
            out.setdefault("_".join(lazy_pinyin(word)), word)
    return out


def correct(s: str) -> str:
    """Homophone typos of lexicon words corrected (发漂 -> 发票, 包油 -> 包邮, 退宽 -> 退款)."""
    if not _CJK.search(s):
        return s
    table = _homophones()
    py = [_syllable(c) if _CJK.match(c) else "" for c in s]
    chars = list(s)
    i, n = 0, len(chars)
    while i < n - 1:
        for k in (3, 2):
            if i + k > n or not all(py[i : i + k]):
                continue
            word = table.get("_".join(py[i : i + k]))
            if word is not None and "".join(chars[i : i + k]) not in _CONCEPT_OF:
                chars[i : i + k] = list(word)
                i += k - 1
                break
        i += 1
    return "".join(chars)


@lru_cache(maxsize=32_768)
def _syllable(c: str) -> str:
    """The toneless pinyin of one Chinese character (its most common reading)."""
    from pypinyin import lazy_pinyin

    return lazy_pinyin(c)[0]


@lru_cache(maxsize=65_536)
def _corrected(text: str) -> str:
    return correct(rewrite(text))


@lru_cache(maxsize=65_536)
def words(text: str) -> tuple[str, ...]:
    """The concepts of a buyer's `text`, in order, fillers and question words dropped,
    homophone typos corrected."""
    return _concepts(_corrected(text))


@lru_cache(maxsize=65_536)
def doc_words(text: str) -> tuple[str, ...]:
    """`words` of a store's own text (questions, answers, facts): no typo correction — the
    store's wording is taken as written, and indexing 10 k entries stays cheaper."""
    return _concepts(rewrite(text))


def _concepts(s: str) -> tuple[str, ...]:
    if _LATIN_ANY.search(s):
        for phrase, joined in PHRASES.items():
            s = s.replace(phrase, f" {joined} ")
    out: list[str] = []
    for raw in tokenizer().lcut(s):
        w = raw.strip()
        if not w or _PUNCT.fullmatch(w):
            continue
        parts = _LATIN_WORD.findall(w) if w.isascii() else [w]
        for part in parts:
            canon = _CONCEPT_OF.get(part)
            if canon is None and len(part) > 1 and part[0] in "有没能可":
                canon = _CONCEPT_OF.get(part[1:])  # 有券 / 没货 / 能发 kept whole by jieba
            if canon is None and part.isascii():
                part = _stem(part)
                canon = _CONCEPT_OF.get(part)
            if canon is None:
                if part in _FILLERS or part in _QUESTION_WORDS or part in STOPWORDS:
                    continue
                canon = part
            out.append(canon)
    return tuple(out)


@lru_cache(maxsize=65_536)
def sounds(text: str) -> frozenset[str]:
    """Pairs of successive sounds: toneless pinyin of each Chinese character, each Latin word
    as it is (fillers dropped), so 发漂 and 发票 share `fa_piao`."""
    syl: list[str] = []
    for m in _SOUND_UNIT.finditer(_ASKING.sub(" ", rewrite(text))):
        unit = m.group(0)
        if _CJK.match(unit):
            if unit not in "亲哦噢呢呀啊吧嘛哈啦了吗的":
                syl.append(_syllable(unit))
        elif unit not in STOPWORDS:
            syl.append(_stem(unit))
    if len(syl) < 2:
        return frozenset(syl)
    return frozenset(f"{a}_{b}" for a, b in itertools.pairwise(syl))


@lru_cache(maxsize=65_536)
def grams(text: str) -> frozenset[str]:
    """Character pairs of the rewritten text without punctuation and fillers."""
    s = "".join(c for c in _PUNCT.sub("", rewrite(text)) if c not in "亲哦噢呢呀啊吧嘛哈啦了吗的")
    if len(s) < 2:
        return frozenset([s]) if s else frozenset()
    return frozenset(s[i : i + 2] for i in range(len(s) - 1))
