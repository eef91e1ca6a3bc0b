"""Partner apps: the request and response models and the rules of an app's life (plain Python, no I/O).

An app is ``active`` until revoked; revoking is final. Its secret is generated here, shown once (in the answer to
the create or rotate call) and only ever stored encrypted. Rotating makes a new current secret and keeps the
previous one valid until ``previous_expires_at`` (the grace period), so a partner can roll the new secret out
without a window in which its requests fail; rotating again inside the grace period drops the older one.
"""

from __future__ import annotations

import secrets as pysecrets
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from functions.shared.ids import prefixed
from functions.shared.text import plain_line
from functions.shared.wiring import PARTNER_SCOPES

Scope = Literal["products:read", "orders:read", "shipments:write", "inventory:write"]
assert set(Scope.__args__) == set(PARTNER_SCOPES), "the scope type and the wiring's scopes must agree"  # type: ignore[attr-defined]

APP_KEY_PATTERN = r"^app_[0-9A-HJKMNP-TV-Z]{26}$"
DEFAULT_RATE = 10
DEFAULT_QUOTA = 10_000
MAX_RATE = 1_000  # per app; the stage's own limit is the ceiling in AWS (infra/config.py)
MAX_GRACE = timedelta(days=7)
SECRET_BYTES = 32


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, str_strip_whitespace=True)


class PartnerInput(Strict):
    """POST /admin/partners."""

    name: Annotated[str, Field(min_length=1, max_length=80, examples=["Acme WMS"])]
    scopes: Annotated[list[Scope], Field(min_length=1, max_length=len(PARTNER_SCOPES))]
    rate_limit: Annotated[int, Field(ge=1, le=MAX_RATE, description="Requests per second (token refill)")] = (
        DEFAULT_RATE
    )
    burst_limit: Annotated[int | None, Field(ge=1, le=2 * MAX_RATE, description="Bucket size; default 2 x rate")] = None
    daily_quota: Annotated[int, Field(ge=1, le=100_000_000, description="Requests per UTC day")] = DEFAULT_QUOTA

    _clean = field_validator("name")(plain_line)

    @field_validator("scopes")
    @classmethod
    def _unique(cls, scopes: list[Scope]) -> list[Scope]:
        if len(set(scopes)) != len(scopes):
            raise ValueError("each scope once")
        return sorted(scopes)

    @model_validator(mode="after")
    def _burst(self) -> PartnerInput:
        if self.burst_limit is not None and self.burst_limit < self.rate_limit:
            raise ValueError("burst_limit must be at least rate_limit")
        return self

    @property
    def burst(self) -> int:
        return self.burst_limit if self.burst_limit is not None else 2 * self.rate_limit


class RotateInput(Strict):
    """POST /admin/partners/{app_key}/rotate (the body is optional)."""

    grace_seconds: Annotated[
        int | None, Field(ge=0, le=int(MAX_GRACE.total_seconds()), description="How long the old secret still works")
    ] = None


class PartnerView(BaseModel):
    """A partner app as the back office sees it: never its secret."""

    app_key: str
    name: str
    scopes: list[str]
    status: Literal["active", "revoked"]
    rate_limit: int
    burst_limit: int
    daily_quota: int
    created_at: datetime
    created_by: str
    rotated_at: datetime | None = None
    previous_secret_expires_at: datetime | None = Field(
        None, description="Until then the secret before the last rotation still signs valid requests"
    )
    revoked_at: datetime | None = None
    version: int


class PartnerCreated(PartnerView):
    secret: str = Field(description="Shown only in this answer; store it now. Sign requests with it (HMAC-SHA256).")


class PartnerPage(BaseModel):
    items: list[PartnerView]
    next_cursor: str | None = None


@dataclass(frozen=True)
class App:
    """An app as stored, with its secrets still encrypted (``*_secret`` are ciphertexts, base64)."""

    app_key: str
    name: str
    scopes: tuple[str, ...]
    rate_limit: int
    burst_limit: int
    daily_quota: int
    created_at: datetime
    created_by: str
    secret: str
    api_key_id: str = ""
    usage_plan_id: str = ""
    usage_key: str = ""  # the API key's value (new_usage_key): an identifier, not a credential
    status: str = "active"
    previous_secret: str | None = None
    previous_expires_at: datetime | None = None
    rotated_at: datetime | None = None
    revoked_at: datetime | None = None
    version: int = 1
    extra: dict[str, str] = field(default_factory=dict)

    @property
    def active(self) -> bool:
        return self.status == "active"

    def secrets_valid_at(self, now: datetime) -> tuple[str, ...]:
        """The ciphertexts of the secrets that sign valid requests now: the current one, and the previous one
        during its grace period. None once revoked."""
        if not self.active:
            return ()
        if self.previous_secret and self.previous_expires_at and now < self.previous_expires_at:
            return (self.secret, self.previous_secret)
        return (self.secret,)

    def rotated(self, new_secret: str, now: datetime, grace: timedelta) -> App:
        if not self.active:
            raise AppRevoked(self.app_key)
        keep = grace > timedelta(0)
        return replace(
            self,
            secret=new_secret,
            previous_secret=self.secret if keep else None,
            previous_expires_at=now + grace if keep else None,
            rotated_at=now,
            version=self.version + 1,
        )

    def revoked(self, now: datetime) -> App:
        if not self.active:
            return self
        return replace(
            self,
            status="revoked",
            revoked_at=now,
            previous_secret=None,
            previous_expires_at=None,
            version=self.version + 1,
        )

    def view(self, now: datetime) -> PartnerView:
        grace_end = self.previous_expires_at if self.previous_expires_at and now < self.previous_expires_at else None
        return PartnerView(
            app_key=self.app_key,
            name=self.name,
            scopes=list(self.scopes),
            status="active" if self.active else "revoked",
            rate_limit=self.rate_limit,
            burst_limit=self.burst_limit,
            daily_quota=self.daily_quota,
            created_at=self.created_at,
            created_by=self.created_by,
            rotated_at=self.rotated_at,
            previous_secret_expires_at=grace_end if self.active else None,
            revoked_at=self.revoked_at,
            version=self.version,
        )


class AppRevoked(Exception):
    pass


def new_app_key() -> str:
    return prefixed("app")


def new_secret() -> str:
    """256 random bits, URL-safe: ``sk_`` plus 43 characters."""
    return "sk_" + pysecrets.token_urlsafe(SECRET_BYTES)


def new_usage_key() -> str:
    """The value of the app's API Gateway API key: an identifier for usage plans, which the authorizer hands to API
    Gateway (API key source AUTHORIZER). Partners never see or send it, so it grants nothing by itself."""
    return pysecrets.token_urlsafe(30)
