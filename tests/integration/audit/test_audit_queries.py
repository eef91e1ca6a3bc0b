"""GET /admin/audit refuses what it cannot answer with the DESIGN.md §4 error body: a bad time range, a malformed
actor or limit, a forged cursor or one issued for another query. These need no fresh state: one moto per module."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from local.resources import Created
from tests.conftest import ADMIN, Api
from tests.integration.audit.conftest import entry, record

NOW = datetime.now(UTC)


@pytest.mark.parametrize(
    ("query", "status", "code"),
    [
        ({"from": "2025-03-02T00:00:00Z", "to": "2025-03-01T00:00:00Z"}, 422, "INVALID_DATE_RANGE"),
        ({"from": "2025-01-01T00:00:00Z", "to": "2025-04-04T00:00:00Z"}, 422, "RANGE_TOO_LONG"),
        ({"from": "yesterday"}, 422, "VALIDATION_FAILED"),
        ({"to": "2025-03-01T00:00:00"}, 422, "VALIDATION_FAILED"),  # no time zone
        ({"actor": "alice"}, 422, "VALIDATION_FAILED"),
        ({"limit": "101"}, 422, "VALIDATION_FAILED"),
        ({"cursor": "forged.cursor"}, 400, "INVALID_CURSOR"),
    ],
)
def test_bad_queries_are_refused_with_the_error_body(
    module_aws: Created, query: dict[str, str], status: int, code: str
) -> None:
    r = Api()("GET", "/admin/audit", user=ADMIN, query=query)
    assert (r.status, r.body["error"]["code"]) == (status, code), r.body
    assert set(r.body["error"]) == {"code", "message", "details"}


def test_a_cursor_only_continues_its_own_query(module_aws: Created) -> None:
    api = Api()
    assert record(entry(NOW - timedelta(minutes=1)), entry(NOW - timedelta(minutes=2))) == {"batchItemFailures": []}
    first = api("GET", "/admin/audit", user=ADMIN, query={"actor": "user:a", "limit": 1})
    assert first.status == 200 and first.body["next_cursor"]
    other = api("GET", "/admin/audit", user=ADMIN, query={"actor": "user:b", "cursor": first.body["next_cursor"]})
    assert (other.status, other.body["error"]["code"]) == (400, "INVALID_CURSOR")
