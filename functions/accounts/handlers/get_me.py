"""GET /me: the signed-in user's profile, read from the user pool (AdminGetUser) so it shows the latest name and
phone even when the caller's token is older than the last change."""

from functions.accounts.bootstrap import service
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import ProfileResponse
from functions.accounts.service import caller_of
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/me")
def get_me() -> ProfileResponse:
    return ProfileResponse.of(service().profile(caller_of(current_auth(app))))


handler = entrypoint(app)
