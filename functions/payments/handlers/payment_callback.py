"""POST /callbacks/payments/{provider}: a provider's signed notification (Stripe webhook, Alipay async notify,
WeChat Pay v3 callback), taken exactly as sent (raw bytes; Alipay's is form-encoded).

Order of work: verify the signature first (refused: 401/400 in the provider's format, nothing changes); check the
payment, amount and currency against our records (refused: 400); apply the event once (the provider's event id is
written in the same transaction as its effect, so retries and duplicates are acknowledged with no second effect);
acknowledge only after that transaction committed. A failure on our side is a 5xx, so the provider retries."""

import base64
import binascii
from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.payments.manifest import MANIFEST
from functions.payments.providers.base import Acknowledgement, VerificationError
from functions.payments.service import CallbackRefused, service
from functions.shared import metrics
from functions.shared.errors import BadRequest
from functions.shared.http import entrypoint, make_resolver
from functions.shared.logs import shop_logger

app = make_resolver(MANIFEST)
logger = shop_logger()
PROVIDERS = ("card", "alipay", "wechat_pay")


def _answer(ack: Acknowledgement) -> Response[Any]:
    return Response(status_code=ack.status_code, content_type=ack.content_type or "text/plain", body=ack.body)


@app.post("/callbacks/payments/<provider>", summary="A payment provider's notification")
def payment_callback(provider: Annotated[str, Path(pattern="^(card|alipay|wechat_pay)$")]) -> Response[Any]:
    event = app.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError):
        raise BadRequest("the callback body cannot be read", code="MALFORMED_CALLBACK") from None
    svc = service()
    try:
        verified = svc.verify(provider, dict(event.headers or {}), body)
    except VerificationError as exc:
        # No body or header content in the log: a forged callback is not worth keeping, a genuine one holds data.
        logger.warning("payment callback refused", extra={"provider": provider, "reason": exc.code})
        return _answer(svc.acknowledgement(provider, exc))
    try:
        outcome = svc.apply_event(provider, verified)
    except CallbackRefused as refused:
        logger.warning("payment callback does not match our records", extra={"provider": provider, "why": str(refused)})
        raise
    if outcome in ("succeeded", "failed"):  # this callback changed the payment (not a duplicate or a refund)
        metrics.count(metrics.PAYMENTS_SUCCEEDED if outcome == "succeeded" else metrics.PAYMENTS_FAILED)
    logger.info(
        "payment callback applied",
        extra={"provider": provider, "event": verified.provider_event_id, "outcome": outcome},
    )
    return _answer(svc.acknowledgement(provider))


handler = entrypoint(app, any_media_type=True)
