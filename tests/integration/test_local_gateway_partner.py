"""The local API Gateway in front of a partner route, over real HTTP: what API Gateway does with a Lambda REQUEST
authorizer and a usage plan before the route's function runs. The gateway is attached to a fake ``invoke`` that
plays the authorizer (its answer chosen by the ``X-App-Key`` header) and records every invocation; the usage plans
are local.throttle's, read from a fake API Gateway client. No moto, no workers."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Any

import pytest
import requests

from functions.partners.signing import REQUIRED_HEADERS
from functions.shared.wiring import PARTNER, Authorizer, Function, Route
from local.auth import CognitoVerifier
from local.gateway import Gateway
from local.throttle import UsagePlans
from local.workers import Invocation

ROUTE = Route(
    name="PartnerCreateShipment",
    handler="tests.not.used.handler",
    method="POST",
    path="/partner/v1/orders/{order_id}/shipments",
    auth=PARTNER,
    scope="shipments:write",
)
AUTHORIZER = Authorizer(name="PartnerAuthorizer", handler="tests.not.used.handler", identity_headers=REQUIRED_HEADERS)
ARN_PREFIX = "arn:aws:execute-api:us-east-1:123456789012:local/local"
SIGNED = {"X-Timestamp": "1767225600", "X-Nonce": "nonce-0123456789abcdef", "X-Signature": "ab" * 32}


class FakeApiGateway:
    """Two API keys: ``roomy`` (plenty) and ``tight`` (one request, then a token every 100 s)."""

    PLANS = {"roomy": (100.0, 100), "tight": (0.01, 1)}

    def get_api_keys(self, **_: Any) -> dict[str, Any]:
        return {"items": [{"id": key, "value": key, "enabled": True} for key in self.PLANS]}

    def get_usage_plans(self, keyId: str) -> dict[str, Any]:
        rate, burst = self.PLANS[keyId]
        stages = [{"apiId": "api", "stage": "local"}]
        return {"items": [{"apiStages": stages, "throttle": {"rateLimit": rate, "burstLimit": burst}}]}


class Functions:
    """The fake ``invoke``: the authorizer answers per ``X-App-Key``; the route echoes the event it got."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, dict[str, Any]]] = []

    def __call__(self, function: Function, event: dict[str, Any]) -> Invocation:
        self.calls.append((function.name, event))
        if function is AUTHORIZER:
            return self.authorize(event)
        body = json.dumps({"event": event})
        return Invocation(payload={"statusCode": 201, "headers": {"Content-Type": "application/json"}, "body": body})

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    @staticmethod
    def authorize(event: dict[str, Any]) -> Invocation:
        app = (event.get("headers") or {}).get("X-App-Key", "")
        if app == "unsigned":
            return Invocation(error={"errorType": "Exception", "errorMessage": "Unauthorized", "stackTrace": []})
        if app == "broken":
            return Invocation(error={"errorType": "KeyError", "errorMessage": "'table'", "stackTrace": []})
        effect = "Deny" if app == "no-scope" else "Allow"
        resource = event["methodArn"] if app != "elsewhere" else f"{ARN_PREFIX}/GET/partner/v1/products"
        answer: dict[str, Any] = {
            "principalId": f"app_{app}",
            "policyDocument": {
                "Version": "2012-10-17",
                "Statement": [{"Action": "execute-api:Invoke", "Effect": effect, "Resource": [resource]}],
            },
            "context": {"app_key": f"app_{app}", "app_name": "Acme WMS", "scopes": "orders:read shipments:write"},
        }
        if app != "no-usage-key":
            answer["usageIdentifierKey"] = "tight" if app == "tight" else "roomy"
        return Invocation(payload=answer)


@pytest.fixture(scope="module")
def gateway() -> Iterator[Gateway]:
    running = Gateway([ROUTE], port=0)
    running.start()
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def functions(gateway: Gateway) -> Functions:
    fake = Functions()
    verifier = CognitoVerifier("http://127.0.0.1:9/jwks.json", "issuer", "audience")  # never used: no JWT routes
    plans = UsagePlans(FakeApiGateway(), "api", "local")
    gateway.attach(fake, verifier, lambda: {}, authorizer=AUTHORIZER, usage_plans=plans)
    return fake


def call(gateway: Gateway, app: str | None, body: Any = None, **headers: str) -> requests.Response:
    sent = {**SIGNED, **headers, **({"X-App-Key": app} if app is not None else {})}
    data = json.dumps(body if body is not None else {"carrier": "sf-express"}, ensure_ascii=False).encode()
    url = f"{gateway.url}/partner/v1/orders/ord_1/shipments"
    return requests.post(url, data=data, headers={"Content-Type": "application/json", **sent}, timeout=10)


def error_code(response: requests.Response) -> str:
    assert response.headers["Content-Type"].startswith("application/json"), response.headers
    return str(response.json()["error"]["code"])


def test_a_request_without_every_identity_header_is_401_before_the_authorizer(
    gateway: Gateway, functions: Functions
) -> None:
    for missing in REQUIRED_HEADERS:
        sent = {**SIGNED, "X-App-Key": "acme"}
        del sent[missing]
        response = requests.post(f"{gateway.url}/partner/v1/orders/ord_1/shipments", json={}, headers=sent, timeout=10)
        assert response.status_code == 401 and error_code(response) == "UNAUTHORIZED", (missing, response.text)
    assert functions.calls == []


def test_an_authorizer_that_says_unauthorized_is_401_and_one_that_fails_is_500(
    gateway: Gateway, functions: Functions
) -> None:
    refused = call(gateway, "unsigned", Origin="https://partner.example")
    assert refused.status_code == 401 and error_code(refused) == "UNAUTHORIZED", refused.text
    assert refused.headers["Access-Control-Allow-Origin"] == "*"  # gateway answers carry CORS too
    broken = call(gateway, "broken")
    assert broken.status_code == 500 and error_code(broken) == "INTERNAL_ERROR", broken.text
    assert "table" not in broken.text  # the authorizer's error is logged, never told
    assert functions.names() == ["PartnerAuthorizer", "PartnerAuthorizer"]


def test_a_policy_that_does_not_allow_this_method_is_403(gateway: Gateway, functions: Functions) -> None:
    for app in ("no-scope", "elsewhere", "no-usage-key"):
        response = call(gateway, app)
        assert response.status_code == 403 and error_code(response) == "FORBIDDEN", (app, response.text)
    assert functions.names() == ["PartnerAuthorizer"] * 3


def test_an_allowed_request_reaches_the_route_with_the_authorizer_context_and_its_body(
    gateway: Gateway, functions: Functions
) -> None:
    body = {"carrier": "sf-express", "tracking_number": "SF123456", "note": "顺丰 到付"}
    response = call(gateway, "acme", body, **{"X-Content-SHA256": "cd" * 32})
    assert response.status_code == 201, response.text
    assert functions.names() == ["PartnerAuthorizer", "PartnerCreateShipment"]
    (_, asked), (_, proxied) = functions.calls
    # The authorizer saw the request but not its body; the method ARN names this method and path.
    assert asked["type"] == "REQUEST" and "body" not in asked
    assert asked["methodArn"] == f"{ARN_PREFIX}/POST/partner/v1/orders/ord_1/shipments"
    assert asked["headers"]["X-Content-SHA256"] == "cd" * 32 and asked["pathParameters"] == {"order_id": "ord_1"}
    event = response.json()["event"]
    assert event == proxied
    assert event["requestContext"]["authorizer"] == {
        "principalId": "app_acme",
        "app_key": "app_acme",
        "app_name": "Acme WMS",
        "scopes": "orders:read shipments:write",
    }
    assert json.loads(event["body"]) == body and event["resource"] == ROUTE.path
    assert event["headers"]["X-Content-SHA256"] == "cd" * 32


def test_a_throttled_app_gets_429_with_retry_after_and_the_route_is_not_called(
    gateway: Gateway, functions: Functions
) -> None:
    first = call(gateway, "tight")
    assert first.status_code == 201, first.text
    throttled = call(gateway, "tight")
    assert throttled.status_code == 429 and error_code(throttled) == "THROTTLED", throttled.text
    assert 1 <= int(throttled.headers["Retry-After"]) <= 100
    assert functions.names() == ["PartnerAuthorizer", "PartnerCreateShipment", "PartnerAuthorizer"]
    other = call(gateway, "acme")  # another app's bucket is its own
    assert other.status_code == 201, other.text
