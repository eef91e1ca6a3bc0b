"""GET /categories: the category tree (one Query: all categories share one partition)."""

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import CategoryTree
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/categories", summary="The category tree")
def list_categories() -> CategoryTree:
    return CategoryTree(items=service().category_tree())


handler = entrypoint(app)
