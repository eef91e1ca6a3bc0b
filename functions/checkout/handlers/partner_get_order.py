"""GET /partner/v1/orders/{order_id}: one order for a partner app (scope ``orders:read``), personal data masked
(functions.checkout.partner); an unknown id is a 404."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.checkout.manifest import MANIFEST
from functions.checkout.partner import PartnerOrder
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/partner/v1/orders/<order_id>", summary="An order (partner)")
def partner_get_order(order_id: Annotated[str, Path(max_length=64)]) -> PartnerOrder:
    return service().partner_order(str(current_auth(app).app_key), order_id)


handler = entrypoint(app)
