"""The port to the identity provider (Cognito in AWS and locally, an in-memory fake in unit tests).

Outcomes the service decides on are exceptions defined here, so the service never sees a boto3 error. Any method may
also raise :class:`functions.shared.errors.Throttled` when the provider refuses calls for a moment: that is not a
decision for the service to make, only something to pass on to the client as a 429.
"""

from __future__ import annotations

from typing import Protocol

from functions.accounts.domain import Tokens, UserPage, UserRecord


class IdentityError(Exception):
    """Base of the outcomes below. The message is the provider's own and is safe to log but not always to show."""


class UsernameTaken(IdentityError):
    pass


class PasswordRejected(IdentityError):
    """The provider's password policy refused the password."""


class AttributeRejected(IdentityError):
    """The provider refused a value (an email or phone it considers malformed)."""


class NotAuthenticated(IdentityError):
    """Wrong password, unknown, disabled or unconfirmed user, or an invalid or revoked refresh token: one class,
    so nothing above the adapter can tell these apart by accident."""


class ChallengeRequired(IdentityError):
    """The password was right but the provider wants another step (a new password, MFA) before issuing tokens."""

    def __init__(self, challenge: str) -> None:
        super().__init__(f"challenge {challenge} required")
        self.challenge = challenge


class UserNotFound(IdentityError):
    pass


class PageTokenRejected(IdentityError):
    """The provider no longer accepts a page token it issued (it expired, or the pool changed under it)."""


class IdentityProvider(Protocol):
    def register(self, email: str, password: str, name: str | None) -> str:
        """Create an unconfirmed user whose username is ``email``; return its user id (``sub``).
        Raises UsernameTaken, PasswordRejected, AttributeRejected."""
        ...

    def confirm(self, username: str) -> None:
        """Confirm the user without a verification code. Confirming a confirmed user is a no-op."""
        ...

    def add_to_group(self, username: str, group: str) -> None:
        """Idempotent."""
        ...

    def get_user(self, username: str) -> UserRecord:
        """Raises UserNotFound."""
        ...

    def groups_of(self, username: str) -> frozenset[str]:
        """Raises UserNotFound."""
        ...

    def authenticate(self, email: str, password: str) -> Tokens:
        """Tokens with a refresh token. Raises NotAuthenticated, ChallengeRequired."""
        ...

    def refresh(self, refresh_token: str) -> Tokens:
        """New ID and access tokens. Raises NotAuthenticated."""
        ...

    def update_attributes(self, username: str, name: str | None, phone: str | None) -> None:
        """Set the given attributes; ``None`` leaves an attribute as it is. Raises UserNotFound,
        AttributeRejected."""
        ...

    # --- back office: staff and roles -------------------------------------------------------------------------

    def list_users(self, email_prefix: str | None, limit: int, page_token: str | None) -> UserPage:
        """Up to ``limit`` users whose email starts with ``email_prefix`` (all users when ``None``), from
        ``page_token`` on; the page's ``next_token`` is ``None`` when nothing follows. ``email_prefix`` holds no
        quote or backslash (``domain.check_email_prefix``). Raises PageTokenRejected."""
        ...

    def remove_from_group(self, username: str, group: str) -> None:
        """Idempotent: removing a user from a group they are not in is a no-op. Raises UserNotFound."""
        ...

    def disable(self, username: str) -> None:
        """The user can no longer sign in or refresh. Idempotent. Raises UserNotFound."""
        ...

    def revoke_sessions(self, username: str) -> None:
        """Invalidate every refresh token issued to the user (ID tokens stay valid until they expire). ``username``
        may be the pool username or the user's email. Raises UserNotFound."""
        ...
