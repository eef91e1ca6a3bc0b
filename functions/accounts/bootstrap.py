"""The composition root: the one place that wires the accounts service to Cognito.

Built on first use and kept for the life of the container, so nothing reads a setting or creates a client at import
time (DESIGN.md §7). Tests swap the instance with :func:`install`; handlers look it up on every call through
:func:`service`, so a swap takes effect without re-importing them.
"""

from __future__ import annotations

import logging

from functions.accounts.cognito import CognitoIdentityProvider
from functions.accounts.service import AccountsService
from functions.shared.aws import client
from functions.shared.settings import env

_service: AccountsService | None = None


def service() -> AccountsService:
    global _service  # noqa: PLW0603 - the per-container singleton is the point of this module
    if _service is None:
        # botocore logs whole request and response bodies at DEBUG, and here those hold passwords and tokens. A
        # function's log level may well be turned up to investigate something else; these bodies stay out even then.
        logging.getLogger("botocore").setLevel(max(logging.INFO, logging.getLogger("botocore").getEffectiveLevel()))
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
