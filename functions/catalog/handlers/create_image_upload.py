"""POST /admin/products/{product_id}/images: add an image to a product and return a presigned S3 POST for its bytes
(JPEG, PNG or WebP, at most 10 MB, valid 15 minutes)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import ImageInput, ImageUpload
from functions.catalog.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/products/<product_id>/images", summary="Add a product image (presigned upload)", status_code=201)
def create_image_upload(product_id: Annotated[str, Path(max_length=64)], body: ImageInput) -> ImageUpload:
    return service().add_image(product_id, body)


handler = entrypoint(app)
