"""Outbox relays (``functions.shared.relay``): DynamoDB stream events carrying outbox INSERTs.

Every context with a table stream gets a relay with the same handler, so a generic scenario covers any relay that
has no explicit one (with synthetic event details); contexts may register a scenario with their real events, as the
catalogue does.
"""

from __future__ import annotations

import itertools
import json
import time
from typing import Any

from bench.harness import REGION, Bench
from bench.scenarios import Scenario, fallback
from functions.shared.ids import new_id
from functions.shared.outbox import OUTBOX_PREFIX, OUTBOX_RETENTION_S
from functions.shared.wiring import Function, StreamConsumer

RELAY_HANDLER = "functions.shared.relay.handler"
BATCH = 10  # one PutEvents call carries at most 10 entries
_sequence = itertools.count(1000)


def item_size(image: dict[str, Any]) -> int:
    return len(json.dumps(image, separators=(",", ":")).encode())


def stream_event(bench: Bench, function: StreamConsumer, images: list[dict[str, Any]]) -> dict[str, Any]:
    """The event a DynamoDB stream event source mapping delivers for these NEW_IMAGE INSERTs."""
    arn = bench.stream_arns.get(function.table, f"arn:aws:dynamodb:{REGION}:123456789012:table/{function.table}")
    records = []
    for image in images:
        records.append(
            {
                "eventID": new_id(),
                "eventName": "INSERT",
                "eventVersion": "1.1",
                "eventSource": "aws:dynamodb",
                "awsRegion": REGION,
                "dynamodb": {
                    "ApproximateCreationDateTime": int(time.time()),
                    "Keys": {"pk": image["pk"], "sk": image["sk"]},
                    "NewImage": image,
                    "SequenceNumber": str(next(_sequence)),
                    "SizeBytes": item_size(image),
                    "StreamViewType": "NEW_IMAGE",
                },
                "eventSourceARN": arn,
            }
        )
    return {"Records": records}


def synthetic_outbox_item(context: str) -> dict[str, Any]:
    event_id = new_id()
    detail = {"event_id": event_id, "occurred_at": time.strftime("%Y-%m-%dT%H:%M:%SZ"), "by": "bench"}
    return {
        "pk": {"S": f"{OUTBOX_PREFIX}{event_id}"},
        "sk": {"S": "OUTBOX"},
        "source": {"S": f"shop.{context}"},
        "detail_type": {"S": "BenchEventHappened"},
        "detail": {"S": json.dumps(detail)},
        "expires_at": {"N": str(int(time.time()) + OUTBOX_RETENTION_S)},
    }


@fallback
def generic_relay(function: Function) -> list[Scenario]:
    if not isinstance(function, StreamConsumer) or function.handler != RELAY_HANDLER:
        return []

    def build(bench: Bench) -> dict[str, Any]:
        context = bench.platform.context_of(function).name
        return stream_event(bench, function, [synthetic_outbox_item(context) for _ in range(BATCH)])

    return [Scenario(function.name, f"outbox relay, {BATCH} synthetic events", build, primary=True, generic=True)]
