"""GET /admin/inventory/{sku}: a SKU's stock. The checkout's own figures are exact: sellable stock (shown from
zero; ``short`` counts units open orders reserved beyond what the warehouses hold), units reserved by open orders
and units held by flash sales. The per-warehouse on hand, allocated and available (and their totals) are the
checkout's copy of the shipping context's stock, kept from its events: eventually consistent, a moment behind a
movement; ``warehouse_version`` is the version of the snapshot shown (null before the first)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import SKU_PATTERN, InventoryView
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get(
    "/admin/inventory/<sku>",
    summary="A SKU's stock",
    description="Sellable, reserved and flash-sale stock (exact), and per warehouse on hand, allocated and available "
    "(the checkout's copy from shipping events: eventually consistent).",
)
def get_inventory(sku: Annotated[str, Path(pattern=SKU_PATTERN)]) -> InventoryView:
    return service().inventory(sku)


handler = entrypoint(app)
