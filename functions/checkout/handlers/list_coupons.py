"""GET /admin/coupons: coupons, newest first, with how often each was used."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import CouponPage
from functions.checkout.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/coupons", summary="Coupons")
def list_coupons(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> CouponPage:
    return service().list_coupons(limit, cursor)


handler = entrypoint(app)
