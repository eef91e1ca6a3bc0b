"""The local platform's own surface over real HTTP: health, the OpenAPI document and its page, API Gateway's
answers to unknown routes and oversized bodies, and the authorizer turning away missing, garbage, forged and
expired tokens."""

from __future__ import annotations

import re
import time
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa

from functions.manifest import PLATFORM
from tests.e2e.support import error_of, user_pool_signing_key

pytestmark = pytest.mark.e2e


def test_health(url: str) -> None:
    response = requests.get(f"{url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_openapi_document_has_every_route_of_the_manifest(url: str) -> None:
    response = requests.get(f"{url}/openapi.json", timeout=30)
    assert response.status_code == 200
    document = response.json()
    assert document["openapi"].startswith("3.")
    assert document["info"]["title"] == "Serverless Shop API"
    documented = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert documented == {(r.path, r.method.upper()) for r in PLATFORM.routes}
    for route in PLATFORM.routes:
        operation = document["paths"][route.path][route.method.lower()]
        assert operation["operationId"] == route.name
        assert "x-handler-error" not in operation, operation["x-handler-error"]
        if route.auth is None:
            assert "security" not in operation
        elif route.is_partner:
            assert operation["security"] == [{"PartnerSignature": []}]
        else:
            assert operation["security"] == [{"CognitoIdToken": []}]


def test_the_openapi_document_is_valid_openapi(url: str) -> None:
    import openapi_spec_validator

    openapi_spec_validator.validate(requests.get(f"{url}/openapi.json", timeout=30).json())


def test_the_docs_page_loads_its_assets_from_the_platform(url: str) -> None:
    page = requests.get(f"{url}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assets = re.findall(r'(?:src|href)="([^"]+)"', page.text)
    assert any(a.endswith(".js") for a in assets) and any(a.endswith(".css") for a in assets)
    for asset in assets:
        assert asset.startswith("/"), f"{asset} would not come from the platform"
        response = requests.get(f"{url}{asset}", timeout=10)
        assert response.status_code == 200, asset
        assert response.content, asset
    assert "/openapi.json" in page.text


def test_an_unknown_route_is_a_json_404(url: str) -> None:
    response = requests.get(f"{url}/no/such/route", timeout=10)
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_an_11_mb_body_is_413(url: str, admin: Any) -> None:
    response = admin("POST", "/admin/products", data=b"{" + b" " * (11 * 1024 * 1024) + b"}")
    assert response.status_code == 413
    assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("GET", "/me"),
        ("PUT", "/me"),
        ("POST", "/admin/products"),
        ("POST", "/admin/categories"),
        ("POST", "/admin/brands"),
        ("GET", "/admin/products/anything"),
    ],
)
def test_anonymous_callers_of_protected_routes_get_401(anonymous: Any, method: str, path: str) -> None:
    response = anonymous(method, path, json={})
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"


@pytest.mark.parametrize("fault", ["garbage", "forged", "expired", "truncated"])
def test_a_bad_token_is_401(url: str, shopper: Any, fault: str) -> None:
    claims = jwt.decode(shopper.token, options={"verify_signature": False})
    if fault == "garbage":
        token = "garbage"
    elif fault == "forged":  # the right claims and key id, signed with someone else's key
        forger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        token = jwt.encode({**claims, "cognito:groups": ["admin"]}, forger, algorithm="RS256", headers={"kid": "dummy"})
    elif fault == "expired":  # signed with the user pool's real key, but an hour old
        past = int(time.time()) - 3600
        token = jwt.encode(
            {**claims, "iat": past - 3600, "exp": past},
            user_pool_signing_key(),
            algorithm="RS256",
            headers={"kid": "dummy"},
        )
    else:
        token = shopper.token[:-10]
    response = requests.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"


def test_the_expired_token_test_would_pass_with_a_fresh_one(url: str, shopper: Any) -> None:
    # The token above fails only because it is expired: the same key and claims with a future expiry work.
    claims = jwt.decode(shopper.token, options={"verify_signature": False})
    token = jwt.encode(
        {**claims, "exp": int(time.time()) + 600}, user_pool_signing_key(), algorithm="RS256", headers={"kid": "dummy"}
    )
    response = requests.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 200
