"""POST /cart/items: add a SKU (quantities add up, at most 99 per SKU and 50 lines). A guest without a cart gets one
and its ``cart_token`` to send as ``X-Cart-Token`` from then on."""

from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Cart, CartLineInput
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/cart/items", summary="Add to cart")
def add_cart_item(body: CartLineInput) -> Cart:
    user_id, token = cart_identity(app)
    return service().change_cart(user_id, token, body.sku, body.quantity, "add")


handler = entrypoint(app)
