"""Rebuilding the search index from the catalogue table while the shop is live (``POST /admin/search/reindex``).

A job is a chain of pages, each one event. Starting a job writes, in one catalogue transaction, the job item and
the outbox item of :class:`~functions.catalog.events.SearchReindexPageRequested` for page 0. The ``SearchReindexer``
consumer then handles one page per event (:meth:`ReindexJobs.run_page`):

1. Scan ONE page of the catalogue table (``PAGE_SIZE`` items, resuming at the event's ``start_key``), keeping only
   product items. ``Limit`` counts the items read before the filter, and the table also holds listing rows, SKU
   guards and outbox items, so a page yields fewer products than ``PAGE_SIZE`` (about one in eight items).
2. Apply those products through :func:`apply_patiently`, i.e. ``SearchIndex.apply`` (waiting out a live lock), which
   is version-guarded: a product whose newer version a live event indexed meanwhile is left alone, and one already
   indexed at its version costs one lock write. An inactive product is removed from the index.
3. In one catalogue transaction, advance the job (condition: still ``running`` and at this page) and write the
   outbox item for the next page when the Scan returned a ``LastEvaluatedKey``; otherwise mark the job ``done``.

Redelivery (SQS is at-least-once) is harmless: a page the job has already passed is recognised before the Scan and
skipped; two deliveries of one page racing each other both apply (idempotently) but only one advances the job, so
nothing is counted twice and the chain never forks. A page that fails (``IndexBusy`` because a live event holds a
product's lock, throttling) raises, and SQS redelivers it after the visibility timeout; ``products`` then stays
exact, while products indexed by the failed attempt count as ``unchanged`` on the retry.

What a reindex repairs: products missing from the index or indexed at an older version (a new, empty search table
for a new index layout; items lost or deleted). It does not rewrite a document already at the product's version;
a layout change therefore goes to a fresh table (see docs/search.md).

Catalogue item (next to those of functions.catalog.repository): ``pk = REINDEX#<job_id>``, ``sk = JOB``; the job's
progress (:class:`ReindexJob`), expiring through the table's TTL ``JOB_RETENTION_S`` after it started.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

from botocore.exceptions import ClientError
from pydantic import BaseModel, ConfigDict, Field

from functions.catalog.events import ScanKey, SearchReindexPageRequested
from functions.catalog.model import Product
from functions.catalog.search.dynamo import IndexBusy
from functions.catalog.search.index import RebuildReport, SearchIndex
from functions.shared.dynamo import cancellation_reasons, from_item, is_cancelled, to_item
from functions.shared.events import utcnow
from functions.shared.ids import prefixed
from functions.shared.outbox import outbox_put

PAGE_SIZE = 100  # items read per Scan: one page's work (up to ~15 products' applies) stays well inside the timeout
JOB_RETENTION_S = 30 * 24 * 3600
PRODUCT_PREFIX = "PRODUCT#"

JobStatus = Literal["running", "done"]


class ReindexJob(BaseModel):
    model_config = ConfigDict(extra="ignore")  # the item's pk, sk and expires_at are storage, not progress

    job_id: str
    status: JobStatus
    pages: int = Field(description="Pages of the catalogue table scanned and applied")
    products: int = Field(description="Products read from the catalogue (each counted once)")
    applied: int = Field(description="Products the job (re)wrote in the index")
    unchanged: int = Field(description="Products already indexed at their version, or a newer one")
    started_at: datetime
    started_by: str
    updated_at: datetime
    finished_at: datetime | None = None


Outcome = Literal["advanced", "done", "skipped"]


@dataclass(frozen=True)
class PageResult:
    outcome: Outcome
    products: int = 0
    applied: int = 0


# A live event holds a product's lock for about as long as one apply (a second or two). A background rebuild can
# afford to wait that out instead of failing the whole page, which SQS would only retry after the visibility timeout.
BUSY_PAUSES_S = (0.5, 1.0, 2.0, 4.0)


def apply_patiently(index: SearchIndex, product: Product, sleep: Any = time.sleep) -> bool:
    """``index.apply(product)``, waiting briefly while a live event holds the product's lock; gives up (raises
    ``IndexBusy``, so the page is retried later) only after about 7.5 s."""
    for pause in BUSY_PAUSES_S:
        try:
            return index.apply(product)
        except IndexBusy:
            sleep(pause)
    return index.apply(product)


def _job_key(job_id: str) -> dict[str, Any]:
    return {"pk": {"S": f"REINDEX#{job_id}"}, "sk": {"S": "JOB"}}


def _dynamo_key(key: ScanKey) -> dict[str, Any]:
    return {"pk": {"S": key.pk}, "sk": {"S": key.sk}}


def _scan_key(last: dict[str, Any]) -> ScanKey:
    return ScanKey(pk=last["pk"]["S"], sk=last["sk"]["S"])


class ReindexJobs:
    """Reindex jobs on the catalogue table (the job item and its outbox events share its transactions)."""

    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self._table = table

    def start(self, started_by: str) -> ReindexJob:
        now = utcnow()
        job = ReindexJob(
            job_id=prefixed("rix"),
            status="running",
            pages=0,
            products=0,
            applied=0,
            unchanged=0,
            started_at=now,
            started_by=started_by,
            updated_at=now,
        )
        item = {
            **_plain_key(job.job_id),
            **job.model_dump(mode="json"),
            "expires_at": int(now.timestamp()) + JOB_RETENTION_S,
        }
        first = SearchReindexPageRequested(job_id=job.job_id, start_key=None, page=0)
        self._ddb.transact_write_items(
            TransactItems=[
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": to_item(item),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                outbox_put(self._table, first),
            ]
        )
        return job

    def get(self, job_id: str, consistent: bool = False) -> ReindexJob | None:
        item = self._ddb.get_item(TableName=self._table, Key=_job_key(job_id), ConsistentRead=consistent).get("Item")
        return ReindexJob.model_validate(from_item(item)) if item else None

    def scan_page(self, start: ScanKey | None, limit: int) -> tuple[list[Product], ScanKey | None]:
        """One Scan call: the product items among the next ``limit`` items, and where the next page starts."""
        kwargs: dict[str, Any] = {
            "TableName": self._table,
            "Limit": limit,
            "FilterExpression": "begins_with(pk, :prefix) AND sk = :sk",
            "ExpressionAttributeValues": {":prefix": {"S": PRODUCT_PREFIX}, ":sk": {"S": "PRODUCT"}},
        }
        if start is not None:
            kwargs["ExclusiveStartKey"] = _dynamo_key(start)
        response = self._ddb.scan(**kwargs)
        products = [Product.model_validate(from_item(i)) for i in response.get("Items", [])]
        last = response.get("LastEvaluatedKey")
        return products, _scan_key(last) if last else None

    def run_page(self, event: SearchReindexPageRequested, index: SearchIndex) -> PageResult:
        job = self.get(event.job_id, consistent=True)
        if job is None or job.status != "running" or job.pages != event.page:
            return PageResult("skipped")  # a redelivery of a page the job has passed (or an unknown job)
        products, next_key = self.scan_page(event.start_key, PAGE_SIZE)
        report = RebuildReport()
        for product in products:
            if apply_patiently(index, product):
                report.applied += 1
            else:
                report.stale += 1
        outcome: Outcome = "advanced" if next_key is not None else "done"
        now = utcnow().isoformat()
        update = (
            "SET #pages = #pages + :one, #products = #products + :n, #applied = #applied + :a, "
            "#unchanged = #unchanged + :u, #updated = :now"
        )
        names = {
            "#status": "status",
            "#pages": "pages",
            "#products": "products",
            "#applied": "applied",
            "#unchanged": "unchanged",
            "#updated": "updated_at",
        }
        values: dict[str, Any] = {
            ":running": {"S": "running"},
            ":page": {"N": str(event.page)},
            ":one": {"N": "1"},
            ":n": {"N": str(len(products))},
            ":a": {"N": str(report.applied)},
            ":u": {"N": str(report.stale)},
            ":now": {"S": now},
        }
        if outcome == "done":
            update += ", #status = :done, #finished = :now"
            names["#finished"] = "finished_at"
            values[":done"] = {"S": "done"}
        items: list[dict[str, Any]] = [
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _job_key(event.job_id),
                    "UpdateExpression": update,
                    "ConditionExpression": "#status = :running AND #pages = :page",
                    "ExpressionAttributeNames": names,
                    "ExpressionAttributeValues": values,
                }
            }
        ]
        if next_key is not None:
            following = SearchReindexPageRequested(job_id=event.job_id, start_key=next_key, page=event.page + 1)
            items.append(outbox_put(self._table, following))
        try:
            self._ddb.transact_write_items(TransactItems=items)
        except ClientError as exc:
            # Another delivery of this page advanced the job first: its products are applied, its successor queued.
            if is_cancelled(exc) and cancellation_reasons(exc)[:1] == ["ConditionalCheckFailed"]:
                return PageResult("skipped", len(products), report.applied)
            raise
        return PageResult(outcome, len(products), report.applied)


def _plain_key(job_id: str) -> dict[str, str]:
    return {"pk": f"REINDEX#{job_id}", "sk": "JOB"}


def reindex_jobs() -> ReindexJobs:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return ReindexJobs(client("dynamodb"), table_name("catalog"))
