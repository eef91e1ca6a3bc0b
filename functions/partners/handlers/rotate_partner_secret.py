"""POST /admin/partners/{app_key}/rotate: give an app a new secret, shown once in the answer. The old secret keeps
signing valid requests for the grace period (``grace_seconds``, default PARTNER_SECRET_GRACE_HOURS, 0 to cut it off
now); rotating again inside it retires the older one at once."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Body, Path

from functions.partners.manifest import MANIFEST
from functions.partners.model import APP_KEY_PATTERN, PartnerCreated, RotateInput
from functions.partners.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/partners/<app_key>/rotate", summary="Rotate a partner app's secret")
def rotate_partner_secret(
    app_key: Annotated[str, Path(pattern=APP_KEY_PATTERN)],
    body: Annotated[RotateInput | None, Body()] = None,
) -> Response[PartnerCreated]:
    rotated = service().rotate(app_key, body.grace_seconds if body else None)
    return Response(
        status_code=200, content_type="application/json", body=rotated, headers={"Cache-Control": "no-store"}
    )


handler = entrypoint(app, any_media_type=False)
