"""GET /cart: the cart priced now (catalogue prices or a running flash sale's), with availability and totals.

A guest sends ``X-Cart-Token``; a signed-in shopper who still has one has that guest cart merged into theirs.
``coupon`` previews a coupon's discount (the reason is shown when it does not apply)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import COUPON_PATTERN, Cart
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/cart", summary="My cart")
def get_cart(
    coupon: Annotated[str | None, Query(pattern=COUPON_PATTERN, description="Preview this coupon")] = None,
) -> Cart:
    user_id, token = cart_identity(app)
    return service().view_cart(user_id, token, coupon)


handler = entrypoint(app)
