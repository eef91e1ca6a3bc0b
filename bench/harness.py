"""The local AWS both benchmarks run against, and the helper that scenarios use to build and prepare requests.

:class:`LocalAws` starts the project's serialised moto server (``local.moto_server``) on a free loopback port,
creates every resource of the manifest with ``local.resources.create_all`` and points this process at it, so that
seeding and preparation run the real handlers in-process. Measured calls run in fresh child processes that get
:meth:`LocalAws.function_env`: the variables the CDK stack gives a function (Powertools settings and only the
resources the function ``uses``), plus dummy credentials and ``AWS_ENDPOINT_URL``.

:class:`Bench` is what a scenario sees (``bench.scenarios``): the seeded data, unique names, API Gateway events for
a route, and in-process calls to prepare state (e.g. a fresh product to update) outside any timed region.
"""

from __future__ import annotations

import importlib
import itertools
import json
import os
import secrets
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from bench.report import REPO_ROOT
from functions.manifest import PLATFORM
from functions.shared.wiring import Function, LogSubscription, Platform, Route, env_names
from local.apigw import LambdaContext, build_event, compile_routes, match
from local.logs import subscription_event
from local.moto_server import MotoServer
from local.resources import Created, create_all

REGION = "us-east-1"
DUMMY_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "testing",
    "AWS_SECRET_ACCESS_KEY": "testing",
    "AWS_SESSION_TOKEN": "testing",
}
# Variables of this machine's shell that would make a child unlike a Lambda container: no bytecode writing (Lambda
# gets shipped .pyc), a redirected bytecode cache, or an AWS profile/endpoint of the developer's own.
_DROPPED = ("PYTHONDONTWRITEBYTECODE", "PYTHONPYCACHEPREFIX", "PYTHONSTARTUP", "PYTHONPROFILEIMPORTTIME")
_DROPPED_PREFIXES = ("AWS_", "POWERTOOLS_")

Claims = dict[str, Any]
# Claims as the Cognito authorizer passes them for signed-in staff (see tests/conftest.py).
CATALOG_STAFF: Claims = {
    "sub": "33333333-3333-4333-8333-333333333333",
    "email": "catalog@example.com",
    "cognito:groups": ["customer", "catalog"],
    "token_use": "id",
}


class ScenarioFailed(RuntimeError):
    """Preparing a request failed (a seed or preparation call did not succeed)."""


def outcome(response: Any) -> str | None:
    """``None`` when a handler's result is a success, else a short description of why it is not.

    An HTTP result succeeds with a 2xx status; a batch consumer's with no ``batchItemFailures``; anything else
    (a schedule's result) simply by returning."""
    if isinstance(response, dict) and "statusCode" in response:
        status = int(response["statusCode"])
        if 200 <= status < 300:
            return None
        return f"HTTP {status}: {str(response.get('body') or '')[:300]}"
    if isinstance(response, dict) and response.get("batchItemFailures"):
        return f"{len(response['batchItemFailures'])} batch item failure(s)"
    return None


def child_base_env(exclude: Iterable[str] = ()) -> dict[str, str]:
    """This process's environment minus what must not leak into a measured child (and minus ``exclude``)."""
    dropped = {*_DROPPED, *exclude}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(_DROPPED_PREFIXES)}
    env["PYTHONPATH"] = str(REPO_ROOT)
    return env


def describe(function: Function) -> str:
    """How a function is triggered: ``GET /products`` for a route, the kind of function otherwise."""
    return f"{function.method} {function.path}" if isinstance(function, Route) else type(function).__name__


def select_functions(only: str, platform: Platform = PLATFORM) -> list[Function]:
    """The manifest's functions, or those named in the comma-separated ``only``; an unknown name is an error."""
    names = [n.strip() for n in only.split(",") if n.strip()]
    known = {f.name for f in platform.functions}
    unknown = sorted(set(names) - known)
    if unknown:
        raise SystemExit(f"not in the manifest: {', '.join(unknown)} (known: {', '.join(sorted(known))})")
    return [f for f in platform.functions if not names or f.name in names]


class LocalAws:
    """moto server + every manifest resource; this process's boto3 points at it while it runs."""

    def __init__(self, platform: Platform = PLATFORM, prefix: str = "bench") -> None:
        self.platform = platform
        self.prefix = prefix
        self.moto = MotoServer()
        self.created = Created()
        self.endpoint = ""

    def __enter__(self) -> LocalAws:
        # Credentials and region before any boto3 client exists (DESIGN.md §8), never a real account.
        os.environ.update(DUMMY_CREDENTIALS, AWS_DEFAULT_REGION=REGION, AWS_REGION=REGION)
        os.environ.pop("AWS_PROFILE", None)
        self.endpoint = self.moto.start()
        os.environ["AWS_ENDPOINT_URL"] = self.endpoint
        try:
            self.created = create_all(self.platform, prefix=self.prefix)
        except BaseException:
            self.moto.stop()
            raise
        # This process seeds and prepares through every handler, so it gets every resource's variable.
        os.environ.update(self.common_env(), **self.created.env)
        return self

    def __exit__(self, *exc: object) -> None:
        self.moto.stop()

    def common_env(self) -> dict[str, str]:
        return {
            **DUMMY_CREDENTIALS,
            "AWS_DEFAULT_REGION": REGION,
            "AWS_REGION": REGION,
            "AWS_ENDPOINT_URL": self.endpoint,
            "POWERTOOLS_SERVICE_NAME": "shop-bench",
            "POWERTOOLS_METRICS_NAMESPACE": "Shop",
            "POWERTOOLS_TRACE_DISABLED": "true",
            "POWERTOOLS_LOG_LEVEL": "INFO",
            "STAGE": "bench",
        }

    def floor_env(self) -> dict[str, str]:
        """A child's environment without any resource variable (the floor, and the base of every function's)."""
        return {**child_base_env(exclude=self.created.env), **self.common_env()}

    def resource_env(self, function: Function) -> dict[str, str]:
        """Only the variables of the resources ``function`` uses, as the CDK stack sets them (infra/grants.py): a
        handler that looks for an optional resource (the catalogue's image bucket) must not find it here when it
        would not find it in AWS."""
        wanted = {name for use in function.uses for name in env_names(use.resource)}
        return {k: v for k, v in self.created.env.items() if k in wanted}

    def function_env(self, function: Function) -> dict[str, str]:
        """The full environment of a child that runs ``function`` (as Lambda would set it, plus the endpoint)."""
        return {
            **self.floor_env(),
            **self.resource_env(function),
            "POWERTOOLS_SERVICE_NAME": f"shop-{self.platform.context_of(function).name}",
            "AWS_LAMBDA_FUNCTION_NAME": function.name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(function.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
        }


@dataclass
class Bench:
    """What a scenario gets: seeded data, unique names, events for routes and in-process calls for preparation."""

    platform: Platform = PLATFORM
    seed: dict[str, Any] = field(default_factory=dict)
    stream_arns: dict[str, str] = field(default_factory=dict)  # table name -> stream ARN (for stream events)
    tag: str = field(default_factory=lambda: secrets.token_hex(3))
    _counter: Iterator[int] = field(default_factory=itertools.count)
    _log_events: int = 0  # log event ids handed out (every delivery's are new, as CloudWatch Logs' are)

    def __post_init__(self) -> None:
        self._routes = compile_routes(self.platform.routes)
        self._functions = {f.name: f for f in self.platform.functions}

    def unique(self, prefix: str) -> str:
        """A name no other request of this run uses (brand names, emails, SKUs must be fresh per run)."""
        return f"{prefix}{self.tag}{next(self._counter)}"

    def function(self, name: str) -> Function:
        return self._functions[name]

    def event(
        self,
        method: str,
        path: str,
        body: Any = None,
        claims: Claims | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> dict[str, Any]:
        """The API Gateway proxy event for ``METHOD path``, as AWS (and the local gateway) builds it."""
        route, params, _ = match(self._routes, method, path)
        if route is None:
            raise ScenarioFailed(f"no route in the manifest for {method} {path}")
        text = None if body is None else json.dumps(body)
        pairs = [(k, str(v)) for k, v in (query or {}).items()]
        headers = {"Content-Type": "application/json", "Host": "api.bench.local"}
        return build_event(route, path, params, pairs, headers, text, claims)

    def log_delivery(self, subscription: str, source: str, lines: list[str]) -> dict[str, Any]:
        """The CloudWatch Logs subscription event that delivers ``lines`` of ``source``'s log to ``subscription``
        (as local.logs builds it), with log event ids no other delivery of the run has."""
        function = self.function(subscription)
        if not isinstance(function, LogSubscription):
            raise ScenarioFailed(f"{subscription} is not a log subscription")
        now = int(time.time() * 1000)
        first, self._log_events = self._log_events, self._log_events + len(lines)
        stream = f"{time.strftime('%Y/%m/%d')}/[$LATEST]bench{self.tag}"
        return subscription_event(function, source, [(now, line) for line in lines], stream, first)

    def route_for(self, event: Mapping[str, Any]) -> Route:
        route, _, _ = match(self._routes, str(event["httpMethod"]), str(event["path"]))
        if route is None:
            raise ScenarioFailed(f"no route for {event['httpMethod']} {event['path']}")
        return route

    def invoke(self, function: Function, event: dict[str, Any]) -> Any:
        """Run a handler in this process (for seeding and preparation only: never timed, never counted)."""
        module = importlib.import_module(function.module)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, function.attribute)
        return handler(event, LambdaContext(function.name, function.memory_mb, function.timeout_s))

    def api(
        self,
        method: str,
        path: str,
        body: Any = None,
        claims: Claims | None = None,
        query: Mapping[str, Any] | None = None,
    ) -> Any:
        """Call a route in-process and return its parsed body; anything but a 2xx is a :class:`ScenarioFailed`."""
        event = self.event(method, path, body, claims, query)
        response = self.invoke(self.route_for(event), event)
        problem = outcome(response)
        if problem is not None:
            raise ScenarioFailed(f"{method} {path}: {problem}")
        raw = response.get("body") or ""
        return json.loads(raw) if raw else None
