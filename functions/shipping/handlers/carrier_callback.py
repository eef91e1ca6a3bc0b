"""POST /callbacks/carriers/{carrier}: a carrier's tracking events for one of our tracking numbers, signed with
the carrier's secret: ``X-Carrier-Timestamp`` (unix seconds, at most 300 s off) and ``X-Carrier-Signature`` =
hex HMAC-SHA256 of ``<timestamp>.<raw body>``. The signature is checked before the body is even parsed; a bad one
is 401, an unknown carrier or tracking number 404. Duplicates and events that arrive out of order are absorbed (the
timeline is in carrier time and ``delivered`` is final); the answer is 200 only once the change is stored."""

import base64
import binascii
from typing import Annotated, Any

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.errors import BadRequest
from functions.shared.http import entrypoint, make_resolver
from functions.shared.logs import shop_logger
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import CARRIER_PATTERN
from functions.shipping.service import service

app = make_resolver(MANIFEST)
logger = shop_logger()


@app.post("/callbacks/carriers/<carrier>", summary="A carrier's tracking events")
def carrier_callback(carrier: Annotated[str, Path(pattern=CARRIER_PATTERN)]) -> dict[str, Any]:
    event = app.current_event
    raw = event.body or ""
    try:
        body = base64.b64decode(raw, validate=True) if event.is_base64_encoded else raw.encode("utf-8")
    except (binascii.Error, UnicodeEncodeError):
        raise BadRequest("the callback body cannot be read", code="MALFORMED_CALLBACK") from None
    outcome = service().carrier_update(
        carrier,
        body,
        event.get_header_value("X-Carrier-Timestamp", case_sensitive=False),
        event.get_header_value("X-Carrier-Signature", case_sensitive=False),
    )
    logger.info("carrier callback applied", extra={"carrier": carrier, "outcome": outcome})
    return {"received": True, "outcome": outcome}


handler = entrypoint(app)
