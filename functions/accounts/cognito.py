"""The Cognito user pool behind :class:`functions.accounts.identity.IdentityProvider`.

Sign-up, login and refresh go through the public app-client APIs (``SignUp``, ``InitiateAuth``), which need no IAM
grant; everything addressed to one user goes through the admin APIs, each granted per function in the manifest.
The app client must have no secret (a browser or app cannot keep one), or these calls would need a SECRET_HASH.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from datetime import UTC
from typing import TYPE_CHECKING

from botocore.exceptions import ClientError

from functions.accounts.domain import Tokens, UserRecord, UserStatus
from functions.accounts.identity import (
    AttributeRejected,
    ChallengeRequired,
    IdentityError,
    NotAuthenticated,
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
        attributes = {a["Name"]: a.get("Value", "") for a in response.get("UserAttributes", [])}
        return UserRecord(
            username=response["Username"],
            user_id=attributes.get("sub", response["Username"]),
            email=attributes.get("email", ""),
            name=attributes.get("name") or None,
            phone=attributes.get("phone_number") or None,
            status=_status(response.get("UserStatus", "")),
            created_at=response["UserCreateDate"].astimezone(UTC),
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
