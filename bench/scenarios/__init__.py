"""The scenario registry: for each manifest function, how to build a request that succeeds against seeded data.

Both benchmarks take their list of functions from ``PLATFORM`` and look each one up here; a function without a
scenario is reported as ``no scenario`` (never skipped silently), so a new handler shows up in the next run.

Each context has a module in this package (discovered automatically: add ``bench/scenarios/<context>.py``) with

* ``@seeder`` functions that create the context's data once per run through its own handlers, storing what
  scenarios need under ``bench.seed[<context>]``;
* ``@scenario("FunctionName", "label", primary=True)`` builders: ``(bench) -> event``. A builder is called once per
  measured call and must return an event that succeeds *that* time: fresh names for creates, a fresh product for an
  update, and so on. It may prepare state in-process (``bench.api``); that work is never timed or counted.
  ``cold_start.py`` measures the primary scenario of each function; ``calls.py`` runs every scenario.

``@fallback`` covers a whole kind of function (e.g. every outbox relay) when no explicit scenario names it.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from bench.harness import Bench
from functions.shared.wiring import Function

Builder = Callable[[Bench], dict[str, Any]]
Seeder = Callable[[Bench], None]


@dataclass(frozen=True)
class Scenario:
    function: str
    label: str
    build: Builder
    primary: bool = False
    generic: bool = False  # provided by a fallback rather than written for this function


_SCENARIOS: dict[str, list[Scenario]] = {}
_SEEDERS: list[tuple[str, Seeder]] = []
_FALLBACKS: list[Callable[[Function], list[Scenario]]] = []
_loaded = False


def scenario(function: str, label: str, *, primary: bool = False) -> Callable[[Builder], Builder]:
    def register(build: Builder) -> Builder:
        _SCENARIOS.setdefault(function, []).append(Scenario(function, label, build, primary))
        return build

    return register


def seeder(seed: Seeder) -> Seeder:
    _SEEDERS.append((f"{seed.__module__}.{seed.__name__}", seed))
    return seed


def fallback(provide: Callable[[Function], list[Scenario]]) -> Callable[[Function], list[Scenario]]:
    _FALLBACKS.append(provide)
    return provide


def load() -> None:
    """Import every module of this package once (their decorators fill the registry)."""
    global _loaded  # noqa: PLW0603 - a one-time registry fill
    if _loaded:
        return
    for info in sorted(pkgutil.iter_modules(__path__), key=lambda m: m.name):
        importlib.import_module(f"{__name__}.{info.name}")
    _loaded = True


def scenarios_for(function: Function) -> list[Scenario]:
    load()
    explicit = _SCENARIOS.get(function.name)
    if explicit:
        return list(explicit)
    for provide in _FALLBACKS:
        found = provide(function)
        if found:
            return found
    return []


def primary_for(function: Function) -> Scenario | None:
    found = scenarios_for(function)
    return next((s for s in found if s.primary), found[0] if found else None)


def seed_all(bench: Bench) -> dict[str, str]:
    """Run every seeder; return the errors of those that failed (their scenarios will then fail to build and be
    reported as errors, while the other contexts are still measured)."""
    load()
    errors: dict[str, str] = {}
    for name, seed in _SEEDERS:
        try:
            seed(bench)
        except Exception as exc:  # one broken context must not stop the others from being measured
            errors[name] = f"{type(exc).__name__}: {exc}"
    return errors


def unknown_functions(known: set[str]) -> list[str]:
    """Scenario names that match no function in the manifest (a renamed function leaves a stale scenario)."""
    load()
    return sorted(set(_SCENARIOS) - known)
