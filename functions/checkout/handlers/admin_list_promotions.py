"""GET /admin/promotions: every flash sale, newest first, with its status and units left."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import PromotionList
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/promotions", summary="Flash sales (back office)")
def admin_list_promotions(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> PromotionList:
    return service().list_promotions(limit, cursor)


handler = entrypoint(app)
