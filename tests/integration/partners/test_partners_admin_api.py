"""The back office's partner-app routes through their real handlers against moto (DynamoDB, KMS, API Gateway)."""

from __future__ import annotations

import base64
import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError

from functions.partners.service import logger as service_logger
from functions.shared.http import logger as http_logger
from local.resources import Created
from tests.conftest import ADMIN, CATALOG_STAFF, Api
from tests.integration.partners.partners_support import create_app

UNKNOWN_KEY = "app_01M8SXN5K8V9NXKHF8QBX988RV"


def stored_item(aws: Created, app_key: str) -> dict[str, Any]:
    item: dict[str, Any] = boto3.client("dynamodb").get_item(
        TableName=aws.env["PARTNERS_TABLE_NAME"], Key={"pk": {"S": f"APP#{app_key}"}, "sk": {"S": "APP"}}
    )["Item"]
    return item


def api_key_of(app_key: str) -> dict[str, Any]:
    (key,) = boto3.client("apigateway").get_api_keys(nameQuery=app_key, includeValues=True)["items"]
    return dict(key)


def test_creating_an_app_answers_201_with_its_secret_once_and_never_stores_or_lists_it(api: Api, aws: Created) -> None:
    result = api("POST", "/admin/partners", {"name": "Acme WMS", "scopes": ["orders:read"]}, user=ADMIN)
    assert result.status == 201, result.body
    assert result.headers["Cache-Control"] == "no-store"
    app_key, secret = result.body["app_key"], result.body["secret"]
    assert secret.startswith("sk_") and len(secret) >= 40
    assert result.body["status"] == "active" and result.body["created_by"] == f"user:{ADMIN.sub}"

    listed = api("GET", "/admin/partners", user=ADMIN)
    assert listed.status == 200
    assert [i["app_key"] for i in listed.body["items"]] == [app_key]
    assert secret not in json.dumps(listed.body) and "secret" not in listed.body["items"][0]

    item = stored_item(aws, app_key)
    assert secret not in json.dumps(item)
    blob = base64.b64decode(item["secret"]["S"])
    assert secret.encode() not in blob
    kms = boto3.client("kms")
    plain = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"app_key": app_key})["Plaintext"]
    assert plain.decode() == secret
    for wrong in ({"app_key": UNKNOWN_KEY}, {}):
        with pytest.raises(ClientError):
            kms.decrypt(CiphertextBlob=blob, EncryptionContext=wrong)


def test_each_app_gets_a_usage_plan_with_its_rate_burst_and_quota_and_its_api_key_attached(
    api: Api, aws: Created
) -> None:
    app = create_app(api, rate_limit=5, burst_limit=8, daily_quota=500)
    apigw = boto3.client("apigateway")
    (plan,) = [p for p in apigw.get_usage_plans()["items"] if p["name"] == app["app_key"]]
    assert plan["throttle"] == {"rateLimit": 5.0, "burstLimit": 8}
    assert plan["quota"]["limit"] == 500 and plan["quota"]["period"] == "DAY"
    assert {"apiId": aws.env["REST_API_ID"], "stage": aws.env["API_STAGE_NAME"]} in [
        {"apiId": s["apiId"], "stage": s["stage"]} for s in plan["apiStages"]
    ]
    key = api_key_of(app["app_key"])
    assert key["enabled"] is True and key["value"] == stored_item(aws, app["app_key"])["usage_key"]["S"]
    attached = apigw.get_usage_plan_keys(usagePlanId=plan["id"])["items"]
    assert [k["id"] for k in attached] == [key["id"]]


def test_a_retry_with_the_same_idempotency_key_gets_the_same_app_and_another_body_409(api: Api) -> None:
    body = {"name": "Acme WMS", "scopes": ["products:read"]}
    key = {"Idempotency-Key": "acme-wms-create-0001"}
    first = api("POST", "/admin/partners", body, user=ADMIN, headers=key)
    again = api("POST", "/admin/partners", body, user=ADMIN, headers=key)
    assert (first.status, again.status) == (201, 200)
    assert again.headers.get("Idempotent-Replayed") == "true" and again.headers["Cache-Control"] == "no-store"
    assert (again.body["app_key"], again.body["secret"]) == (first.body["app_key"], first.body["secret"])
    other = api("POST", "/admin/partners", {**body, "name": "Other WMS"}, user=ADMIN, headers=key)
    assert other.status == 409, other.body
    assert len(api("GET", "/admin/partners", user=ADMIN).body["items"]) == 1
    assert len(boto3.client("apigateway").get_usage_plans()["items"]) == 1


def test_the_list_pages_newest_first_with_a_cursor(api: Api) -> None:
    made = [create_app(api, name=f"Partner {n}")["app_key"] for n in range(3)]
    first = api("GET", "/admin/partners", user=ADMIN, query={"limit": 2})
    assert first.status == 200 and first.body["next_cursor"]
    second = api("GET", "/admin/partners", user=ADMIN, query={"limit": 2, "cursor": first.body["next_cursor"]})
    assert second.status == 200 and second.body["next_cursor"] is None
    keys = [i["app_key"] for i in first.body["items"] + second.body["items"]]
    assert keys == list(reversed(made))
    assert api("GET", "/admin/partners", user=ADMIN, query={"limit": 0}).status == 422
    assert api("GET", "/admin/partners", user=ADMIN, query={"cursor": "forged.cursor"}).status == 400


def test_revoking_disables_the_api_key_and_revoking_again_answers_the_same(api: Api) -> None:
    app = create_app(api)
    revoked = api("DELETE", f"/admin/partners/{app['app_key']}", user=ADMIN)
    assert revoked.status == 200, revoked.body
    assert revoked.body["status"] == "revoked" and revoked.body["revoked_at"]
    assert "secret" not in revoked.body
    assert api_key_of(app["app_key"])["enabled"] is False
    again = api("DELETE", f"/admin/partners/{app['app_key']}", user=ADMIN)
    assert again.status == 200 and again.body["status"] == "revoked"
    assert again.body["version"] == revoked.body["version"]


def test_rotating_gives_a_new_secret_and_keeps_the_old_one_for_the_grace_period(api: Api, aws: Created) -> None:
    app = create_app(api)
    before = datetime.now(UTC)
    rotated = api("POST", f"/admin/partners/{app['app_key']}/rotate", user=ADMIN)
    assert rotated.status == 200, rotated.body
    assert rotated.headers["Cache-Control"] == "no-store"
    assert rotated.body["secret"] != app["secret"] and rotated.body["secret"].startswith("sk_")
    expires = datetime.fromisoformat(rotated.body["previous_secret_expires_at"])
    assert before + timedelta(hours=24) <= expires <= datetime.now(UTC) + timedelta(hours=24)
    item = stored_item(aws, app["app_key"])
    assert rotated.body["secret"] not in json.dumps(item) and app["secret"] not in json.dumps(item)

    cut = api("POST", f"/admin/partners/{app['app_key']}/rotate", {"grace_seconds": 0}, user=ADMIN)
    assert cut.status == 200, cut.body
    assert cut.body["previous_secret_expires_at"] is None
    assert not stored_item(aws, app["app_key"]).get("previous_secret", {}).get("S")


def test_a_revoked_app_cannot_be_rotated(api: Api) -> None:
    app = create_app(api)
    assert api("DELETE", f"/admin/partners/{app['app_key']}", user=ADMIN).status == 200
    refused = api("POST", f"/admin/partners/{app['app_key']}/rotate", {}, user=ADMIN)
    assert refused.status == 409, refused.body
    assert "secret" not in refused.body


def test_an_unknown_app_is_404_and_a_malformed_app_key_422(api: Api) -> None:
    assert api("DELETE", f"/admin/partners/{UNKNOWN_KEY}", user=ADMIN).status == 404
    assert api("POST", f"/admin/partners/{UNKNOWN_KEY}/rotate", {}, user=ADMIN).status == 404
    for bad in ("nope", "app_01m8sxn5k8v9nxkhf8qbx988rt", "app_01M8SXN5K8V9NXKHF8QBX988R"):
        assert api("DELETE", f"/admin/partners/{bad}", user=ADMIN).status == 422, bad
        assert api("POST", f"/admin/partners/{bad}/rotate", {}, user=ADMIN).status == 422, bad


def test_invalid_bodies_are_422_and_create_nothing(api: Api) -> None:
    good: dict[str, Any] = {"name": "Acme WMS", "scopes": ["products:read"]}
    bad_bodies: list[dict[str, Any]] = [
        {**good, "scopes": ["orders:write"]},
        {**good, "scopes": ["products:read", "products:read"]},
        {**good, "scopes": "products:read"},
        {**good, "rate_limit": 0},
        {**good, "rate_limit": 10, "burst_limit": 9},
        {**good, "rate_limit": "10"},
        {**good, "daily_quota": 1.5},
        {**good, "name": "<b>Acme</b>"},
        {**good, "owner": "someone"},
        {"scopes": ["products:read"]},
    ]
    for body in bad_bodies:
        result = api("POST", "/admin/partners", body, user=ADMIN)
        assert result.status == 422, (body, result.body)
        assert result.body["error"]["code"] == "VALIDATION_FAILED"
    app = create_app(api)
    for body in ({"grace_seconds": -1}, {"grace_seconds": "60"}, {"grace": 60}):
        assert api("POST", f"/admin/partners/{app['app_key']}/rotate", body, user=ADMIN).status == 422, body
    assert len(api("GET", "/admin/partners", user=ADMIN).body["items"]) == 1
    assert len(boto3.client("apigateway").get_usage_plans()["items"]) == 1


def test_only_admins_manage_partner_apps(api: Api) -> None:
    app = create_app(api)
    calls = [
        ("GET", "/admin/partners", None),
        ("POST", "/admin/partners", {"name": "Sneaky", "scopes": ["orders:read"]}),
        ("DELETE", f"/admin/partners/{app['app_key']}", None),
        ("POST", f"/admin/partners/{app['app_key']}/rotate", {}),
    ]
    for method, path, body in calls:
        assert api(method, path, body, user=CATALOG_STAFF).status == 403, (method, path)
        assert api(method, path, body).status == 401, (method, path)
    assert api("GET", "/admin/partners", user=ADMIN).body["items"][0]["status"] == "active"


def test_no_secret_ever_reaches_the_logs(
    api: Api, caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    loggers = (http_logger, service_logger)
    previous = [lg.log_level for lg in loggers]
    caplog.set_level(logging.DEBUG)
    for lg in loggers:
        lg.setLevel(logging.DEBUG)
    try:
        app = create_app(api)
        rotated = api("POST", f"/admin/partners/{app['app_key']}/rotate", {"grace_seconds": 60}, user=ADMIN).body
        api("POST", "/admin/partners", {"name": "Acme WMS", "scopes": ["nope"]}, user=ADMIN)
    finally:
        for lg, level in zip(loggers, previous, strict=True):
            lg.setLevel(level)
    logged = capsys.readouterr().out + "\n".join(f"{r.getMessage()} {r.__dict__}" for r in caplog.records)
    assert "partner app created" in logged and "partner secret rotated" in logged, "nothing logged: proves nothing"
    for secret in (app["secret"], rotated["secret"]):
        assert secret not in logged
        assert base64.b64encode(secret.encode()).decode() not in logged
