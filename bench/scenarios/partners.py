"""Partners scenarios. Seed: two apps registered through the back-office handler, one that signs the authorizer's
requests (holding every scope) and one whose secret is rotated again and again (rotating the signing app would
retire its secret after two calls). Revoking takes a fresh app per call, registered outside the timed call."""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
import uuid
from typing import Any

from bench.harness import REGION, Bench, Claims, ScenarioFailed
from bench.scenarios import scenario, seeder
from functions.shared.wiring import PARTNER_SCOPES

# Claims as the Cognito authorizer passes them for a signed-in administrator (see tests/conftest.py).
ADMIN: Claims = {
    "sub": "44444444-4444-4444-8444-444444444444",
    "email": "admin@example.com",
    "cognito:groups": ["customer", "admin"],
    "token_use": "id",
}
EMPTY_SHA256 = hashlib.sha256(b"").hexdigest()
ACCOUNT = "123456789012"
STAGE = "bench"


def _seed(bench: Bench) -> dict[str, Any]:
    seed: dict[str, Any] = bench.seed["partners"]
    return seed


def _register(bench: Bench, **body: Any) -> dict[str, Any]:
    payload = {"name": bench.unique("Bench partner "), "scopes": list(PARTNER_SCOPES), **body}
    created: dict[str, Any] = bench.api("POST", "/admin/partners", payload, claims=ADMIN)
    return created


@seeder
def seed_partners(bench: Bench) -> None:
    bench.seed["partners"] = {"signer": _register(bench), "rotated": _register(bench, scopes=["orders:read"])}


@scenario("ListPartners", "list partner apps (first page)", primary=True)
def list_partners(bench: Bench) -> dict[str, Any]:
    return bench.event("GET", "/admin/partners", claims=ADMIN, query={"limit": 20})


@scenario("ListPartners", "list partner apps (the next page, from a cursor)")
def list_partners_next_page(bench: Bench) -> dict[str, Any]:
    first = bench.api("GET", "/admin/partners", claims=ADMIN, query={"limit": 1})
    if not first["next_cursor"]:
        raise ScenarioFailed("the seed made two apps, so a page of one has a next page")
    return bench.event("GET", "/admin/partners", claims=ADMIN, query={"limit": 1, "cursor": first["next_cursor"]})


@scenario("CreatePartner", "register a partner app (with an Idempotency-Key)", primary=True)
def create_partner(bench: Bench) -> dict[str, Any]:
    body = {"name": bench.unique("Bench partner "), "scopes": ["orders:read", "products:read"], "rate_limit": 20}
    event = bench.event("POST", "/admin/partners", body, claims=ADMIN)
    key = bench.unique("bench-partner-")
    event["headers"]["Idempotency-Key"] = key
    if event.get("multiValueHeaders") is not None:
        event["multiValueHeaders"]["Idempotency-Key"] = [key]
    return event


@scenario("RevokePartner", "revoke an active partner app", primary=True)
def revoke_partner(bench: Bench) -> dict[str, Any]:
    app = _register(bench)
    return bench.event("DELETE", f"/admin/partners/{app['app_key']}", claims=ADMIN)


@scenario("RotatePartnerSecret", "rotate a partner app's secret (default grace)", primary=True)
def rotate_partner_secret(bench: Bench) -> dict[str, Any]:
    app_key = _seed(bench)["rotated"]["app_key"]
    return bench.event("POST", f"/admin/partners/{app_key}/rotate", {}, claims=ADMIN)


def _signed_route(bench: Bench) -> tuple[str, str, str]:
    """(method, resource, path) of a partner route of the manifest; a GET one when there is."""
    routes = sorted((r for r in bench.platform.routes if r.is_partner), key=lambda r: r.method != "GET")
    if not routes:
        return "GET", "/partner/v1/products", "/partner/v1/products"
    route = routes[0]
    path = "/".join("T-100" if part.startswith("{") else part for part in route.path.split("/"))
    return route.method.upper(), route.path, path


@scenario("PartnerAuthorizer", "check a signed partner request (fresh nonce)", primary=True)
def partner_authorizer(bench: Bench) -> dict[str, Any]:
    """The event API Gateway sends the REQUEST authorizer: a request signed now with a nonce never used before."""
    app = _seed(bench)["signer"]
    method, resource, path = _signed_route(bench)
    query = "limit=20"
    timestamp, nonce = str(int(time.time())), secrets.token_urlsafe(18)
    text = "\n".join((method, path, query, timestamp, nonce, EMPTY_SHA256))
    mac = hmac.new(app["secret"].encode(), text.encode(), hashlib.sha256).hexdigest()
    headers = {
        "Host": "api.bench.local",
        "X-App-Key": app["app_key"],
        "X-Timestamp": timestamp,
        "X-Nonce": nonce,
        "X-Signature": mac,
    }
    params = {t[1:-1]: v for t, v in zip(resource.split("/"), path.split("/"), strict=True) if t.startswith("{")}
    request_id = str(uuid.uuid4())
    return {
        "type": "REQUEST",
        "methodArn": f"arn:aws:execute-api:{REGION}:{ACCOUNT}:benchapi/{STAGE}/{method}{path}",
        "resource": resource,
        "path": path,
        "httpMethod": method,
        "headers": headers,
        "multiValueHeaders": {k: [v] for k, v in headers.items()},
        "queryStringParameters": {"limit": "20"},
        "multiValueQueryStringParameters": {"limit": ["20"]},
        "pathParameters": params or None,
        "stageVariables": None,
        "requestContext": {
            "resourcePath": resource,
            "httpMethod": method,
            "path": f"/{STAGE}{path}",
            "stage": STAGE,
            "accountId": ACCOUNT,
            "apiId": "benchapi",
            "requestId": request_id,
            "extendedRequestId": request_id,
            "identity": {"sourceIp": "127.0.0.1", "userAgent": "bench"},
        },
    }
