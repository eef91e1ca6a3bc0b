"""Wiring of the accounts context: sign-up, login and the shopper's profile (Cognito behind them), the saved
addresses (the ``accounts`` table, whose outbox publishes AddressSaved / AddressDeleted), and the back office's
staff and roles (admin only; the two writes are audited, which brings their bus grant with them)."""

from functions.shared.wiring import (
    PUBLIC,
    PUBLISH_EVENTS,
    SIGNED_IN,
    USER_POOL_CLIENT,
    ContextManifest,
    Route,
    StreamConsumer,
    Table,
    cognito,
    reads,
    roles,
    writes,
)

TABLE = Table(name="accounts", stream=True, ttl_attribute="expires_at")

_H = "functions.accounts.handlers"

MANIFEST = ContextManifest(
    name="accounts",
    description="Sign-up, login, token refresh and the user centre",
    tables=(TABLE,),
    routes=(
        Route(
            name="SignUp",
            handler=f"{_H}.signup.handler",
            method="POST",
            path="/auth/signup",
            auth=PUBLIC,
            # AdminGetUser and AdminListGroupsForUser: a retried sign-up finishes an interrupted one (service.py).
            uses=(cognito("AdminConfirmSignUp", "AdminAddUserToGroup", "AdminGetUser", "AdminListGroupsForUser"),),
            summary="Create a shopper account (email + password)",
        ),
        Route(
            name="LogIn",
            handler=f"{_H}.login.handler",
            method="POST",
            path="/auth/login",
            auth=PUBLIC,
            uses=(USER_POOL_CLIENT,),
            summary="Exchange email + password for Cognito tokens",
        ),
        Route(
            name="RefreshTokens",
            handler=f"{_H}.refresh.handler",
            method="POST",
            path="/auth/refresh",
            auth=PUBLIC,
            uses=(USER_POOL_CLIENT,),
            summary="Exchange a refresh token for new ID and access tokens",
        ),
        Route(
            name="GetMe",
            handler=f"{_H}.get_me.handler",
            method="GET",
            path="/me",
            auth=SIGNED_IN,
            uses=(cognito("AdminGetUser"),),
            summary="The signed-in user's profile",
        ),
        Route(
            name="UpdateMe",
            handler=f"{_H}.update_me.handler",
            method="PUT",
            path="/me",
            auth=SIGNED_IN,
            uses=(cognito("AdminGetUser", "AdminUpdateUserAttributes"),),
            summary="Update the signed-in user's profile (name, phone)",
        ),
        Route(
            name="ListAddresses",
            handler=f"{_H}.list_addresses.handler",
            method="GET",
            path="/me/addresses",
            auth=SIGNED_IN,
            uses=(reads(TABLE.ref),),
            summary="The signed-in user's saved addresses, the default first",
        ),
        Route(
            name="CreateAddress",
            handler=f"{_H}.create_address.handler",
            method="POST",
            path="/me/addresses",
            auth=SIGNED_IN,
            uses=(writes(TABLE.ref),),
            summary="Save an address (at most 20; optional Idempotency-Key)",
        ),
        Route(
            name="UpdateAddress",
            handler=f"{_H}.update_address.handler",
            method="PUT",
            path="/me/addresses/{address_id}",
            auth=SIGNED_IN,
            uses=(writes(TABLE.ref),),
            summary="Replace a saved address (with its version); optionally make it the default",
        ),
        Route(
            name="DeleteAddress",
            handler=f"{_H}.delete_address.handler",
            method="DELETE",
            path="/me/addresses/{address_id}",
            auth=SIGNED_IN,
            uses=(writes(TABLE.ref),),
            summary="Delete a saved address; the default passes to the most recently updated one left",
        ),
        Route(
            name="ListUsers",
            handler=f"{_H}.admin_list_users.handler",
            method="GET",
            path="/admin/users",
            auth=roles(),
            uses=(cognito("ListUsers", "AdminListGroupsForUser"), reads("secret:cursor")),
            summary="Users by email prefix, with their roles (paged)",
        ),
        Route(
            name="SetUserRoles",
            handler=f"{_H}.admin_set_roles.handler",
            method="PUT",
            path="/admin/users/{user_id}/roles",
            auth=roles(),
            uses=(
                cognito("AdminGetUser", "AdminListGroupsForUser", "AdminAddUserToGroup", "AdminRemoveUserFromGroup"),
            ),
            summary="Set a user's staff roles exactly (effective on their next ID token)",
        ),
        Route(
            name="DisableUser",
            handler=f"{_H}.admin_disable_user.handler",
            method="POST",
            path="/admin/users/{user_id}/disable",
            auth=roles(),
            uses=(cognito("AdminGetUser", "AdminDisableUser", "AdminUserGlobalSignOut", "AdminListGroupsForUser"),),
            summary="Disable a user and revoke their refresh tokens",
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="AccountsOutboxRelay",
            handler="functions.shared.relay.handler",
            table=TABLE.name,
            key_prefix="OUTBOX#",
            uses=(reads(TABLE.ref), PUBLISH_EVENTS),
        ),
    ),
)
