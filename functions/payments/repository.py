"""DynamoDB storage of payments (one table, ``payments``). Key design:

=========================  ===============================  =====================================================
item                       pk                               sk / notes
=========================  ===============================  =====================================================
order (projection)         ``ORDER#<order_id>``             ``ORDER``; owner, total, status, checkout version
payment                    ``PAY#<payment_id>``             ``PAYMENT``; GSIs ``by_order`` (``ORDER#<id>``, by
                                                            time) and ``by_status`` (``PENDING``, by time, only
                                                            while pending: the reconciliation's worklist)
idempotency record         ``IDEMP#<user>#<key>``           ``IDEMP``; request hash, payment id; 24 h TTL
provider event             ``PEVT#<provider>#<event id>``   ``PEVT``; written with the effect of the event, so
                                                            a provider's retry or duplicate is applied once
refund                     ``REFUND#<refund_id>``           ``REFUND``; GSI ``by_order`` too
outbox event               ``OUTBOX#<event_id>``            ``OUTBOX``; relayed to EventBridge from the stream
=========================  ===============================  =====================================================

Invariants guarded by conditions: a payment changes only from the version read; a provider event is applied once
(``attribute_not_exists`` on its PEVT item in the same transaction); the total refunded on a payment never exceeds
what it captured (``refunded + :amount <= :captured`` on the payment item, in the refund's own transaction).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from botocore.exceptions import ClientError

from functions.payments.model import OrderFacts, Payment, PaymentStatus, Refund, RefundStatus
from functions.shared.dynamo import from_item, is_condition_failure, sortable, to_item, transact, value
from functions.shared.errors import Conflict
from functions.shared.events import DomainEvent
from functions.shared.outbox import outbox_put

IDEMPOTENCY_TTL_S = 24 * 3600
_INTERNAL = {"pk", "sk", "order_pk", "order_sk", "status_pk", "status_sk", "expires_at", "request_hash"}


def _key(pk: str, sk: str) -> dict[str, Any]:
    return {"pk": {"S": pk}, "sk": {"S": sk}}


def _strip(data: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in data.items() if k not in _INTERNAL}


class DynamoPaymentsRepository:
    def __init__(self, client: Any, table: str) -> None:
        self._ddb = client
        self._table = table

    def _get(self, pk: str, sk: str) -> dict[str, Any] | None:
        item = self._ddb.get_item(TableName=self._table, Key=_key(pk, sk), ConsistentRead=True).get("Item")
        return from_item(item) if item else None

    def _transact(self, items: list[dict[str, Any]]) -> bool:
        return transact(self._ddb, items)

    # --- the order projection -----------------------------------------------------------------------------------

    def order(self, order_id: str) -> OrderFacts | None:
        data = self._get(f"ORDER#{order_id}", "ORDER")
        return OrderFacts.model_validate(_strip(data)) if data else None

    def project_order(self, facts: OrderFacts) -> bool:
        """Apply an order version; False when a newer one is already there."""
        try:
            self._ddb.put_item(
                TableName=self._table,
                Item={**_key(f"ORDER#{facts.order_id}", "ORDER"), **to_item(facts.model_dump(mode="json"))},
                ConditionExpression="attribute_not_exists(version) OR version < :v",
                ExpressionAttributeValues={":v": value(facts.version)},
            )
        except ClientError as exc:
            if is_condition_failure(exc):
                return False
            raise
        return True

    # --- payments -----------------------------------------------------------------------------------------------

    def _payment_item(self, payment: Payment) -> dict[str, Any]:
        data = payment.model_dump(mode="json")
        data.update(
            order_pk=f"ORDER#{payment.order_id}", order_sk=f"{sortable(payment.created_at)}#P#{payment.payment_id}"
        )
        if payment.status in (PaymentStatus.CREATING, PaymentStatus.PENDING):
            data.update(status_pk="PENDING", status_sk=f"{sortable(payment.created_at)}#{payment.payment_id}")
        return {**_key(f"PAY#{payment.payment_id}", "PAYMENT"), **to_item(data)}

    def payment(self, payment_id: str) -> Payment | None:
        data = self._get(f"PAY#{payment_id}", "PAYMENT")
        return Payment.model_validate(_strip(data)) if data else None

    def idempotency(self, user_id: str, key: str) -> dict[str, Any] | None:
        return self._get(f"IDEMP#{user_id}#{key}", "IDEMP")

    def idempotency_record(self, record: str) -> dict[str, Any] | None:
        return self._get(f"IDEMP#{record}", "IDEMP")

    def start_payment(self, payment: Payment, user_id: str, key: str, request_hash: str, now_epoch: int) -> bool:
        """Record a new payment and its idempotency key together; False when the key was taken meanwhile."""
        idem = {
            **_key(f"IDEMP#{user_id}#{key}", "IDEMP"),
            **to_item(
                {
                    "payment_id": payment.payment_id,
                    "request_hash": request_hash,
                    "expires_at": now_epoch + IDEMPOTENCY_TTL_S,
                }
            ),
        }
        return self._transact(
            [
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": self._payment_item(payment),
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                },
                {"Put": {"TableName": self._table, "Item": idem, "ConditionExpression": "attribute_not_exists(pk)"}},
            ]
        )

    def save_payment(
        self,
        old: Payment,
        new: Payment,
        event: DomainEvent | None = None,
        provider_event: tuple[str, str] | None = None,
    ) -> bool:
        """Write a payment's new state at the version read, with its event and, for a provider callback, the
        marker that makes the callback count once. False when it moved on (or the callback was seen)."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._payment_item(new),
                    "ConditionExpression": "version = :v",
                    "ExpressionAttributeValues": {":v": value(old.version)},
                }
            }
        ]
        if provider_event is not None:
            items.append(self._event_marker(*provider_event))
        if event is not None:
            items.append(outbox_put(self._table, event))
        return self._transact(items)

    def _event_marker(self, provider: str, event_id: str) -> dict[str, Any]:
        return {
            "Put": {
                "TableName": self._table,
                "Item": _key(f"PEVT#{provider}#{event_id}", "PEVT"),
                "ConditionExpression": "attribute_not_exists(pk)",
            }
        }

    def seen_event(self, provider: str, event_id: str) -> bool:
        return self._get(f"PEVT#{provider}#{event_id}", "PEVT") is not None

    def mark_event(self, provider: str, event_id: str) -> None:
        """Remember a provider event that changed nothing (so its retries are acknowledged at once)."""
        self._transact([self._event_marker(provider, event_id)])

    def payments_of(self, order_id: str) -> list[Payment]:
        response = self._ddb.query(
            TableName=self._table,
            IndexName="by_order",
            KeyConditionExpression="order_pk = :o",
            ExpressionAttributeValues={":o": value(f"ORDER#{order_id}")},
        )
        items = [from_item(i) for i in response.get("Items", [])]
        return [Payment.model_validate(_strip(i)) for i in items if str(i["pk"]).startswith("PAY#")]

    def pending_before(self, moment: datetime, limit: int) -> list[str]:
        response = self._ddb.query(
            TableName=self._table,
            IndexName="by_status",
            KeyConditionExpression="status_pk = :p AND status_sk < :t",
            ExpressionAttributeValues={":p": value("PENDING"), ":t": value(sortable(moment))},
            ProjectionExpression="payment_id",
            Limit=limit,
        )
        return [str(from_item(i)["payment_id"]) for i in response.get("Items", [])]

    def pending_refunds_before(self, moment: datetime, limit: int) -> list[str]:
        response = self._ddb.query(
            TableName=self._table,
            IndexName="by_status",
            KeyConditionExpression="status_pk = :p AND status_sk < :t",
            ExpressionAttributeValues={":p": value("REFUND_PENDING"), ":t": value(sortable(moment))},
            ProjectionExpression="refund_id",
            Limit=limit,
        )
        return [str(from_item(i)["refund_id"]) for i in response.get("Items", [])]

    # --- refunds ------------------------------------------------------------------------------------------------

    def refund(self, refund_id: str) -> Refund | None:
        data = self._get(f"REFUND#{refund_id}", "REFUND")
        return Refund.model_validate(_strip(data)) if data else None

    def _refund_item(self, refund: Refund) -> dict[str, Any]:
        data = refund.model_dump(mode="json")
        data.update(order_pk=f"ORDER#{refund.order_id}", order_sk=f"{sortable(refund.created_at)}#R#{refund.refund_id}")
        if refund.status is RefundStatus.PENDING:  # the reconciliation's worklist of refunds to ask about again
            data.update(status_pk="REFUND_PENDING", status_sk=f"{sortable(refund.created_at)}#{refund.refund_id}")
        return {**_key(f"REFUND#{refund.refund_id}", "REFUND"), **to_item(data)}

    def start_refund(self, refund: Refund, payment: Payment, captured: int, idem: tuple[str, str] | None) -> None:
        """Record a refund and reserve its amount on the payment (``refunded`` never above ``captured``)."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._refund_item(refund),
                    "ConditionExpression": "attribute_not_exists(pk)",
                }
            },
            {
                "Update": {
                    "TableName": self._table,
                    "Key": _key(f"PAY#{payment.payment_id}", "PAYMENT"),
                    "UpdateExpression": "SET refunded.amount = refunded.amount + :a, version = version + :one",
                    "ConditionExpression": "refunded.amount <= :room AND #s = :ok",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {
                        ":a": value(refund.amount.amount),
                        ":room": value(captured - refund.amount.amount),
                        ":ok": value(PaymentStatus.SUCCEEDED.value),
                        ":one": value(1),
                    },
                }
            },
        ]
        if idem is not None:
            items.append(
                {
                    "Put": {
                        "TableName": self._table,
                        "Item": {
                            **_key(f"IDEMP#{idem[0]}", "IDEMP"),
                            **to_item({"refund_id": refund.refund_id, "request_hash": idem[1]}),
                        },
                        "ConditionExpression": "attribute_not_exists(pk)",
                    }
                }
            )
        if not self._transact(items):
            raise Conflict("that is more than is left to refund on this payment", code="REFUND_EXCEEDS_CAPTURED")

    def finish_refund(
        self, old: Refund, new: Refund, event: DomainEvent, give_back: int, provider_event: tuple[str, str] | None
    ) -> bool:
        """A refund's outcome, once; a failed refund gives its reserved amount back to the payment."""
        items: list[dict[str, Any]] = [
            {
                "Put": {
                    "TableName": self._table,
                    "Item": self._refund_item(new),
                    "ConditionExpression": "#s = :pending",
                    "ExpressionAttributeNames": {"#s": "status"},
                    "ExpressionAttributeValues": {":pending": value(old.status.value)},
                }
            },
            outbox_put(self._table, event),
        ]
        if give_back:
            items.append(
                {
                    "Update": {
                        "TableName": self._table,
                        "Key": _key(f"PAY#{old.payment_id}", "PAYMENT"),
                        "UpdateExpression": "SET refunded.amount = refunded.amount - :a, version = version + :one",
                        "ExpressionAttributeValues": {":a": value(give_back), ":one": value(1)},
                    }
                }
            )
        if provider_event is not None:
            items.append(self._event_marker(*provider_event))
        return self._transact(items)
