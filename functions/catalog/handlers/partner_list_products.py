"""GET /partner/v1/products (partner apps, scope ``products:read``): the published catalogue with variants, prices,
category, brand and images, oldest change first. ``updated_since`` (inclusive) returns only what changed since then,
so a partner that keeps the last ``updated_at`` it saw fetches just the changes. One Query on the sparse
``by_updated`` index and one BatchGetItem per page (functions.catalog.repository); never a Scan."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import AwareDatetime

from functions.catalog.manifest import MANIFEST
from functions.catalog.model import PartnerProductPage
from functions.catalog.service import service
from functions.shared.errors import Unprocessable
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/partner/v1/products", summary="The published catalogue, in change order")
def partner_list_products(
    updated_since: Annotated[
        AwareDatetime | None,
        Query(description="ISO-8601 with a time zone; products whose updated_at is at or after it"),
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> PartnerProductPage:
    since: datetime | None = updated_since
    if since is not None and not 2000 <= since.year <= 2100:  # also keeps the conversion to UTC in range
        raise Unprocessable(
            "updated_since must be between the years 2000 and 2100",
            code="VALIDATION_FAILED",
            details=[{"field": "updated_since", "issue": "out of range"}],
        )
    return service().partner_products(since, limit, cursor)


handler = entrypoint(app)
