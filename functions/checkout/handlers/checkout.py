"""POST /checkout: place an order from the shopper's cart (``Idempotency-Key`` required).

Every line's stock is reserved, the coupon used and the order written in one transaction (all or none); the order
waits in ``pending_payment`` for the payment window. The same key with the same body returns the same order (200,
``Idempotent-Replayed: true``); with another body it is a 422."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.checkout.handlers._cart import cart_identity
from functions.checkout.manifest import MANIFEST
from functions.checkout.model import CheckoutInput, Order
from functions.checkout.service import service
from functions.shared import metrics
from functions.shared.errors import AppError
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/checkout", summary="Check out", status_code=201)
def checkout(body: CheckoutInput) -> Response[Order]:
    auth = current_auth(app)
    event = app.current_event
    key = event.get_header_value("Idempotency-Key", case_sensitive=False)
    _user, token = cart_identity(app)  # the guest cart to merge, if any (a malformed token is a 400)
    try:
        order, replayed = service().checkout(str(auth.user_id), key, body, token, auth.email)
    except AppError as exc:
        if exc.code in ("OUT_OF_STOCK", "SOLD_OUT"):
            metrics.count(metrics.STOCK_OUTS)
        raise
    if not replayed:
        metrics.count(metrics.ORDERS_PLACED)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        status_code=200 if replayed else 201,
        content_type="application/json",
        body=order,
        headers=headers,
    )


handler = entrypoint(app)
