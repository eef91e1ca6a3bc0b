"""PUT /cart/items/{sku}: set a cart line's quantity (1..99)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import SKU_PATTERN, Cart, QuantityInput
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.put("/cart/items/<sku>", summary="Change a cart line's quantity")
def update_cart_item(sku: Annotated[str, Path(pattern=SKU_PATTERN)], body: QuantityInput) -> Cart:
    user_id, token = cart_identity(app)
    return service().change_cart(user_id, token, sku, body.quantity, "set")


handler = entrypoint(app)
