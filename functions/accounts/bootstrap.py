"""The composition root: the one place that wires the accounts service to Cognito.

Built on first use and kept for the life of the container, so nothing reads a setting or creates a client at import
time (DESIGN.md §7). Tests swap the instance with :func:`install`; handlers look it up on every call through
:func:`service`, so a swap takes effect without re-importing them.

The service is kept together with what it was built from (the pool's ids and the cached Cognito client): when
either changes, as when a test starts a new moto with a new pool and resets the shared clients, it is rebuilt rather
than sent to a pool that no longer exists. In a Lambda container neither ever changes, so it is built once.
"""

from __future__ import annotations

from functions.accounts.cognito import CognitoIdentityProvider
from functions.accounts.service import AccountsService
from functions.shared.aws import client
from functions.shared.settings import env

_installed: AccountsService | None = None
_built: tuple[tuple[str, str, object], AccountsService] | None = None


def service() -> AccountsService:
    global _built  # noqa: PLW0603 - the per-container singleton is the point of this module
    if _installed is not None:
        return _installed
    # functions.shared.aws.client keeps botocore's DEBUG body logging (passwords, tokens) out of the logs.
    cognito = client("cognito-idp")
    built_for = (env("USER_POOL_ID"), env("USER_POOL_CLIENT_ID"), cognito)
    if _built is None or _built[0] != built_for:  # a client compares by identity
        _built = (
            built_for,
            AccountsService(CognitoIdentityProvider(cognito, user_pool_id=built_for[0], client_id=built_for[1])),
        )
    return _built[1]


def install(replacement: AccountsService | None) -> None:
    """Use ``replacement`` from now on; ``None`` rebuilds from the environment on the next call (a new moto, a
    new user pool)."""
    global _installed, _built  # noqa: PLW0603
    _installed = replacement
    _built = None
