"""POST /partner/v1/inventory/{sku} (partner apps, scope ``inventory:write``): a supplier or WMS reports stock of a
SKU at a warehouse: ``inbound``, ``outbound`` or ``adjustment`` (a count, ``counted``), the same movement the back
office records at POST /admin/inventory/{sku}/movements (same service call, ledger entry and StockMovementRecorded, so
the checkout's sellable stock follows), with the app (``app:<key>``) as the ledger's actor. Transfers stay with
staff. ``Idempotency-Key`` is required (400 without it); a retry returns the first result (200,
``Idempotent-Replayed``), the key with another body is a 422 and moves nothing."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shared.idempotency import check_key
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import SKU_PATTERN, MovementResult, PartnerMovementInput
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/partner/v1/inventory/<sku>", summary="Report stock of a SKU at a warehouse (partner)", status_code=201)
def partner_record_stock(
    sku: Annotated[str, Path(pattern=SKU_PATTERN)], body: PartnerMovementInput
) -> Response[MovementResult]:
    key = check_key(app.current_event.get_header_value("Idempotency-Key", case_sensitive=False))
    result, replayed = service().record_movement(sku, body.movement(), current_auth(app).actor, key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(status_code=200 if replayed else 201, content_type="application/json", body=result, headers=headers)


handler = entrypoint(app)
