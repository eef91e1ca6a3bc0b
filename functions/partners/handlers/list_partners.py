"""GET /admin/partners: the partner apps, newest first (never their secrets)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.partners.manifest import MANIFEST
from functions.partners.model import PartnerPage
from functions.partners.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/partners", summary="Partner apps")
def list_partners(
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> PartnerPage:
    return service().list(limit, cursor)


handler = entrypoint(app)
