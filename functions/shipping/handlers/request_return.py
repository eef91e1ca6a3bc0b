"""POST /orders/{order_id}/returns: return (refund) or exchange delivered units of my order, inside the return
window (``RETURN_WINDOW_DAYS`` after the units' delivery). Not more than was delivered, and never twice for the
same units (a rejected request frees them again). With an ``Idempotency-Key`` a retry returns the first request."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ReturnInput, ReturnRecord
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/orders/<order_id>/returns", summary="Return or exchange units of my order", status_code=201)
def request_return(order_id: Annotated[str, Path(max_length=64)], body: ReturnInput) -> Response[ReturnRecord]:
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    record, replayed = service().request_return(order_id, str(current_auth(app).user_id), body, key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=200 if replayed else 201, content_type="application/json", body=record, headers=headers)


handler = entrypoint(app)
