"""DynamoDB helpers for the low-level client (lighter to import and create than ``boto3.resource``).

Numbers come back from DynamoDB as ``Decimal``; money and quantities in this platform are integers, so integral
decimals become ``int``. A float never goes in: the serializer refuses it, which is the point.
"""

from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from boto3.dynamodb.types import TypeDeserializer, TypeSerializer
from botocore.exceptions import ClientError

_SER = TypeSerializer()
_DESER = TypeDeserializer()


def _plain(value: Any) -> Any:
    if isinstance(value, Decimal):
        return int(value) if value == value.to_integral_value() else value
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list | set):
        return [_plain(v) for v in value]
    return value


def to_item(data: dict[str, Any]) -> dict[str, Any]:
    return {k: _SER.serialize(v) for k, v in data.items() if v is not None}


def from_item(item: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(_DESER.deserialize(v)) for k, v in item.items()}


def value(v: Any) -> dict[str, Any]:
    return dict(_SER.serialize(v))


def cancellation_reasons(exc: ClientError) -> list[str]:
    """The per-item codes of a cancelled transaction ("None" for items that were fine)."""
    reasons = exc.response.get("CancellationReasons") or []
    return [str(r.get("Code", "None")) for r in reasons]


def is_condition_failure(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "ConditionalCheckFailedException"


def is_cancelled(exc: ClientError) -> bool:
    return exc.response.get("Error", {}).get("Code") == "TransactionCanceledException"


def transact(client: Any, items: list[dict[str, Any]]) -> bool:
    """``TransactWriteItems``; False when DynamoDB cancelled it (a condition failed or it conflicted), so the caller
    re-reads and decides. Any other error propagates."""
    try:
        client.transact_write_items(TransactItems=items)
    except ClientError as exc:
        if is_cancelled(exc):
            return False
        raise
    return True


def sortable(moment: datetime) -> str:
    """One fixed UTC format for every time in a sort key, so string order is time order whatever the input zone
    (``%Y`` is not zero-padded on every platform, so the year is formatted by hand)."""
    utc = moment.astimezone(UTC)
    return f"{utc.year:04d}" + utc.strftime("-%m-%dT%H:%M:%S.%fZ")
