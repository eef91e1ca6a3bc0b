"""PUT /admin/warehouses/{code}: change a warehouse's name, address, priority or active flag. ``version`` is the
one read; a stale one is 409. An inactive warehouse keeps its stock and ledger but is not allocated from."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import WAREHOUSE_PATTERN, Warehouse, WarehouseUpdate
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.put("/admin/warehouses/<code>", summary="Change a warehouse")
def update_warehouse(code: Annotated[str, Path(pattern=WAREHOUSE_PATTERN)], body: WarehouseUpdate) -> Warehouse:
    return service().update_warehouse(code, body)


handler = entrypoint(app)
