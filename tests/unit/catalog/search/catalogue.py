"""A small bilingual catalogue of Product objects for search tests (no storage needed to build it)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from functions.catalog.model import Product, ProductStatus, Variant
from functions.shared.money import Money

CATEGORIES: dict[str, tuple[list[str], list[str]]] = {
    "phones": (["cat_digital", "cat_phones"], ["手机数码 Phones & Digital", "手机 Phones"]),
    "headphones": (["cat_audio", "cat_headphones"], ["影音 Audio", "耳机 Headphones"]),
    "kitchen": (["cat_home", "cat_kitchen"], ["家居 Home", "厨房 Kitchen"]),
}
BRANDS = {"huawei": "华为 Huawei", "xiaomi": "小米 Xiaomi", "sony": "索尼 Sony", "midea": "美的 Midea"}
_T0 = datetime(2024, 1, 1, tzinfo=UTC)


def product(
    key: str,
    name: str,
    brand: str,
    category: str,
    price: int,
    sku: str,
    description: str = "",
    options: dict[str, str] | None = None,
    age_days: int = 0,
    **changes: Any,
) -> Product:
    path, names = CATEGORIES[category]
    created = _T0 - timedelta(days=age_days)
    data: dict[str, Any] = {
        "product_id": f"prd_{key}",
        "name": name,
        "description": description,
        "brand_id": f"brd_{brand}",
        "brand_name": BRANDS[brand],
        "category_id": path[-1],
        "category_path": path,
        "category_names": names,
        "status": ProductStatus.ACTIVE,
        "variants": [Variant(sku=sku, options=options or {}, price=Money(amount=price, currency="CNY"))],
        "version": 1,
        "created_at": created,
        "updated_at": created,
    }
    data.update(changes)
    return Product.model_validate(data)


def catalogue() -> dict[str, Product]:
    items = [
        product(
            "mate",
            "华为 Mate 60 Pro 智能手机 Huawei Mate 60 Pro Smartphone",
            "huawei",
            "phones",
            699900,
            "HW-M60P-BLK-256",
            "麒麟芯片，卫星通话。Kirin chipset with satellite calling.",  # noqa: RUF001
            {"storage": "256GB", "colour": "黑色 Black"},
            age_days=5,
        ),
        product("xm14", "小米 14 智能手机 Xiaomi 14 Smartphone", "xiaomi", "phones", 399900, "XM-14-BLK", age_days=4),
        product(
            "sony",
            "索尼 WH-1000XM5 无线蓝牙降噪耳机 Sony Wireless Noise Cancelling Headphones",
            "sony",
            "headphones",
            249900,
            "SONY-WH1000XM5-BLK",
            "业界领先的降噪。Industry-leading noise cancelling.",
            age_days=3,
        ),
        product(
            "buds",
            "华为 FreeBuds Pro 3 蓝牙耳机 Huawei FreeBuds Pro 3 Earbuds",
            "huawei",
            "headphones",
            149900,
            "HW-FBP3-WHT",
            age_days=2,
        ),
        product("stand", "耳机支架 Headphone Stand", "xiaomi", "headphones", 9900, "XM-HS-1", age_days=1),
        product(
            "rice",
            "美的电饭煲 Midea Rice Cooker",
            "midea",
            "kitchen",
            39900,
            "MD-RC-4L",
            "静音，可以边戴耳机边做饭。Quiet enough to cook with headphones on.",  # noqa: RUF001
            age_days=0,
        ),
    ]
    return {p.product_id.removeprefix("prd_"): p for p in items}


def bump(p: Product, **changes: Any) -> Product:
    """The product as a later event would carry it."""
    return p.model_copy(update={"version": p.version + 1, **changes})
