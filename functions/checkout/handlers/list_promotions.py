"""GET /promotions: the flash sales running now or coming, soonest ending first, with the units left."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import PromotionList
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/promotions", summary="Flash sales")
def list_promotions(limit: Annotated[int, Query(ge=1, le=20)] = 20) -> PromotionList:
    return service().current_promotions(limit)


handler = entrypoint(app)
