"""The search analytics feed on the local platform over real HTTP: a search that finds nothing is written to the
search handler's log, delivered in the background to the SearchLogForwarder, and shows up in the back office's
zero-results report shortly after (the feed is asynchronous, so the test polls)."""

from __future__ import annotations

import time
import uuid
from datetime import UTC, datetime
from typing import Any

import pytest

pytestmark = pytest.mark.e2e
FEED_WAIT_S = 30.0


def test_a_zero_result_search_is_findable_in_the_back_office(anonymous: Any, admin: Any) -> None:
    q = f"unobtainium {uuid.uuid4().hex[:8]}"
    search = anonymous("GET", "/products", params={"q": q})
    assert search.status_code == 200, search.text
    assert search.json()["items"] == [] and search.json()["search_id"]

    today = datetime.now(UTC).date().isoformat()
    deadline = time.monotonic() + FEED_WAIT_S
    while True:
        report = admin("GET", "/admin/search/zero-results", params={"date": today})
        assert report.status_code == 200, report.text
        found = [i for i in report.json()["items"] if i["q"] == q]
        if found or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    assert found == [{"q": q, "count": 1}]
