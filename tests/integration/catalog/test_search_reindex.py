"""POST /admin/search/reindex rebuilding the search index from the catalogue table, driven the way AWS drives it:
the route's outbox event -> stream -> relay -> bus -> the SearchReindexer's queue -> SQS batch -> the next page's
outbox event, and so on until the job is done."""

import boto3
import pytest

from functions.catalog.handlers import search_reindexer
from functions.catalog.search import reindex
from local.apigw import LambdaContext
from tests.conftest import ADMIN, CATALOG_STAFF, SHOPPER
from tests.integration.catalog.conftest import variant
from tests.integration.catalog.test_search_api import Pipeline, consume, found, sqs_record

PRODUCTS = 25
SMALL = 6


class Chain(Pipeline):
    """The search pipeline, plus the reindexer's queue."""

    def reindex_records(self):
        self.relay()
        url = self.created.queue_urls["SearchReindexer"]
        records = []
        while messages := self.sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
            for m in messages:
                records.append(sqs_record(m["Body"], m["MessageId"]))
                self.sqs.delete_message(QueueUrl=url, ReceiptHandle=m["ReceiptHandle"])
        return records

    def run_reindex(self):
        """Deliver page events to the reindexer until no next page is requested; return every record delivered."""
        delivered = []
        while records := self.reindex_records():
            assert reindex_pages(records) == {"batchItemFailures": []}
            delivered += records
        return delivered


def reindex_pages(records):
    return search_reindexer.handler({"Records": records}, LambdaContext("SearchReindexer"))


@pytest.fixture
def chain(aws):
    return Chain(aws)


@pytest.fixture
def small_pages(monkeypatch):
    # The catalogue table holds ~8 items per product (listing rows, SKU guards, outbox): 10 items a page spreads
    # even a few products over several pages.
    monkeypatch.setattr(reindex, "PAGE_SIZE", 10)


@pytest.fixture
def make_catalogue(new_product, chain):
    def make(count):
        """``count`` active products and a draft, created through the admin API; the search index has never seen
        them (as a new, empty index table after a layout change)."""
        made = [new_product(name=f"蓝牙音箱 {i:02d} Speaker", category="audio") for i in range(count)]
        made.append(new_product(name="草稿音箱 Draft", status="draft"))
        chain.relay()  # the ProductCreated events wait in the indexer's queue, unconsumed
        return made

    return make


@pytest.fixture
def catalogue(make_catalogue):
    """Enough products for several pages; moto's per-call cost keeps it small where 25 adds nothing."""
    return make_catalogue(SMALL)


def job_of(api, job_id, user=ADMIN):
    r = api("GET", f"/admin/search/reindex/{job_id}", user=user)
    assert r.status == 200, r.body
    return r.body


def start(api, user=ADMIN):
    r = api("POST", "/admin/search/reindex", user=user)
    assert r.status == 202, r.body
    return r.body


def test_a_reindex_rebuilds_an_empty_index_page_by_page(api, make_catalogue, chain, small_pages):
    make_catalogue(PRODUCTS)
    assert found(api, q="音箱") == []
    job = start(api)
    assert (job["status"], job["pages"], job["products"], job["started_by"]) == ("running", 0, 0, ADMIN.sub)
    delivered = chain.run_reindex()
    done = job_of(api, job["job_id"])
    assert len(delivered) == done["pages"] > 1
    assert (done["status"], done["products"], done["applied"], done["unchanged"]) == (
        "done",
        PRODUCTS + 1,
        PRODUCTS + 1,
        0,
    )
    assert done["finished_at"] is not None
    r = api("GET", "/products", query={"q": "音箱", "limit": 100})
    assert r.body["total"] == PRODUCTS  # the draft was read, and kept out of the index
    assert found(api, q="speaker 07") == ["蓝牙音箱 07 Speaker"]
    suggestions = api("GET", "/products/suggest", query={"q": "蓝牙"}).body["items"]
    assert {"text": "蓝牙音箱 07 Speaker", "kind": "product", "count": 1} in suggestions


def test_a_reindex_over_an_up_to_date_index_changes_nothing(api, catalogue, chain, small_pages):
    chain()  # the indexer consumes the ProductCreated events first
    job = start(api)
    chain.run_reindex()
    done = job_of(api, job["job_id"])
    assert (done["status"], done["products"], done["applied"], done["unchanged"]) == ("done", SMALL + 1, 0, SMALL + 1)
    assert len(found(api, q="音箱", limit=100)) == SMALL


def test_a_product_updated_during_the_reindex_keeps_its_newer_version(
    api, shop, catalogue, chain, small_pages, monkeypatch
):
    target = catalogue[3]
    body = {k: target[k] for k in ("description", "brand_id", "category_id", "status")}
    body.update(name="降噪耳机 Noise Cancelling Earbuds", variants=[variant("EARBUDS-1", 99900)], version=1)
    scan = reindex.ReindexJobs.scan_page

    def scan_then_edit(self, start_key, limit):
        products, next_key = scan(self, start_key, limit)
        if any(p.product_id == target["product_id"] for p in products):
            # The page holds version 1; before the job applies it, the product is edited and the live event
            # indexes version 2.
            assert api("PUT", f"/admin/products/{target['product_id']}", body, user=CATALOG_STAFF).status == 200
            chain()
        return products, next_key

    monkeypatch.setattr(reindex.ReindexJobs, "scan_page", scan_then_edit)
    job = start(api)
    chain.run_reindex()
    assert job_of(api, job["job_id"])["status"] == "done"
    assert found(api, q="耳机") == ["降噪耳机 Noise Cancelling Earbuds"]
    assert found(api, q="音箱 03") == []
    assert len(found(api, q="音箱", limit=100)) == SMALL - 1


def test_a_redelivered_page_is_not_counted_twice_and_does_not_fork_the_job(api, catalogue, chain, small_pages):
    job = start(api)
    (first,) = chain.reindex_records()
    assert reindex_pages([first]) == {"batchItemFailures": []}
    after_one = job_of(api, job["job_id"])
    assert after_one["pages"] == 1
    (second,) = chain.reindex_records()  # page 1 was requested, once
    assert reindex_pages([first]) == {"batchItemFailures": []}  # SQS delivers page 0 again
    assert job_of(api, job["job_id"]) == after_one
    assert chain.reindex_records() == []  # ... and no second page 1 was requested
    assert reindex_pages([second, second]) == {"batchItemFailures": []}  # a duplicate inside one batch
    assert job_of(api, job["job_id"])["pages"] == 2
    chain.run_reindex()
    done = job_of(api, job["job_id"])
    assert (done["status"], done["products"]) == ("done", SMALL + 1)
    assert chain.reindex_records() == []
    assert reindex_pages([first, second]) == {"batchItemFailures": []}  # late redeliveries after the job finished
    assert job_of(api, job["job_id"]) == done


def test_a_page_blocked_by_a_live_event_is_retried_and_completes_the_job(api, catalogue, chain, small_pages):
    ddb, table = boto3.client("dynamodb"), "shop-test-search"
    # Every product is locked, as if live events were indexing them: the first page holding one fails, and SQS
    # retries it later.
    keys = [{"pk": {"S": f"D#{p['product_id']}"}, "sk": {"S": "DOC"}} for p in catalogue]
    for key in keys:
        ddb.put_item(TableName=table, Item={**key, "lk": {"S": "live"}, "lu": {"N": "99999999999"}})
    job = start(api)
    failed = None
    while failed is None and (records := chain.reindex_records()):
        (record,) = records
        if reindex_pages(records)["batchItemFailures"] == [{"itemIdentifier": record["messageId"]}]:
            failed = record
    assert failed is not None
    stalled = job_of(api, job["job_id"])
    assert stalled["status"] == "running"
    assert chain.reindex_records() == []  # the chain waits for the retry
    for key in keys:
        ddb.delete_item(TableName=table, Key=key)
    assert reindex_pages([failed]) == {"batchItemFailures": []}
    chain.run_reindex()
    done = job_of(api, job["job_id"])
    assert (done["status"], done["products"]) == ("done", SMALL + 1)
    assert len(found(api, q="音箱", limit=100)) == SMALL


def test_only_catalogue_staff_and_admins_may_reindex(api, chain):
    assert api("POST", "/admin/search/reindex").status == 401
    assert api("POST", "/admin/search/reindex", user=SHOPPER).status == 403
    job = start(api, user=CATALOG_STAFF)
    assert job["started_by"] == CATALOG_STAFF.sub
    assert api("GET", f"/admin/search/reindex/{job['job_id']}").status == 401
    assert api("GET", f"/admin/search/reindex/{job['job_id']}", user=SHOPPER).status == 403
    assert job_of(api, job["job_id"], user=CATALOG_STAFF)["status"] == "running"


def test_an_unknown_job_is_not_found(api):
    r = api("GET", "/admin/search/reindex/rix_nope", user=ADMIN)
    assert (r.status, r.body["error"]["code"]) == (404, "REINDEX_JOB_NOT_FOUND")


def test_a_reindex_of_an_empty_catalogue_finishes(api, chain):
    job = start(api)
    chain.run_reindex()
    done = job_of(api, job["job_id"])
    assert (done["status"], done["products"], done["applied"]) == ("done", 0, 0)


def test_the_reindexer_refuses_other_events(api, catalogue, chain):
    (created, *_) = chain.receive()
    assert reindex_pages([created]) == {"batchItemFailures": [{"itemIdentifier": created["messageId"]}]}
    assert consume([created]) == {"batchItemFailures": []}
