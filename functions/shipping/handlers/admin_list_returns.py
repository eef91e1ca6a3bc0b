"""GET /admin/returns: returns, newest first; ``status`` narrows them (requested, approved, ...)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ReturnPage, ReturnStatus
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.get("/admin/returns", summary="Returns")
def admin_list_returns(
    status: Annotated[ReturnStatus | None, Query()] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> ReturnPage:
    return service().list_returns(status.value if status else None, limit, cursor)


handler = entrypoint(app)
