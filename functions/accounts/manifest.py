"""Wiring of the accounts context: sign-up, login and the shopper's profile (Cognito behind them)."""

from functions.shared.wiring import PUBLIC, SIGNED_IN, USER_POOL_CLIENT, ContextManifest, Route, cognito

_H = "functions.accounts.handlers"

MANIFEST = ContextManifest(
    name="accounts",
    description="Sign-up, login, token refresh and the user centre",
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
    ),
)
