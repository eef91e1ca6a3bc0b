"""POST /admin/inventory/{sku}/movements: an adjustment of a SKU's sellable stock (units added or, negative,
removed; never below zero), with a reason; publishes StockAdjusted. The shipping issue puts warehouses behind it."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import SKU_PATTERN, InventoryView, StockMovementInput
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/inventory/<sku>/movements", summary="Adjust a SKU's stock", status_code=201)
def adjust_inventory(sku: Annotated[str, Path(pattern=SKU_PATTERN)], body: StockMovementInput) -> InventoryView:
    auth = current_auth(app)
    return service().adjust_stock(sku, body, str(auth.email or auth.user_id))


handler = entrypoint(app)
