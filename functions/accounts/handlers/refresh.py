"""POST /auth/refresh: exchange a refresh token for new ID and access tokens, so a client stays signed in without
asking for the password again. An invalid, expired or revoked refresh token is a 401."""

from functions.accounts.bootstrap import service
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import RefreshRequest, RefreshResponse
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/auth/refresh")
def refresh(body: RefreshRequest) -> RefreshResponse:
    return RefreshResponse.of(service().refresh(body.refresh_token.get_secret_value()))


handler = entrypoint(app)
