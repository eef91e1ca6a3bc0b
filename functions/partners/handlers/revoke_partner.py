"""DELETE /admin/partners/{app_key}: revoke an app, for good. Its next request is refused (401) and its API key is
disabled. Revoking a revoked app changes nothing (200 again)."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.partners.manifest import MANIFEST
from functions.partners.model import APP_KEY_PATTERN, PartnerView
from functions.partners.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.delete("/admin/partners/<app_key>", summary="Revoke a partner app")
def revoke_partner(app_key: Annotated[str, Path(pattern=APP_KEY_PATTERN)]) -> PartnerView:
    return service().revoke(app_key)


handler = entrypoint(app)
