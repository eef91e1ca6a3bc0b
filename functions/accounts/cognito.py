"""The Cognito user pool behind :class:`functions.accounts.identity.IdentityProvider`.

Sign-up, login and refresh go through the public app-client APIs (``SignUp``, ``InitiateAuth``), which need no IAM
grant; everything addressed to one user goes through the admin APIs, each granted per function in the manifest.
The app client must have no secret (a browser or app cannot keep one), or these calls would need a SECRET_HASH.

The pool signs users in by email (``UsernameAttributes=["email"]``), so Cognito generates each user's Username, and
that generated Username is the user's ``sub``. Admin calls accept the ``sub`` (or the email) as ``Username``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from functions.accounts.domain import Tokens, UserPage, UserRecord, UserStatus
from functions.accounts.identity import (
    AttributeRejected,
    ChallengeRequired,
    IdentityError,
    NotAuthenticated,
    PageTokenRejected,
    PasswordRejected,
    UsernameTaken,
    UserNotFound,
)
from functions.shared.errors import Throttled

if TYPE_CHECKING:  # the stubs are a development dependency only
    from mypy_boto3_cognito_idp import CognitoIdentityProviderClient
    from mypy_boto3_cognito_idp.type_defs import (
        AttributeTypeTypeDef,
        AuthenticationResultTypeTypeDef,
        InitiateAuthResponseTypeDef,
        ListUsersRequestTypeDef,
    )

# Cognito's answers to "too many calls": both are the caller's cue to retry later, never a server fault.
_THROTTLED = frozenset({"TooManyRequestsException", "LimitExceededException"})
# Every way a password login can be refused. They are folded into one outcome here so that no layer above can
# leak which one it was (an unknown user, a disabled one, an unconfirmed one, or a wrong password).
_LOGIN_REFUSED = frozenset(
    {"NotAuthorizedException", "UserNotFoundException", "UserNotConfirmedException", "PasswordResetRequiredException"}
)

_AUTH_FAILURES: Mapping[str, type[IdentityError]] = dict.fromkeys(_LOGIN_REFUSED, NotAuthenticated)
_USER_MISSING: Mapping[str, type[IdentityError]] = {"UserNotFoundException": UserNotFound}
# A page token Cognito will not take back: InvalidParameterException in Cognito, InvalidToken in moto.
_TOKEN_REFUSED: Mapping[str, type[IdentityError]] = dict.fromkeys(
    ("InvalidParameterException", "InvalidToken"), PageTokenRejected
)
# ListUsers returns at most 60 users a call.
LIST_USERS_MAX = 60
# A filtered ListUsers may return short (even empty) pages with a token; a request stops after this many calls and
# hands the rest to the next page rather than walk a large pool for a rare prefix.
LIST_USERS_CALLS_MAX = 4


@contextmanager
def _translated(errors: Mapping[str, type[IdentityError]]) -> Iterator[None]:
    """Turn the Cognito errors the caller expects into port exceptions; anything else stays a ClientError, which
    the shared error router logs and answers with a 500 (a misconfiguration is not the client's fault)."""
    try:
        yield
    except ClientError as exc:
        error = exc.response.get("Error", {})
        code = error.get("Code", "")
        if code in _THROTTLED:
            raise Throttled("the identity service is busy, retry shortly") from None
        mapped = errors.get(code)
        if mapped is None:
            raise
        raise mapped(error.get("Message", code)) from None


def _tokens(result: AuthenticationResultTypeTypeDef) -> Tokens:
    return Tokens(
        id_token=result["IdToken"],
        access_token=result["AccessToken"],
        expires_in=int(result["ExpiresIn"]),
        refresh_token=result.get("RefreshToken"),
    )


def _status(raw: str) -> UserStatus:
    return UserStatus(raw) if raw in UserStatus.__members__ else UserStatus.OTHER


def _quoted(value: str) -> str:
    """A filter value between double quotes, with quotes and backslashes escaped as Cognito's filter syntax says.
    The service only passes values without either (``domain.check_email_prefix``): this is the second line."""
    return '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _record(
    username: str,
    attributes: list[AttributeTypeTypeDef],
    status: str,
    created: datetime,
    enabled: bool,
) -> UserRecord:
    values = {a["Name"]: a.get("Value", "") for a in attributes}
    return UserRecord(
        username=username,
        user_id=values.get("sub", username),
        email=values.get("email", ""),
        name=values.get("name") or None,
        phone=values.get("phone_number") or None,
        status=_status(status),
        created_at=created.astimezone(UTC),
        enabled=enabled,
    )


class CognitoIdentityProvider:
    def __init__(self, client: CognitoIdentityProviderClient, user_pool_id: str, client_id: str) -> None:
        self._client = client
        self._pool = user_pool_id
        self._app_client = client_id

    def register(self, email: str, password: str, name: str | None) -> str:
        attributes: list[AttributeTypeTypeDef] = [{"Name": "email", "Value": email}]
        if name is not None:
            attributes.append({"Name": "name", "Value": name})
        with _translated(
            {
                "UsernameExistsException": UsernameTaken,
                "InvalidPasswordException": PasswordRejected,
                "InvalidParameterException": AttributeRejected,
            }
        ):
            response = self._client.sign_up(
                ClientId=self._app_client, Username=email, Password=password, UserAttributes=attributes
            )
        return response["UserSub"]

    def confirm(self, username: str) -> None:
        try:
            with _translated(_USER_MISSING):
                self._client.admin_confirm_sign_up(UserPoolId=self._pool, Username=username)
        except ClientError as exc:
            # Cognito refuses to confirm a user that is already confirmed (moto does not); for us it is done.
            if exc.response.get("Error", {}).get("Code") != "NotAuthorizedException":
                raise

    def add_to_group(self, username: str, group: str) -> None:
        with _translated(_USER_MISSING):
            self._client.admin_add_user_to_group(UserPoolId=self._pool, Username=username, GroupName=group)

    def get_user(self, username: str) -> UserRecord:
        with _translated(_USER_MISSING):
            response = self._client.admin_get_user(UserPoolId=self._pool, Username=username)
        return _record(
            response["Username"],
            response.get("UserAttributes", []),
            response.get("UserStatus", ""),
            response["UserCreateDate"],
            response.get("Enabled", True),
        )

    def groups_of(self, username: str) -> frozenset[str]:
        groups: set[str] = set()
        with _translated(_USER_MISSING):
            pages = self._client.get_paginator("admin_list_groups_for_user").paginate(
                UserPoolId=self._pool, Username=username
            )
            for page in pages:
                groups.update(g["GroupName"] for g in page.get("Groups", []) if "GroupName" in g)
        return frozenset(groups)

    def authenticate(self, email: str, password: str) -> Tokens:
        with _translated(_AUTH_FAILURES):
            response = self._client.initiate_auth(
                ClientId=self._app_client,
                AuthFlow="USER_PASSWORD_AUTH",
                AuthParameters={"USERNAME": email, "PASSWORD": password},
            )
        return self._issued(response)

    def refresh(self, refresh_token: str) -> Tokens:
        with _translated({"NotAuthorizedException": NotAuthenticated, "UserNotFoundException": NotAuthenticated}):
            response = self._client.initiate_auth(
                ClientId=self._app_client,
                AuthFlow="REFRESH_TOKEN_AUTH",
                AuthParameters={"REFRESH_TOKEN": refresh_token},
            )
        return self._issued(response)

    @staticmethod
    def _issued(response: InitiateAuthResponseTypeDef) -> Tokens:
        result = response.get("AuthenticationResult")
        if not result:
            raise ChallengeRequired(str(response.get("ChallengeName", "UNKNOWN")))
        return _tokens(result)

    def update_attributes(self, username: str, name: str | None, phone: str | None) -> None:
        attributes: list[AttributeTypeTypeDef] = []
        if name is not None:
            attributes.append({"Name": "name", "Value": name})
        if phone is not None:
            attributes.append({"Name": "phone_number", "Value": phone})
        if not attributes:
            return
        with _translated({**_USER_MISSING, "InvalidParameterException": AttributeRejected}):
            self._client.admin_update_user_attributes(
                UserPoolId=self._pool, Username=username, UserAttributes=attributes
            )

    # --- back office: staff and roles -------------------------------------------------------------------------

    def list_users(self, email_prefix: str | None, limit: int, page_token: str | None) -> UserPage:
        """ListUsers with ``email ^= "<prefix>"``, as many calls of at most 60 as fill ``limit`` (bounded by
        ``LIST_USERS_CALLS_MAX``); the token of the last call is the page's ``next_token``."""
        users: list[UserRecord] = []
        token = page_token
        for _ in range(LIST_USERS_CALLS_MAX):
            request: ListUsersRequestTypeDef = {
                "UserPoolId": self._pool,
                "Limit": min(LIST_USERS_MAX, limit - len(users)),
            }
            if email_prefix is not None:
                request["Filter"] = f"email ^= {_quoted(email_prefix)}"
            if token is not None:
                request["PaginationToken"] = token
            # Only a token can be refused: without one, an InvalidParameterException is our own bug (a 500).
            with _translated(_TOKEN_REFUSED if token is not None else {}):
                response = self._client.list_users(**request)
            users.extend(
                _record(
                    u.get("Username", ""),
                    u.get("Attributes", []),
                    u.get("UserStatus", ""),
                    u.get("UserCreateDate", datetime.now(UTC)),
                    u.get("Enabled", True),
                )
                for u in response.get("Users", [])
            )
            token = response.get("PaginationToken") or None
            if token is None or len(users) >= limit:
                break
        return UserPage(users=tuple(users), next_token=token)

    def remove_from_group(self, username: str, group: str) -> None:
        with _translated(_USER_MISSING):
            self._client.admin_remove_user_from_group(UserPoolId=self._pool, Username=username, GroupName=group)

    def disable(self, username: str) -> None:
        with _translated(_USER_MISSING):
            self._client.admin_disable_user(UserPoolId=self._pool, Username=username)

    def revoke_sessions(self, username: str) -> None:
        with _translated(_USER_MISSING):
            self._client.admin_user_global_sign_out(UserPoolId=self._pool, Username=username)
