"""The event pump with a small platform of its own: an SQS consumer fed by an EventBridge rule (batches, partial
failures, redelivery after the visibility timeout, the dead-letter queue), a DynamoDB stream consumer (the
manifest's filter, retry from the first failed record, in order) and two schedules, one of them run at the period
``LOCAL_SCHEDULES`` gives it.

The handlers below run in the platform's worker processes and write what they saw to a ledger table, which the
tests read back.
"""

from __future__ import annotations

import json
import os
import time
from collections.abc import Callable, Iterator
from typing import Any

import boto3
import pytest

from functions.shared.wiring import (
    PUBLISH_EVENTS,
    Consumer,
    ContextManifest,
    EventPattern,
    Platform,
    Schedule,
    StreamConsumer,
    Table,
    writes,
)
from local.runner import LocalPlatform, Settings

HERE = __name__
LEDGER = Table(name="ledger")
OUTBOX = Table(name="things", stream=True)


def _ledger() -> tuple[Any, str]:
    return boto3.client("dynamodb"), os.environ["LEDGER_TABLE_NAME"]


def _count(ddb: Any, table: str, pk: str) -> int:
    """Add one to ``pk``'s attempts and return the new count."""
    result = ddb.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": "ATTEMPTS"}},
        UpdateExpression="ADD attempts :one",
        ExpressionAttributeValues={":one": {"N": "1"}},
        ReturnValues="UPDATED_NEW",
    )
    return int(result["Attributes"]["attempts"]["N"])


def _log(ddb: Any, table: str, pk: str, entry: str) -> None:
    ddb.update_item(
        TableName=table,
        Key={"pk": {"S": pk}, "sk": {"S": "LOG"}},
        UpdateExpression="SET entries = list_append(if_not_exists(entries, :empty), :entry)",
        ExpressionAttributeValues={":empty": {"L": []}, ":entry": {"L": [{"S": entry}]}},
    )


def consume_orders(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ddb, table = _ledger()
    _log(ddb, table, "SQS-BATCH", str(len(event["Records"])))
    failures = []
    for record in event["Records"]:
        detail = json.loads(record["body"])["detail"]
        _count(ddb, table, f"ORDER#{detail['n']}")
        _log(ddb, table, "SQS-RECORD", json.dumps({k: v for k, v in record.items() if k != "body"}))
        if detail.get("fail"):
            failures.append({"itemIdentifier": record["messageId"]})
    return {"batchItemFailures": failures}


def relay_things(event: dict[str, Any], context: Any) -> dict[str, Any]:
    ddb, table = _ledger()
    failures = []
    for record in event["Records"]:
        key = record["dynamodb"]["Keys"]["pk"]["S"]
        attempts = _count(ddb, table, key)
        _log(ddb, table, "STREAM", key)
        if record["dynamodb"]["NewImage"].get("fail_once", {}).get("BOOL") and attempts == 1:
            failures.append({"itemIdentifier": record["dynamodb"]["SequenceNumber"]})
    if event["Records"]:
        _log(ddb, table, "STREAM-RECORD", json.dumps(event["Records"][0]))
    return {"batchItemFailures": failures}


def tick(event: dict[str, Any], context: Any) -> None:
    ddb, table = _ledger()
    _log(ddb, table, "TICKS", json.dumps(event))


def tock(event: dict[str, Any], context: Any) -> None:
    ddb, table = _ledger()
    _log(ddb, table, "TOCKS", json.dumps(event))


USES = (writes(LEDGER.ref),)
MANIFEST = ContextManifest(
    name="pumped",
    tables=(LEDGER, OUTBOX),
    consumers=(
        Consumer(
            name="ConsumeOrders",
            handler=f"{HERE}.consume_orders",
            uses=USES,
            patterns=(EventPattern("test.orders", ("OrderPlaced",)),),
            batch_size=4,
            max_receive_count=2,
            visibility_timeout_s=1,
        ),
    ),
    stream_consumers=(
        StreamConsumer(
            name="RelayThings",
            handler=f"{HERE}.relay_things",
            uses=(*USES, PUBLISH_EVENTS),
            table=OUTBOX.name,
            key_prefix="OUTBOX#",
            batch_size=10,
        ),
    ),
    schedules=(
        Schedule(name="Tick", handler=f"{HERE}.tick", uses=USES, rate_minutes=5),
        Schedule(name="Tock", handler=f"{HERE}.tock", uses=USES, rate_minutes=5),
    ),
)
PLATFORM = Platform(contexts=(MANIFEST,))


@pytest.fixture(scope="module")
def platform() -> Iterator[LocalPlatform]:
    settings = Settings(
        port=0,
        workers=2,
        seed=False,
        prefix="pump",
        poll_s=0.1,
        schedule_periods=(("Tick", 0.3),),
        payment_sandbox=False,
        carrier_sandbox=False,
    )
    with LocalPlatform(PLATFORM, settings) as running:
        yield running


@pytest.fixture(scope="module")
def clients(platform: LocalPlatform) -> dict[str, Any]:
    assert platform.session is not None
    return {name: platform.session.client(name) for name in ("dynamodb", "events", "sqs")}


def eventually(check: Callable[[], Any], timeout_s: float = 30.0) -> Any:
    """Poll until ``check`` returns something truthy (the pump works in the background)."""
    deadline = time.monotonic() + timeout_s
    while True:
        result = check()
        if result or time.monotonic() > deadline:
            return result
        time.sleep(0.1)


def attempts(platform: LocalPlatform, ddb: Any, pk: str) -> int:
    item = ddb.get_item(
        TableName=platform.created.env["LEDGER_TABLE_NAME"], Key={"pk": {"S": pk}, "sk": {"S": "ATTEMPTS"}}
    ).get("Item")
    return int(item["attempts"]["N"]) if item else 0


def log(platform: LocalPlatform, ddb: Any, pk: str) -> list[str]:
    item = ddb.get_item(
        TableName=platform.created.env["LEDGER_TABLE_NAME"], Key={"pk": {"S": pk}, "sk": {"S": "LOG"}}
    ).get("Item")
    return [e["S"] for e in item["entries"]["L"]] if item else []


def test_queue_consumer_partial_failures_are_retried_then_dead_lettered(
    platform: LocalPlatform, clients: dict[str, Any]
) -> None:
    ddb, sqs = clients["dynamodb"], clients["sqs"]
    entries = [
        {
            "EventBusName": platform.created.env["EVENT_BUS_NAME"],
            "Source": "test.orders",
            "DetailType": "OrderPlaced",
            "Detail": json.dumps({"n": n, "fail": n == 3}),
        }
        for n in range(1, 7)
    ]
    entries.append({**entries[0], "DetailType": "OrderShipped", "Detail": json.dumps({"n": 99})})  # not subscribed
    assert clients["events"].put_events(Entries=entries)["FailedEntryCount"] == 0

    dlq = platform.created.dlq_urls["ConsumeOrders"]

    def dead_lettered() -> list[dict[str, Any]]:
        got: list[dict[str, Any]] = sqs.receive_message(QueueUrl=dlq, MaxNumberOfMessages=10).get("Messages", [])
        return got

    dead = eventually(dead_lettered)
    assert [json.loads(m["Body"])["detail"]["n"] for m in dead] == [3]
    # the failing message was tried max_receive_count times; every other one once, then deleted
    assert attempts(platform, ddb, "ORDER#3") == 2
    assert [attempts(platform, ddb, f"ORDER#{n}") for n in (1, 2, 4, 5, 6)] == [1, 1, 1, 1, 1]
    assert attempts(platform, ddb, "ORDER#99") == 0
    queue = platform.created.queue_urls["ConsumeOrders"]
    left = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["All"])["Attributes"]
    assert left["ApproximateNumberOfMessages"] == "0" and left["ApproximateNumberOfMessagesNotVisible"] == "0"

    record = json.loads(log(platform, ddb, "SQS-RECORD")[0])
    assert record["eventSource"] == "aws:sqs"
    assert record["eventSourceARN"].endswith(":pump-ConsumeOrders")
    assert record["awsRegion"] == "us-east-1"
    assert {"messageId", "receiptHandle", "md5OfBody", "messageAttributes"} <= set(record)
    assert record["attributes"]["ApproximateReceiveCount"] == "1"
    assert "SentTimestamp" in record["attributes"]


def test_queue_batches_are_no_larger_than_the_batch_size(platform: LocalPlatform, clients: dict[str, Any]) -> None:
    ddb = clients["dynamodb"]
    before = len(log(platform, ddb, "SQS-BATCH"))
    bus = platform.created.env["EVENT_BUS_NAME"]
    entries = [
        {"EventBusName": bus, "Source": "test.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": n})}
        for n in range(100, 110)
    ]
    clients["events"].put_events(Entries=entries)  # one call: all ten are queued at once
    assert eventually(lambda: all(attempts(platform, ddb, f"ORDER#{n}") == 1 for n in range(100, 110)))
    sizes = [int(n) for n in log(platform, ddb, "SQS-BATCH")[before:]]
    assert sum(sizes) == 10
    assert max(sizes) == 4  # the consumer's batch_size


def test_stream_consumer_filters_and_retries_from_the_first_failed_record(
    platform: LocalPlatform, clients: dict[str, Any]
) -> None:
    ddb = clients["dynamodb"]
    table = platform.created.env["THINGS_TABLE_NAME"]

    def put(pk: str, **extra: Any) -> dict[str, Any]:
        item = {"pk": {"S": pk}, "sk": {"S": "X"}, **extra}
        return {"Put": {"TableName": table, "Item": item}}

    ddb.transact_write_items(
        TransactItems=[
            put("OUTBOX#1"),
            put("PRODUCT#1"),  # not an outbox item: filtered out
            put("OUTBOX#2", fail_once={"BOOL": True}),
            put("OUTBOX#3"),
        ]
    )
    ddb.update_item(  # a MODIFY of an outbox item: filtered out by event name
        TableName=table,
        Key={"pk": {"S": "OUTBOX#1"}, "sk": {"S": "X"}},
        UpdateExpression="SET touched = :t",
        ExpressionAttributeValues={":t": {"BOOL": True}},
    )
    expected = ["OUTBOX#1", "OUTBOX#2", "OUTBOX#3", "OUTBOX#2", "OUTBOX#3"]
    delivered = eventually(lambda: log(platform, ddb, "STREAM") if len(log(platform, ddb, "STREAM")) >= 5 else None)
    assert delivered == expected
    time.sleep(1.0)  # nothing more arrives: the retry succeeded and the MODIFY stays filtered out
    assert log(platform, ddb, "STREAM") == expected

    record = json.loads(log(platform, ddb, "STREAM-RECORD")[0])
    assert record["eventName"] == "INSERT"
    assert record["eventSource"] == "aws:dynamodb"
    assert record["eventSourceARN"] == platform.created.stream_arns["things"]
    assert record["dynamodb"]["Keys"] == {"pk": {"S": "OUTBOX#1"}, "sk": {"S": "X"}}
    assert record["dynamodb"]["NewImage"]["pk"] == {"S": "OUTBOX#1"}
    assert isinstance(record["dynamodb"]["ApproximateCreationDateTime"], int)
    assert record["dynamodb"]["SequenceNumber"].isdigit()


def test_schedules_fire_with_a_scheduled_event(platform: LocalPlatform, clients: dict[str, Any]) -> None:
    ticks = eventually(
        lambda: (
            log(platform, clients["dynamodb"], "TICKS")
            if len(log(platform, clients["dynamodb"], "TICKS")) >= 2
            else None
        )
    )
    assert ticks
    event = json.loads(ticks[0])
    assert event["detail-type"] == "Scheduled Event"
    assert event["source"] == "aws.events"
    assert event["resources"] == ["arn:aws:events:us-east-1:123456789012:rule/Tick"]
    assert event["detail"] == {}
    assert json.loads(ticks[1])["id"] != event["id"]

    assert log(platform, clients["dynamodb"], "TOCKS") == []  # its own rate (five minutes): not yet


def test_schedule_periods_are_read_from_the_environment_and_checked_against_the_platform() -> None:
    settings = Settings.from_env({"LOCAL_SCHEDULES": "Tick=2, Tock=0.5"})
    assert settings.schedule_periods == (("Tick", 2.0), ("Tock", 0.5))
    assert Settings.from_env({}).schedule_periods == ()
    for bad in ("Tick", "Tick=", "=2", "Tick=0", "Tick=soon"):
        with pytest.raises(ValueError, match="LOCAL_SCHEDULES is a list of Schedule=seconds"):
            Settings.from_env({"LOCAL_SCHEDULES": bad})
    with pytest.raises(ValueError, match="LOCAL_SCHEDULES names no schedule of the platform: Tack"):
        LocalPlatform(PLATFORM, Settings(schedule_periods=(("Tack", 1.0),)))


def test_settle_waits_until_the_queues_are_worked_off(platform: LocalPlatform, clients: dict[str, Any]) -> None:
    ddb = clients["dynamodb"]
    bus = platform.created.env["EVENT_BUS_NAME"]
    entries = [
        {"EventBusName": bus, "Source": "test.orders", "DetailType": "OrderPlaced", "Detail": json.dumps({"n": n})}
        for n in range(200, 210)
    ]
    clients["events"].put_events(Entries=entries)
    assert platform.settle(timeout_s=30)
    # Settled means consumed: every event was processed before settle returned, not merely received.
    assert all(attempts(platform, ddb, f"ORDER#{n}") == 1 for n in range(200, 210))
