"""Fixtures for the partners tests: the service is built once per container (it holds its clients), and every test
starts a fresh moto, so the service and the decrypted-secret cache are dropped around each test."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from functions.partners import repository, service


@pytest.fixture(autouse=True)
def fresh_partners_service() -> Iterator[None]:
    service.service.cache_clear()
    repository._decrypt.cache_clear()
    yield
    service.service.cache_clear()
    repository._decrypt.cache_clear()
