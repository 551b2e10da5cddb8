"""Compute the simulator's calibration figures from the real samples in ../shared/data.

Run once by hand (`python -m kefu.sim.calibrate [DATA_DIR]`); the printed figures are
hard-coded in `kefu.sim.calibration`, so `kefu simulate` never reads the data. The test
`tests/sim/test_calibration.py` re-runs this and checks the hard-coded copy still matches.
"""

from __future__ import annotations

import csv
import json
import math
import re
import statistics
import sys
from collections import Counter, defaultdict
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

CST = timezone(timedelta(hours=8))
TWCS = "conversations/twcs_sample_head.csv"
TAOBAO = "behaviour/taobao_userbehavior_sample.csv"
UCI = "behaviour/uci_online_retail_head.csv"
JDDC = "conversations/jddc_baseline_train_context.txt"
# An agent's sign-off at the end of a support tweet: "-Becky", "^JK", "~Sam".
SIGNATURE = re.compile(r"[-^~]\s?([A-Z][A-Za-z]{0,10})\s*$")
# Keyword families of JD questions, the same kinds the simulator's buyers ask.
JD_KINDS: dict[str, tuple[str, ...]] = {
    "order": ("订单", "取消", "修改地址", "改地址", "下单", "付款", "支付"),
    "delivery": ("发货", "快递", "物流", "到货", "送货", "配送", "几天到", "签收", "派送"),
    "after": ("退货", "退款", "换货", "售后", "维修", "保修", "退换", "质量", "坏了", "返修"),
    "price": ("价格", "便宜", "多少钱", "降价", "保价", "差价", "贵"),
    "invoice": ("发票",),
    "stock": ("有货", "库存", "现货", "缺货", "没货", "补货"),
    "discount": ("优惠", "券", "满减", "活动", "赠品", "折扣", "返现"),
    "size": ("尺码", "大小", "尺寸", "码数", "型号", "规格", "多大"),
}


def _quantile(values: list[float], q: float) -> float:
    s = sorted(values)
    return s[int(q * (len(s) - 1))]


def _iqr_sigma(values: list[float]) -> float:
    """The log-normal σ implied by the inter-quartile range (robust to the long tail)."""
    return (math.log(_quantile(values, 0.75)) - math.log(_quantile(values, 0.25))) / 1.349


def twcs(path: Path) -> dict[str, Any]:
    """Company reply delays: overall quantiles, spread within one agent and between agents."""
    with path.open(encoding="utf-8") as f:
        rows = [r for r in csv.DictReader(f) if r["inbound"] in ("True", "False")]
    by_id = {r["tweet_id"]: r for r in rows}

    def at(r: dict[str, str]) -> datetime:
        return datetime.strptime(r["created_at"], "%a %b %d %H:%M:%S %z %Y")

    delays: list[float] = []
    hours: Counter[int] = Counter()
    per_agent: dict[tuple[str, str], list[float]] = defaultdict(list)
    for r in rows:
        parent = r["in_response_to_tweet_id"]
        if r["inbound"] != "False" or not parent:
            continue
        p = by_id.get(str(int(float(parent))))
        if p is None or p["inbound"] != "True":
            continue
        d = (at(r) - at(p)).total_seconds()
        if d < 0:
            continue
        delays.append(d)
        hours[at(r).hour] += 1
        sig = SIGNATURE.search(r["text"].strip())
        if sig:
            per_agent[(r["author_id"], sig.group(1))].append(d)
    agents = {k: v for k, v in per_agent.items() if len(v) >= 5 and min(v) > 0}
    within = statistics.median(_iqr_sigma(v) for v in agents.values())
    by_company: dict[str, list[float]] = defaultdict(list)
    for (company, _), v in per_agent.items():
        if len(v) >= 3:
            by_company[company].append(math.log(max(1.0, statistics.median(v))))
    between = statistics.median(statistics.pstdev(v) for v in by_company.values() if len(v) >= 3)
    top2 = sum(n for _, n in hours.most_common(2)) / len(delays)
    return {
        "replies": len(delays),
        "delay_p25_s": round(_quantile(delays, 0.25)),
        "delay_p50_s": round(_quantile(delays, 0.5)),
        "delay_p75_s": round(_quantile(delays, 0.75)),
        "share_within_180s": round(sum(d <= 180 for d in delays) / len(delays), 3),
        "signed_agents": len(agents),
        "sigma_within_agent": round(within, 2),
        "companies": sum(len(v) >= 3 for v in by_company.values()),
        "sigma_between_agents": round(between, 2),
        "share_of_replies_in_top_2_utc_hours": round(top2, 2),
    }


def taobao(path: Path) -> dict[str, Any]:
    """Funnel per page view, hour-of-day profile (UTC+8), sessions, repeat views, buy delay."""
    with path.open(encoding="utf-8") as f:
        rows = [(r["user_id"], r["item_id"], r["behavior_type"], int(r["timestamp"]))
                for r in csv.DictReader(f)]  # fmt: skip
    kinds = Counter(k for _, _, k, _ in rows)
    hours = Counter(datetime.fromtimestamp(t, CST).hour for *_, t in rows)
    # Smooth with a circular [1, 2, 1] kernel: 4,321 events are few for 24 bins.
    smooth = [(hours[(h - 1) % 24] + 2 * hours[h] + hours[(h + 1) % 24]) / 4 for h in range(24)]
    total = sum(smooth)
    per_user: dict[str, list[tuple[int, str, str]]] = defaultdict(list)
    for u, i, k, t in rows:
        per_user[u].append((t, k, i))
    sessions: list[int] = []
    for evs in per_user.values():
        evs.sort()
        last, pv = -(10**12), 0
        for t, k, _ in evs:
            if t - last > 1800:  # a 30-minute gap starts a new visit
                sessions.append(pv)
                pv = 0
            pv += k == "pv"
            last = t
        sessions.append(pv)
    sessions = [s for s in sessions if s > 0]
    pairs = Counter((u, i) for u, i, k, _ in rows if k == "pv")
    first_view: dict[tuple[str, str], int] = {}
    for u, i, k, t in sorted(rows, key=lambda r: r[3]):
        if k == "pv":
            first_view.setdefault((u, i), t)
    to_buy = [float(t - first_view[(u, i)]) for u, i, k, t in rows
              if k == "buy" and first_view.get((u, i), t + 1) <= t]  # fmt: skip
    pv = kinds["pv"]
    return {
        "pv": pv,
        "fav": kinds["fav"],
        "cart": kinds["cart"],
        "buy": kinds["buy"],
        "fav_per_view": round(kinds["fav"] / pv, 4),
        "cart_per_view": round(kinds["cart"] / pv, 4),
        "buy_per_view": round(kinds["buy"] / pv, 4),
        "hour_profile_permille": [round(1000 * s / total) for s in smooth],
        "views_per_visit_median": statistics.median(sessions),
        "views_per_visit_mean": round(statistics.mean(sessions), 1),
        "repeat_view_share": round(sum(n > 1 for n in pairs.values()) / len(pairs), 3),
        "view_to_buy_p50_s": round(_quantile(to_buy, 0.5)),
        "view_to_buy_sigma": round(_iqr_sigma(to_buy), 2),
    }


def uci(path: Path) -> dict[str, Any]:
    """Units per order line, lines per invoice and the spread of unit prices."""
    with path.open(encoding="latin-1") as f:
        rows = [r for r in csv.DictReader(f) if not r["InvoiceNo"].startswith("C")
                and int(r["Quantity"]) > 0 and float(r["UnitPrice"]) > 0]  # fmt: skip
    qty = [int(r["Quantity"]) for r in rows]
    small = [q for q in qty if q <= 3]
    lines = Counter(r["InvoiceNo"] for r in rows)
    first_price: dict[str, float] = {}
    for r in rows:
        first_price.setdefault(r["StockCode"], float(r["UnitPrice"]))
    prices = list(first_price.values())
    top = _quantile(prices, 0.9)
    dear = [int(r["Quantity"]) for r in rows if float(r["UnitPrice"]) >= top]
    return {
        "lines": len(rows),
        "invoices": len(lines),
        "lines_per_invoice_median": statistics.median(lines.values()),
        "share_single_line_invoices": round(sum(n == 1 for n in lines.values()) / len(lines), 3),
        "qty_median": statistics.median(qty),
        "qty_share_1_2_3_of_small": [round(small.count(q) / len(small), 3) for q in (1, 2, 3)],
        "qty1_share_all": round(qty.count(1) / len(qty), 3),
        "qty1_share_top_decile_price": round(dear.count(1) / len(dear), 3),
        "price_log_sd": round(statistics.pstdev(math.log(p) for p in prices), 2),
    }


def jddc(path: Path) -> dict[str, Any]:
    """How often JD chat sessions touch each question kind; greetings and typed 人工."""
    lines = path.read_text(encoding="utf-8").splitlines()
    kinds = {k: sum(any(w in line for w in words) for line in lines)
             for k, words in JD_KINDS.items()}  # fmt: skip
    return {
        "sessions": len(lines),
        "sessions_per_kind": kinds,
        "share_greeting_zaima": round(sum("在吗" in x for x in lines) / len(lines), 3),
        "share_typed_rengong": round(sum("人工" in x for x in lines) / len(lines), 3),
    }


def compute(root: Path) -> dict[str, Any]:
    """Every calibration figure, from the data folder `root` (../shared/data)."""
    return {
        "twcs": twcs(root / TWCS),
        "taobao": taobao(root / TAOBAO),
        "uci": uci(root / UCI),
        "jddc": jddc(root / JDDC),
    }


def main(argv: list[str]) -> None:
    """Print the figures as JSON."""
    from kefu.testing import shared_data_root

    root = Path(argv[0]) if argv else shared_data_root()
    print(json.dumps(compute(root), ensure_ascii=False, indent=1))


if __name__ == "__main__":  # pragma: no cover
    main(sys.argv[1:])
