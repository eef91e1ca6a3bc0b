"""POST /orders/{order_id}/cancel: the shopper cancels their own order before it ships. Reserved stock goes back
on sale and an unpaid order's coupon use is given back; a paid order is refunded in full (OrderCancelled says so).
Cancelling a cancelled order returns it unchanged."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import CancelInput, Order
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/orders/<order_id>/cancel", summary="Cancel my order")
def cancel_order(order_id: Annotated[str, Path(max_length=64)], body: CancelInput | None = None) -> Order:
    reason = body.reason if body else ""
    return service().cancel(order_id, str(current_auth(app).user_id), "shopper", reason)


handler = entrypoint(app)
