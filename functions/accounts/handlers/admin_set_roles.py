"""PUT /admin/users/{user_id}/roles: set a user's staff roles exactly (``catalog``, ``fulfilment``, ``analyst``,
``admin``) by adding and removing Cognito groups, and return the user as ``GET /admin/users`` lists them. Admin only.

``customer`` may be in the body and changes nothing: every signed-up user keeps it. An admin cannot take away their
own ``admin`` role (409 ``SELF_DEMOTION``). Roles take effect on the user's next ID token (next sign-in or refresh);
tokens already issued keep their groups until they expire.

Cognito calls: AdminGetUser, AdminListGroupsForUser, then one AdminRemoveUserFromGroup / AdminAddUserToGroup per
role that changes.
"""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path

from functions.accounts.bootstrap import service
from functions.accounts.domain import USER_ID_PATTERN
from functions.accounts.manifest import MANIFEST
from functions.accounts.models import AdminUserResponse, SetRolesRequest
from functions.accounts.service import caller_of
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.put("/admin/users/<user_id>/roles", summary="Set a user's staff roles")
def admin_set_roles(
    user_id: Annotated[str, Path(pattern=USER_ID_PATTERN, description="The user's sub")], body: SetRolesRequest
) -> AdminUserResponse:
    return AdminUserResponse.of(service().set_roles(caller_of(current_auth(app)), user_id, body.roles))


handler = entrypoint(app)
