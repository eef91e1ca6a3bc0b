"""POST /admin/warehouses: add a warehouse. Its code is its identity (unique); its region and priority decide which
orders it ships first (docs/shipping.md). Stock arrives through inbound movements."""

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import Warehouse, WarehouseInput
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/admin/warehouses", summary="Add a warehouse", status_code=201)
def create_warehouse(body: WarehouseInput) -> Warehouse:
    return service().create_warehouse(body)


handler = entrypoint(app)
