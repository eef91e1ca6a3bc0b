"""PUT /me/addresses/{address_id}: replace one of my addresses, with the ``version`` read (stale: 409
``VERSION_CONFLICT``). ``is_default: true`` makes it the default; another user's address is a 404."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.accounts.addresses.model import ADDRESS_ID_PATTERN, Address, AddressUpdate
from functions.accounts.addresses.service import service, user_id_of
from functions.accounts.manifest import MANIFEST
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.put("/me/addresses/<address_id>", summary="Replace a saved address")
def update_address(address_id: Annotated[str, Path(pattern=ADDRESS_ID_PATTERN)], body: AddressUpdate) -> Address:
    return service().update(user_id_of(current_auth(app)), address_id, body)


handler = entrypoint(app)
