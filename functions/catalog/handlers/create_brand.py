"""POST /admin/brands: create a brand (names are unique, case-insensitively)."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Brand, BrandInput
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/brands", summary="Create a brand", status_code=201)
def create_brand(body: BrandInput) -> Brand:
    return service().create_brand(body)


handler = entrypoint(app)
