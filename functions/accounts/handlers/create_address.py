"""POST /me/addresses: save an address (at most 20; the first one is the default, ``is_default`` makes a later one
the default and unsets the old). With an ``Idempotency-Key`` a retry returns the first request's address (200)."""

from typing import Any

from aws_lambda_powertools.event_handler import Response

from functions.accounts.addresses.model import Address, AddressInput
from functions.accounts.addresses.service import service, user_id_of
from functions.accounts.manifest import MANIFEST
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/me/addresses", summary="Save an address", status_code=201)
def create_address(body: AddressInput) -> Response[Address]:
    key = app.current_event.get_header_value("Idempotency-Key", case_sensitive=False)
    address, replayed = service().create(user_id_of(current_auth(app)), body, key)
    headers: dict[str, Any] = {"Idempotent-Replayed": "true"} if replayed else {}
    return Response(
        status_code=200 if replayed else 201, content_type="application/json", body=address, headers=headers
    )


handler = entrypoint(app)
