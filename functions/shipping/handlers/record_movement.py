"""POST /admin/inventory/{sku}/movements: a physical stock change in a warehouse, kept in the SKU's append-only
ledger: ``inbound`` (goods received), ``outbound`` (damaged, lost), ``adjustment`` (a stock count: ``counted``) or
``transfer`` (to ``to_warehouse``). On hand never goes below zero and allocated units cannot be moved out. The
checkout's sellable stock follows through StockMovementRecorded. With an ``Idempotency-Key`` a retried request
returns the first result (200, ``Idempotent-Replayed``) instead of moving the stock twice."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import SKU_PATTERN, MovementInput, MovementResult
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/admin/inventory/<sku>/movements", summary="Record a stock movement", status_code=201)
def record_movement(sku: Annotated[str, Path(pattern=SKU_PATTERN)], body: MovementInput) -> Response[MovementResult]:
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    result, replayed = service().record_movement(sku, body, str(current_auth(app).user_id), key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=200 if replayed else 201, content_type="application/json", body=result, headers=headers)


handler = entrypoint(app)
