"""Shared fixtures.

Integration tests run the real handlers in-process against moto (``mock_aws``) with every resource created from the
manifest, exactly as the local platform creates them. Credentials and the region are set before anything creates a
boto3 client (DESIGN.md §8), and the kernel's cached clients are reset around each test.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import os
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

os.environ.update(
    AWS_ACCESS_KEY_ID="testing",
    AWS_SECRET_ACCESS_KEY="testing",
    AWS_SECURITY_TOKEN="testing",
    AWS_SESSION_TOKEN="testing",
    AWS_DEFAULT_REGION="us-east-1",
    AWS_REGION="us-east-1",
    POWERTOOLS_SERVICE_NAME="shop-tests",
    POWERTOOLS_METRICS_NAMESPACE="ShopTests",
    POWERTOOLS_TRACE_DISABLED="true",
    POWERTOOLS_LOG_LEVEL="WARNING",
    STAGE="test",
)
os.environ.pop("AWS_ENDPOINT_URL", None)

from moto import mock_aws

from functions.manifest import PLATFORM
from functions.shared import aws as shared_aws
from functions.shared import cursor as shared_cursor
from functions.shared.wiring import Route
from local.apigw import LambdaContext, build_event, compile_routes, match
from local.resources import Created, create_all


def reset_process_caches() -> None:
    """Drop what a Lambda container keeps between invocations (clients, the cursor key, the partners service, the
    payment providers): each moto a test starts has its own resources, and a cache from an earlier one would name
    resources that are gone."""
    from functions.partners import repository as partners_repository
    from functions.partners import service as partners_service
    from functions.payments import gateway

    shared_aws.reset()
    shared_cursor._key.cache_clear()
    partners_service.service.cache_clear()
    partners_repository._decrypt.cache_clear()
    gateway.providers.cache_clear()


@pytest.fixture
def aws() -> Iterator[Created]:
    """A fresh in-process moto with every manifest resource; its names are in the environment."""
    with mock_aws():
        reset_process_caches()
        created = create_all(PLATFORM, prefix="shop-test")
        saved = {k: os.environ.get(k) for k in created.env}
        os.environ.update(created.env)
        try:
            yield created
        finally:
            for k, v in saved.items():
                if v is None:
                    os.environ.pop(k, None)
                else:
                    os.environ[k] = v
            reset_process_caches()


@pytest.fixture
def cursor_key(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Sign cursors with a fixed key instead of the Secrets Manager secret (unit tests have no AWS)."""
    monkeypatch.setenv("CURSOR_SIGNING_KEY", "unit-test-key")
    shared_cursor._key.cache_clear()
    yield
    shared_cursor._key.cache_clear()


@pytest.fixture
def event_spy(aws: Created) -> Any:
    """A queue subscribed to every event on the bus; returns a function that drains it (EventBridge envelopes)."""
    import boto3

    sqs, events = boto3.client("sqs"), boto3.client("events")
    queue = sqs.create_queue(QueueName="event-spy")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])["Attributes"]["QueueArn"]
    bus = aws.env["EVENT_BUS_NAME"]
    events.put_rule(Name="event-spy", EventBusName=bus, EventPattern=json.dumps({"source": [{"prefix": "shop."}]}))
    events.put_targets(Rule="event-spy", EventBusName=bus, Targets=[{"Id": "q", "Arn": arn}])

    def drain() -> list[dict[str, Any]]:
        messages = sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", [])
        return [json.loads(m["Body"]) for m in messages]

    return drain


@dataclass
class User:
    sub: str
    email: str
    groups: tuple[str, ...]

    @property
    def claims(self) -> dict[str, Any]:
        return {"sub": self.sub, "email": self.email, "cognito:groups": list(self.groups), "token_use": "id"}


SHOPPER = User("11111111-1111-4111-8111-111111111111", "shopper@example.com", ("customer",))
OTHER_SHOPPER = User("22222222-2222-4222-8222-222222222222", "other@example.com", ("customer",))
CATALOG_STAFF = User("33333333-3333-4333-8333-333333333333", "catalog@example.com", ("customer", "catalog"))
ADMIN = User("44444444-4444-4444-8444-444444444444", "admin@example.com", ("customer", "admin"))


@dataclass
class App:
    """A partner app as the partner authorizer lets it through: its key, name and scopes."""

    app_key: str
    scopes: tuple[str, ...]
    name: str = "Test partner"

    @property
    def authorizer(self) -> dict[str, str]:
        return {
            "principalId": self.app_key,
            "app_key": self.app_key,
            "app_name": self.name,
            "scopes": " ".join(self.scopes),
        }


PARTNER_APP = App(
    "app_01M8SXN5K8V9NXKHF8QBX988RT", ("products:read", "orders:read", "shipments:write", "inventory:write")
)


@dataclass
class Result:
    status: int
    body: Any
    headers: dict[str, str]


class Api:
    """Calls the handler that the manifest routes ``METHOD path`` to, with an API Gateway event, in-process."""

    def __init__(self) -> None:
        self._compiled = compile_routes(PLATFORM.routes)
        self.calls: list[Route] = []

    def __call__(
        self,
        method: str,
        path: str,
        body: Any = None,
        user: User | None = None,
        query: dict[str, Any] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
        raw_body: str | None = None,
        app: App | None = None,
    ) -> Result:
        """``app``: call as a partner app the authorizer has let through (the signature itself is the authorizer's
        business, tested in tests/*/partners); the declared body hash is sent along as a signed client sends it."""
        route, params, _ = match(self._compiled, method, path)
        assert route is not None, f"no route for {method} {path}"
        self.calls.append(route)
        pairs = list(query.items()) if isinstance(query, dict) else list(query or [])
        text = raw_body if raw_body is not None else (None if body is None else json.dumps(body))
        hdrs = {"Content-Type": "application/json", **(headers or {})}
        if app is not None and text and not any(k.lower() == "x-content-sha256" for k in hdrs):
            hdrs["X-Content-SHA256"] = hashlib.sha256(text.encode()).hexdigest()
        event = build_event(
            route,
            path,
            params,
            [(k, str(v)) for k, v in pairs],
            hdrs,
            text,
            user.claims if user else None,
            authorizer=app.authorizer if app else None,
        )
        module = importlib.import_module(route.module)
        response = getattr(module, route.attribute)(event, LambdaContext(route.name))
        raw = response.get("body") or ""
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw
        headers_out = dict(response.get("headers") or {})
        for name, values in (response.get("multiValueHeaders") or {}).items():
            headers_out.setdefault(name, ",".join(str(v) for v in values))
        return Result(response["statusCode"], parsed, headers_out)


@pytest.fixture
def api(aws: Created) -> Api:
    return Api()
