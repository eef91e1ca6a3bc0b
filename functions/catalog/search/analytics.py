"""The catalogue's activity feed, consumer side: turn the search and product handlers' log lines
(functions.catalog.search.feed), delivered by a CloudWatch Logs subscription, into search-log items and domain
events (decoding, counting and publishing: functions.shared.forwarding).

Items in the ``search`` table (next to the index, whose keys are in functions.catalog.search.dynamo):

==================  =====================  =========================================================================
item                pk                     sk / attributes
==================  =====================  =========================================================================
search log          ``QLOG#<yyyy-mm-dd>``  ``<search_id>`` (time-sortable, so a day reads in time order); ``q``,
                                           ``filters`` (JSON), ``results``, ``exact``, ``searched_at``, ``viewed``
                                           (bool), ``viewed_products`` (string set), ``expires_at`` (TTL)
zero-result query   ``ZERO#<yyyy-mm-dd>``  ``<normalised q>``; ``q`` (as first typed), ``n`` searches that day,
                                           ``expires_at`` (TTL)
==================  =====================  =========================================================================

The day is the search's own (decoded from its id), for the view too, so a view after midnight finds its search.
Items expire after ``RETENTION_DAYS``; the analytics context is meant to keep what it needs from the events.

**Idempotency** (a log batch can be delivered again after a failed invocation): the search write is conditional on
the search-log item not having ``q`` yet, and a zero-result search writes it and increments ``n`` in one transaction,
so a replay changes nothing and ``n`` counts each search once. A view is an upsert that commutes with the search
write (it sets ``viewed`` and adds the product to a set; the search write keeps ``viewed`` with ``if_not_exists``):
whichever arrives first, the item ends up the same, so no ordering is needed within or across batches. A view
whose search id is in the future or older than ``VIEW_WINDOW`` (relative to the view) is dropped: ``search_id`` is
client input, and this bounds what a forged one can write.

**Events** (``SearchPerformed``, ``SearchResultViewed``) are published for every line, replays included, with
PutEvents ten at a time: at least once, de-duplicated downstream on their ``event_id`` (the search id, or search id
and product id). Product page views (``product_view`` lines) are not stored: they are counted per product and UTC
hour of the delivery, one ``ProductViewsCounted`` each, whose ``event_id`` is a digest of the lines counted (so a
replay has the same ids); ``from_search`` counts the views whose search id passes the same check as a view of a
search above. If any write or publish fails, the invocation fails and Lambda retries the whole batch.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from botocore.exceptions import ClientError

from functions.catalog.events import ProductViewsCounted, SearchFilters, SearchPerformed, SearchResultViewed
from functions.catalog.search.feed import FEED_KEYS, SEARCH_KEY, VIEW_KEY
from functions.catalog.search.text import normalise
from functions.shared.events import DomainEvent
from functions.shared.forwarding import (
    FeedLine,
    ProductActivity,
    count_by_product_hour,
    feed_lines,
    parse_each,
    parse_time,
    publish,
)
from functions.shared.ids import is_id
from functions.shared.logs import shop_logger

logger = shop_logger()

RETENTION_DAYS = 90
VIEW_WINDOW = timedelta(days=1)
_CLOCK_SKEW = timedelta(minutes=5)
_ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ"
VIEWS_ID_PREFIX = "pvc"  # ProductViewsCounted event ids


def id_time(search_id: str) -> datetime:
    """The time a time-sortable id was made (its first ten characters are 48 bits of milliseconds)."""
    ms = 0
    for char in search_id[:10]:
        ms = ms * 32 + _ALPHABET.index(char)
    return datetime.fromtimestamp(ms / 1000, UTC)


def query_key(q: str) -> str:
    """How zero-result queries are grouped: Unicode-normalised, case-folded, single-spaced."""
    return " ".join(normalise(q).split())


@dataclass(frozen=True)
class Search:
    search_id: str
    q: str
    filters: SearchFilters
    results: int
    exact: bool
    at: datetime


@dataclass(frozen=True)
class View:
    search_id: str
    product_id: str
    at: datetime


@dataclass(frozen=True)
class ProductView:
    log_id: str  # of the log event, which the count's event id is derived from
    product_id: str
    search_id: str | None
    at: datetime


Record = Search | View | ProductView


def _search_id(raw: Any) -> str:
    if not is_id(str(raw)):
        raise ValueError("bad search_id")
    return str(raw)


def parse(line: FeedLine) -> Record:
    """The feed record of one line; raises KeyError, TypeError or ValueError for a malformed one."""
    r = line.record
    if line.key == SEARCH_KEY:
        return Search(
            search_id=_search_id(r["search_id"]),
            q=str(r.get("q") or ""),
            filters=SearchFilters.model_validate(r.get("filters") or {}),
            results=int(r["results"]),
            exact=bool(r.get("exact", True)),
            at=parse_time(r["at"]),
        )
    if line.key == VIEW_KEY:
        return View(search_id=_search_id(r["search_id"]), product_id=str(r["product_id"]), at=parse_time(r["at"]))
    search_id = r.get("search_id")
    return ProductView(
        log_id=line.log_id,
        product_id=str(r["product_id"]),
        search_id=None if search_id is None else _search_id(search_id),
        at=parse_time(r["at"]),
    )


def decode(event: dict[str, Any]) -> list[Record]:
    """The feed records of one CloudWatch Logs subscription event, in log order (malformed lines skipped, loudly)."""
    return parse_each(feed_lines(event, FEED_KEYS), parse)


def to_event(record: Search | View) -> DomainEvent:
    if isinstance(record, Search):
        return SearchPerformed(
            event_id=record.search_id,
            search_id=record.search_id,
            q=record.q,
            filters=record.filters,
            results=record.results,
            exact=record.exact,
            searched_at=record.at,
        )
    return SearchResultViewed(
        event_id=f"{record.search_id}-{record.product_id}",
        search_id=record.search_id,
        product_id=record.product_id,
        viewed_at=record.at,
    )


def view_counts(views: list[ProductView]) -> list[ProductViewsCounted]:
    """One event per product and UTC hour of ``views`` (one delivery's)."""
    activities = (
        ProductActivity(
            v.log_id,
            v.product_id,
            v.at,
            amount=int(v.search_id is not None and plausible(View(v.search_id, v.product_id, v.at))),
        )
        for v in views
    )
    return [
        ProductViewsCounted(
            event_id=c.event_id, product_id=c.product_id, hour=c.hour, views=c.facts, from_search=c.amount
        )
        for c in count_by_product_hour(activities, VIEWS_ID_PREFIX)
    ]


def plausible(v: View) -> bool:
    """Whether the view's search id could have been issued by a search shortly before it."""
    searched = id_time(v.search_id)
    return not (searched > v.at + _CLOCK_SKEW or v.at - searched > VIEW_WINDOW)


def _day(value: datetime | date) -> str:
    return value.strftime("%Y-%m-%d")


class SearchLog:
    """The search-log and zero-result items of the ``search`` table."""

    def __init__(self, dynamodb: Any, table: str) -> None:
        self._ddb = dynamodb
        self._table = table

    def _expires(self) -> str:
        return str(int(time.time()) + RETENTION_DAYS * 86400)

    def record_search(self, s: Search) -> bool:
        """Store a search (and count it if it found nothing); False if it was already stored (a replay)."""
        day = _day(id_time(s.search_id))
        log_update: dict[str, Any] = {
            "TableName": self._table,
            "Key": {"pk": {"S": f"QLOG#{day}"}, "sk": {"S": s.search_id}},
            "UpdateExpression": "SET q = :q, filters = :f, results = :n, exact = :e, searched_at = :at, "
            "expires_at = :ttl, viewed = if_not_exists(viewed, :no)",
            "ConditionExpression": "attribute_not_exists(q)",
            "ExpressionAttributeValues": {
                ":q": {"S": s.q},
                ":f": {"S": s.filters.model_dump_json(exclude_defaults=True)},
                ":n": {"N": str(s.results)},
                ":e": {"BOOL": s.exact},
                ":at": {"S": s.at.isoformat()},
                ":ttl": {"N": self._expires()},
                ":no": {"BOOL": False},
            },
        }
        key = query_key(s.q)
        try:
            if s.results > 0 or not key:
                self._ddb.update_item(**log_update)
                return True
            zero_update = {
                "TableName": self._table,
                "Key": {"pk": {"S": f"ZERO#{day}"}, "sk": {"S": key}},
                "UpdateExpression": "SET q = if_not_exists(q, :q), expires_at = :ttl ADD n :one",
                "ExpressionAttributeValues": {
                    ":q": {"S": s.q},
                    ":ttl": {"N": self._expires()},
                    ":one": {"N": "1"},
                },
            }
            self._ddb.transact_write_items(TransactItems=[{"Update": log_update}, {"Update": zero_update}])
            return True
        except ClientError as exc:
            code = exc.response.get("Error", {}).get("Code")
            if code == "ConditionalCheckFailedException":
                return False
            if code == "TransactionCanceledException":
                reasons = exc.response.get("CancellationReasons") or []
                if reasons and reasons[0].get("Code") == "ConditionalCheckFailed":
                    return False
            raise

    def record_view(self, v: View) -> bool:
        """Mark the search as having led to a view; False if the search id cannot be one this shop issued."""
        if not plausible(v):
            logger.info("view of an unknown search dropped", extra={"search_id": v.search_id})
            return False
        self._ddb.update_item(
            TableName=self._table,
            Key={"pk": {"S": f"QLOG#{_day(id_time(v.search_id))}"}, "sk": {"S": v.search_id}},
            UpdateExpression="SET viewed = :yes, first_viewed_at = if_not_exists(first_viewed_at, :at), "
            "expires_at = if_not_exists(expires_at, :ttl) ADD viewed_products :p",
            ExpressionAttributeValues={
                ":yes": {"BOOL": True},
                ":at": {"S": v.at.isoformat()},
                ":ttl": {"N": self._expires()},
                ":p": {"SS": [v.product_id]},
            },
        )
        return True

    def zero_results(self, day: date) -> list[tuple[str, int]]:
        """The day's zero-result queries with their search counts, most searched first (one Query, paged)."""
        found: list[tuple[str, int]] = []
        request: dict[str, Any] = {
            "TableName": self._table,
            "KeyConditionExpression": "pk = :pk",
            "ExpressionAttributeValues": {":pk": {"S": f"ZERO#{_day(day)}"}},
            "ProjectionExpression": "q, n",
        }
        while True:
            page = self._ddb.query(**request)
            found.extend((i["q"]["S"], int(i["n"]["N"])) for i in page.get("Items", []))
            if "LastEvaluatedKey" not in page:
                break
            request["ExclusiveStartKey"] = page["LastEvaluatedKey"]
        return sorted(found, key=lambda item: (-item[1], item[0]))


EMPTY_OUTCOME = {"searches": 0, "replayed": 0, "views": 0, "dropped_views": 0, "product_views": 0}


def forward(records: list[Record], log: SearchLog, events_client: Any, bus: str) -> dict[str, int]:
    """Store the searches and search views, publish their events and the product views' counts. ``product_views``
    is the number of product page views counted (in however many ProductViewsCounted)."""
    stored = replayed = views = dropped = 0
    published: list[DomainEvent] = []
    product_views: list[ProductView] = []
    for record in records:
        if isinstance(record, ProductView):
            product_views.append(record)
            continue
        if isinstance(record, Search):
            if log.record_search(record):
                stored += 1
            else:
                replayed += 1
        elif log.record_view(record):
            views += 1
        else:
            dropped += 1
            continue
        published.append(to_event(record))
    publish(events_client, bus, [*published, *view_counts(product_views)])
    return {
        "searches": stored,
        "replayed": replayed,
        "views": views,
        "dropped_views": dropped,
        "product_views": len(product_views),
    }
