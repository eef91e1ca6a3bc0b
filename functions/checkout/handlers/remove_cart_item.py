"""DELETE /cart/items/{sku}: remove a line from the cart."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import SKU_PATTERN, Cart
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.delete("/cart/items/<sku>", summary="Remove a cart line")
def remove_cart_item(sku: Annotated[str, Path(pattern=SKU_PATTERN)]) -> Cart:
    user_id, token = cart_identity(app)
    return service().change_cart(user_id, token, sku, None, "remove")


handler = entrypoint(app)
