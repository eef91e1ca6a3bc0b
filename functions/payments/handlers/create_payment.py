"""POST /orders/{order_id}/payments: start paying my order with ``card``, ``alipay`` or ``wechat_pay``.

The amount is the order's total (never the client's); ``Idempotency-Key`` is required (same key and body: the same
payment, 200 with ``Idempotent-Replayed``). The answer carries the provider's next action: a client secret for the
card (Stripe.js confirms it), a QR code URL for Alipay precreate and WeChat Native. An order can have several
attempts; the first success pays it and any other is refunded."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.payments.manifest import MANIFEST
from functions.payments.model import PaymentInput, PaymentIntentResponse
from functions.payments.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/orders/<order_id>/payments", summary="Pay an order", status_code=201)
def create_payment(
    order_id: Annotated[str, Path(max_length=64)], body: PaymentInput
) -> Response[PaymentIntentResponse]:
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    result, replayed = service().create_payment(str(current_auth(app).user_id), order_id, key, body)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=200 if replayed else 201, content_type="application/json", body=result, headers=headers)


handler = entrypoint(app)
