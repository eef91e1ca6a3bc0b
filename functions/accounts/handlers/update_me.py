"""PUT /me: change the signed-in user's name and/or phone (AdminUpdateUserAttributes) and return the new profile.

Only these two fields can be changed here; email, roles and the user id are refused as unknown fields, because an
email change needs verification and roles are an administrator's decision.
"""

from functions.accounts.bootstrap import service
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import ProfileResponse, UpdateMeRequest
from functions.accounts.service import caller_of
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.put("/me")
def update_me(body: UpdateMeRequest) -> ProfileResponse:
    caller = caller_of(current_auth(app))
    return ProfileResponse.of(service().update_profile(caller, name=body.name, phone=body.phone))


handler = entrypoint(app)
