"""POST /admin/orders/{order_id}/refunds: refund an order's captured payment in full (no ``amount``) or in part,
through its provider. Never more than was captured in total: the refunded total is a condition on the payment.
With an ``Idempotency-Key`` a retried request returns the first refund (200, ``Idempotent-Replayed``)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.payments.manifest import MANIFEST
from functions.payments.model import Refund, RefundInput
from functions.payments.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/orders/<order_id>/refunds", summary="Refund an order", status_code=201)
def refund_order(order_id: Annotated[str, Path(max_length=64)], body: RefundInput) -> Response[Refund]:
    auth = current_auth(app)
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    refund, replayed = service().admin_refund(order_id, body, str(auth.user_id), key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=200 if replayed else 201, content_type="application/json", body=refund, headers=headers)


handler = entrypoint(app)
