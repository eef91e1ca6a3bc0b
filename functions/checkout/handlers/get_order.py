"""GET /orders/{order_id}: one of the shopper's own orders; anybody else's is a 404, exactly like an unknown id."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Order
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/orders/<order_id>", summary="One of my orders")
def get_order(order_id: Annotated[str, Path(max_length=64)]) -> Order:
    return service().get_order(order_id, str(current_auth(app).user_id))


handler = entrypoint(app)
