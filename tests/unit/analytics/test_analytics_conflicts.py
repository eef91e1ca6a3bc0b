"""Counting under contention: a transaction cancelled by a conflicting write on a hot counter is tried again; one
cancelled because the event was already counted is a replay, not an error."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.analytics import repository
from functions.analytics.model import Tally
from functions.analytics.repository import ConflictPersisted, DynamoAnalyticsRepository


def cancelled(*codes: str) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": "TransactionCanceledException", "Message": "cancelled"},
            "CancellationReasons": [{"Code": c} for c in codes],
        },
        "TransactWriteItems",
    )


class Ddb:
    def __init__(self, *outcomes: ClientError | None) -> None:
        self.outcomes = list(outcomes)
        self.calls: list[list[dict[str, Any]]] = []

    def transact_write_items(self, TransactItems: list[dict[str, Any]]) -> None:
        self.calls.append(TransactItems)
        outcome = self.outcomes.pop(0)
        if outcome is not None:
            raise outcome


def tally() -> Tally:
    t = Tally(at=datetime(2026, 12, 12, tzinfo=UTC))
    t.add("orders_paid", 1)
    t.add_product("prd_1", "units", 2)
    return t


@pytest.fixture(autouse=True)
def no_sleep(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(repository.clock, "sleep", lambda _s: None)


def test_a_conflict_is_retried_and_the_event_counted_once() -> None:
    ddb = Ddb(cancelled("None", "TransactionConflict", "None", "None"), None)
    assert DynamoAnalyticsRepository(ddb, "t").apply("e1", tally(), "2026-12-11T16", "2026-12-12", 3, 1)
    assert len(ddb.calls) == 2
    keys = [next(iter(i.values()))["Item" if "Put" in i else "Key"]["pk"]["S"] for i in ddb.calls[1]]
    assert keys == ["EVENT#e1", "HOUR#3", "DAY#3", "PDAY#2026-12-12"]


def test_an_event_already_counted_is_a_replay() -> None:
    ddb = Ddb(cancelled("ConditionalCheckFailed", "None", "None", "None"))
    assert not DynamoAnalyticsRepository(ddb, "t").apply("e1", tally(), "2026-12-11T16", "2026-12-12", 3, 1)


def test_a_conflict_that_persists_fails_the_record() -> None:
    ddb = Ddb(*[cancelled("None", "TransactionConflict")] * repository.CONFLICT_ATTEMPTS)
    with pytest.raises(ConflictPersisted):
        DynamoAnalyticsRepository(ddb, "t").apply("e1", tally(), "2026-12-11T16", "2026-12-12", 3, 1)
