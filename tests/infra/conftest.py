"""Fixtures for tests/infra: each stage is synthesised once per test session (synthesis takes seconds) and shared
read-only by every module; tests that need another manifest synthesise their own small app."""

from __future__ import annotations

import pytest
from shop_templates import Synth, synthesize


@pytest.fixture(scope="session")
def dev() -> Synth:
    return synthesize("dev")


@pytest.fixture(scope="session")
def prod() -> Synth:
    return synthesize("prod")


@pytest.fixture(scope="session", params=["dev", "prod"])
def stage(request: pytest.FixtureRequest) -> Synth:
    """Both stages, for properties that must hold in every stage."""
    synth: Synth = request.getfixturevalue(request.param)
    return synth
