"""GET /admin/orders/{order_id}/shipments: any paid order's allocation (parcels per warehouse, what each has left
to ship) and its shipments with their tracking timelines."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ShipmentList
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.get("/admin/orders/<order_id>/shipments", summary="An order's parcels and shipments")
def admin_list_shipments(order_id: Annotated[str, Path(max_length=64)]) -> ShipmentList:
    return service().shipments(order_id, None)


handler = entrypoint(app)
