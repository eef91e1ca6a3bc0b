"""Key pairs are slow to generate, so each role gets one per test session."""

from __future__ import annotations

import pytest

from tests.unit.payments.payments_support import KeyPair, new_keypair


@pytest.fixture(scope="session")
def alipay_key() -> KeyPair:
    """Alipay's own key pair: Alipay signs notifications and answers with it; we hold the public half."""
    return new_keypair()


@pytest.fixture(scope="session")
def app_key() -> KeyPair:
    """Our Alipay app's key pair: we sign gateway requests; Alipay holds the public half."""
    return new_keypair()


@pytest.fixture(scope="session")
def platform_key() -> KeyPair:
    """WeChat Pay's platform key pair: it signs callbacks and answers."""
    return new_keypair()


@pytest.fixture(scope="session")
def merchant_key() -> KeyPair:
    """Our WeChat Pay merchant API key pair: we sign requests."""
    return new_keypair()
