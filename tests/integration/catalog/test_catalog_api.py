import json

import boto3
import pytest

from functions.shared import relay
from local.apigw import LambdaContext
from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.catalog.conftest import variant


def count_items(table="shop-test-catalog"):
    return boto3.client("dynamodb").scan(TableName=table, Select="COUNT")["Count"]


def test_staff_create_a_product_with_two_variants_and_shoppers_see_it(api, shop):
    body = {
        "name": "华为智能手机 P60",
        "description": "旗舰手机",
        "brand_id": shop["huawei"],
        "category_id": shop["phones"],
        "status": "active",
        "variants": [
            variant("HW-P60-BLK", 499900, options={"colour": "黑色 Black"}, weight_grams=200),
            variant(
                "HW-P60-WHT",
                509900,
                options={"colour": "白色 White"},
                compare_at_price={"amount": 549900, "currency": "CNY"},
            ),
        ],
    }
    created = api("POST", "/admin/products", body, user=CATALOG_STAFF)
    assert created.status == 201
    product_id = created.body["product_id"]
    page = api("GET", f"/products/{product_id}")
    assert page.status == 200
    assert [v["sku"] for v in page.body["variants"]] == ["HW-P60-BLK", "HW-P60-WHT"]
    assert page.body["variants"][1]["compare_at_price"] == {"amount": 549900, "currency": "CNY"}
    listing = api("GET", "/products", query={"category": shop["electronics"], "brand": shop["huawei"]})
    assert [i["product_id"] for i in listing.body["items"]] == [product_id]
    assert listing.body["items"][0]["price"] == {"amount": 499900, "currency": "CNY"}


def test_shoppers_get_403_and_anonymous_401_on_admin_routes_and_nothing_is_written(api, shop):
    before = count_items()
    body = {"name": "X", "brand_id": shop["huawei"], "category_id": shop["phones"], "variants": [variant("X1", 1)]}
    assert api("POST", "/admin/products", body, user=SHOPPER).status == 403
    assert api("POST", "/admin/products", body).status == 401
    assert api("POST", "/admin/brands", {"name": "Nope"}, user=SHOPPER).status == 403
    assert api("POST", "/admin/categories", {"name": "Nope"}).status == 401
    assert count_items() == before


@pytest.mark.parametrize(
    ("mutate", "status"),
    [
        (lambda b: b.update(unknown_field=1), 422),
        (lambda b: b["variants"][0]["price"].update(amount=-5), 422),
        (lambda b: b["variants"][0]["price"].update(amount=19.99), 422),
        (lambda b: b["variants"][0].update(sku=""), 422),
        (lambda b: b.update(name=12), 422),
        (lambda b: b.update(category_id="cat_missing"), 422),
        (lambda b: b.update(brand_id="brd_missing"), 422),
        (lambda b: b.update(version=7, product_id="mine"), 422),
    ],
)
def test_bad_product_bodies_are_refused_and_nothing_is_written(api, shop, mutate, status):
    body = {
        "name": "Bad",
        "brand_id": shop["huawei"],
        "category_id": shop["phones"],
        "variants": [variant("BAD-1", 100)],
    }
    mutate(body)
    before = count_items()
    r = api("POST", "/admin/products", body, user=ADMIN)
    assert r.status == status, r.body
    assert r.body["error"]["code"] and r.body["error"]["message"]
    assert count_items() == before


def test_malformed_json_is_400_and_a_huge_body_is_413(api):
    r = api("POST", "/admin/products", raw_body='{"name": ', user=ADMIN)
    assert (r.status, r.body["error"]["code"]) == (400, "MALFORMED_REQUEST")
    r = api("POST", "/admin/products", raw_body=json.dumps({"name": "x" * (10 * 1024 * 1024)}), user=ADMIN)
    assert (r.status, r.body["error"]["code"]) == (413, "PAYLOAD_TOO_LARGE")


def test_update_with_the_current_version_succeeds_and_a_stale_one_is_409(api, shop, new_product):
    product = new_product()
    body = {k: product[k] for k in ("name", "description", "brand_id", "category_id", "status", "variants")}
    first = api(
        "PUT", f"/admin/products/{product['product_id']}", {**body, "name": "New name", "version": 1}, user=ADMIN
    )
    assert (first.status, first.body["version"]) == (200, 2)
    stale = api("PUT", f"/admin/products/{product['product_id']}", {**body, "name": "Lost", "version": 1}, user=ADMIN)
    assert (stale.status, stale.body["error"]["code"]) == (409, "VERSION_CONFLICT")
    assert api("GET", f"/products/{product['product_id']}").body["name"] == "New name"


def test_changing_category_moves_the_product_between_listings(api, shop, new_product):
    product = new_product()
    body = {k: product[k] for k in ("name", "description", "brand_id", "status", "variants")}
    moved = api(
        "PUT",
        f"/admin/products/{product['product_id']}",
        {**body, "category_id": shop["audio"], "version": 1},
        user=ADMIN,
    )
    assert moved.status == 200
    assert api("GET", "/products", query={"category": shop["phones"]}).body["items"] == []
    audio = api("GET", "/products", query={"category": shop["audio"]}).body["items"]
    assert [i["product_id"] for i in audio] == [product["product_id"]]
    assert len(api("GET", "/products", query={"category": shop["electronics"]}).body["items"]) == 1


def test_archiving_hides_the_product_everywhere(api, shop, new_product):
    product = new_product()
    r = api("DELETE", f"/admin/products/{product['product_id']}", user=ADMIN)
    assert (r.status, r.body["status"]) == (200, "archived")
    assert api("GET", f"/products/{product['product_id']}").status == 404
    for query in ({}, {"category": shop["electronics"]}, {"brand": shop["huawei"]}):
        assert api("GET", "/products", query=query).body["items"] == []
    assert api("GET", f"/admin/products/{product['product_id']}", user=ADMIN).body["status"] == "archived"
    assert api("DELETE", f"/admin/products/{product['product_id']}", user=ADMIN).status == 200


def test_unknown_and_archived_ids_are_404_with_a_json_body(api):
    r = api("GET", "/products/prd_does_not_exist")
    assert (r.status, r.body["error"]["code"]) == (404, "PRODUCT_NOT_FOUND")
    assert api("PUT", "/admin/products/prd_nope", {"x": 1}, user=ADMIN).status == 422
    assert api("DELETE", "/admin/products/prd_nope", user=ADMIN).status == 404


@pytest.mark.parametrize(
    ("query", "status"),
    [
        ({"limit": 0}, 422),
        ({"limit": 1000}, 422),
        ({"limit": "ten"}, 422),
        ({"min_price": -1}, 422),
        ({"min_price": 1.5}, 422),
        ({"min_price": 500, "max_price": 100}, 422),
        ({"sort": "random"}, 422),
        ({"cursor": "forged.cursor"}, 400),
        ({"category": "cat_unknown"}, 404),
        ({"brand": "brd_unknown"}, 404),
        ({"facets": "colour"}, 422),
        ({"q": "x" * 201}, 422),
    ],
)
def test_bad_listing_parameters_get_the_documented_4xx(api, query, status):
    r = api("GET", "/products", query=query)
    assert r.status == status, r.body
    assert "error" in r.body


def test_listing_pages_through_everything_sorted_by_price(api, shop, new_product):
    prices = [300, 100, 500, 200, 400]
    for i, p in enumerate(prices):
        new_product(name=f"Item {i}", variants=[variant(f"ITEM-{i}", p)])
    seen, cursor = [], None
    while True:
        query = {"sort": "price_asc", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = api("GET", "/products", query=query).body
        seen += [i["price"]["amount"] for i in page["items"]]
        cursor = page["next_cursor"]
        if not cursor:
            break
    assert seen == sorted(prices)
    # a cursor cannot be replayed against another query
    first = api("GET", "/products", query={"sort": "price_asc", "limit": 2}).body["next_cursor"]
    assert api("GET", "/products", query={"sort": "newest", "limit": 2, "cursor": first}).status == 400


def test_price_range_with_newest_sort_and_with_price_sort_agree(api, shop, new_product):
    for i, p in enumerate([100, 250, 400, 900]):
        new_product(name=f"Item {i}", variants=[variant(f"RANGE-{i}", p)])
    by_newest = api("GET", "/products", query={"min_price": 200, "max_price": 500}).body["items"]
    by_price = api("GET", "/products", query={"min_price": 200, "max_price": 500, "sort": "price_desc"}).body["items"]
    assert sorted(i["price"]["amount"] for i in by_newest) == [250, 400]
    assert [i["price"]["amount"] for i in by_price] == [400, 250]


def test_categories_come_back_as_a_tree_and_brands_by_name(api, shop):
    tree = api("GET", "/categories").body["items"]
    assert [n["name"] for n in tree] == ["电子 Electronics"]
    assert sorted(c["name"] for c in tree[0]["children"]) == ["手机 Phones", "音频 Audio"]
    assert [b["name"] for b in api("GET", "/brands").body["items"]] == ["Sony", "华为 Huawei"]


def test_duplicate_brand_is_409_and_unknown_parent_is_422(api, shop):
    assert api("POST", "/admin/brands", {"name": "sony"}, user=ADMIN).status == 409
    assert api("POST", "/admin/categories", {"name": "X", "parent_id": "cat_nope"}, user=ADMIN).status == 422


def test_image_upload_returns_a_presigned_post_that_s3_accepts(api, shop, new_product):
    product = new_product()
    r = api(
        "POST",
        f"/admin/products/{product['product_id']}/images",
        {"content_type": "image/png", "alt": "front"},
        user=ADMIN,
    )
    assert r.status == 201, r.body
    upload = r.body["upload"]
    assert upload["fields"]["Content-Type"] == "image/png" and upload["max_bytes"] == 10 * 1024 * 1024
    key = upload["fields"]["key"]
    boto3.client("s3").put_object(Bucket="shop-test-images", Key=key, Body=b"\x89PNG")
    after = api("GET", f"/products/{product['product_id']}").body
    assert after["images"][0]["image_id"] == r.body["image"]["image_id"] and after["version"] == 2
    bad = api("POST", f"/admin/products/{product['product_id']}/images", {"content_type": "text/html"}, user=ADMIN)
    assert bad.status == 422


def _stream_records(created):
    # In-process moto matches only the classic streams hostname; newer botocore picks another one by default.
    streams = boto3.client("dynamodbstreams", endpoint_url="https://streams.dynamodb.us-east-1.amazonaws.com")
    arn = created.stream_arns["catalog"]
    records = []
    for shard in streams.describe_stream(StreamArn=arn)["StreamDescription"]["Shards"]:
        it = streams.get_shard_iterator(StreamArn=arn, ShardId=shard["ShardId"], ShardIteratorType="TRIM_HORIZON")
        records += streams.get_records(ShardIterator=it["ShardIterator"])["Records"]
    return records


def test_product_changes_reach_the_bus_through_the_outbox_relay(api, aws, shop, new_product, event_spy):
    product = new_product()
    api("DELETE", f"/admin/products/{product['product_id']}", user=ADMIN)
    records = [dict(r, eventSourceARN=aws.stream_arns["catalog"]) for r in _stream_records(aws)]
    outbox = [r for r in records if r["dynamodb"]["Keys"]["pk"]["S"].startswith("OUTBOX#")]
    assert len(outbox) == 2  # one per change, written in the same transaction as the change

    result = relay.handler({"Records": records}, LambdaContext("CatalogOutboxRelay"))
    assert result == {"batchItemFailures": []}
    published = [e for e in event_spy() if e["source"] == "shop.catalog"]  # not the calls' audit records
    assert sorted(e["detail-type"] for e in published) == ["ProductArchived", "ProductCreated"]
    archived = next(e for e in published if e["detail-type"] == "ProductArchived")
    assert archived["detail"]["product"]["product_id"] == product["product_id"]
    assert archived["detail"]["product"]["version"] == 2


def test_responses_are_utf8_json_not_ascii_escapes(api, shop):
    from functions.catalog.handlers import list_brands
    from functions.manifest import PLATFORM
    from local.apigw import LambdaContext, build_event, compile_routes, match

    route, params, _ = match(compile_routes(PLATFORM.routes), "GET", "/brands")
    response = list_brands.handler(build_event(route, "/brands", params), LambdaContext("ListBrands"))
    assert "华为 Huawei" in response["body"]


@pytest.mark.parametrize("content_type", ["text/plain", "application/x-www-form-urlencoded", "multipart/form-data"])
def test_a_body_that_is_not_json_is_415_and_never_echoed(api, content_type):
    r = api("POST", "/admin/brands", raw_body="name=secret-value", user=ADMIN, headers={"Content-Type": content_type})
    assert (r.status, r.body["error"]["code"]) == (415, "UNSUPPORTED_MEDIA_TYPE")
    assert "secret-value" not in json.dumps(r.body)


@pytest.mark.parametrize("content_type", ["Application/JSON", "application/json; charset=UTF-8"])
def test_json_media_types_are_case_insensitive(api, content_type):
    r = api("POST", "/admin/brands", {"name": "Case Brand"}, user=ADMIN, headers={"Content-Type": content_type})
    assert r.status == 201, r.body


def test_the_body_limit_counts_bytes_not_characters(api):
    # 100,000 three-byte characters: 300 KB, over the 256 KB limit though under it in characters.
    r = api("POST", "/admin/brands", raw_body=json.dumps({"name": "好" * 100_000}, ensure_ascii=False), user=ADMIN)
    assert r.status == 413


def test_replacing_all_fifty_skus_of_a_product_works(api, shop, new_product):
    fifty = [variant(f"BIGA-{i}", 100 + i, options={"n": str(i)}) for i in range(50)]
    product = new_product(variants=fifty)
    replaced = [variant(f"BIGB-{i}", 100 + i, options={"n": str(i)}) for i in range(50)]
    body = {k: product[k] for k in ("name", "description", "brand_id", "category_id", "status")}
    r = api("PUT", f"/admin/products/{product['product_id']}", {**body, "variants": replaced, "version": 1}, user=ADMIN)
    assert (r.status, len(r.body["variants"])) == (200, 50)
    # the dropped SKUs stay with this product: nobody else can take one
    other = {**body, "variants": [variant("BIGA-0", 100)]}
    assert api("POST", "/admin/products", other, user=ADMIN).body["error"]["code"] == "SKU_TAKEN"


def test_a_put_without_status_is_refused_instead_of_unpublishing(api, shop, new_product):
    product = new_product()
    body = {k: product[k] for k in ("name", "description", "brand_id", "category_id", "variants")}
    r = api("PUT", f"/admin/products/{product['product_id']}", {**body, "version": 1}, user=ADMIN)
    assert r.status == 422
    assert api("GET", f"/products/{product['product_id']}").status == 200
