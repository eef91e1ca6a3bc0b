"""POST /cart/items: add a SKU (quantities add up, at most 99 per SKU and 50 lines). A guest without a cart gets one
and its ``cart_token`` to send as ``X-Cart-Token`` from then on.

A successful add writes a ``cart_addition`` line to the checkout's activity feed (functions.checkout.cart_feed) for
back-office analytics; the response does not wait on anything for it (a log line is a local write)."""

from functions.checkout.cart_feed import emit_cart_addition
from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Cart, CartLineInput
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/cart/items", summary="Add to cart")
def add_cart_item(body: CartLineInput) -> Cart:
    user_id, token = cart_identity(app)
    cart = service().change_cart(user_id, token, body.sku, body.quantity, "add")
    sku = body.sku.upper()  # as the cart stores it
    line = next((line for line in cart.lines if line.sku == sku), None)
    if line is not None and line.product_id is not None:
        emit_cart_addition(line.product_id, sku, body.quantity)
    return cart


handler = entrypoint(app)
