"""The handlers accept events exactly as AWS sends them (samples in events/samples)."""

import json
from pathlib import Path

from functions.catalog.handlers import create_brand, list_categories
from functions.shared import relay
from local.apigw import LambdaContext

SAMPLES = Path(__file__).resolve().parents[2] / "events" / "samples"


def load(*parts: str) -> dict:
    return json.loads((SAMPLES.joinpath(*parts)).read_text(encoding="utf-8"))


def test_a_real_api_gateway_get_event_reaches_the_handler(aws):
    response = list_categories.handler(load("apigw", "get_categories.json"), LambdaContext("ListCategories"))
    assert response["statusCode"] == 200
    assert json.loads(response["body"]) == {"items": []}


def test_cognito_authorizer_claims_with_comma_joined_groups_authorise_an_admin(aws):
    response = create_brand.handler(load("apigw", "post_admin_brand.json"), LambdaContext("CreateBrand"))
    assert response["statusCode"] == 201, response["body"]
    assert json.loads(response["body"])["name"] == "小米 Xiaomi"


def test_the_same_event_without_the_admin_group_is_forbidden(aws):
    event = load("apigw", "post_admin_brand.json")
    event["requestContext"]["authorizer"]["claims"]["cognito:groups"] = "customer"
    response = create_brand.handler(event, LambdaContext("CreateBrand"))
    assert response["statusCode"] == 403


def test_the_outbox_stream_sample_is_published_to_the_bus(aws, event_spy):
    result = relay.handler(load("dynamodb", "outbox_insert.json"), LambdaContext("CatalogOutboxRelay"))
    assert result == {"batchItemFailures": []}
    (body,) = event_spy()
    assert body["source"] == "shop.catalog"
    assert body["detail"]["product"]["name"] == "华为智能手机 P60"


def test_records_that_are_not_outbox_inserts_are_ignored(aws):
    event = load("dynamodb", "outbox_insert.json")
    event["Records"][0]["eventName"] = "REMOVE"
    assert relay.handler(event, LambdaContext("CatalogOutboxRelay")) == {"batchItemFailures": []}


def test_a_failed_publish_is_reported_for_retry(aws, monkeypatch):
    monkeypatch.setenv("EVENT_BUS_NAME", "no-such-bus")
    result = relay.handler(load("dynamodb", "outbox_insert.json"), LambdaContext("CatalogOutboxRelay"))
    assert result == {"batchItemFailures": [{"itemIdentifier": "111"}]}
