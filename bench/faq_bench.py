"""FAQ bot speed: build time, answers/s and p99 latency with 10 000 FAQ entries.

    .venv/bin/python bench/faq_bench.py [--entries 10000] [--queries 5000]

Entries are generated shop questions (product x topic x wording, three variants each) with
their answers; queries are other wordings of them, plus 20 % unrelated questions (the
low-confidence path). One core, single queries one after another, as the bot answers: jieba +
lexicon + pinyin, three BM25 fields, the LightGBM re-ranker over the candidates.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from kefu.faq import FaqIndex, FaqItem

PRODUCTS = ["连衣裙", "T恤", "牛仔裤", "运动鞋", "羽绒服", "保温杯", "蓝牙耳机", "充电宝", "面膜",
            "口红", "猫粮", "狗粮", "婴儿车", "奶粉", "台灯", "电饭煲", "枕头", "床单", "背包",
            "手机壳"]  # fmt: skip
TOPICS = [
    ("什么时候发货", "几天能发出", "啥时候寄出", "现货48小时内发货"),
    ("包邮吗", "免运费吗", "包不包邮", "满99包邮"),
    ("可以退换吗", "能退货吗", "支持七天无理由吗", "支持七天无理由退换"),
    ("是正品吗", "是不是原装的", "保真吗", "品牌正品，假一赔十"),
    ("有优惠券吗", "能便宜点吗", "有没有满减", "首页领券满199减20"),
    ("发什么快递", "用哪家物流", "能发顺丰吗", "默认中通，顺丰需补差价"),
    ("尺码怎么选", "我穿多大码", "尺寸偏大吗", "按平时尺码拍即可"),
    ("有发票吗", "能开发票吗", "开不开票", "可以开电子发票"),
    ("怎么保养", "怎么清洗", "能机洗吗", "建议手洗，不要暴晒"),
    ("保修多久", "质保几年", "坏了怎么办", "全国联保一年"),
]
UNRELATED = ["今天天气怎么样", "你是机器人吗", "推荐一部电影", "what's your name", "讲个笑话"]


def entries(n: int, rng: random.Random) -> list[FaqItem]:
    """n FAQ entries: product-specific wordings of the ten topics."""
    out: list[FaqItem] = []
    for i in range(n):
        p = PRODUCTS[i % len(PRODUCTS)]
        q1, q2, q3, a = TOPICS[(i // len(PRODUCTS)) % len(TOPICS)]
        tag = f"{p}{i // (len(PRODUCTS) * len(TOPICS))}款"
        out.append(FaqItem(f"f{i}", f"{tag}{q1}", f"亲，{tag}{a}哦",
                           variants=(f"{tag}{q2}", f"请问{tag}{q3}")))  # fmt: skip
    return out


def queries(items: list[FaqItem], n: int, rng: random.Random) -> list[str]:
    """n buyer questions: 80 % a variant with shop fillers, 20 % unrelated."""
    out: list[str] = []
    for _ in range(n):
        if rng.random() < 0.2:
            out.append(rng.choice(UNRELATED))
        else:
            it = rng.choice(items)
            out.append("亲，" + rng.choice([it.question, *it.variants]) + "呀？")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    ap.add_argument("--entries", type=int, default=10_000)
    ap.add_argument("--queries", type=int, default=5_000)
    args = ap.parse_args()
    rng = random.Random(7)
    items = entries(args.entries, rng)
    qs = queries(items, args.queries, rng)
    from kefu.faq.lexicon import sounds, words

    words("发货"), sounds("发货")  # jieba's and pypinyin's dictionaries load once per process
    from kefu.faq.index import _ranker

    _ranker()  # so does the re-ranker's model file
    t, c = time.perf_counter(), time.process_time()
    index = FaqIndex.build(items)
    build, build_cpu = time.perf_counter() - t, time.process_time() - c
    for q in qs[:200]:  # warm the caches
        index.answer(q)
    lat: list[float] = []
    cpu: list[float] = []
    answered = handed_over = 0
    t0 = time.perf_counter()
    for q in qs:
        t, c = time.perf_counter(), time.process_time()
        ans = index.answer(q)
        lat.append(time.perf_counter() - t)
        cpu.append(time.process_time() - c)
        if ans is not None and ans.confident:
            answered += 1
        else:
            handed_over += 1
    total = time.perf_counter() - t0
    lat.sort()
    p99 = lat[int(0.99 * (len(lat) - 1))]
    print(f"entries {len(items)}, documents {len(items) * 3}, queries {len(qs)}")
    print(f"build           {build:.2f} s wall, {build_cpu:.2f} s CPU (steadier on a busy box)")
    print(f"answers/s       {len(qs) / total:,.0f}")
    print(f"latency p50     {statistics.median(lat) * 1000:.2f} ms")
    print(f"latency p99     {p99 * 1000:.2f} ms")
    cpu.sort()
    print(
        f"CPU per answer  p50 {statistics.median(cpu) * 1000:.2f} ms, "
        f"p99 {cpu[int(0.99 * (len(cpu) - 1))] * 1000:.2f} ms"
    )
    print(f"answered        {answered} confidently, {handed_over} handed over / no answer")


if __name__ == "__main__":
    main()
