"""The outbox relay: a DynamoDB stream consumer that puts each new outbox item on the EventBridge bus.

One relay function per context table (declared as a ``StreamConsumer`` in the context's manifest). The event source
mapping only delivers INSERTs of ``OUTBOX#`` items. Entries go to ``PutEvents`` ten (and at most 256 KB) at a
time; entries EventBridge rejects are reported back as batch item failures, so the stream retries from the first of
them. Replays are safe: every consumer de-duplicates on ``event_id``.

Hand-written rather than Powertools' ``BatchProcessor`` because that processes one record at a time, and one
``PutEvents`` per ten records is a tenth of the calls.
"""

from __future__ import annotations

from typing import Any

from functions.shared.aws import client
from functions.shared.logs import shop_logger
from functions.shared.outbox import OUTBOX_PREFIX, bus_entry
from functions.shared.settings import env

logger = shop_logger()
PUT_EVENTS_MAX = 10
# PutEvents refuses a request over 256 KB as a whole. A few large events (a product with fifty variants is about
# 120 KB) in one chunk would then fail together, be retried together and fail again until the stream gives up:
# chunks are cut by size as well as by count.
PUT_EVENTS_MAX_BYTES = 256 * 1024


def entry_size(entry: dict[str, Any]) -> int:
    """An entry's size as EventBridge counts it (the UTF-8 bytes of its source, detail type and detail, plus a
    margin for the bus name and timestamp)."""
    text = entry["Source"] + entry["DetailType"] + entry["Detail"] + entry.get("EventBusName", "")
    return len(text.encode("utf-8")) + 64


def chunks(pending: list[tuple[str, dict[str, Any]]]) -> list[list[tuple[str, dict[str, Any]]]]:
    out: list[list[tuple[str, dict[str, Any]]]] = []
    size = 0
    for item in pending:
        item_size = entry_size(item[1])
        if not out or len(out[-1]) >= PUT_EVENTS_MAX or size + item_size > PUT_EVENTS_MAX_BYTES:
            out.append([])
            size = 0
        out[-1].append(item)
        size += item_size
    return out


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
    for chunk in chunks(pending):
        if len(chunk) == 1 and entry_size(chunk[0][1]) > PUT_EVENTS_MAX_BYTES:
            # Can never be published; retrying would only hold the stream up. Loud, so it is seen and fixed.
            logger.error("event too large for EventBridge", extra={"sequence": chunk[0][0]})
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
