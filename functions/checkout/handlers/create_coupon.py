"""POST /admin/coupons: a percentage or fixed-amount coupon with a minimum spend, a validity window, a total and a
per-shopper usage limit, and optionally a category/product scope. Codes are case-insensitive and unique."""

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Coupon, CouponInput
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/coupons", summary="Create a coupon", status_code=201)
def create_coupon(body: CouponInput) -> Coupon:
    return service().create_coupon(body)


handler = entrypoint(app)
