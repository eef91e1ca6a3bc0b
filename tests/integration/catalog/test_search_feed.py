"""The catalogue's activity feed through the real handlers against moto: the search and product handlers write their
feed lines to the log, the lines travel as a CloudWatch Logs subscription event (built as the local platform builds
it), and the SearchLogForwarder stores them, counts zero-result queries and product views, and publishes the
events."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest

from functions.catalog.handlers import search_log_forwarder
from functions.catalog.manifest import MANIFEST
from functions.catalog.search import feed as feed_module
from functions.shared.ids import new_id
from local.apigw import LambdaContext
from local.logs import Captured, captured, subscription_event
from tests.conftest import ADMIN, SHOPPER, User
from tests.integration.catalog.test_search_api import Pipeline

FORWARDER = next(s for s in MANIFEST.log_subscriptions if s.name == "SearchLogForwarder")
ANALYST = User("55555555-5555-4555-8555-555555555555", "analyst@example.com", ("customer", "analyst"))


class Feed:
    """Collects the feed lines the handlers write (to the feed logger's stream, as Lambda collects stdout) and
    delivers them to the forwarder as CloudWatch Logs would."""

    def __init__(self, written: Captured) -> None:
        self.written = written
        self.events: list[dict[str, Any]] = []

    def lines(self) -> list[str]:
        return self.written.take(FORWARDER.keys)

    def event(self, lines: list[str]) -> dict[str, Any]:
        now = int(datetime.now(UTC).timestamp() * 1000)
        # Log event ids unique across this test's deliveries, as CloudWatch Logs' are.
        first = len(self.events) * 1000
        return subscription_event(
            FORWARDER, "ListProducts", [(now, line) for line in lines], "2025/01/01/[$LATEST]x", first
        )

    def deliver(self, lines: list[str] | None = None) -> dict[str, int]:
        event = self.event(self.lines() if lines is None else lines)
        self.events.append(event)
        return self.redeliver()

    def redeliver(self) -> dict[str, int]:
        """The last delivery again, as Lambda retries an asynchronous invocation with the same payload."""
        result: dict[str, int] = search_log_forwarder.handler(self.events[-1], LambdaContext("SearchLogForwarder"))
        return result


def _keys(line: str) -> list[str]:
    return [key for key in FORWARDER.keys if key in json.loads(line)]


@pytest.fixture
def feed() -> Iterator[Feed]:
    with captured(feed_module._feed) as written:
        yield Feed(written)


def _items(aws: Any, prefix: str) -> list[dict[str, Any]]:
    table = aws.env["SEARCH_TABLE_NAME"]
    items = boto3.client("dynamodb").scan(TableName=table)["Items"]  # a test may scan; the feed never does
    return [i for i in items if i["pk"]["S"].startswith(prefix)]


@pytest.fixture
def phone(shop: Any, new_product: Any, aws: Any) -> dict[str, Any]:
    product: dict[str, Any] = new_product(name="华为智能手机 P60")
    Pipeline(aws)()
    return product


def test_searches_and_a_view_end_up_in_the_search_log_and_on_the_bus(api, aws, phone, feed, event_spy) -> None:
    hit = api("GET", "/products", query={"q": "手机"})
    miss = api("GET", "/products", query={"q": "  Unicorn  Phone "})
    assert hit.status == 200 and miss.status == 200
    assert hit.body["total"] == 1 and miss.body["total"] == 0
    viewed = api("GET", f"/products/{phone['product_id']}", query={"search_id": hit.body["search_id"]})
    assert viewed.status == 200

    assert feed.deliver() == {"searches": 2, "replayed": 0, "views": 1, "dropped_views": 0, "product_views": 1}

    logs = {i["sk"]["S"]: i for i in _items(aws, "QLOG#")}
    assert logs[hit.body["search_id"]]["viewed"] == {"BOOL": True}
    assert logs[hit.body["search_id"]]["viewed_products"] == {"SS": [phone["product_id"]]}
    assert logs[hit.body["search_id"]]["results"] == {"N": "1"}
    assert logs[miss.body["search_id"]]["viewed"] == {"BOOL": False}
    assert logs[miss.body["search_id"]]["q"] == {"S": "Unicorn  Phone"}
    assert all("expires_at" in i for i in logs.values())

    drained = [e for e in event_spy() if e["source"] == "shop.catalog"]
    published = {(e["detail-type"], e["detail"].get("search_id")) for e in drained}
    assert ("SearchPerformed", hit.body["search_id"]) in published
    assert ("SearchPerformed", miss.body["search_id"]) in published
    assert ("SearchResultViewed", hit.body["search_id"]) in published
    (counted,) = [e["detail"] for e in drained if e["detail-type"] == "ProductViewsCounted"]
    assert (counted["product_id"], counted["views"], counted["from_search"]) == (phone["product_id"], 1, 1)


def test_zero_result_queries_are_counted_once_each_even_when_a_batch_is_delivered_again(api, aws, feed) -> None:
    for q in ("独角兽", "Unicorn", "unicorn"):
        assert api("GET", "/products", query={"q": q}).body["total"] == 0
    lines = feed.lines()
    assert len(lines) == 3
    assert feed.deliver(lines)["searches"] == 3
    assert feed.deliver(lines) == {"searches": 0, "replayed": 3, "views": 0, "dropped_views": 0, "product_views": 0}

    today = datetime.now(UTC).date().isoformat()
    report = api("GET", "/admin/search/zero-results", query={"date": today}, user=ANALYST)
    assert report.status == 200, report.body
    assert report.body == {
        "date": today,
        "items": [{"q": "Unicorn", "count": 2}, {"q": "独角兽", "count": 1}],
        "total": 2,
    }
    assert api("GET", "/admin/search/zero-results", query={"date": "2001-01-01"}, user=ADMIN).body["items"] == []


def test_a_view_delivered_before_its_search_still_marks_it_viewed(api, aws, phone, feed) -> None:
    search = api("GET", "/products", query={"q": "华为"})
    search_line = feed.lines()
    api("GET", f"/products/{phone['product_id']}", query={"search_id": search.body["search_id"]})
    view_line = feed.lines()
    assert feed.deliver(view_line)["views"] == 1
    assert feed.deliver(search_line)["searches"] == 1
    (item,) = [i for i in _items(aws, "QLOG#") if i["sk"]["S"] == search.body["search_id"]]
    assert item["viewed"] == {"BOOL": True} and item["q"] == {"S": "华为"}


def test_a_view_naming_a_search_id_no_search_could_have_issued_is_dropped(aws, feed) -> None:
    stale = new_id(int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000))
    line = json.dumps({"search_view": {"search_id": stale, "product_id": "prd_x", "at": "2025-01-01T00:00:00Z"}})
    assert feed.deliver([line])["dropped_views"] == 1
    assert _items(aws, "QLOG#") == []


def test_malformed_and_foreign_lines_are_skipped(aws, feed) -> None:
    lines = ['{"search_event": {"q": "no id"}}', '{"message": "other"}', "not json"]
    assert feed.deliver(lines) == {"searches": 0, "replayed": 0, "views": 0, "dropped_views": 0, "product_views": 0}


def test_the_product_page_refuses_a_malformed_search_id_and_a_later_page_is_not_a_new_search(api, phone, feed):
    assert api("GET", f"/products/{phone['product_id']}", query={"search_id": "x' OR 1=1"}).status == 422
    assert api("GET", "/products/prd_unknown", query={"search_id": new_id()}).status == 404
    first = api("GET", "/products", query={"q": "手机", "limit": 1})
    assert first.body["search_id"]
    assert [_keys(line) for line in feed.lines()] == [["search_event"]]  # the 404 wrote no view


def test_the_zero_results_report_is_for_staff_with_a_valid_date(api, aws) -> None:
    assert api("GET", "/admin/search/zero-results", query={"date": "2025-01-01"}, user=SHOPPER).status == 403
    assert api("GET", "/admin/search/zero-results", query={"date": "2025-01-01"}).status == 401
    assert api("GET", "/admin/search/zero-results", query={"date": "yesterday"}, user=ADMIN).status == 422


def test_every_product_page_is_counted_and_a_redelivery_publishes_the_same_count(api, aws, phone, feed, event_spy):
    search = api("GET", "/products", query={"q": "手机"})
    feed.lines()
    stale = new_id(int(datetime(2020, 1, 1, tzinfo=UTC).timestamp() * 1000))
    for query in ({}, {"search_id": search.body["search_id"]}, {"search_id": stale}):
        assert api("GET", f"/products/{phone['product_id']}", query=query).status == 200
    lines = feed.lines()
    page, from_search = ["product_view"], ["search_view"]
    assert [_keys(line) for line in lines] == [page, from_search, page, from_search, page]
    assert feed.deliver(lines) == {"searches": 0, "replayed": 0, "views": 1, "dropped_views": 1, "product_views": 3}

    def counts() -> list[dict[str, Any]]:
        drained = [e["detail"] for e in event_spy() if e["detail-type"] == "ProductViewsCounted"]
        return [{k: v for k, v in d.items() if k not in ("occurred_at", "correlation_id")} for d in drained]

    first = counts()
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    assert [(c["product_id"], c["views"], c["from_search"]) for c in first] == [(phone["product_id"], 3, 1)]
    assert datetime.fromisoformat(first[0]["hour"]) in (hour, hour - timedelta(hours=1))  # a test across the hour
    assert first[0]["event_id"].startswith("pvc_")
    assert feed.redeliver()["product_views"] == 3
    assert counts() == first
