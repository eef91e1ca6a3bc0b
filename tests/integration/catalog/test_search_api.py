"""Search through the HTTP handlers and the SearchIndexer consumer, with catalogue events travelling as in AWS:
outbox -> stream -> relay -> bus -> rule -> the consumer's queue -> SQS batch."""

import json
from pathlib import Path

import boto3
import pytest

from functions.catalog.handlers import search_indexer
from functions.catalog.manifest import MANIFEST
from functions.manifest import PLATFORM
from functions.shared import relay
from local.apigw import LambdaContext, compile_routes, match
from tests.conftest import ADMIN
from tests.integration.catalog.conftest import variant

SAMPLES = Path(__file__).resolve().parents[3] / "events" / "samples"
STREAMS_ENDPOINT = "https://streams.dynamodb.us-east-1.amazonaws.com"  # the hostname in-process moto matches


class Pipeline:
    """Moves new catalogue events from the table's stream to the bus, and the indexer's queue into the consumer."""

    def __init__(self, created):
        self.created = created
        self.streams = boto3.client("dynamodbstreams", endpoint_url=STREAMS_ENDPOINT)
        self.sqs = boto3.client("sqs")
        self.relayed = set()

    def relay(self):
        arn = self.created.stream_arns["catalog"]
        fresh = []
        for shard in self.streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
            start = {"StreamArn": arn, "ShardId": shard["ShardId"], "ShardIteratorType": "TRIM_HORIZON"}
            it = self.streams.get_shard_iterator(**start)["ShardIterator"]
            for r in self.streams.get_records(ShardIterator=it)["Records"]:
                if r["dynamodb"]["SequenceNumber"] not in self.relayed:
                    self.relayed.add(r["dynamodb"]["SequenceNumber"])
                    fresh.append(dict(r, eventSourceARN=arn))
        assert relay.handler({"Records": fresh}, LambdaContext("CatalogOutboxRelay")) == {"batchItemFailures": []}

    def receive(self):
        url = self.created.queue_urls["SearchIndexer"]
        records = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                records.append(sqs_record(m["Body"], m["MessageId"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return records

    def __call__(self):
        """Deliver every pending catalogue event to the indexer; return the SQS records it processed."""
        self.relay()
        records = self.receive()
        assert consume(records) == {"batchItemFailures": []}
        return records


def sqs_record(body, message_id):
    sample = json.loads((SAMPLES / "sqs" / "ProductCreated.json").read_text(encoding="utf-8"))["Records"][0]
    return dict(sample, body=body, messageId=message_id)


def consume(records):
    return search_indexer.handler({"Records": records}, LambdaContext("SearchIndexer"))


@pytest.fixture
def pump(aws):
    return Pipeline(aws)


def found(api, **query):
    r = api("GET", "/products", query=query)
    assert r.status == 200, r.body
    return [i["name"] for i in r.body["items"]]


@pytest.fixture
def indexed(shop, new_product, pump):
    made = {
        "p60": new_product(name="华为智能手机 P60 Huawei P60 Smartphone"),
        "buds": new_product(name="无线蓝牙降噪耳机 Wireless Noise Cancelling Headphones", category="audio"),
        "xm5": new_product(name="索尼 WH-1000XM5 Headphone", category="audio", brand="sony"),
        "draft": new_product(name="草稿手机 Draft Phone", status="draft"),
    }
    pump()
    return made


def test_shoppers_find_products_by_chinese_and_english_keywords(api, indexed):
    assert found(api, q="手机") == ["华为智能手机 P60 Huawei P60 Smartphone"]
    assert set(found(api, q="蓝牙耳机")) == {"无线蓝牙降噪耳机 Wireless Noise Cancelling Headphones"}
    assert found(api, q="headphones")[0] in {indexed["buds"]["name"], indexed["xm5"]["name"]}
    assert set(found(api, q="headphones")) == {indexed["buds"]["name"], indexed["xm5"]["name"]}
    assert found(api, q="tablet") == []


def test_keywords_combine_with_filters_sorts_and_facets(api, shop, indexed):
    r = api(
        "GET",
        "/products",
        query={"q": "headphones", "brand": shop["sony"], "facets": "category,brand,price", "sort": "price_asc"},
    )
    assert r.status == 200, r.body
    assert [i["name"] for i in r.body["items"]] == [indexed["xm5"]["name"]]
    assert (r.body["total"], r.body["exact"]) == (1, True)
    assert r.body["facets"]["brand"] == [{"value": shop["sony"], "label": "Sony", "count": 1}]
    assert r.body["facets"]["category"] == [{"value": shop["electronics"], "label": "电子 Electronics", "count": 1}]
    assert r.body["facets"]["price"] == [{"min_price": 200000, "max_price": 500000, "count": 1}]


def test_facets_without_keywords_count_a_category_page(api, shop, indexed):
    r = api("GET", "/products", query={"category": shop["electronics"], "facets": "category"})
    assert r.status == 200, r.body
    counts = {f["label"]: f["count"] for f in r.body["facets"]["category"]}
    assert counts == {"音频 Audio": 2, "手机 Phones": 1}  # the draft is not counted
    assert r.body["total"] == 3


def test_search_results_page_with_a_cursor(api, indexed):
    first = api("GET", "/products", query={"q": "headphones", "limit": 1}).body
    second = api("GET", "/products", query={"q": "headphones", "limit": 1, "cursor": first["next_cursor"]}).body
    assert {first["items"][0]["name"], second["items"][0]["name"]} == {indexed["buds"]["name"], indexed["xm5"]["name"]}
    assert second["next_cursor"] is None
    assert api("GET", "/products", query={"q": "手机", "cursor": first["next_cursor"]}).status == 400


def test_an_archived_product_leaves_the_results(api, indexed, pump):
    assert api("DELETE", f"/admin/products/{indexed['p60']['product_id']}", user=ADMIN).status == 200
    pump()
    assert found(api, q="手机") == []
    assert found(api, q="p60") == []


def test_an_edit_is_searchable_under_the_new_name_only(api, shop, indexed, pump):
    product = indexed["xm5"]
    body = {
        "name": "索尼 WH-1000XM6 头戴式耳机 Sony Over-ear Headphones",
        "description": "",
        "brand_id": shop["sony"],
        "category_id": shop["audio"],
        "status": "active",
        "variants": [variant("SONY-XM6", 299900)],
        "version": product["version"],
    }
    assert api("PUT", f"/admin/products/{product['product_id']}", body, user=ADMIN).status == 200
    pump()
    assert found(api, q="头戴式") == [body["name"]]
    assert found(api, q="wh-1000xm5") == []


def test_the_consumer_ignores_replays_and_events_older_than_the_index(api, shop, new_product, pump):
    product = new_product(name="华为平板 Huawei Tablet")
    (created,) = pump()
    body = {**{k: product[k] for k in ("name", "description", "brand_id", "category_id", "status")}}
    body.update(name="华为平板电脑 Huawei MatePad", variants=[variant("MP-1", 100)], version=1)
    assert api("PUT", f"/admin/products/{product['product_id']}", body, user=ADMIN).status == 200
    (updated,) = pump()
    assert consume([updated, created, updated]) == {"batchItemFailures": []}  # a replay, then an older event
    assert found(api, q="matepad") == ["华为平板电脑 Huawei MatePad"]
    assert found(api, q="tablet") == []


def test_a_record_that_cannot_be_indexed_fails_alone(api, shop, new_product, pump):
    new_product(name="华为手表 Huawei Watch")
    pump.relay()
    (good,) = pump.receive()
    bad = sqs_record(json.dumps({"source": "shop.catalog", "detail-type": "ProductTeleported", "detail": {}}), "bad-1")
    assert consume([bad, good]) == {"batchItemFailures": [{"itemIdentifier": "bad-1"}]}
    assert found(api, q="手表") == ["华为手表 Huawei Watch"]


def test_a_product_locked_by_another_worker_is_retried_later(api, shop, new_product, pump):
    product = new_product(name="小米手环 Xiaomi Band")
    pump.relay()
    (record,) = pump.receive()
    ddb, table = boto3.client("dynamodb"), "shop-test-search"
    key = {"pk": {"S": f"D#{product['product_id']}"}, "sk": {"S": "DOC"}}
    ddb.put_item(TableName=table, Item={**key, "lk": {"S": "other"}, "lu": {"N": "99999999999"}})
    assert consume([record]) == {"batchItemFailures": [{"itemIdentifier": record["messageId"]}]}
    ddb.delete_item(TableName=table, Key=key)
    assert consume([record]) == {"batchItemFailures": []}
    assert found(api, q="手环") == ["小米手环 Xiaomi Band"]


def test_the_sample_sqs_event_is_indexed(aws, api):
    sample = json.loads((SAMPLES / "sqs" / "ProductCreated.json").read_text(encoding="utf-8"))
    assert consume(sample["Records"]) == {"batchItemFailures": []}
    product = json.loads(sample["Records"][0]["body"])["detail"]["product"]
    assert found(api, q=product["variants"][0]["sku"]) == [product["name"]]


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"q": "x" * 201}, 422),
        ({"q": "华" * 1000}, 422),
        ({"facets": "colour"}, 422),
        ({"q": "phone", "facets": "brand,,price, stock"}, 422),
        ({"q": "phone", "sort": "random"}, 422),
        ({"q": "phone", "min_price": 500, "max_price": 100}, 422),
        ({"q": "phone", "cursor": "forged.cursor"}, 400),
    ],
)
def test_bad_search_parameters_get_a_clean_4xx(api, query, status):
    r = api("GET", "/products", query=query)
    assert r.status == status, r.body
    assert r.body["error"]["code"]


@pytest.mark.parametrize(
    "q", ["🎧🔥", "!!!", "' OR 'q'='q' --", '{"$gt": ""}', "'; DROP TABLE products; --", "<script>x</script>"]
)
def test_odd_queries_are_an_empty_result_not_an_error(api, indexed, q):
    r = api("GET", "/products", query={"q": q})
    assert (r.status, r.body["items"], r.body["total"]) == (200, [], 0)


def test_a_blank_query_is_the_plain_listing(api, indexed):
    r = api("GET", "/products", query={"q": "  ", "sort": "relevance"})
    assert r.status == 200
    assert len(r.body["items"]) == 3
    assert "total" not in r.body


def test_suggestions_complete_what_the_shopper_types(api, indexed):
    r = api("GET", "/products/suggest", query={"q": "hua"})
    assert r.status == 200, r.body
    assert r.body["items"][0] == {"text": "华为 Huawei", "kind": "brand", "count": 2}
    assert indexed["p60"]["name"] in [s["text"] for s in r.body["items"]]
    assert [s["text"] for s in api("GET", "/products/suggest", query={"q": "蓝牙"}).body["items"]] == [
        indexed["buds"]["name"]
    ]
    assert api("GET", "/products/suggest", query={"q": "🎧"}).body == {"items": []}
    assert len(api("GET", "/products/suggest", query={"q": "h", "limit": 2}).body["items"]) <= 2


@pytest.mark.parametrize("query", [{}, {"q": ""}, {"q": "x" * 101}, {"q": "a", "limit": 11}])
def test_bad_suggestion_requests_are_422(api, query):
    assert api("GET", "/products/suggest", query=query).status == 422


def test_the_suggest_path_is_not_taken_for_a_product_id():
    route, params, _ = match(compile_routes(PLATFORM.routes), "GET", "/products/suggest")
    assert (route.name, params) == ("SuggestProducts", {})
    route, params, _ = match(compile_routes(PLATFORM.routes), "GET", "/products/prd_1")
    assert (route.name, params) == ("GetProduct", {"product_id": "prd_1"})


def test_search_functions_get_only_the_access_they_need():
    by_name = {f.name: f for f in MANIFEST.functions}
    assert not by_name["ListProducts"].writes_anything
    assert not by_name["SuggestProducts"].writes_anything
    assert [u.resource for u in by_name["SearchIndexer"].uses] == ["table:search"]
