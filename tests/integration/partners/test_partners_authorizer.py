"""The partner REQUEST authorizer, called with the event API Gateway sends it, for apps registered through the back
office against moto: an Allow for exactly the called method, or ``Unauthorized`` (API Gateway's 401) for anything
that is not a genuine, fresh, signed request, or a Deny (403) for an app without the route's scope."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.partners import service as service_module
from functions.partners.signing import EMPTY_SHA256
from tests.conftest import ADMIN, Api
from tests.integration.partners.partners_support import (
    authorize,
    authorizer_event,
    concrete,
    create_app,
    method_arn,
    other_scope,
    partner_route,
    signed_headers,
)

GET = partner_route("GET")
POST = partner_route("POST")
GET_PATH, POST_PATH = concrete(GET.path), concrete(POST.path)
QUERY = [("limit", "5"), ("q", "绿茶 tea")]
BODY = '{"quantity": 3, "note": "补货"}'


@pytest.fixture
def app(api: Api) -> dict[str, Any]:
    return create_app(api, name="Acme WMS", scopes=sorted({GET.scope, POST.scope}))


def unauthorized(event: dict[str, Any]) -> None:
    with pytest.raises(Exception, match=r"^Unauthorized$"):
        authorize(event)


def get_event(app: dict[str, Any], secret: str | None = None, **signing: Any) -> dict[str, Any]:
    headers = signed_headers(app["app_key"], secret or app["secret"], "GET", GET_PATH, QUERY, **signing)
    return authorizer_event(GET, GET_PATH, headers, QUERY)


def allowed(answer: dict[str, Any], arn: str) -> bool:
    (statement,) = answer["policyDocument"]["Statement"]
    assert statement["Action"] == "execute-api:Invoke"
    assert statement["Resource"] == [arn]
    return bool(statement["Effect"] == "Allow")


def test_a_genuine_request_is_allowed_for_exactly_its_method_with_the_app_as_principal_and_usage_key(
    app: dict[str, Any],
) -> None:
    answer = authorize(get_event(app))
    assert allowed(answer, method_arn("GET", GET_PATH))
    assert answer["principalId"] == app["app_key"]
    (key,) = boto3.client("apigateway").get_api_keys(nameQuery=app["app_key"], includeValues=True)["items"]
    assert answer["usageIdentifierKey"] == key["value"]
    assert answer["context"] == {"app_key": app["app_key"], "app_name": "Acme WMS", "scopes": " ".join(app["scopes"])}

    headers = signed_headers(app["app_key"], app["secret"], "POST", POST_PATH, body=BODY)
    assert allowed(authorize(authorizer_event(POST, POST_PATH, headers)), method_arn("POST", POST_PATH))


def test_missing_or_malformed_signing_headers_are_unauthorized(app: dict[str, Any]) -> None:
    good = get_event(app)["headers"]
    for name in ("X-App-Key", "X-Timestamp", "X-Nonce", "X-Signature"):
        unauthorized(authorizer_event(GET, GET_PATH, {k: v for k, v in good.items() if k != name}, QUERY))
    malformed = {
        "X-App-Key": "app_nope",
        "X-Timestamp": "yesterday",
        "X-Nonce": "x",
        "X-Signature": good["X-Signature"].upper(),
        "X-Content-SHA256": "not-a-hash",
    }
    for name, value in malformed.items():
        unauthorized(authorizer_event(GET, GET_PATH, {**good, name: value}, QUERY))
    unauthorized({**authorizer_event(GET, GET_PATH, good, QUERY), "headers": None, "multiValueHeaders": None})


def test_a_signature_over_another_secret_path_query_or_body_is_unauthorized(app: dict[str, Any]) -> None:
    unauthorized(get_event(app, secret="sk_" + "x" * 43))
    elsewhere = signed_headers(app["app_key"], app["secret"], "GET", GET_PATH + "x", QUERY)
    unauthorized(authorizer_event(GET, GET_PATH, elsewhere, QUERY))
    unauthorized(authorizer_event(GET, GET_PATH, get_event(app)["headers"], [("limit", "6"), QUERY[1]]))
    unauthorized(authorizer_event(GET, GET_PATH, get_event(app)["headers"], QUERY[:1]))
    signed_body = signed_headers(app["app_key"], app["secret"], "POST", POST_PATH, body=BODY)
    for declared in (EMPTY_SHA256, "0" * 64):
        unauthorized(authorizer_event(POST, POST_PATH, {**signed_body, "X-Content-SHA256": declared}))
    unauthorized(authorizer_event(POST, POST_PATH, {k: v for k, v in signed_body.items() if k != "X-Content-SHA256"}))


def test_a_timestamp_301_seconds_off_is_unauthorized(app: dict[str, Any]) -> None:
    now = int(time.time())
    for skew in (-301, 301):
        unauthorized(get_event(app, timestamp=now + skew))
    assert allowed(authorize(get_event(app, timestamp=now - 290)), method_arn("GET", GET_PATH))


def test_a_replayed_request_is_unauthorized(app: dict[str, Any]) -> None:
    event = get_event(app)
    assert allowed(authorize(event), method_arn("GET", GET_PATH))
    unauthorized(event)
    assert allowed(authorize(get_event(app)), method_arn("GET", GET_PATH))


def test_a_revoked_app_is_unauthorized_from_its_next_request(api: Api, app: dict[str, Any]) -> None:
    assert allowed(authorize(get_event(app)), method_arn("GET", GET_PATH))
    assert api("DELETE", f"/admin/partners/{app['app_key']}", user=ADMIN).status == 200
    unauthorized(get_event(app))


def test_both_secrets_work_during_the_rotation_grace_and_only_the_new_one_after(
    api: Api, app: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    rotated = api("POST", f"/admin/partners/{app['app_key']}/rotate", {"grace_seconds": 120}, user=ADMIN).body
    for secret in (app["secret"], rotated["secret"]):
        assert allowed(authorize(get_event(app, secret=secret)), method_arn("GET", GET_PATH))

    later = datetime.now(UTC) + timedelta(seconds=121)
    monkeypatch.setattr(service_module, "now", lambda: later)
    moved = int(later.timestamp())
    unauthorized(get_event(app, timestamp=moved))
    assert allowed(authorize(get_event(app, secret=rotated["secret"], timestamp=moved)), method_arn("GET", GET_PATH))


def test_an_app_without_the_routes_scope_gets_a_deny(api: Api) -> None:
    app = create_app(api, scopes=[other_scope(GET.scope)])
    answer = authorize(get_event(app))
    assert not allowed(answer, method_arn("GET", GET_PATH))
    assert answer["principalId"] == app["app_key"]


def test_a_genuine_request_to_a_path_with_escaped_characters_gets_a_policy_not_a_crash(app: dict[str, Any]) -> None:
    # The handler behind refuses the path parameter with a 422; the authorizer must not turn it into a 500.
    path = concrete(POST.path, "a%20b~c:d")
    headers = signed_headers(app["app_key"], app["secret"], "POST", path, body=BODY)
    assert allowed(authorize(authorizer_event(POST, path, headers)), method_arn("POST", path))
