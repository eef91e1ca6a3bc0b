"""GET /orders/{order_id}/shipments: my paid order's parcels and each shipment's tracking timeline (in carrier
time). Another shopper's order, or one not paid yet, is a 404."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ShipmentList
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.get("/orders/<order_id>/shipments", summary="My order's shipments")
def list_shipments(order_id: Annotated[str, Path(max_length=64)]) -> ShipmentList:
    return service().shipments(order_id, str(current_auth(app).user_id))


handler = entrypoint(app)
