"""GET /admin/orders/{order_id}: any order (back office)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import Order
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/orders/<order_id>", summary="An order (back office)")
def admin_get_order(order_id: Annotated[str, Path(max_length=64)]) -> Order:
    return service().get_order(order_id, None)


handler = entrypoint(app)
