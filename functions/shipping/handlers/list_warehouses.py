"""GET /admin/warehouses: every warehouse, by code."""

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import WarehouseList
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.get("/admin/warehouses", summary="Warehouses")
def list_warehouses() -> WarehouseList:
    return service().list_warehouses()


handler = entrypoint(app)
