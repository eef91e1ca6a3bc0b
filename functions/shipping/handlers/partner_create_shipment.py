"""POST /partner/v1/orders/{order_id}/shipments (partner apps, scope ``shipments:write``): a logistics partner
dispatches an allocated parcel exactly as staff do at POST /admin/orders/{order_id}/shipments: the same service call,
rules and errors (docs/shipping.md), with the app (``app:<key>``) as ``dispatched_by`` and as the ledger's actor.
``Idempotency-Key`` is required here (400 without it): a retry with the same body returns the first shipment (200,
``Idempotent-Replayed``), another body with the key is a 422 and nothing is written. A shipment carries no personal
data (the recipient stays in the fulfilment record), so there is nothing to mask."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shared.idempotency import check_key
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import Shipment, ShipmentInput
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/partner/v1/orders/<order_id>/shipments", summary="Dispatch a parcel (partner)", status_code=201)
def partner_create_shipment(order_id: Annotated[str, Path(max_length=64)], body: ShipmentInput) -> Response[Shipment]:
    key = check_key(app.current_event.get_header_value("Idempotency-Key", case_sensitive=False))
    shipment, replayed = service().dispatch(order_id, body, current_auth(app).actor, key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        status_code=200 if replayed else 201, content_type="application/json", body=shipment, headers=headers
    )


handler = entrypoint(app)
