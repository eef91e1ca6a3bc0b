"""The transactional outbox: an event travels as an item written in the same DynamoDB transaction as the change it
describes; the table's stream feeds :mod:`functions.shared.relay`, which puts it on the bus. Outbox items expire
through TTL after a day.

No pydantic here, on purpose: the relay imports this module, and pydantic would add about 75 ms to its cold start
(bench/cold_start.py). Events reach these functions as objects that can serialise themselves.
"""

from __future__ import annotations

import time
from typing import Any, ClassVar, Protocol

OUTBOX_PREFIX = "OUTBOX#"
OUTBOX_RETENTION_S = 24 * 3600


class Publishable(Protocol):
    """What the outbox needs of an event (:class:`functions.shared.events.DomainEvent` is one)."""

    SOURCE: ClassVar[str]

    @property
    def event_id(self) -> str: ...

    @classmethod
    def detail_type(cls) -> str: ...

    def detail_json(self) -> str: ...


def outbox_item(event: Publishable, now: float | None = None) -> dict[str, Any]:
    """The DynamoDB item (low-level attribute-value format) that carries ``event`` through the outbox."""
    expires = int((now or time.time()) + OUTBOX_RETENTION_S)
    return {
        "pk": {"S": f"{OUTBOX_PREFIX}{event.event_id}"},
        "sk": {"S": "OUTBOX"},
        "source": {"S": event.SOURCE},
        "detail_type": {"S": event.detail_type()},
        "detail": {"S": event.detail_json()},
        "expires_at": {"N": str(expires)},
    }


def outbox_put(table: str, event: Publishable) -> dict[str, Any]:
    """A ``TransactWriteItems`` element that writes ``event`` to ``table``'s outbox (once: the id is unique)."""
    return {
        "Put": {
            "TableName": table,
            "Item": outbox_item(event),
            "ConditionExpression": "attribute_not_exists(pk)",
        }
    }


def bus_entry(bus_name: str, source: str, detail_type: str, detail: str) -> dict[str, Any]:
    return {"EventBusName": bus_name, "Source": source, "DetailType": detail_type, "Detail": detail}
