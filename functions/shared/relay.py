"""The outbox relay: a DynamoDB stream consumer that puts each new outbox item on the EventBridge bus.

One relay function per context table (declared as a ``StreamConsumer`` in the context's manifest). The event source
mapping only delivers INSERTs of ``OUTBOX#`` items. Entries go to ``PutEvents`` ten at a time; entries EventBridge
rejects are reported back as batch item failures, so the stream retries from the first of them. Replays are safe:
every consumer de-duplicates on ``event_id``.

Hand-written rather than Powertools' ``BatchProcessor`` because that processes one record at a time, and one
``PutEvents`` per ten records is a tenth of the calls.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools import Logger

from functions.shared.aws import client
from functions.shared.outbox import OUTBOX_PREFIX, bus_entry
from functions.shared.settings import env

logger = Logger()
PUT_EVENTS_MAX = 10


def _entry(record: dict[str, Any], bus: str) -> dict[str, Any] | None:
    if record.get("eventName") != "INSERT":
        return None
    image = record.get("dynamodb", {}).get("NewImage") or {}
    if not image.get("pk", {}).get("S", "").startswith(OUTBOX_PREFIX):
        return None
    return bus_entry(bus, image["source"]["S"], image["detail_type"]["S"], image["detail"]["S"])


def relay(records: list[dict[str, Any]], bus: str) -> list[str]:
    """Publish the outbox records; return the sequence numbers that failed (empty when all went through)."""
    pending: list[tuple[str, dict[str, Any]]] = []
    for record in records:
        entry = _entry(record, bus)
        if entry is not None:
            pending.append((record["dynamodb"]["SequenceNumber"], entry))
    failed: list[str] = []
    events = client("events")
    for start in range(0, len(pending), PUT_EVENTS_MAX):
        chunk = pending[start : start + PUT_EVENTS_MAX]
        try:
            result = events.put_events(Entries=[e for _, e in chunk])
        except Exception:  # the whole call failed: retry every record of the chunk
            logger.exception("PutEvents failed")
            failed.extend(seq for seq, _ in chunk)
            continue
        for (seq, _), outcome in zip(chunk, result.get("Entries", []), strict=False):
            if outcome.get("ErrorCode"):
                logger.warning("event rejected", extra={"code": outcome["ErrorCode"], "sequence": seq})
                failed.append(seq)
    return failed


@logger.inject_lambda_context
def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    failed = relay(event.get("Records", []), env("EVENT_BUS_NAME"))
    return {"batchItemFailures": [{"itemIdentifier": seq} for seq in failed]}
