"""The audit log end to end: a call's record goes over the bus to the AuditRecorder, which appends it once however
often it is delivered; admins list entries by actor, resource and time range, newest first, page by page; a bus
that refuses the record neither fails the call nor loses the record (it is in the log). Bad queries:
test_audit_queries.py."""

from __future__ import annotations

import json
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.shared import aws as shared_aws
from local.resources import Created
from tests.conftest import ADMIN, CATALOG_STAFF, Api
from tests.integration.audit.conftest import entry, record, stored

NOW = datetime.now(UTC)


def listed(api: Api, **query: Any) -> list[dict[str, Any]]:
    """Every entry the query lists, following the cursor page by page."""
    items: list[dict[str, Any]] = []
    cursor = None
    while True:
        r = api("GET", "/admin/audit", user=ADMIN, query={**query, **({"cursor": cursor} if cursor else {})})
        assert r.status == 200, r.body
        assert len(r.body["items"]) <= int(query.get("limit", 20))
        items += r.body["items"]
        cursor = r.body["next_cursor"]
        if not cursor:
            return items


def test_a_call_is_recorded_over_the_bus_and_listed(api: Api, aws: Created, event_spy: Any) -> None:
    brand = api("POST", "/admin/brands", {"name": "Acme"}, user=ADMIN)
    assert brand.status == 201, brand.body
    envelopes = [e for e in event_spy() if e["source"] == "shop.audit"]
    assert [e["detail-type"] for e in envelopes] == ["ActionRecorded"]
    detail = envelopes[0]["detail"]
    assert (detail["action"], detail["resource"]) == ("CreateBrand", f"brands/{brand.body['brand_id']}")

    assert record(detail) == {"batchItemFailures": []}
    (item,) = listed(api, resource=f"brands/{brand.body['brand_id']}")
    assert item == {k: v for k, v in detail.items() if k not in ("event_id", "occurred_at")}
    assert api("GET", "/admin/audit", user=CATALOG_STAFF).status == 403  # admins only
    (raw,) = stored(aws)
    assert raw["expires_at"] == int((datetime.fromisoformat(detail["at"]) + timedelta(days=365)).timestamp())


def test_a_redelivered_entry_neither_duplicates_nor_overwrites(aws: Created) -> None:
    first = entry(NOW)
    assert record(first) == {"batchItemFailures": []}
    assert record(first, {**first, "outcome": "failed"}) == {"batchItemFailures": []}
    (only,) = stored(aws)
    assert (only["entry_id"], only["outcome"]) == (first["entry_id"], "succeeded")


def test_entries_are_listed_by_actor_resource_and_time_newest_first(api: Api, aws: Created) -> None:
    a, b, p1, p2 = "user:alice", "app:app_9", "products/p1", "products/p2"
    seeds = [
        entry(NOW - timedelta(minutes=1), a, p1),
        entry(NOW - timedelta(minutes=2), b, p1),
        entry(NOW - timedelta(days=1), a, p2),
        entry(NOW - timedelta(days=2, minutes=5), a, p1),
        entry(NOW - timedelta(days=2, minutes=9), b, p2),
        entry(NOW - timedelta(days=3), b, p1),
        entry(NOW - timedelta(days=10), a, p1),  # outside the default 7 days
    ]
    assert record(*seeds[:4]) == {"batchItemFailures": []}
    assert record(*seeds[4:]) == {"batchItemFailures": []}
    ids = [s["entry_id"] for s in seeds]

    def names(items: list[dict[str, Any]]) -> list[int]:
        return [ids.index(i["entry_id"]) for i in items]

    assert names(listed(api, actor=a, limit=2)) == [0, 2, 3]
    assert names(listed(api, resource=p1, limit=1)) == [0, 1, 3, 5]
    assert names(listed(api, actor=b, resource=p1, limit=1)) == [1, 5]
    assert names(listed(api, limit=2)) == [0, 1, 2, 3, 4, 5]  # every day partition, newest first
    span = {"from": (NOW - timedelta(days=2, minutes=6)).isoformat(), "to": (NOW - timedelta(seconds=90)).isoformat()}
    assert names(listed(api, limit=3, **span)) == [1, 2, 3]
    old = {"from": (NOW - timedelta(days=11)).isoformat(), "to": (NOW - timedelta(days=9)).isoformat()}
    assert names(listed(api, actor=a, **old)) == [6]


class RefusingBus:
    def __init__(self) -> None:
        self.calls = 0

    def put_events(self, **kwargs: Any) -> dict[str, Any]:
        self.calls += 1
        return {"FailedEntryCount": 1, "Entries": [{"ErrorCode": "ThrottlingException"}]}


def test_a_bus_that_refuses_the_record_fails_nothing_and_the_record_is_logged(
    api: Api, aws: Created, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real, bus = shared_aws.client, RefusingBus()
    monkeypatch.setattr(shared_aws, "client", lambda service: bus if service == "events" else real(service))
    with caplog.at_level(logging.ERROR):
        r = api("POST", "/admin/brands", {"name": "Acme"}, user=ADMIN)
    assert r.status == 201, r.body
    assert api("GET", "/brands").body["items"][0]["brand_id"] == r.body["brand_id"]  # the change was made
    assert bus.calls >= 2  # tried again before giving up
    (logged,) = [x for x in caplog.records if x.getMessage() == "audit record not delivered"]
    kept = logged.audit_record  # type: ignore[attr-defined]
    assert (kept["action"], kept["resource"], kept["outcome"]) == (
        "CreateBrand",
        f"brands/{r.body['brand_id']}",
        "succeeded",
    )
    assert json.loads(kept["summary"]["body"]) == {"name": "A***"}
