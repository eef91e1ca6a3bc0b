"""POST /admin/orders/{order_id}/refunds: refund an order's captured payment in full (no ``amount``) or in part,
through its provider. Never more than was captured in total: the refunded total is a condition on the payment."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.payments.manifest import MANIFEST
from functions.payments.model import Refund, RefundInput
from functions.payments.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/orders/<order_id>/refunds", summary="Refund an order", status_code=201)
def refund_order(order_id: Annotated[str, Path(max_length=64)], body: RefundInput) -> Refund:
    auth = current_auth(app)
    return service().admin_refund(order_id, body, str(auth.email or auth.user_id))


handler = entrypoint(app)
