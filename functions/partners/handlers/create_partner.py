"""POST /admin/partners: register a partner app (201). The answer carries the app's secret, the only time it is
shown (``Cache-Control: no-store``); with an ``Idempotency-Key`` a retry within ten minutes gets the same answer."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.partners.manifest import MANIFEST
from functions.partners.model import PartnerCreated, PartnerInput
from functions.partners.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shared.idempotency import check_key

app = make_resolver(MANIFEST)


@app.post("/admin/partners", summary="Register a partner app", status_code=201)
def create_partner(body: PartnerInput) -> Response[PartnerCreated]:
    key = check_key(app.current_event.get_header_value("Idempotency-Key", case_sensitive=False), required=False)
    created, replayed = service().create(current_auth(app).actor, body, key)
    headers: dict[str, Any] = {"Cache-Control": "no-store"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return Response(
        status_code=200 if replayed else 201, content_type="application/json", body=created, headers=headers
    )


handler = entrypoint(app)
