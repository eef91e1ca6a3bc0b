"""Request and response bodies of the accounts routes. Validation and the OpenAPI document both come from these.

Requests are strict (no type coercion), refuse unknown fields and bound every string, so a wrong type, an extra
field or a 10 KB value is a 422 before any call to Cognito. Passwords and refresh tokens are ``SecretStr``: their
value never appears in a repr, a log line or an error.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, StringConstraints, model_validator

from functions.accounts.domain import (
    EMAIL_MAX,
    KNOWN_ROLES,
    NAME_MAX,
    PASSWORD_MAX,
    Profile,
    SignedUp,
    StaffPage,
    StaffView,
    Tokens,
    check_email,
    check_name,
    check_phone,
)
from functions.shared.wiring import ALL_ROLES

Email = Annotated[
    str,
    StringConstraints(max_length=EMAIL_MAX),
    AfterValidator(check_email),
    Field(description="Email address; trimmed and lower-cased", examples=["ann@example.com"]),
]
LoginEmail = Annotated[
    str,
    StringConstraints(min_length=1, max_length=EMAIL_MAX),
    Field(description="The email the account was created with", examples=["ann@example.com"]),
]
Password = Annotated[SecretStr, Field(min_length=1, max_length=PASSWORD_MAX)]
Name = Annotated[
    str,
    StringConstraints(max_length=NAME_MAX),
    AfterValidator(check_name),
    Field(description="Display name: 1 to 100 characters, no control characters, no '<' or '>'"),
]
Phone = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(check_phone),
    Field(description="Phone number in E.164 format", examples=["+8613812345678"]),
]


class _Request(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, hide_input_in_errors=True)


class SignUpRequest(_Request):
    email: Email
    password: Password = Field(description="Checked against the user pool's password policy")
    name: Name | None = None


class LoginRequest(_Request):
    email: LoginEmail
    password: Password


class RefreshRequest(_Request):
    # Cognito refresh tokens are about 1.8 KB; the bound only keeps absurd input away.
    refresh_token: Annotated[SecretStr, Field(min_length=1, max_length=8192)]


class UpdateMeRequest(_Request):
    name: Name | None = None
    phone: Phone | None = None

    @model_validator(mode="after")
    def _something_to_change(self) -> UpdateMeRequest:
        if not self.model_fields_set:
            raise ValueError("give at least one of name, phone")
        # An explicit null would read as "remove it"; removing attributes is not offered, so say so.
        nulls = sorted(f for f in self.model_fields_set if getattr(self, f) is None)
        if nulls:
            raise ValueError(f"{', '.join(nulls)} must not be null")
        return self


def _known_role(raw: str) -> str:
    if raw not in KNOWN_ROLES:
        raise ValueError(f"unknown role (known: {', '.join(ALL_ROLES)})")
    return raw


RoleName = Annotated[
    str,
    StringConstraints(max_length=32),
    AfterValidator(_known_role),
    Field(json_schema_extra={"enum": list(ALL_ROLES)}),
]


class SetRolesRequest(_Request):
    roles: list[RoleName] = Field(
        max_length=2 * len(ALL_ROLES),
        description="The user's staff roles, exactly (an empty list removes them all). 'customer' may be listed "
        "and changes nothing: every signed-up user keeps it.",
        examples=[["catalog", "fulfilment"]],
    )


class SignUpResponse(BaseModel):
    user_id: str
    email: str

    @classmethod
    def of(cls, signed_up: SignedUp) -> SignUpResponse:
        return cls(user_id=signed_up.user_id, email=signed_up.email)


class RefreshResponse(BaseModel):
    id_token: str
    access_token: str
    expires_in: int = Field(description="Lifetime of the ID and access tokens, in seconds")
    token_type: Literal["Bearer"] = "Bearer"  # noqa: S105 - the OAuth token type, not a secret

    @classmethod
    def of(cls, tokens: Tokens) -> RefreshResponse:
        return cls(id_token=tokens.id_token, access_token=tokens.access_token, expires_in=tokens.expires_in)


class TokenResponse(RefreshResponse):
    refresh_token: str

    @classmethod
    def of(cls, tokens: Tokens) -> TokenResponse:
        if tokens.refresh_token is None:
            raise ValueError("a password login always issues a refresh token")
        return cls(
            id_token=tokens.id_token,
            access_token=tokens.access_token,
            refresh_token=tokens.refresh_token,
            expires_in=tokens.expires_in,
        )


class ProfileResponse(BaseModel):
    user_id: str
    email: str
    name: str | None
    phone: str | None
    roles: list[str] = Field(description="The caller's groups as of their current token, sorted")
    created_at: datetime

    @classmethod
    def of(cls, profile: Profile) -> ProfileResponse:
        return cls(
            user_id=profile.user_id,
            email=profile.email,
            name=profile.name,
            phone=profile.phone,
            roles=list(profile.roles),
            created_at=profile.created_at,
        )


class AdminUserResponse(BaseModel):
    user_id: str = Field(description="The user's sub")
    email: str
    name: str | None
    status: str = Field(description="Cognito's UserStatus, e.g. CONFIRMED or FORCE_CHANGE_PASSWORD")
    enabled: bool
    roles: list[str] = Field(description="The user's groups in the user pool now, sorted")
    created_at: datetime

    @classmethod
    def of(cls, user: StaffView) -> AdminUserResponse:
        return cls(
            user_id=user.user_id,
            email=user.email,
            name=user.name,
            status=user.status.value,
            enabled=user.enabled,
            roles=list(user.roles),
            created_at=user.created_at,
        )


class AdminUserPage(BaseModel):
    items: list[AdminUserResponse]
    next_cursor: str | None = None

    @classmethod
    def of(cls, page: StaffPage) -> AdminUserPage:
        return cls(items=[AdminUserResponse.of(u) for u in page.items], next_cursor=page.next_cursor)
