"""POST /admin/users/{user_id}/disable: disable a user (AdminDisableUser: no more sign-ins or refreshes) and sign
them out everywhere (AdminUserGlobalSignOut: their refresh tokens stop working); return the user. Admin only.

Disabling a disabled user is fine (200, the same answer). An admin cannot disable themselves (409
``SELF_DISABLE``). ID tokens already issued stay valid until they expire (at most an hour).

Cognito calls: AdminGetUser, AdminDisableUser, AdminUserGlobalSignOut, AdminListGroupsForUser.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.accounts.bootstrap import service
from functions.accounts.domain import USER_ID_PATTERN
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import AdminUserResponse
from functions.accounts.service import caller_of
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.post("/admin/users/<user_id>/disable", summary="Disable a user and sign them out everywhere")
def admin_disable_user(
    user_id: Annotated[str, Path(pattern=USER_ID_PATTERN, description="The user's sub")],
) -> AdminUserResponse:
    return AdminUserResponse.of(service().disable_user(caller_of(current_auth(app)), user_id))


handler = entrypoint(app)
