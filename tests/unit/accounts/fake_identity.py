"""An in-memory identity provider that behaves like the Cognito pool where the service can tell the difference:
email as username, UNCONFIRMED until confirmed, a password check before any status check, one refusal for every
failed login, refresh tokens that die with their user's sessions, and failures that can be injected per call.
Listing pages through users in creation order with opaque page tokens of its own, which it can forget on demand."""

from __future__ import annotations

import secrets
import uuid
from dataclasses import dataclass, field
from datetime import UTC, datetime

from functions.accounts.domain import PasswordPolicy, Tokens, UserPage, UserRecord, UserStatus
from functions.accounts.identity import (
    ChallengeRequired,
    NotAuthenticated,
    PageTokenRejected,
    PasswordRejected,
    UsernameTaken,
    UserNotFound,
)

PAGE_MAX = 100


@dataclass
class FakeUser:
    sub: str
    email: str
    password: str
    name: str | None = None
    phone: str | None = None
    status: UserStatus = UserStatus.UNCONFIRMED
    enabled: bool = True
    groups: set[str] = field(default_factory=set)
    created_at: datetime = field(default_factory=lambda: datetime.now(UTC))


class FakeIdentityProvider:
    def __init__(self, policy: PasswordPolicy | None = None) -> None:
        self.policy = policy or PasswordPolicy()
        self.users: dict[str, FakeUser] = {}  # by username, which is the sub as in a Cognito email-username pool
        self.refresh_tokens: dict[str, str] = {}  # token -> username
        self.calls: list[str] = []
        self._failures: dict[str, Exception] = {}
        self._page_tokens: dict[str, tuple[str | None, int]] = {}  # token -> (prefix, offset)

    # --- test controls ------------------------------------------------------------------------------------------

    def fail_next(self, method: str, error: Exception) -> None:
        self._failures[method] = error

    def add(
        self,
        email: str,
        password: str,
        status: UserStatus = UserStatus.CONFIRMED,
        name: str | None = None,
        groups: tuple[str, ...] = (),
        enabled: bool = True,
    ) -> FakeUser:
        user = FakeUser(
            sub=str(uuid.uuid4()),
            email=email,
            password=password,
            name=name,
            status=status,
            enabled=enabled,
            groups=set(groups),
        )
        self.users[user.sub] = user
        return user

    def by_email(self, email: str) -> FakeUser:
        return self._find(email)

    def sign_out_everywhere(self, email: str) -> None:
        user = self._find(email)
        self.refresh_tokens = {t: u for t, u in self.refresh_tokens.items() if u != user.sub}

    def expire_page_tokens(self) -> None:
        self._page_tokens.clear()

    # --- the port -----------------------------------------------------------------------------------------------

    def _enter(self, method: str) -> None:
        self.calls.append(method)
        error = self._failures.pop(method, None)
        if error is not None:
            raise error

    def _find(self, key: str) -> FakeUser:
        # Like Cognito, the username (sub) or the email alias; case-sensitive like a default pool.
        for user in self.users.values():
            if key in (user.sub, user.email):
                return user
        raise UserNotFound("User does not exist.")

    def register(self, email: str, password: str, name: str | None) -> str:
        self._enter("register")
        if any(u.email == email for u in self.users.values()):
            raise UsernameTaken("User already exists")
        if self.policy.violations(password):
            raise PasswordRejected("Password did not conform with policy")
        return self.add(email, password, status=UserStatus.UNCONFIRMED, name=name).sub

    def confirm(self, username: str) -> None:
        self._enter("confirm")
        self._find(username).status = UserStatus.CONFIRMED

    def add_to_group(self, username: str, group: str) -> None:
        self._enter("add_to_group")
        self._find(username).groups.add(group)

    def get_user(self, username: str) -> UserRecord:
        self._enter("get_user")
        return self._record(self._find(username))

    @staticmethod
    def _record(user: FakeUser) -> UserRecord:
        return UserRecord(
            username=user.sub,
            user_id=user.sub,
            email=user.email,
            name=user.name,
            phone=user.phone,
            status=user.status,
            created_at=user.created_at,
            enabled=user.enabled,
        )

    def groups_of(self, username: str) -> frozenset[str]:
        self._enter("groups_of")
        return frozenset(self._find(username).groups)

    def authenticate(self, email: str, password: str) -> Tokens:
        self._enter("authenticate")
        try:
            user = self._find(email)
        except UserNotFound:
            raise NotAuthenticated("User does not exist.") from None
        if user.password != password:
            raise NotAuthenticated("Incorrect username or password.")
        if not user.enabled:
            raise NotAuthenticated("User is disabled.")
        if user.status is UserStatus.UNCONFIRMED:
            raise NotAuthenticated("User is not confirmed.")
        if user.status in (UserStatus.OTHER, UserStatus.FORCE_CHANGE_PASSWORD):
            raise ChallengeRequired("NEW_PASSWORD_REQUIRED")
        refresh = secrets.token_urlsafe(16)
        self.refresh_tokens[refresh] = user.sub
        return Tokens(
            id_token=f"id-{user.sub}", access_token=f"access-{user.sub}", expires_in=3600, refresh_token=refresh
        )

    def refresh(self, refresh_token: str) -> Tokens:
        self._enter("refresh")
        username = self.refresh_tokens.get(refresh_token)
        if username is None or not self._find(username).enabled:
            raise NotAuthenticated("Invalid Refresh Token")
        return Tokens(id_token=f"id-{username}", access_token=f"access-{username}", expires_in=3600)

    def update_attributes(self, username: str, name: str | None, phone: str | None) -> None:
        self._enter("update_attributes")
        user = self._find(username)
        if name is not None:
            user.name = name
        if phone is not None:
            user.phone = phone

    # --- back office --------------------------------------------------------------------------------------------

    def list_users(self, email_prefix: str | None, limit: int, page_token: str | None) -> UserPage:
        self._enter("list_users")
        assert 1 <= limit <= PAGE_MAX, "the service caps limit at 100"
        offset = 0
        if page_token is not None:
            if page_token not in self._page_tokens or self._page_tokens[page_token][0] != email_prefix:
                raise PageTokenRejected("Invalid token")
            offset = self._page_tokens[page_token][1]
        # Like Cognito's ``^=``: a prefix match on the stored value, case-sensitive.
        matching = [u for u in self.users.values() if email_prefix is None or u.email.startswith(email_prefix)]
        page = matching[offset : offset + limit]
        next_token = None
        if offset + limit < len(matching):
            next_token = secrets.token_urlsafe(12)
            self._page_tokens[next_token] = (email_prefix, offset + limit)
        return UserPage(users=tuple(self._record(u) for u in page), next_token=next_token)

    def remove_from_group(self, username: str, group: str) -> None:
        self._enter("remove_from_group")
        self._find(username).groups.discard(group)

    def disable(self, username: str) -> None:
        self._enter("disable")
        self._find(username).enabled = False

    def revoke_sessions(self, username: str) -> None:
        self._enter("revoke_sessions")
        user = self._find(username)
        self.refresh_tokens = {t: u for t, u in self.refresh_tokens.items() if u != user.sub}
