"""Events the catalogue publishes (source ``shop.catalog``). Each product event carries the product as it is after
the change and its ``version``, so a consumer can apply them idempotently and ignore one older than what it already
has. :class:`SearchReindexPageRequested` is the catalogue talking to itself: one step of a search reindex job."""

from __future__ import annotations

from datetime import datetime
from typing import ClassVar

from pydantic import BaseModel, ConfigDict, Field

from functions.catalog.model import Product
from functions.shared.events import DomainEvent


class ProductEvent(DomainEvent):
    product: Product


class ProductCreated(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"


class ProductUpdated(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"


class ProductArchived(ProductEvent):
    SOURCE: ClassVar[str] = "shop.catalog"


class ScanKey(BaseModel):
    """Where a Scan of the catalogue table resumes: DynamoDB's ``LastEvaluatedKey`` (the table key, both strings)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    pk: str = Field(max_length=1024)
    sk: str = Field(max_length=1024)


class SearchReindexPageRequested(DomainEvent):
    """Internal to the catalogue: the search reindex job ``job_id`` should process its page number ``page`` (from 0),
    scanning from ``start_key`` (None: the start of the table). Each page, once applied, requests the next one
    (functions.catalog.search.reindex).

    ``start_key`` is not signed: it only ever travels in this event, which the catalogue writes to its own outbox and
    reads from its own queue; no client can supply one. Even a forged key could only make the job resume at another
    point of the table it is allowed to read anyway.
    """

    SOURCE: ClassVar[str] = "shop.catalog"

    job_id: str = Field(max_length=64)
    start_key: ScanKey | None = None
    page: int = Field(ge=0)


# --- search analytics (issue 3) ------------------------------------------------------------------------------------
# Published by the SearchLogForwarder from the search handlers' log lines (functions.catalog.search.analytics), with
# PutEvents directly rather than through the outbox: the forwarder writes no catalogue state that the event would
# have to agree with, and a log batch that fails is delivered again, so an event may arrive twice (at least once).
# ``event_id`` is derived from the search (and product), so consumers de-duplicate on it as on any other event.


class SearchFilters(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    category: str | None = None
    brand: str | None = None
    min_price: int | None = None
    max_price: int | None = None
    sort: str | None = None
    facets: list[str] = Field(default_factory=list)


class SearchPerformed(DomainEvent):
    """A shopper ran a search (first page of a query with keywords or facets)."""

    SOURCE: ClassVar[str] = "shop.catalog"

    search_id: str = Field(description="Also the event_id; a later SearchResultViewed names it")
    q: str = Field(description="The keywords as typed (trimmed); empty for a facets-only browse")
    filters: SearchFilters
    results: int = Field(description="Products matching (the search's total)")
    exact: bool = Field(description="False when total counts only the postings one search reads")
    searched_at: datetime


class SearchResultViewed(DomainEvent):
    """A product page was opened from a search's results (``GET /products/{id}?search_id=``)."""

    SOURCE: ClassVar[str] = "shop.catalog"

    search_id: str
    product_id: str
    viewed_at: datetime


# --- product page views (issue: back-office analytics) --------------------------------------------------------------
# Counted by the SearchLogForwarder from GetProduct's ``product_view`` lines (functions.catalog.search.analytics), one
# event per product and UTC hour of one log delivery rather than one per view (a flash sale opens a page thousands of
# times a second). Published as the search events are (PutEvents, at least once); ``event_id`` is a digest of the
# log events counted, so a redelivered batch has the same ids and consumers de-duplicate on them.


class ProductViewsCounted(DomainEvent):
    """Views of one product page (GET /products/{product_id}) in one UTC hour, from one delivery of the product
    handler's log lines. ``event_id`` is derived from those lines: a redelivery has the same."""

    SOURCE: ClassVar[str] = "shop.catalog"

    product_id: str
    hour: datetime = Field(description="Start of the UTC hour the views fall in")
    views: int = Field(ge=1, description="Product page views counted")
    from_search: int = Field(
        ge=0,
        description="Of which opened from a search result (with a search_id a search could have issued: the views "
        "that are also a SearchResultViewed)",
    )
