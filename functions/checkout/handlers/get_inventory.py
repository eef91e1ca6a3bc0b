"""GET /admin/inventory/{sku}: a SKU's sellable stock, units reserved by open orders and units held by flash sales."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import SKU_PATTERN, InventoryView
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/inventory/<sku>", summary="A SKU's stock")
def get_inventory(sku: Annotated[str, Path(pattern=SKU_PATTERN)]) -> InventoryView:
    return service().inventory(sku)


handler = entrypoint(app)
