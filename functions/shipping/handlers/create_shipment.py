"""POST /admin/orders/{order_id}/shipments: an allocated parcel leaves its warehouse with a carrier. ``lines``
(default: all the parcel has left) must be in the order and not more than is left to ship; the tracking number is
unique per carrier. On hand and allocated go down (ledger ``dispatch``); when every unit has left, the order becomes
``shipped``. With an ``Idempotency-Key`` a retry returns the first shipment (200, ``Idempotent-Replayed``)."""

from typing import Annotated, Any

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import Shipment, ShipmentInput
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/admin/orders/<order_id>/shipments", summary="Ship a parcel", status_code=201)
def create_shipment(order_id: Annotated[str, Path(max_length=64)], body: ShipmentInput) -> Response[Shipment]:
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    shipment, replayed = service().dispatch(order_id, body, str(current_auth(app).user_id), key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        status_code=200 if replayed else 201, content_type="application/json", body=shipment, headers=headers
    )


handler = entrypoint(app)
