"""Helpers of the partners integration tests: register an app through the back-office route, sign a request as a
partner does (DESIGN.md §5) and wrap it in the event API Gateway sends a Lambda REQUEST authorizer."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
import uuid
from typing import Any

from functions.manifest import PLATFORM
from functions.partners.handlers import authorizer
from functions.partners.signing import canonical_query
from functions.shared.wiring import PARTNER_SCOPES, Route
from local.apigw import LambdaContext
from tests.conftest import ADMIN, Api

STAGE = "local"
PARTNER_ROUTES = [r for r in PLATFORM.routes if r.is_partner]


def partner_route(method: str) -> Route:
    """A partner route of the manifest with this method (other contexts declare them)."""
    found = [r for r in PARTNER_ROUTES if r.method.upper() == method]
    assert found, f"no {method} partner route in the manifest yet: {[r.key for r in PARTNER_ROUTES]}"
    return found[0]


def concrete(path: str, value: str = "T-100") -> str:
    """A request path for a route template (``/partner/v1/inventory/{sku}`` -> ``/partner/v1/inventory/T-100``)."""
    return re.sub(r"\{[^}]+\}", value, path)


def other_scope(scope: str | None) -> str:
    return next(s for s in PARTNER_SCOPES if s != scope)


def create_app(api: Api, **body: Any) -> dict[str, Any]:
    """Register an app as an admin; the 201 body, secret included."""
    payload = {"name": "Acme WMS", "scopes": ["products:read"], **body}
    result = api("POST", "/admin/partners", payload, user=ADMIN)
    assert result.status == 201, result.body
    created: dict[str, Any] = result.body
    return created


def signed_headers(
    app_key: str,
    secret: str,
    method: str,
    path: str,
    query: list[tuple[str, str]] | None = None,
    body: str | None = None,
    timestamp: int | None = None,
    nonce: str | None = None,
) -> dict[str, str]:
    ts = str(int(time.time()) if timestamp is None else timestamp)
    nonce = nonce or secrets.token_urlsafe(18)
    digest = hashlib.sha256((body or "").encode("utf-8")).hexdigest()
    text = "\n".join((method, path, canonical_query(query or []), ts, nonce, digest))
    mac = hmac.new(secret.encode(), text.encode(), hashlib.sha256).hexdigest()
    headers = {"X-App-Key": app_key, "X-Timestamp": ts, "X-Nonce": nonce, "X-Signature": mac}
    if body:
        headers["X-Content-SHA256"] = digest
    return headers


def method_arn(method: str, path: str) -> str:
    return f"arn:aws:execute-api:us-east-1:123456789012:apiid/{STAGE}/{method}{path}"


def authorizer_event(
    route: Route, path: str, headers: dict[str, str], query: list[tuple[str, str]] | None = None
) -> dict[str, Any]:
    """What API Gateway sends a REQUEST authorizer for this call: the request without its body."""
    single: dict[str, str] = {}
    multi: dict[str, list[str]] = {}
    for name, value in query or []:
        single[name] = value
        multi.setdefault(name, []).append(value)
    template = route.path.split("/")
    params = {t[1:-1]: v for t, v in zip(template, path.split("/"), strict=True) if t.startswith("{")}
    method = route.method.upper()
    request_id = str(uuid.uuid4())
    return {
        "type": "REQUEST",
        "methodArn": method_arn(method, path),
        "resource": route.path,
        "path": path,
        "httpMethod": method,
        "headers": dict(headers),
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": single or None,
        "multiValueQueryStringParameters": multi or None,
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": route.path,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "accountId": "123456789012",
            "apiId": "apiid",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "protocol": "HTTP/1.1",
            "identity": {"sourceIp": "203.0.113.7", "userAgent": "acme-wms/1.0"},
        },
    }


def authorize(event: dict[str, Any]) -> dict[str, Any]:
    answer: dict[str, Any] = authorizer.handler(event, LambdaContext("PartnerAuthorizer"))
    return answer
