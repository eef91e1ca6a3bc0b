"""A fixed-seed catalogue of mixed Chinese/English products for the search benchmark, and its 200 queries.

Products look like the seeded shop's (``local/seed_data.json``): "华为 Mate 60 Pro 降噪 智能手机 Huawei Mate 60 Pro
Noise Cancelling Smartphone", a bilingual description, colour/storage variants with SKU codes, prices in fen. Term
frequencies are skewed as in a real shop: brands and categories follow a Zipf-like popularity (a few very common,
a long tail), each product draws modifiers and features from its category's list with skewed weights, and model
numbers and SKUs are nearly unique (the long tail).

Product ``i`` depends only on the seed and ``i`` (its own ``random.Random``), so the 1,000-product catalogue is
the first 1,000 products of the 100,000 one, and the queries (built from the vocabulary and from products among
the first 1,000) mean the same thing at every size.
"""

from __future__ import annotations

import random
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from functions.catalog.model import Brand, Category, Product, ProductStatus, Variant
from functions.shared.money import Money

SEED = 20_240_301
EPOCH = datetime(2024, 1, 1, tzinfo=UTC)
_CROCKFORD = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"

Pair = tuple[str, str]  # (Chinese, English)

# --- vocabulary ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Leaf:
    key: str
    name: Pair
    types: tuple[Pair, ...]  # product-type words, first is the most common
    modifiers: tuple[Pair, ...]
    price: tuple[int, int]  # yuan, typical low/high of the cheapest variant
    weight: float  # share of the catalogue
    storage: bool = False  # variants differ by storage as well as colour


@dataclass(frozen=True)
class Root:
    key: str
    name: Pair
    leaves: tuple[Leaf, ...]


_TECH = (("智能", "Smart"), ("轻薄", "Slim"), ("便携", "Portable"), ("高性能", "High Performance"))
TREE: tuple[Root, ...] = (
    Root(
        "digital",
        ("手机数码", "Phones & Digital"),
        (
            Leaf(
                "phones",
                ("手机", "Phones"),
                (("智能手机", "Smartphone"), ("5G手机", "5G Phone"), ("折叠屏手机", "Foldable Phone")),
                (("快充", "Fast Charging"), ("高刷", "High Refresh"), ("长续航", "Long Battery"), *_TECH[:2]),
                (999, 8999),
                0.16,
                storage=True,
            ),
            Leaf(
                "tablets",
                ("平板电脑", "Tablets"),
                (("平板电脑", "Tablet"), ("学习平板", "Learning Tablet")),
                (("护眼", "Eye Care"), ("轻薄", "Slim"), ("手写笔", "Stylus"), ("娱乐", "Entertainment")),
                (1299, 7999),
                0.05,
                storage=True,
            ),
            Leaf(
                "wearables",
                ("智能穿戴", "Wearables"),
                (("智能手表", "Smartwatch"), ("运动手环", "Fitness Band")),
                (("心率", "Heart Rate"), ("血氧", "Blood Oxygen"), ("防水", "Waterproof"), ("长续航", "Long Battery")),
                (199, 3999),
                0.06,
            ),
        ),
    ),
    Root(
        "computers",
        ("电脑办公", "Computers & Office"),
        (
            Leaf(
                "laptops",
                ("笔记本电脑", "Laptops"),
                (("笔记本电脑", "Laptop"), ("游戏本", "Gaming Laptop"), ("轻薄本", "Ultrabook")),
                (("轻薄", "Slim"), ("游戏", "Gaming"), ("高性能", "High Performance"), ("触控屏", "Touchscreen")),
                (3999, 19999),
                0.09,
                storage=True,
            ),
            Leaf(
                "monitors",
                ("显示器", "Monitors"),
                (("显示器", "Monitor"), ("电竞显示器", "Gaming Monitor")),
                (("高刷", "High Refresh"), ("护眼", "Eye Care"), ("曲面", "Curved"), ("4K", "4K")),
                (699, 5999),
                0.05,
            ),
            Leaf(
                "peripherals",
                ("键盘鼠标", "Keyboards & Mice"),
                (("机械键盘", "Mechanical Keyboard"), ("无线鼠标", "Wireless Mouse"), ("键鼠套装", "Keyboard Set")),
                (("无线", "Wireless"), ("蓝牙", "Bluetooth"), ("静音", "Silent"), ("游戏", "Gaming"), ("RGB", "RGB")),
                (49, 999),
                0.07,
            ),
        ),
    ),
    Root(
        "audio-video",
        ("影音娱乐", "Audio & Video"),
        (
            Leaf(
                "headphones",
                ("耳机", "Headphones"),
                (("耳机", "Headphones"), ("蓝牙耳机", "Bluetooth Earbuds"), ("头戴式耳机", "Over-Ear Headphones")),
                (("无线", "Wireless"), ("蓝牙", "Bluetooth"), ("降噪", "Noise Cancelling"), ("运动", "Sport")),
                (99, 2999),
                0.12,
            ),
            Leaf(
                "speakers",
                ("音箱", "Speakers"),
                (("蓝牙音箱", "Bluetooth Speaker"), ("智能音箱", "Smart Speaker"), ("回音壁", "Soundbar")),
                (("无线", "Wireless"), ("防水", "Waterproof"), ("便携", "Portable"), ("重低音", "Deep Bass")),
                (99, 3999),
                0.05,
            ),
            Leaf(
                "tvs",
                ("电视", "TVs"),
                (("智能电视", "Smart TV"), ("激光电视", "Laser TV")),
                (("4K", "4K"), ("120Hz", "120Hz"), ("全面屏", "Full Screen"), ("护眼", "Eye Care")),
                (1499, 19999),
                0.04,
            ),
        ),
    ),
    Root(
        "appliances",
        ("家用电器", "Home Appliances"),
        (
            Leaf(
                "kitchen",
                ("厨房电器", "Kitchen Appliances"),
                (("电饭煲", "Rice Cooker"), ("空气炸锅", "Air Fryer"), ("破壁机", "Blender"), ("电水壶", "Kettle")),
                (("智能", "Smart"), ("大容量", "Large Capacity"), ("家用", "Home"), ("不粘", "Non-Stick")),
                (99, 1999),
                0.09,
            ),
            Leaf(
                "cleaning",
                ("清洁电器", "Cleaning Appliances"),
                (("扫地机器人", "Robot Vacuum"), ("吸尘器", "Vacuum Cleaner"), ("洗地机", "Floor Washer")),
                (("无线", "Wireless"), ("自动集尘", "Self-Emptying"), ("智能", "Smart"), ("大吸力", "Strong Suction")),
                (299, 5999),
                0.06,
            ),
        ),
    ),
    Root(
        "sports",
        ("运动户外", "Sports & Outdoors"),
        (
            Leaf(
                "running-shoes",
                ("跑步鞋", "Running Shoes"),
                (("跑步鞋", "Running Shoes"), ("运动鞋", "Sneakers"), ("训练鞋", "Training Shoes")),
                (("缓震", "Cushioned"), ("透气", "Breathable"), ("轻便", "Lightweight"), ("防滑", "Non-Slip")),
                (199, 1499),
                0.09,
            ),
            Leaf(
                "sportswear",
                ("运动服饰", "Sportswear"),
                (("运动T恤", "Sports T-Shirt"), ("运动裤", "Track Pants"), ("羽绒服", "Down Jacket")),
                (("速干", "Quick-Dry"), ("透气", "Breathable"), ("保暖", "Warm"), ("修身", "Slim Fit")),
                (79, 1299),
                0.07,
            ),
        ),
    ),
)

# (key, Chinese, English, code, popularity weight, the leaf categories it sells in)
BRANDS: tuple[tuple[str, str, str, str, float, tuple[str, ...]], ...] = (
    ("huawei", "华为", "Huawei", "HW", 10, ("phones", "tablets", "wearables", "laptops", "headphones", "speakers")),
    (
        "xiaomi",
        "小米",
        "Xiaomi",
        "MI",
        10,
        ("phones", "tablets", "wearables", "tvs", "kitchen", "cleaning", "speakers"),
    ),
    ("apple", "苹果", "Apple", "AP", 8, ("phones", "tablets", "wearables", "laptops", "headphones")),
    ("sony", "索尼", "Sony", "SN", 5, ("headphones", "speakers", "tvs", "phones")),
    ("lenovo", "联想", "Lenovo", "LN", 5, ("laptops", "tablets", "monitors", "peripherals")),
    ("midea", "美的", "Midea", "MD", 5, ("kitchen", "cleaning")),
    ("nike", "耐克", "Nike", "NK", 5, ("running-shoes", "sportswear")),
    ("samsung", "三星", "Samsung", "SS", 4, ("phones", "tablets", "monitors", "tvs")),
    ("anta", "安踏", "Anta", "AT", 4, ("running-shoes", "sportswear")),
    ("honor", "荣耀", "Honor", "HN", 4, ("phones", "tablets", "wearables", "laptops")),
    ("logitech", "罗技", "Logitech", "LG", 3, ("peripherals", "speakers", "headphones")),
    ("dell", "戴尔", "Dell", "DL", 3, ("laptops", "monitors", "peripherals")),
    ("adidas", "阿迪达斯", "Adidas", "AD", 3, ("running-shoes", "sportswear")),
    ("lining", "李宁", "Li-Ning", "LI", 3, ("running-shoes", "sportswear")),
    ("haier", "海尔", "Haier", "HR", 2, ("kitchen", "tvs", "cleaning")),
    ("edifier", "漫步者", "Edifier", "ED", 2, ("headphones", "speakers")),
    ("joyoung", "九阳", "Joyoung", "JY", 2, ("kitchen",)),
    ("ecovacs", "科沃斯", "Ecovacs", "EC", 2, ("cleaning",)),
    ("dyson", "戴森", "Dyson", "DY", 1.5, ("cleaning",)),
    ("bose", "博士", "Bose", "BS", 1.5, ("headphones", "speakers")),
    ("razer", "雷蛇", "Razer", "RZ", 1, ("peripherals", "laptops", "headphones")),
    ("oppo", "欧珀", "OPPO", "OP", 1, ("phones", "headphones", "wearables")),
    ("philips", "飞利浦", "Philips", "PH", 1, ("kitchen", "monitors", "tvs")),
    ("roborock", "石头", "Roborock", "RR", 1, ("cleaning",)),
    ("asics", "亚瑟士", "Asics", "AS", 1, ("running-shoes",)),
    ("jbl", "杰宝", "JBL", "JB", 1, ("speakers", "headphones")),
)

SERIES = (
    "Mate",
    "Nova",
    "Pura",
    "Note",
    "Air",
    "Neo",
    "Ace",
    "Pro",
    "Vision",
    "Edge",
    "Flex",
    "Zoom",
    "Pulse",
    "Storm",
    "Wave",
    "Aero",
    "Nimbus",
    "Quest",
    "Spark",
    "Echo",
    "Halo",
    "Titan",
    "Swift",
    "Luna",
)
EDITIONS = (
    ("", ""),
    ("", ""),
    ("Pro", "Pro"),
    ("Max", "Max"),
    ("Ultra", "Ultra"),
    ("Lite", "Lite"),
    ("青春版", "Youth Edition"),
    ("标准版", "Standard"),
)
COLOURS: tuple[tuple[str, str, str], ...] = (
    ("黑色", "Black", "BLK"),
    ("白色", "White", "WHT"),
    ("银色", "Silver", "SLV"),
    ("蓝色", "Blue", "BLU"),
    ("深空灰", "Space Grey", "GRY"),
    ("金色", "Gold", "GLD"),
    ("绿色", "Green", "GRN"),
    ("红色", "Red", "RED"),
    ("紫色", "Purple", "PRP"),
    ("粉色", "Pink", "PNK"),
)
STORAGE = ("128GB", "256GB", "512GB", "1TB")
FEATURES: tuple[Pair, ...] = (
    ("官方正品", "Genuine product"),
    ("全国联保", "Nationwide warranty"),
    ("顺丰包邮", "Free express shipping"),
    ("七天无理由退货", "Seven-day returns"),
    ("新品上市", "New arrival"),
    ("旗舰芯片", "Flagship chip"),
    ("超清画质", "Ultra-clear picture"),
    ("人体工学设计", "Ergonomic design"),
    ("环保材料", "Eco-friendly materials"),
    ("一键连接", "One-tap pairing"),
    ("多设备协同", "Multi-device collaboration"),
    ("金属机身", "Metal body"),
    ("节能省电", "Energy saving"),
    ("低延迟", "Low latency"),
    ("高清通话", "HD calls"),
    ("智能互联", "Smart home link"),
    ("专业调校", "Professionally tuned"),
    ("舒适佩戴", "Comfortable fit"),
    ("静音设计", "Quiet design"),
    ("大电池", "Large battery"),
    ("卫星通话", "Satellite calling"),
    ("夜景拍摄", "Night photography"),
    ("杜比音效", "Dolby audio"),
    ("无线充电", "Wireless charging"),
    ("空间音频", "Spatial audio"),
    ("碳板推进", "Carbon plate propulsion"),
    ("抗菌内衬", "Antibacterial lining"),
    ("一体成型", "One-piece moulding"),
    ("语音控制", "Voice control"),
    ("远程操控", "Remote control"),
    ("自清洁", "Self-cleaning"),
    ("儿童锁", "Child lock"),
    ("定时预约", "Scheduled start"),
    ("蒸汽杀菌", "Steam sterilisation"),
    ("激光导航", "Laser navigation"),
    ("毫米波雷达", "Millimetre-wave radar"),
    ("钛金属边框", "Titanium frame"),
    ("蓝宝石镜面", "Sapphire glass"),
    ("石墨烯散热", "Graphene cooling"),
    ("冰感面料", "Cooling fabric"),
)


@dataclass(frozen=True)
class Vocabulary:
    categories: list[Category]
    brands: list[Brand]
    leaves: dict[str, Leaf]  # leaf key -> leaf
    category_ids: dict[str, str]  # root or leaf key -> category id
    brand_ids: dict[str, str]  # brand key -> brand id
    brand_rows: dict[str, tuple[str, str, str, str, float, tuple[str, ...]]]


def _fixed_id(prefix: str, rnd: random.Random) -> str:
    """An id of the platform's shape (``prd_`` + 26 Crockford characters), time-sortable, from ``rnd``."""
    return f"{prefix}_" + "".join(rnd.choice(_CROCKFORD) for _ in range(26))


def vocabulary(seed: int = SEED) -> Vocabulary:
    rnd = random.Random(f"{seed}:vocabulary")
    categories: list[Category] = []
    ids: dict[str, str] = {}
    leaves: dict[str, Leaf] = {}
    for root in TREE:
        root_id = ids[root.key] = _fixed_id("cat", rnd)
        root_name = f"{root.name[0]} {root.name[1]}"
        categories.append(
            Category(category_id=root_id, name=root_name, path=[root_id], names=[root_name], created_at=EPOCH)
        )
        for leaf in root.leaves:
            leaf_id = ids[leaf.key] = _fixed_id("cat", rnd)
            leaves[leaf.key] = leaf
            name = f"{leaf.name[0]} {leaf.name[1]}"
            categories.append(
                Category(
                    category_id=leaf_id,
                    name=name,
                    parent_id=root_id,
                    path=[root_id, leaf_id],
                    names=[root_name, name],
                    created_at=EPOCH,
                )
            )
    brand_ids = {row[0]: _fixed_id("brd", rnd) for row in BRANDS}
    brands = [Brand(brand_id=brand_ids[r[0]], name=f"{r[1]} {r[2]}", created_at=EPOCH) for r in BRANDS]
    return Vocabulary(categories, brands, leaves, ids, brand_ids, {r[0]: r for r in BRANDS})


# --- products ----------------------------------------------------------------------------------------------------


def _skewed(rnd: random.Random, options: Sequence[Any], exponent: float = 1.0) -> Any:
    """Option ``k`` (0-based) with weight 1 / (k + 1) ** exponent: the first ones are common, the rest a tail."""
    weights = [1.0 / (k + 1) ** exponent for k in range(len(options))]
    return rnd.choices(options, weights)[0]


def _product_rnd(seed: int, index: int) -> random.Random:
    return random.Random(seed * 1_000_003 + index)


def product(vocab: Vocabulary, index: int, seed: int = SEED) -> Product:
    """Product number ``index`` of the catalogue (the same at every catalogue size)."""
    rnd = _product_rnd(seed, index)
    leaf = rnd.choices(list(vocab.leaves.values()), [leaf.weight for leaf in vocab.leaves.values()])[0]
    sellers = [row for row in BRANDS if leaf.key in row[5]]
    key, brand_zh, brand_en, code, _, _ = rnd.choices(sellers, [row[4] for row in sellers])[0]
    type_zh, type_en = _skewed(rnd, leaf.types)
    series = rnd.choice(SERIES)
    number = rnd.randint(1, 99)
    edition_zh, edition_en = rnd.choice(EDITIONS)
    fitting = [m for m in range(len(leaf.modifiers)) if leaf.modifiers[m][0] not in type_zh]
    mods = rnd.sample(fitting, k=min(len(fitting), rnd.choice((0, 1, 1, 2))))
    mods_zh = "".join(leaf.modifiers[m][0] for m in mods)
    mods_en = " ".join(leaf.modifiers[m][1] for m in mods)
    name_zh = " ".join(p for p in (brand_zh, series, str(number), edition_zh, mods_zh + type_zh) if p)
    name_en = " ".join(p for p in (brand_en, series, str(number), edition_en, mods_en, type_en) if p)
    features = sorted({_skewed(rnd, FEATURES, 0.8) for _ in range(rnd.randint(1, 3))}, key=FEATURES.index)
    description = "\uff0c".join(f[0] for f in features) + "。" + ". ".join(f[1] for f in features) + "."
    model_code = f"{series[:2].upper()}{number}{edition_en[:1].upper()}-{index:06d}"
    low, high = leaf.price
    base = int(rnd.lognormvariate(0, 0.6) * (low + high) / 4)
    yuan = max(low, min(high, base))
    base = (round(yuan, -2 if yuan >= 1000 else -1) - 1) * 100  # fen, "x99" pricing: 3299 or 329 yuan
    colours = rnd.sample(COLOURS, k=rnd.choice((1, 2, 2, 3)))
    storages = rnd.sample(STORAGE[:3], k=rnd.choice((1, 2))) if leaf.storage else [None]
    variants: list[Variant] = []
    for c_zh, c_en, c_code in colours:
        for step, storage in enumerate(sorted(storages, key=lambda s: STORAGE.index(s) if s else 0)):
            options = {"colour": f"{c_zh} {c_en}"}
            sku = f"{code}-{model_code}-{c_code}"
            if storage:
                options["storage"] = storage
                sku += f"-{storage.removesuffix('GB')}"
            variants.append(
                Variant(sku=sku, options=options, price=Money(amount=base + step * 100_000), weight_grams=200 + step)
            )
    created = EPOCH + timedelta(minutes=index * 7 + rnd.randrange(7))
    status = ProductStatus.ACTIVE if rnd.random() < 0.97 else rnd.choice((ProductStatus.DRAFT, ProductStatus.ARCHIVED))
    category_id = vocab.category_ids[leaf.key]
    root_key = next(r.key for r in TREE if leaf in r.leaves)
    root_id = vocab.category_ids[root_key]
    root = next(r for r in TREE if r.key == root_key)
    return Product(
        product_id=_fixed_id("prd", random.Random(f"{seed}:id:{index}")),
        name=f"{name_zh} {name_en}",
        description=description,
        brand_id=vocab.brand_ids[key],
        brand_name=f"{brand_zh} {brand_en}",
        category_id=category_id,
        category_path=[root_id, category_id],
        category_names=[f"{root.name[0]} {root.name[1]}", f"{leaf.name[0]} {leaf.name[1]}"],
        status=status,
        variants=variants,
        version=1,
        created_at=created,
        updated_at=created,
    )


def products(vocab: Vocabulary, count: int, seed: int = SEED, start: int = 0) -> Iterator[Product]:
    for index in range(start, count):
        yield product(vocab, index, seed)


# --- queries -----------------------------------------------------------------------------------------------------

QueryKind = Literal[
    "zh-1word",
    "en-1word",
    "2words",
    "mixed",
    "sku",
    "filter-category",
    "filter-brand",
    "filter-price",
    "facets",
    "miss",
]
# How many of the 200 queries each kind gets.
KIND_COUNTS: dict[QueryKind, int] = {
    "zh-1word": 30,
    "en-1word": 30,
    "2words": 25,
    "mixed": 20,
    "sku": 15,
    "filter-category": 15,
    "filter-brand": 15,
    "filter-price": 10,
    "facets": 25,
    "miss": 15,
}


@dataclass(frozen=True)
class BenchQuery:
    kind: QueryKind
    q: str
    category: str | None = None
    brand: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    facets: tuple[str, ...] = ()
    words: int = field(default=0)  # words as the shopper typed them (space-separated runs)

    def params(self) -> dict[str, str]:
        """The query string of ``GET /products``."""
        out = {"q": self.q}
        if self.category:
            out["category"] = self.category
        if self.brand:
            out["brand"] = self.brand
        if self.min_price is not None:
            out["min_price"] = str(self.min_price)
        if self.max_price is not None:
            out["max_price"] = str(self.max_price)
        if self.facets:
            out["facets"] = ",".join(self.facets)
        return out

    def label(self) -> str:
        extra = [f"{k}={v}" for k, v in self.params().items() if k != "q"]
        return " ".join([repr(self.q), *extra])


MISSES = (
    "量子计算机",
    "潜水艇",
    "spaceship",
    "xylophone",
    "独角兽玩具",
    "hoverboard",
    "zzqx",
    "火箭发动机",
    "telescope",
    "陨石",
    "submarine",
    "钢琴",
    "harpsichord",
    "滑翔伞",
    "periscope",
)


def queries(vocab: Vocabulary, seed: int = SEED, sample_from: int = 1000) -> list[BenchQuery]:
    """The fixed 200 queries. SKU queries use products among the first ``sample_from`` (in every catalogue)."""
    rnd = random.Random(f"{seed}:queries")
    leaves = list(vocab.leaves.values())
    leaf_weights = [leaf.weight for leaf in leaves]
    brand_rows = list(BRANDS)
    brand_weights = [row[4] for row in brand_rows]

    def leaf_pick() -> Leaf:
        return rnd.choices(leaves, leaf_weights)[0]

    def brand_pick() -> tuple[str, str, str, str, float, tuple[str, ...]]:
        return rnd.choices(brand_rows, brand_weights)[0]

    def zh_word() -> str:
        leaf = leaf_pick()
        pool = [t[0] for t in leaf.types] + [m[0] for m in leaf.modifiers] + [leaf.name[0], brand_pick()[1]]
        return str(rnd.choice(pool))

    def en_word() -> str:
        leaf = leaf_pick()
        words = [w for t in leaf.types for w in t[1].split()] + [w for m in leaf.modifiers for w in m[1].split()]
        words += [brand_pick()[2], rnd.choice(SERIES)]
        word = str(rnd.choice(words))
        return rnd.choice((word, word.lower(), word.upper(), word.lower() + ("s" if not word.endswith("s") else "")))

    made: dict[QueryKind, list[BenchQuery]] = {k: [] for k in KIND_COUNTS}
    while len(made["zh-1word"]) < KIND_COUNTS["zh-1word"]:
        made["zh-1word"].append(BenchQuery("zh-1word", zh_word()))
    while len(made["en-1word"]) < KIND_COUNTS["en-1word"]:
        made["en-1word"].append(BenchQuery("en-1word", en_word()))
    while len(made["2words"]) < KIND_COUNTS["2words"]:
        leaf = leaf_pick()
        type_word = rnd.choice(leaf.types)
        mod = rnd.choice(leaf.modifiers)
        form = rnd.randrange(3)
        if form == 0:
            q = f"{mod[0]}{type_word[0]}"  # 蓝牙耳机: two words with no space
        elif form == 1:
            q = f"{mod[1]} {type_word[1]}".lower()
        else:
            seller = rnd.choice([r for r in BRANDS if leaf.key in r[5]])
            q = f"{seller[1]} {type_word[0]}"
        made["2words"].append(BenchQuery("2words", q))
    while len(made["mixed"]) < KIND_COUNTS["mixed"]:
        leaf = leaf_pick()
        seller = rnd.choice([r for r in BRANDS if leaf.key in r[5]])
        type_word = rnd.choice(leaf.types)
        q = rnd.choice((f"{seller[1]} {type_word[1].split()[-1].lower()}", f"{seller[2].lower()} {type_word[0]}"))
        made["mixed"].append(BenchQuery("mixed", q))
    for index in rnd.sample(range(sample_from), KIND_COUNTS["sku"]):
        p = product(vocab, index, seed)
        sku = rnd.choice(p.variants).sku
        q = rnd.choice((sku, sku.lower(), sku.rsplit("-", 1)[0]))  # whole SKU, lower-cased, or its model part
        made["sku"].append(BenchQuery("sku", q))
    while len(made["filter-category"]) < KIND_COUNTS["filter-category"]:
        root = rnd.choice(TREE)
        leaf = rnd.choice(root.leaves)
        on_root = rnd.random() < 0.4
        cat = vocab.category_ids[root.key if on_root else leaf.key]
        q = rnd.choice(
            (
                rnd.choice(leaf.modifiers)[0],
                rnd.choice(leaf.modifiers)[1].split()[0].lower(),
                rnd.choice([r for r in BRANDS if leaf.key in r[5]])[2],
            )
        )
        made["filter-category"].append(BenchQuery("filter-category", q, category=cat))
    while len(made["filter-brand"]) < KIND_COUNTS["filter-brand"]:
        row = brand_pick()
        leaf = vocab.leaves[rnd.choice(row[5])]
        q = rnd.choice((rnd.choice(leaf.types)[0], rnd.choice(leaf.types)[1].split()[-1].lower()))
        made["filter-brand"].append(BenchQuery("filter-brand", q, brand=vocab.brand_ids[row[0]]))
    while len(made["filter-price"]) < KIND_COUNTS["filter-price"]:
        leaf = leaf_pick()
        low, high = leaf.price
        lo = rnd.randint(low, (low + high) // 2) * 100
        q = rnd.choice((rnd.choice(leaf.types)[0], rnd.choice(leaf.types)[1].split()[-1].lower()))
        made["filter-price"].append(BenchQuery("filter-price", q, min_price=lo, max_price=lo * 2))
    facet_sets = (("category", "brand", "price"), ("brand",), ("category", "brand"), ("price",))
    while len(made["facets"]) < KIND_COUNTS["facets"]:
        q = rnd.choice((zh_word(), en_word()))
        made["facets"].append(BenchQuery("facets", q, facets=rnd.choice(facet_sets)))
    for word in MISSES[: KIND_COUNTS["miss"]]:
        made["miss"].append(BenchQuery("miss", word))
    out = [
        BenchQuery(q.kind, q.q, q.category, q.brand, q.min_price, q.max_price, q.facets, len(q.q.split()))
        for kind in KIND_COUNTS
        for q in made[kind]
    ]
    assert len(out) == 200, len(out)
    return out
