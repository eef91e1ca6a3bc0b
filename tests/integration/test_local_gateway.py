"""The local API Gateway over real HTTP, with a small platform of its own: the proxy event the handlers get, the
Cognito authorizer (real moto tokens, forged and expired ones), API Gateway's 404/413/502 answers, CORS
preflights, the merged OpenAPI document and the docs page.

The handlers below run in the platform's worker processes (imported there by their dotted path).
"""

from __future__ import annotations

import base64
import gzip
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import jwt
import pytest
import requests
from cryptography.hazmat.primitives.asymmetric import rsa
from pydantic import BaseModel

from functions.shared.http import CORS, entrypoint, make_resolver
from functions.shared.wiring import PUBLIC, SIGNED_IN, ContextManifest, Platform, Route, roles
from local import gateway as local_gateway
from local.openapi import merge
from local.runner import LocalPlatform, Settings
from local.seed import Account, create_account

HERE = __name__
PASSWORD = "Gateway-Test-1"


# --- handlers (run in the workers) ------------------------------------------------------------------------------


def echo(event: dict[str, Any], context: Any) -> dict[str, Any]:
    body = {
        "event": event,
        "function": context.function_name,
        "pid": os.getpid(),
        "service": os.environ.get("POWERTOOLS_SERVICE_NAME"),
    }
    return {"statusCode": 200, "headers": {"Content-Type": "application/json"}, "body": json.dumps(body)}


def boom(event: dict[str, Any], context: Any) -> dict[str, Any]:
    raise RuntimeError("the handler broke")


def not_a_proxy_response(event: dict[str, Any], context: Any) -> Any:
    return ["not", "a", "response"]


def binary(event: dict[str, Any], context: Any) -> dict[str, Any]:
    return {
        "statusCode": 202,
        "headers": {"Content-Type": "application/octet-stream", "X-Single": "one", "Set-Cookie": "ignored=1"},
        "multiValueHeaders": {"Set-Cookie": ["a=1", "b=2"]},
        "body": base64.b64encode(b"\x00\x01\xff").decode(),
        "isBase64Encoded": True,
    }


class Widget(BaseModel):
    name: str
    size: int


class WidgetOut(BaseModel):
    widget_id: str
    name: str


# A real Powertools resolver from the shared HTTP layer: validation, role checks from the manifest, OpenAPI.
WIDGETS = Route(
    name="CreateWidget",
    handler=f"{HERE}.create_widget_handler",
    method="POST",
    path="/widgets",
    auth=roles("catalog"),
    summary="Create a widget",
)
ROUTES = (
    Route(name="ListThings", handler=f"{HERE}.echo", method="GET", path="/things", auth=PUBLIC),
    Route(name="GetThing", handler=f"{HERE}.echo", method="GET", path="/things/{thing_id}", auth=PUBLIC),
    Route(name="GetSpecialThing", handler=f"{HERE}.echo", method="GET", path="/things/special", auth=PUBLIC),
    Route(name="PutThing", handler=f"{HERE}.echo", method="PUT", path="/things/{thing_id}", auth=SIGNED_IN),
    Route(name="Private", handler=f"{HERE}.echo", method="GET", path="/private", auth=SIGNED_IN),
    Route(name="Upload", handler=f"{HERE}.echo", method="POST", path="/upload", auth=PUBLIC),
    Route(name="Boom", handler=f"{HERE}.boom", method="GET", path="/boom", auth=PUBLIC),
    Route(name="Guarded", handler=f"{HERE}.boom", method="GET", path="/guarded", auth=SIGNED_IN),
    Route(name="Garbage", handler=f"{HERE}.not_a_proxy_response", method="GET", path="/garbage", auth=PUBLIC),
    Route(name="Binary", handler=f"{HERE}.binary", method="GET", path="/binary", auth=PUBLIC),
    WIDGETS,
)
MANIFEST = ContextManifest(name="gadgets", routes=ROUTES)
PLATFORM = Platform(contexts=(MANIFEST,))

app = make_resolver(MANIFEST)


@app.post("/widgets", summary="Create a widget", status_code=201)
def create_widget(body: Widget) -> WidgetOut:
    return WidgetOut(widget_id="w-1", name=body.name)


create_widget_handler = entrypoint(app)


# --- fixtures ---------------------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    with LocalPlatform(PLATFORM, Settings(port=0, workers=2, seed=False, prefix="gw")) as running:
        running.mark_ready()
        idp = running.session.client("cognito-idp") if running.session else None
        assert idp is not None
        pool = running.created.user_pool_id
        create_account(idp, pool, Account("shopper@example.com", PASSWORD, "Shopper", ("customer",)))
        create_account(idp, pool, Account("staff@example.com", PASSWORD, "Staff", ("customer", "catalog")))
        yield running


@pytest.fixture(scope="module")
def url(platform: LocalPlatform) -> str:
    return platform.url


def tokens(platform: LocalPlatform, email: str) -> dict[str, Any]:
    assert platform.session is not None
    idp = platform.session.client("cognito-idp")
    result = idp.initiate_auth(
        ClientId=platform.created.user_pool_client_id,
        AuthFlow="USER_PASSWORD_AUTH",
        AuthParameters={"USERNAME": email, "PASSWORD": PASSWORD},
    )
    return dict(result["AuthenticationResult"])


@pytest.fixture(scope="module")
def shopper_token(platform: LocalPlatform) -> str:
    return str(tokens(platform, "shopper@example.com")["IdToken"])


@pytest.fixture(scope="module")
def staff_token(platform: LocalPlatform) -> str:
    return str(tokens(platform, "staff@example.com")["IdToken"])


def moto_signing_key() -> Any:
    """moto's own private signing key, to make tokens whose only fault is the one a test gives them."""
    import moto.cognitoidp

    path = Path(moto.cognitoidp.__file__).parent / "resources" / "jwks-private.json.gz"
    return jwt.PyJWK.from_dict(json.loads(gzip.decompress(path.read_bytes()))).key


def token_like(valid: str, key: Any = None, kid: str = "dummy", **changes: Any) -> str:
    claims = jwt.decode(valid, options={"verify_signature": False})
    claims.update(changes)
    claims = {k: v for k, v in claims.items() if v is not None}
    return jwt.encode(claims, key if key is not None else moto_signing_key(), algorithm="RS256", headers={"kid": kid})


def error_of(response: requests.Response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}
    assert set(body["error"]) == {"code", "message", "details"}
    return dict(body["error"])


# --- the proxy event ----------------------------------------------------------------------------------------------


def test_a_public_route_gets_an_api_gateway_proxy_event(url: str) -> None:
    response = requests.get(f"{url}/things/t%201?colour=red&colour=blue&size=", headers={"X-Trace": "abc"}, timeout=10)
    assert response.status_code == 200
    assert response.headers["x-amzn-RequestId"]
    body = response.json()
    event = body["event"]
    assert body["function"] == "GetThing"
    assert body["service"] == "gadgets"
    assert event["resource"] == "/things/{thing_id}"
    assert event["path"] == "/things/t 1"
    assert event["httpMethod"] == "GET"
    assert event["pathParameters"] == {"thing_id": "t 1"}
    assert event["queryStringParameters"] == {"colour": "blue", "size": ""}
    assert event["multiValueQueryStringParameters"] == {"colour": ["red", "blue"], "size": [""]}
    assert event["headers"]["X-Trace"] == "abc"
    assert event["multiValueHeaders"]["X-Trace"] == ["abc"]
    assert event["headers"]["X-Forwarded-For"] == "127.0.0.1"
    assert event["requestContext"]["stage"] == "local"
    assert event["requestContext"]["requestId"] == response.headers["x-amzn-RequestId"]
    assert event["requestContext"]["resourcePath"] == "/things/{thing_id}"
    assert event["body"] is None and event["isBase64Encoded"] is False
    assert "authorizer" not in event["requestContext"]


def test_a_literal_path_wins_over_a_template(url: str) -> None:
    assert requests.get(f"{url}/things/special", timeout=10).json()["function"] == "GetSpecialThing"


def test_a_json_body_is_passed_as_text_and_a_binary_one_as_base64(url: str) -> None:
    text = requests.post(f"{url}/upload", json={"name": "茶"}, timeout=10).json()["event"]
    assert json.loads(text["body"]) == {"name": "茶"} and text["isBase64Encoded"] is False
    raw = requests.post(f"{url}/upload", data=b"\xff\xfe\x00", timeout=10).json()["event"]
    assert raw["isBase64Encoded"] is True
    assert base64.b64decode(raw["body"]) == b"\xff\xfe\x00"


def test_the_proxy_response_is_written_as_api_gateway_writes_it(url: str) -> None:
    response = requests.get(f"{url}/binary", timeout=10)
    assert response.status_code == 202
    assert response.content == b"\x00\x01\xff"
    assert response.headers["X-Single"] == "one"
    assert response.raw.headers.getlist("Set-Cookie") == ["a=1", "b=2"]  # multiValueHeaders win


# --- the Cognito authorizer ------------------------------------------------------------------------------------


def test_a_signed_in_route_gets_the_verified_claims(url: str, shopper_token: str) -> None:
    for header in (f"Bearer {shopper_token}", shopper_token):
        response = requests.get(f"{url}/private", headers={"Authorization": header}, timeout=10)
        assert response.status_code == 200
        claims = response.json()["event"]["requestContext"]["authorizer"]["claims"]
        assert claims["email"] == "shopper@example.com"
        assert claims["cognito:groups"] == "customer"
        assert claims["token_use"] == "id"
        assert all(isinstance(v, str) for v in claims.values())


def test_a_public_route_gets_no_claims_even_with_a_token(url: str, shopper_token: str) -> None:
    response = requests.get(f"{url}/things", headers={"Authorization": f"Bearer {shopper_token}"}, timeout=10)
    assert response.status_code == 200
    assert "authorizer" not in response.json()["event"]["requestContext"]


def test_an_anonymous_call_to_a_protected_route_is_401_without_invoking_it(url: str) -> None:
    response = requests.get(f"{url}/guarded", timeout=10)
    assert response.status_code == 401  # not the 502 of its handler, which always raises
    assert error_of(response)["code"] == "UNAUTHORIZED"
    assert response.headers["WWW-Authenticate"] == "Bearer"
    assert response.headers["x-amzn-RequestId"]


def test_answers_to_bodies_sent_to_unknown_routes_leave_the_connection_usable(url: str) -> None:
    with requests.Session() as session:
        assert session.post(f"{url}/nowhere", data=b"x" * 5000, timeout=10).status_code == 404
        assert session.post(f"{url}/guarded", data=b"y" * 5000, timeout=10).status_code == 404
        assert session.get(f"{url}/health", data=b"z" * 5000, timeout=10).status_code == 200
        again = session.get(f"{url}/things", timeout=10)
        assert again.status_code == 200 and again.json()["function"] == "ListThings"


@pytest.mark.parametrize(
    "fault",
    ["garbage", "expired", "other_audience", "other_issuer", "access_token", "forged", "unknown_key", "alg_none"],
)
def test_an_invalid_token_is_401(url: str, platform: LocalPlatform, shopper_token: str, fault: str) -> None:
    if fault == "garbage":
        token = "not.a.jwt"
    elif fault == "expired":
        token = token_like(shopper_token, exp=int(time.time()) - 60, iat=int(time.time()) - 3660)
    elif fault == "other_audience":
        token = token_like(shopper_token, aud="another-client")
    elif fault == "other_issuer":
        token = token_like(shopper_token, iss="https://cognito-idp.us-east-1.amazonaws.com/us-east-1_other")
    elif fault == "access_token":
        token = str(tokens(platform, "shopper@example.com")["AccessToken"])
    elif fault == "forged":
        token = token_like(shopper_token, key=rsa.generate_private_key(public_exponent=65537, key_size=2048))
    elif fault == "unknown_key":
        token = token_like(shopper_token, kid="rotated-away")
    else:
        claims = jwt.decode(shopper_token, options={"verify_signature": False})
        token = jwt.encode(claims, key=None, algorithm="none")
    response = requests.get(f"{url}/private", headers={"Authorization": f"Bearer {token}"}, timeout=10)
    assert response.status_code == 401
    assert error_of(response)["code"] == "UNAUTHORIZED"


def test_the_test_tokens_are_only_wrong_where_the_test_makes_them_wrong(url: str, shopper_token: str) -> None:
    # The faults above are made with moto's real key: an unchanged re-signed token passes.
    response = requests.get(f"{url}/private", headers={"Authorization": token_like(shopper_token)}, timeout=10)
    assert response.status_code == 200


def test_roles_are_checked_by_the_handler_from_the_manifest(url: str, shopper_token: str, staff_token: str) -> None:
    widget = {"name": "w", "size": 3}
    shopper = requests.post(f"{url}/widgets", json=widget, headers={"Authorization": shopper_token}, timeout=10)
    assert shopper.status_code == 403
    assert error_of(shopper)["code"] == "FORBIDDEN"
    staff = requests.post(f"{url}/widgets", json=widget, headers={"Authorization": staff_token}, timeout=10)
    assert staff.status_code == 201
    assert staff.json() == {"widget_id": "w-1", "name": "w"}
    invalid = requests.post(f"{url}/widgets", json={"name": "w"}, headers={"Authorization": staff_token}, timeout=10)
    assert invalid.status_code == 422


# --- API Gateway's own answers ------------------------------------------------------------------------------------


def test_an_unknown_path_is_a_json_404(url: str) -> None:
    response = requests.get(f"{url}/nowhere/at/all", timeout=10)
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_a_known_path_with_another_method_is_a_json_404_as_in_api_gateway(url: str) -> None:
    response = requests.delete(f"{url}/things", timeout=10)
    assert response.status_code == 404
    assert error_of(response)["code"] == "NOT_FOUND"


def test_a_cors_preflight_is_answered_by_the_gateway(url: str) -> None:
    response = requests.options(
        f"{url}/things/t1",
        headers={"Origin": "http://localhost:5173", "Access-Control-Request-Method": "PUT"},
        timeout=10,
    )
    assert response.status_code == 204
    assert response.headers["Access-Control-Allow-Origin"] == "*"
    assert set(response.headers["Access-Control-Allow-Methods"].split(",")) == {"GET", "PUT", "OPTIONS"}
    assert "Authorization" in response.headers["Access-Control-Allow-Headers"].split(",")


def test_the_preflight_allows_the_same_headers_as_the_handlers() -> None:
    assert set(local_gateway.CORS_ALLOW_HEADERS) == CORS.allow_headers
    assert list(local_gateway.CORS_EXPOSE_HEADERS) == CORS.expose_headers
    assert CORS.max_age == local_gateway.CORS_MAX_AGE_S


def test_a_body_over_10_mb_is_413_and_the_connection_stays_usable(url: str) -> None:
    with requests.Session() as session:
        response = session.post(f"{url}/upload", data=b"x" * (11 * 1024 * 1024), timeout=30)
        assert response.status_code == 413
        assert error_of(response)["code"] == "PAYLOAD_TOO_LARGE"
        assert session.get(f"{url}/things", timeout=10).status_code == 200


def test_a_chunked_body_over_10_mb_is_413(url: str) -> None:
    def chunks() -> Iterator[bytes]:
        for _ in range(11):
            yield b"x" * (1024 * 1024)

    response = requests.post(f"{url}/upload", data=chunks(), timeout=30)
    assert response.status_code == 413


def test_a_chunked_body_under_the_limit_reaches_the_handler(url: str) -> None:
    response = requests.post(f"{url}/upload", data=iter([b"hello ", b"world"]), timeout=10)
    assert response.json()["event"]["body"] == "hello world"


def test_a_handler_that_raises_is_a_502(url: str) -> None:
    response = requests.get(f"{url}/boom", timeout=10)
    assert response.status_code == 502
    assert error_of(response)["code"] == "BAD_GATEWAY"
    assert "the handler broke" not in response.text  # no internals in the response


def test_a_malformed_proxy_response_is_a_502(url: str) -> None:
    response = requests.get(f"{url}/garbage", timeout=10)
    assert response.status_code == 502
    assert error_of(response)["code"] == "BAD_GATEWAY"


# --- health, OpenAPI, docs --------------------------------------------------------------------------------------


def test_health_is_ok_once_ready(url: str) -> None:
    response = requests.get(f"{url}/health", timeout=10)
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


def test_the_openapi_document_has_every_route_and_marks_the_protected_ones(url: str) -> None:
    document = requests.get(f"{url}/openapi.json", timeout=10).json()
    assert document["info"]["title"] == "Serverless Shop API"
    operations = {(path, method.upper()) for path, item in document["paths"].items() for method in item}
    assert operations == {(r.path, r.method) for r in ROUTES}
    widget = document["paths"]["/widgets"]["post"]
    assert widget["operationId"] == "CreateWidget"
    assert widget["security"] == [{"CognitoIdToken": []}]
    assert {"401", "403", "201", "422"} <= set(widget["responses"])
    assert widget["requestBody"]["content"]["application/json"]["schema"] == {"$ref": "#/components/schemas/Widget"}
    assert "Widget" in document["components"]["schemas"]
    assert document["components"]["securitySchemes"]["CognitoIdToken"]["scheme"] == "bearer"
    assert "security" not in document["paths"]["/things"]["get"]
    private = document["paths"]["/private"]["get"]
    assert private["security"] == [{"CognitoIdToken": []}] and "403" not in private["responses"]
    # echo is a plain function, not a resolver: the route is still documented, and says why it is bare
    assert "x-handler-error" in document["paths"]["/things"]["get"]


def test_the_docs_page_and_its_assets_are_served_locally(url: str) -> None:
    page = requests.get(f"{url}/docs", timeout=10)
    assert page.status_code == 200
    assert page.headers["Content-Type"].startswith("text/html")
    assert "/openapi.json" in page.text
    for asset, kind in (("swagger-ui.css", "text/css"), ("swagger-ui-bundle.js", "javascript")):
        assert f"/docs/{asset}" in page.text
        response = requests.get(f"{url}/docs/{asset}", timeout=10)
        assert response.status_code == 200
        assert kind in response.headers["Content-Type"]
        assert len(response.content) > 1000
    assert "http://" not in page.text and "https://" not in page.text  # nothing from a CDN
    assert requests.get(f"{url}/docs/package.json", timeout=10).status_code == 404
    assert requests.get(f"{url}/docs/..%2F..%2Fpackage.json", timeout=10).status_code == 404


def test_merging_renames_schemas_that_two_handlers_define_differently() -> None:
    first = Route(name="A", handler="m.a", method="GET", path="/a")
    second = Route(name="B", handler="m.b", method="GET", path="/b", auth=roles("analyst"))

    def fragment(schema: dict[str, Any]) -> dict[str, Any]:
        ok = {"200": {"content": {"application/json": {"schema": {"$ref": "#/components/schemas/Page"}}}}}
        item = {"type": "object", "properties": {"x": {"type": "string"}}}
        return {"operation": {"responses": ok}, "schemas": {"Page": schema, "Item": item}}

    page_a = {"type": "object", "properties": {"items": {"$ref": "#/components/schemas/Item"}}}
    page_b = {"type": "object", "properties": {"rows": {"$ref": "#/components/schemas/Item"}}}
    document = merge([first, second], [fragment(page_a), fragment(page_b)])
    schemas = document["components"]["schemas"]
    assert schemas["Page"] == page_a
    assert schemas["Page__B"] == page_b
    assert "Item__B" not in schemas  # identical schemas are shared
    response_b = document["paths"]["/b"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert response_b == {"$ref": "#/components/schemas/Page__B"}
    assert document["paths"]["/b"]["get"]["x-roles"] == ["admin", "analyst"]


def test_path_parameters_are_decoded_once(url: str) -> None:
    event = requests.get(f"{url}/things/100%2541", timeout=10).json()["event"]
    assert event["pathParameters"] == {"thing_id": "100%41"}


def test_a_raw_utf8_query_is_decoded_like_a_percent_encoded_one(url: str) -> None:
    # curl sends `?q=耳机` as raw UTF-8 bytes; the event must carry the same text as for `?q=%E8%80%B3%E6%9C%BA`.
    import socket
    from urllib.parse import urlsplit

    parts = urlsplit(url)
    with socket.create_connection((parts.hostname or "127.0.0.1", parts.port or 80), timeout=10) as sock:
        sock.sendall("GET /things?q=耳机 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode())
        reply = b""
        while chunk := sock.recv(65536):
            reply += chunk
    raw = json.loads(reply.split(b"\r\n\r\n", 1)[1])
    encoded = requests.get(f"{url}/things?q=%E8%80%B3%E6%9C%BA", timeout=10).json()
    assert raw["event"]["queryStringParameters"] == encoded["event"]["queryStringParameters"] == {"q": "耳机"}
