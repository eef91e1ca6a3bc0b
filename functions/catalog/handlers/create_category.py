"""POST /admin/categories: create a category, at the root or under a parent (at most four levels)."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import Category, CategoryInput
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/categories", summary="Create a category", status_code=201)
def create_category(body: CategoryInput) -> Category:
    return service().create_category(body)


handler = entrypoint(app)
