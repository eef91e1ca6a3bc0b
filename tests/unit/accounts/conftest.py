"""Fixtures for the accounts service unit tests: the service over an in-memory identity provider, no AWS."""

from __future__ import annotations

import pytest

from functions.accounts.service import AccountsService
from tests.unit.accounts.fake_identity import FakeIdentityProvider


@pytest.fixture
def idp() -> FakeIdentityProvider:
    return FakeIdentityProvider()


@pytest.fixture
def accounts(idp: FakeIdentityProvider) -> AccountsService:
    return AccountsService(idp)
