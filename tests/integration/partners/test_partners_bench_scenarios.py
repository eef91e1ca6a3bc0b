"""Every partners function has a bench scenario (bench/scenarios/partners.py), and each one succeeds when run as the
bench (and Lambda) runs it: in an environment holding only the variables of the resources the function is granted."""

from __future__ import annotations

import os
from typing import Any

import pytest

from bench.harness import Bench, outcome
from bench.scenarios import scenarios_for
from bench.scenarios.partners import seed_partners
from functions.manifest import PLATFORM
from functions.partners import service
from functions.shared import cursor as shared_cursor
from functions.shared.wiring import Authorizer, env_names
from local.resources import Created

PARTNERS = next(c for c in PLATFORM.contexts if c.name == "partners")


def test_every_partners_function_has_a_scenario_that_succeeds_with_only_its_granted_environment(
    aws: Created, monkeypatch: pytest.MonkeyPatch
) -> None:
    bench = Bench()
    seed_partners(bench)
    for function in PARTNERS.functions:
        found = scenarios_for(function)
        assert found and not any(s.generic for s in found), f"{function.name} has no scenario of its own"
        granted = {name for use in function.uses for name in env_names(use.resource)}
        for case in found:
            event = case.build(bench)  # preparation runs with every resource, as the bench's own process does
            with monkeypatch.context() as lambda_env:
                for name in set(aws.env) - granted:
                    lambda_env.delenv(name, raising=False)
                service.service.cache_clear()
                shared_cursor._key.cache_clear()
                try:
                    answer: Any = bench.invoke(function, event)
                finally:
                    service.service.cache_clear()
                    shared_cursor._key.cache_clear()
            assert outcome(answer) is None, f"{function.name} / {case.label}: {outcome(answer)}"
            if isinstance(function, Authorizer):
                assert answer["policyDocument"]["Statement"][0]["Effect"] == "Allow", case.label
    assert set(aws.env) <= set(os.environ), "the environment was not restored"
