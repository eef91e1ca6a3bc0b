"""Small builders for the checkout's domain objects, so each test states only what it is about."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from functions.checkout.model import (
    Coupon,
    CouponKind,
    PromotionRef,
    SkuInfo,
    Stock,
    StoredCart,
    StoredLine,
)
from functions.shared.money import Money

NOW = datetime(2030, 6, 1, 12, 0, tzinfo=UTC)


def cny(amount: int) -> Money:
    return Money(amount=amount, currency="CNY")


def sku_info(
    sku: str = "SKU-A",
    price: int = 10000,
    product_id: str | None = None,
    category_path: list[str] | None = None,
    active: bool = True,
    promotions: dict[str, PromotionRef] | None = None,
) -> SkuInfo:
    return SkuInfo(
        sku=sku,
        product_id=product_id or f"prd_{sku.lower()}",
        product_name=f"Product {sku}",
        price=cny(price),
        category_path=category_path if category_path is not None else ["cat_electronics", "cat_phones"],
        active=active,
        product_version=1,
        promotions=promotions or {},
    )


def promo_ref(
    promotion_id: str = "prm_1",
    price: int = 5000,
    starts_at: datetime = NOW - timedelta(hours=1),
    ends_at: datetime = NOW + timedelta(hours=1),
    per_user_limit: int = 2,
    shards: int = 3,
) -> PromotionRef:
    return PromotionRef(
        promotion_id=promotion_id,
        price=cny(price),
        starts_at=starts_at,
        ends_at=ends_at,
        per_user_limit=per_user_limit,
        shards=shards,
    )


def cart(*lines: tuple[str, int], owner: str = "U#shopper") -> StoredCart:
    return StoredCart(owner=owner, lines=[StoredLine(sku=s, quantity=q, added_at=NOW) for s, q in lines])


def stock(**sellable: int) -> dict[str, Stock]:
    """``stock(SKU_A=3)`` -> {"SKU-A": Stock(sellable=3)} (underscores stand for dashes)."""
    return {k.replace("_", "-"): Stock(sku=k.replace("_", "-"), sellable=v) for k, v in sellable.items()}


def coupon(**overrides: Any) -> Coupon:
    data: dict[str, Any] = {
        "code": "SAVE10",
        "kind": CouponKind.PERCENTAGE,
        "percent_off": 10,
        "starts_at": NOW - timedelta(days=1),
        "ends_at": NOW + timedelta(days=1),
        "usage_limit": 100,
        "per_user_limit": 1,
        "created_at": NOW - timedelta(days=2),
    }
    data.update(overrides)
    if data["kind"] is CouponKind.FIXED and "percent_off" not in overrides:
        data["percent_off"] = None
    return Coupon(**data)
