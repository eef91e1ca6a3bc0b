"""GET /me/addresses: the signed-in user's saved addresses, the default first (at most 20, so one page)."""

from functions.accounts.addresses.model import AddressList
from functions.accounts.addresses.service import service, user_id_of
from functions.accounts.manifest import MANIFEST
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/me/addresses", summary="My saved addresses")
def list_addresses() -> AddressList:
    return service().addresses(user_id_of(current_auth(app)))


handler = entrypoint(app)
