"""The composition root: the one place that wires the accounts service to Cognito.

Built on first use and kept for the life of the container, so nothing reads a setting or creates a client at import
time (DESIGN.md §7). Tests swap the instance with :func:`install`; handlers look it up on every call through
:func:`service`, so a swap takes effect without re-importing them.
"""

from __future__ import annotations

from functions.accounts.cognito import CognitoIdentityProvider
from functions.accounts.service import AccountsService
from functions.shared.aws import client
from functions.shared.settings import env

_service: AccountsService | None = None


def service() -> AccountsService:
    global _service  # noqa: PLW0603 - the per-container singleton is the point of this module
    if _service is None:
        # functions.shared.aws.client keeps botocore's DEBUG body logging (passwords, tokens) out of the logs.
        _service = AccountsService(
            CognitoIdentityProvider(
                client("cognito-idp"), user_pool_id=env("USER_POOL_ID"), client_id=env("USER_POOL_CLIENT_ID")
            )
        )
    return _service


def install(replacement: AccountsService | None) -> None:
    """Use ``replacement`` from now on; ``None`` rebuilds from the environment on the next call (a new moto, a
    new user pool)."""
    global _service  # noqa: PLW0603
    _service = replacement
