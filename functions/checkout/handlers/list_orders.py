"""GET /orders: the signed-in shopper's orders, newest first, paged (one Query on ``by_user``)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import OrderPage
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/orders", summary="My orders")
def list_orders(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> OrderPage:
    return service().list_orders(str(current_auth(app).user_id), limit, cursor)


handler = entrypoint(app)
