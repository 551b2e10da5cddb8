"""The simulated stores' Chinese catalogue: themes, categories, variants and complements.

Complements are categories a shop assistant would suggest together (连衣裙 ↔ 腰带/高跟鞋,
手机 ↔ 手机壳/充电器, 保温杯 ↔ 杯刷 …). A store takes the main categories of its theme and
every complement of them, so agents' recommendations and buyers' bundles have real
co-purchase structure for the guide to find.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from kefu.urge.copy import LOW_STOCK


@dataclass(frozen=True)
class Category:
    """One category: price level, how titles are built, attributes and complements."""

    name: str
    base: float  # typical price in yuan
    nouns: tuple[str, ...]
    styles: tuple[str, ...]
    attrs: dict[str, tuple[str, ...]]  # 尺码 lists every size; other attributes pick one
    complements: tuple[str, ...]
    keywords: tuple[str, ...]
    apparel: bool = False  # buyers ask about size


SIZES = ("S", "M", "L", "XL", "XXL")
SHOE_SIZES = ("35", "36", "37", "38", "39", "40")
COLOURS = ("黑色", "白色", "米白", "燕麦色", "雾霾蓝", "酒红", "卡其", "灰色", "粉色", "墨绿")


def _c(name: str, base: float, nouns: str, styles: str, attrs: dict[str, tuple[str, ...]],
       complements: str, keywords: str, apparel: bool = False) -> Category:  # fmt: skip
    return Category(name, base, tuple(nouns.split()), tuple(styles.split()), attrs,
                    tuple(complements.split()), tuple(keywords.split()), apparel)  # fmt: skip


_CATEGORIES = [
    # 女装
    _c("连衣裙", 189, "连衣裙 长裙 衬衫裙", "碎花雪纺 法式方领 针织修身 复古波点 气质收腰 小香风",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("雪纺", "棉", "针织", "醋酸", "真丝")},
       "腰带 高跟鞋 帆布包 丝巾", "连衣裙 碎花裙 法式连衣裙 收腰连衣裙", apparel=True),
    _c("半身裙", 129, "半身裙 百褶裙 A字裙", "高腰 显瘦 垂感 格纹 牛仔",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("棉", "聚酯纤维", "羊毛")},
       "衬衫 T恤 腰带", "半身裙 百褶裙 a字裙", apparel=True),
    _c("T恤", 69, "T恤 短袖 打底衫", "纯棉宽松 圆领基础 印花 重磅 修身",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("纯棉", "莫代尔", "冰丝")},
       "牛仔裤 半身裙", "t恤 短袖 纯棉t恤 打底衫", apparel=True),
    _c("衬衫", 119, "衬衫 衬衣", "职业 法式 条纹 真丝感 oversize",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("棉", "天丝", "醋酸")},
       "半身裙 牛仔裤", "衬衫 白衬衫 条纹衬衫", apparel=True),
    _c("牛仔裤", 159, "牛仔裤 阔腿裤 直筒裤", "高腰 微喇 复古 显瘦 九分",
       {"尺码": ("25", "26", "27", "28", "29", "30"), "颜色": ("浅蓝", "深蓝", "黑色"),
        "材质": ("棉", "弹力棉")},
       "T恤 腰带 运动鞋", "牛仔裤 阔腿裤 高腰牛仔裤", apparel=True),
    _c("外套", 299, "外套 风衣 西装外套 羽绒服", "宽松 短款 双面呢 轻薄 连帽",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("羊毛", "聚酯纤维", "白鸭绒")},
       "针织衫 丝巾", "外套 风衣 羽绒服 西装外套", apparel=True),
    _c("针织衫", 139, "针织衫 毛衣 开衫", "慵懒 软糯 V领 镂空 羊毛",
       {"尺码": SIZES, "颜色": COLOURS, "材质": ("羊毛", "马海毛", "腈纶")},
       "半身裙 外套", "针织衫 毛衣 开衫", apparel=True),
    # 鞋包
    _c("高跟鞋", 259, "高跟鞋 单鞋 玛丽珍鞋", "尖头细跟 方头中跟 法式 一字带",
       {"尺码": SHOE_SIZES, "颜色": ("裸色", "黑色", "酒红"), "跟高": ("3cm", "5cm", "7cm")},
       "连衣裙 袜子", "高跟鞋 单鞋 玛丽珍", apparel=True),
    _c("运动鞋", 329, "运动鞋 跑步鞋 板鞋", "透气 缓震 厚底 百搭 轻便",
       {"尺码": SHOE_SIZES, "颜色": ("白色", "黑色", "灰色")},
       "袜子 双肩包 牛仔裤", "运动鞋 跑步鞋 小白鞋", apparel=True),
    _c("帆布包", 79, "帆布包 托特包 斜挎包", "大容量 文艺 ins 简约",
       {"颜色": ("原色", "黑色", "卡其"), "尺寸": ("38x32cm", "30x25cm")},
       "连衣裙 高跟鞋", "帆布包 托特包 斜挎包"),
    _c("双肩包", 199, "双肩包 书包 电脑包", "防泼水 轻便 大容量 通勤",
       {"颜色": ("黑色", "灰色", "藏青"), "容量": ("20L", "25L", "30L")},
       "运动鞋", "双肩包 书包 电脑包"),
    _c("腰带", 49, "腰带 腰封 皮带", "真皮细 编织宽 金属扣 百搭",
       {"长度": ("75cm", "100cm", "110cm"), "颜色": ("棕色", "黑色", "米白")},
       "连衣裙 牛仔裤", "腰带 女 腰封"),
    _c("丝巾", 89, "丝巾 方巾 围巾", "桑蚕丝 印花 复古 小方",
       {"颜色": ("印花", "藏蓝", "酒红"), "材质": ("桑蚕丝", "棉麻")}, "连衣裙 外套",
       "丝巾 方巾 围巾"),
    _c("袜子", 29, "袜子 船袜 中筒袜", "纯棉 隐形 运动 堆堆", {"颜色": ("黑白灰", "彩色")},
       "运动鞋 高跟鞋", "袜子 纯棉袜"),
    # 数码
    _c("手机", 2999, "5G手机 拍照手机 游戏手机", "旗舰 轻薄 长续航 影像",
       {"内存": ("8+128G", "8+256G", "12+256G"), "颜色": ("星空黑", "冰川蓝", "钛金色"),
        "屏幕": ("6.4英寸", "6.7英寸")},
       "手机壳 充电器 钢化膜 耳机", "5g手机 拍照手机 手机 新款手机"),
    _c("耳机", 399, "蓝牙耳机 降噪耳机 头戴耳机", "主动降噪 半入耳 运动 无线",
       {"颜色": ("白色", "黑色"), "续航": ("24小时", "30小时")}, "手机 数据线",
       "蓝牙耳机 降噪耳机 耳机"),
    _c("平板电脑", 2299, "平板电脑 学习平板", "11英寸 护眼 轻薄 高刷",
       {"内存": ("8+128G", "8+256G"), "颜色": ("深空灰", "银色")}, "充电器 钢化膜",
       "平板 平板电脑 学习平板"),
    _c("智能手表", 899, "智能手表 运动手环", "血氧 长续航 通话 户外",
       {"颜色": ("黑色", "银色", "粉色"), "表盘": ("42mm", "46mm")}, "表带 充电器",
       "智能手表 手环 运动手表"),
    _c("手机壳", 39, "手机壳 保护壳", "磨砂防摔 液态硅胶 透明 磁吸",
       {"适配": ("多型号",), "颜色": ("透明", "薄荷绿", "黑色")}, "手机 钢化膜",
       "手机壳 防摔手机壳"),
    _c("充电器", 99, "快充头 充电器 充电宝", "65W氮化镓 20W 便携 多口",
       {"功率": ("20W", "65W", "100W"), "接口": ("USB-C", "双口")}, "手机 数据线",
       "充电器 快充头 充电宝"),
    _c("钢化膜", 29, "钢化膜 手机膜", "高清 防窥 防指纹", {"数量": ("2片装", "3片装")},
       "手机 手机壳", "钢化膜 防窥膜"),
    _c("数据线", 25, "数据线 充电线", "编织 快充 1米 2米", {"长度": ("1m", "2m")},
       "充电器 手机", "数据线 快充线"),
    _c("表带", 59, "表带 替换表带", "硅胶 米兰尼斯 皮质", {"尺寸": ("22mm", "20mm")},
       "智能手表", "表带"),
    # 家居
    _c("保温杯", 89, "保温杯 吸管杯 保温壶", "316不锈钢 儿童 大容量 便携",
       {"容量": ("400ml", "500ml", "750ml"), "颜色": ("白色", "粉色", "黑色")},
       "杯刷 杯套", "保温杯 儿童水杯 大容量水杯"),
    _c("四件套", 269, "四件套 床上用品", "纯棉 水洗棉 简约 磨毛",
       {"尺寸": ("1.5m床", "1.8m床"), "颜色": ("灰色", "米白", "蓝色")}, "枕头",
       "四件套 纯棉四件套 床单"),
    _c("收纳箱", 59, "收纳箱 收纳盒 整理箱", "透明 可折叠 大号 带轮",
       {"尺寸": ("大号", "中号", "小号")}, "杯刷", "收纳箱 收纳盒 整理箱"),
    _c("拖鞋", 39, "拖鞋 棉拖鞋", "防滑 软底 居家 情侣", {"尺码": ("36-37", "38-39", "40-41")},
       "四件套", "拖鞋 棉拖 居家拖鞋"),
    _c("枕头", 99, "枕头 乳胶枕 记忆枕", "护颈 泰国 低枕 慢回弹", {"规格": ("单只", "一对")},
       "四件套", "枕头 乳胶枕"),
    _c("杯刷", 12.9, "杯刷 奶瓶刷", "长柄海绵 硅胶 多功能", {"长度": ("30cm",)}, "保温杯",
       "杯刷"),
    _c("杯套", 19.9, "杯套 保温杯套", "防烫硅胶 针织 斜挎", {"颜色": ("灰色", "粉色")},
       "保温杯", "杯套"),
    # 美妆
    _c("面霜", 168, "面霜 乳霜", "玻尿酸保湿 修护舒缓 抗皱紧致 清爽",
       {"规格": ("30g", "50g"), "肤质": ("干性", "混合", "敏感肌")}, "洁面乳 化妆棉 精华液",
       "保湿面霜 面霜 修护霜"),
    _c("精华液", 259, "精华液 精华", "烟酰胺 维C 抗老 补水",
       {"规格": ("30ml", "50ml")}, "面霜 化妆棉", "精华液 烟酰胺精华"),
    _c("口红", 129, "口红 唇釉", "丝绒哑光 滋润 显白 小金管",
       {"色号": ("#999", "#316", "#888", "豆沙色")}, "卸妆水 化妆刷", "口红 唇釉 豆沙色口红"),
    _c("防晒霜", 99, "防晒霜 防晒乳", "清爽不油腻 高倍 户外 敏感肌",
       {"规格": ("50ml",), "防晒指数": ("SPF50+",)}, "卸妆水", "防晒霜 防晒乳"),
    _c("洁面乳", 69, "洁面乳 洗面奶", "氨基酸温和 控油 泡沫", {"规格": ("100g", "120g")},
       "面霜 化妆棉", "洁面乳 洗面奶"),
    _c("化妆棉", 15.9, "化妆棉 卸妆棉", "纯棉 省水 厚款", {"规格": ("200片", "500片")},
       "面霜 洁面乳", "化妆棉"),
    _c("卸妆水", 79, "卸妆水 卸妆油", "温和 眼唇 深层清洁", {"规格": ("200ml", "400ml")},
       "口红 化妆棉", "卸妆水 卸妆油"),
    _c("化妆刷", 49, "化妆刷 刷子套装", "软毛 便携 全套", {"数量": ("5支", "12支")}, "口红",
       "化妆刷"),
    # 食品
    _c("坚果礼盒", 129, "坚果礼盒 每日坚果", "年货 混合 原味 送礼", {"规格": ("750g", "1.5kg")},
       "茶叶", "坚果 每日坚果 坚果礼盒"),
    _c("茶叶", 158, "龙井 普洱 红茶", "明前 头采 浓香 礼盒装", {"规格": ("100g", "250g")},
       "茶具 坚果礼盒", "茶叶 龙井 普洱 红茶"),
    _c("茶具", 199, "茶具套装 功夫茶杯", "陶瓷 玻璃 旅行", {"数量": ("4杯", "6杯")}, "茶叶",
       "茶具 茶杯"),
    _c("咖啡", 89, "挂耳咖啡 咖啡豆 冻干咖啡", "美式 中深烘 云南 意式",
       {"规格": ("10包", "20包", "500g")}, "马克杯", "咖啡 挂耳咖啡 咖啡豆"),
    _c("马克杯", 39, "马克杯 咖啡杯", "陶瓷 ins 大容量", {"容量": ("350ml", "450ml")}, "咖啡",
       "马克杯 杯子"),
]  # fmt: skip
CATEGORIES: dict[str, Category] = {c.name: c for c in _CATEGORIES}

# Theme -> its main categories (what a store of that theme is known for).
THEMES: dict[str, tuple[str, ...]] = {
    "女装": ("连衣裙", "半身裙", "T恤", "衬衫", "牛仔裤", "外套", "针织衫"),
    "鞋包": ("高跟鞋", "运动鞋", "帆布包", "双肩包"),
    "数码": ("手机", "耳机", "平板电脑", "智能手表"),
    "家居": ("保温杯", "四件套", "收纳箱", "拖鞋"),
    "美妆": ("面霜", "精华液", "口红", "防晒霜"),
    "食品": ("坚果礼盒", "茶叶", "咖啡"),
}
SHOP_NAMES: dict[str, tuple[str, ...]] = {
    "女装": ("悦衣坊", "南风小铺", "栀子衣橱", "初见女装"),
    "鞋包": ("步履鞋包", "行者鞋馆", "拾光包铺"),
    "数码": ("极客数码", "星河数码", "原力电子"),
    "家居": ("小窝家居", "暖居生活馆", "简物良品"),
    "美妆": ("素颜美妆", "花漾美肤", "透白研究所"),
    "食品": ("山野茶坊", "坚果小镇", "晨光咖啡"),
}
SELLING_POINTS: dict[str, tuple[str, ...]] = {
    "女装": ("显瘦百搭", "面料柔软亲肤", "做工精细不起球", "通勤约会都能穿"),
    "鞋包": ("轻便舒适", "久走不累", "做工扎实", "容量大又好看"),
    "数码": ("官方正品，全国联保", "快充续航一整天", "支持七天无理由", "送碎屏险"),
    "家居": ("食品级材质", "耐用好清洗", "居家必备", "颜值在线"),
    "美妆": ("温和不刺激", "敏感肌可用", "专柜同款", "保质期新鲜"),
    "食品": ("当季新货", "独立小包装", "产地直发", "送礼有面子"),
}


@dataclass(eq=False)  # identity: products are compared in hot loops
class Product:
    """A product of one store, with the state that changes as it sells."""

    id: str
    title: str
    price: float
    category: str
    attrs: dict[str, str]
    description: str
    status: str = "on_sale"
    stock: int = 0
    dear: bool = False  # in the store's dearest decile: bought one at a time

    def event(self) -> dict[str, Any]:
        """The `product` event fields for the current state (a catalogue upsert)."""
        return {"product": self.id, "title": self.title, "price": self.price,
                "category": self.category, "attrs": self.attrs, "description": self.description,
                "status": self.status, "stock": self.stock,
                "urge_text": self.urge_text()}  # fmt: skip

    def urge_text(self) -> str:
        """The store's urge line: "only {stock} left" only for an item that is nearly sold out.

        `{stock}` is filled in by the urge rules from the catalogue at send time.
        """
        if 0 < self.stock <= LOW_STOCK:
            return f"亲，您看中的{self.title}只剩{{stock}}件了，喜欢的话尽快下单哦"
        return f"亲，您看中的{self.title}现在下单，尽快为您发货哦"


def shop_price(base: float, rng: random.Random) -> float:
    """A variant's price: log-normal around the category base, ending like a shop's (…9)."""
    raw = base * math.exp(rng.gauss(0.0, 0.25))
    if raw < 30:
        return round(int(raw) + 0.9, 1)
    if raw < 1000:
        return float(int(raw / 10) * 10 + 9)
    return float(int(raw / 100) * 100 + 99)


def stock_level(rng: random.Random) -> int:
    """Units in stock: median ~60, from a handful (about to sell out) to several hundred."""
    return max(1, int(60 * math.exp(rng.gauss(0.0, 1.1))))


def choose_categories(rng: random.Random, index: int) -> tuple[str, list[str]]:
    """A store's theme and categories: most of the theme's main ones plus their complements."""
    themes = sorted(THEMES)
    theme = themes[(index + rng.randrange(len(themes))) % len(themes)]
    main = list(THEMES[theme])
    rng.shuffle(main)
    chosen = main[: max(2, len(main) - rng.randrange(3))]
    cats = list(chosen)
    for c in chosen:
        for comp in CATEGORIES[c].complements:
            if comp not in cats:
                cats.append(comp)
    return theme, cats


def build_catalogue(rng: random.Random, store: str, theme: str, cats: list[str]) -> list[Product]:
    """The store's products: 3-6 variants per main category, 1-3 per complementary one."""
    main = set(THEMES[theme])
    products: list[Product] = []
    points = SELLING_POINTS[theme]
    for cat_name in cats:
        cat = CATEGORIES[cat_name]
        n = rng.randint(3, 6) if cat_name in main else rng.randint(1, 3)
        styles = list(cat.styles)
        rng.shuffle(styles)
        for k in range(n):
            style = styles[k % len(styles)]
            noun = rng.choice(cat.nouns)
            season = rng.choice(("", "", "2026新款", "秋冬", "【热卖】", "官方正品"))
            title = f"{season}{style}{noun}"
            attrs = {a: ("/".join(v) if a == "尺码" else rng.choice(v))
                     for a, v in cat.attrs.items()}  # fmt: skip
            roll = rng.random()
            status = "out_of_stock" if roll < 0.04 else "off_sale" if roll < 0.06 else "on_sale"
            stock = 0 if status == "out_of_stock" else stock_level(rng)
            products.append(Product(
                id=f"{store}-p{len(products) + 1:03d}", title=title,
                price=shop_price(cat.base, rng), category=cat_name, attrs=attrs,
                description=f"{title}，" + "，".join(rng.sample(points, 2)),
                status=status, stock=stock,
            ))  # fmt: skip
    prices = sorted(p.price for p in products)
    top = prices[int(0.9 * (len(prices) - 1))]
    for p in products:
        p.dear = p.price >= top
    return products
