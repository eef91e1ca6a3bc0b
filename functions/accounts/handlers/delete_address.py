"""DELETE /me/addresses/{address_id}: delete one of my addresses (204). Deleting the default makes the most
recently updated one left the default. Another user's address, or one already deleted, is a 404."""

from typing import Annotated

from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.accounts.addresses.model import ADDRESS_ID_PATTERN
from functions.accounts.addresses.service import service, user_id_of
from functions.accounts.manifest import MANIFEST
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.delete("/me/addresses/<address_id>", summary="Delete a saved address", status_code=204)
def delete_address(address_id: Annotated[str, Path(pattern=ADDRESS_ID_PATTERN)]) -> Response[None]:
    service().delete(user_id_of(current_auth(app)), address_id)
    return Response(status_code=204, body=None)


handler = entrypoint(app)
