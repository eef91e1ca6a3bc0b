"""POST /admin/returns/{return_id}/{action}: ``approve``; ``reject`` with a ``reason``; ``receive`` with the goods'
``condition`` (or ``lines``, per SKU and condition): resellable units go back on the shelf and on sale, damaged ones
do not. A received return is refunded through the payments context; an exchange gets a replacement parcel."""

from typing import Annotated, Literal

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.shared.http import current_auth, entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import ReturnActionInput, ReturnRecord
from functions.shipping.service import service

app = make_resolver(MANIFEST)


@app.post("/admin/returns/<return_id>/<action>", summary="Approve, reject or receive a return")
def act_on_return(
    return_id: Annotated[str, Path(max_length=64)],
    action: Annotated[Literal["approve", "reject", "receive"], Path()],
    body: ReturnActionInput | None = None,
) -> ReturnRecord:
    return service().act_on_return(return_id, action, body or ReturnActionInput(), str(current_auth(app).user_id))


handler = entrypoint(app)
