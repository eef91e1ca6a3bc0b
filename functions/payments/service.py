"""The payments context's use cases: payment intents, provider callbacks, refunds, reconciliation, and the copy of
the checkout's orders they need. Handlers call one method; nothing here knows about HTTP."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from functions.payments.events import PaymentFailed, PaymentSucceeded, RefundFailed, RefundSucceeded
from functions.payments.gateway import Providers, providers, send
from functions.payments.model import (
    NextAction,
    OrderFacts,
    Payment,
    PaymentInput,
    PaymentIntentResponse,
    PaymentStatus,
    Refund,
    RefundInput,
    RefundStatus,
)
from functions.payments.providers.base import (
    CreateIntentRequest,
    EventKind,
    ProviderError,
    ProviderEvent,
    QueryRequest,
    RefundRequest,
    Transport,
    VerificationError,
)
from functions.payments.providers.base import PaymentStatus as ProviderStatus
from functions.payments.repository import DynamoPaymentsRepository
from functions.shared.errors import AppError, Conflict, NotFound, ServiceUnavailable, Unprocessable
from functions.shared.events import utcnow
from functions.shared.idempotency import check_key, request_hash
from functions.shared.ids import prefixed
from functions.shared.money import Money

RECONCILE_AFTER_S = 180
ABANDONED_AFTER_S = 600  # past the order's payment window: an unpaid attempt leaves the worklist
ATTEMPTS = 4


def now() -> datetime:
    return utcnow()


class CallbackRefused(AppError):
    """A callback that failed verification or does not match our records: nothing changed."""

    status, code = 400, "CALLBACK_REFUSED"


def _next_action(result: Any) -> NextAction:
    action = result.next_action
    kind = str(action.kind.value if hasattr(action.kind, "value") else action.kind)
    return NextAction(
        kind=kind,  # type: ignore[arg-type]
        client_secret=getattr(action, "client_secret", None),
        redirect_url=getattr(action, "redirect_url", None),
        qr_code_url=getattr(action, "qr_code_url", None),
    )


ReturnOutcome = Literal["refunded", "capped", "duplicate", "nothing_left", "not_paid"]


@dataclass(frozen=True)
class ReturnRefund:
    """What a received return's refund came to: ``refunded`` (in full), ``capped`` (only what was left on the
    payment), ``duplicate`` (this return was refunded before: ``refund`` is that refund, and ``same_request`` says
    whether the amount asked was the same), ``nothing_left`` (everything was refunded already), ``not_paid`` (the
    order has no captured payment)."""

    outcome: ReturnOutcome
    requested: int
    refund: Refund | None = None
    same_request: bool = True


class PaymentsService:
    def __init__(
        self,
        repo: DynamoPaymentsRepository,
        gateway: Callable[[], Providers] | None = None,
        transport: Transport | None = None,
        clock: Callable[[], datetime] | None = None,
    ) -> None:
        self.repo = repo
        # Looked up per call (not bound at import), so tests can stand in a provider's API for the transport.
        self.gateway = gateway or (lambda: providers())  # noqa: PLW0108
        self.transport = transport or (lambda request: send(request))  # noqa: PLW0108
        self.clock = clock or (lambda: now())  # noqa: PLW0108 - looked up per call, so tests can move time

    # --- the order projection ---------------------------------------------------------------------------------

    def project_order(self, order: Mapping[str, Any]) -> bool:
        total = order["totals"]["total"]
        facts = OrderFacts(
            order_id=str(order["order_id"]),
            user_id=str(order["user_id"]),
            total=Money(amount=int(total["amount"]), currency=str(total["currency"])),
            status=str(order["status"]),
            version=int(order["version"]),
            payment_due_at=order.get("payment_due_at"),
            paid_by=order.get("payment_id"),
        )
        return self.repo.project_order(facts)

    # --- intents ------------------------------------------------------------------------------------------------

    def create_payment(
        self, user_id: str, order_id: str, key: str | None, body: PaymentInput
    ) -> tuple[PaymentIntentResponse, bool]:
        key = str(check_key(key))
        digest = request_hash({"order_id": order_id, **body.model_dump(mode="json")})
        earlier = self.repo.idempotency(user_id, key)
        if earlier:
            return self._replay(earlier, digest), True
        order = self.repo.order(order_id)
        if order is None or order.user_id != user_id:
            raise NotFound("no such order", code="ORDER_NOT_FOUND")
        if order.status != "pending_payment":
            raise Conflict(f"the order is {order.status}, not waiting for payment", code="ORDER_NOT_PAYABLE")
        if order.total.amount <= 0:
            raise Conflict("this order has nothing to pay", code="NOTHING_TO_PAY")
        provider = self.gateway().get(body.method)
        moment = self.clock()
        payment = Payment(
            payment_id=prefixed("pay"),
            order_id=order_id,
            user_id=user_id,
            method=body.method,
            amount=order.total,
            status=PaymentStatus.CREATING,
            refunded=Money.zero(order.total.currency),
            created_at=moment,
            updated_at=moment,
        )
        try:  # built before anything is written: a request the provider cannot take changes nothing
            request = CreateIntentRequest(
                payment_id=payment.payment_id,
                order_id=order_id,
                amount=order.total,
                description=f"Order {order_id}",
                notify_url=self.gateway().notify_url(body.method),
                expires_at=order.payment_due_at,
            )
        except ValueError as exc:
            raise ServiceUnavailable("payments are not configured for this method yet") from exc
        if not self.repo.start_payment(payment, user_id, key, digest, int(moment.timestamp())):
            earlier = self.repo.idempotency(user_id, key)
            if earlier:
                return self._replay(earlier, digest), True
            raise Conflict("try again", code="TRY_AGAIN")
        try:
            result = provider.create_intent(request, self.transport)
        except Exception as exc:  # the provider's refusal, an unreachable provider or an answer we cannot read
            code = exc.code if isinstance(exc, ProviderError) else "BAD_RESPONSE"
            failed = payment.model_copy(
                update={"status": PaymentStatus.FAILED, "failure": code, "version": 2, "updated_at": self.clock()}
            )
            self.repo.save_payment(payment, failed)
            raise ServiceUnavailable(
                f"the payment provider could not take the payment ({code}); try again with a new Idempotency-Key"
            ) from exc
        pending = payment.model_copy(
            update={
                "status": PaymentStatus.PENDING,
                "provider_reference": result.provider_reference,
                "next_action": _next_action(result),
                "version": 2,
                "updated_at": self.clock(),
            }
        )
        self.repo.save_payment(payment, pending)
        return PaymentIntentResponse(payment=pending, next_action=pending.next_action), False

    def _replay(self, earlier: dict[str, Any], digest: str) -> PaymentIntentResponse:
        if earlier.get("request_hash") != digest:
            raise Unprocessable("this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED")
        payment = self.repo.payment(str(earlier["payment_id"]))
        if payment is None or payment.status is PaymentStatus.CREATING:
            raise Conflict(
                "the earlier request is not finished", code="IDEMPOTENCY_IN_PROGRESS", headers={"Retry-After": "1"}
            )
        return PaymentIntentResponse(payment=payment, next_action=payment.next_action)

    def payments_of(self, user_id: str | None, order_id: str) -> list[Payment]:
        order = self.repo.order(order_id)
        if order is None or (user_id is not None and order.user_id != user_id):
            raise NotFound("no such order", code="ORDER_NOT_FOUND")
        return self.repo.payments_of(order_id)

    # --- callbacks ----------------------------------------------------------------------------------------------

    def verify(self, method: str, headers: Mapping[str, str], body: bytes) -> ProviderEvent:
        try:
            provider = self.gateway().get(method)
        except Unprocessable:
            raise NotFound("no such payment provider", code="UNKNOWN_PROVIDER") from None
        return provider.verify_callback(headers, body)

    def acknowledgement(self, method: str, error: VerificationError | None = None) -> Any:
        provider = self.gateway().get(method)
        return provider.reject(error) if error is not None else provider.acknowledge()

    def apply_event(self, method: str, event: ProviderEvent) -> str:
        """Apply a verified provider event once. Returns what happened; raises CallbackRefused when the event does
        not match our records (nothing changes)."""
        if self.repo.seen_event(method, event.provider_event_id):
            return "duplicate"
        if event.kind in (EventKind.PAYMENT_SUCCEEDED, EventKind.PAYMENT_FAILED):
            return self._payment_event(method, event)
        if event.kind in (EventKind.REFUND_SUCCEEDED, EventKind.REFUND_FAILED):
            return self._refund_event(method, event)
        self.repo.mark_event(method, event.provider_event_id)
        return "ignored"

    def _payment_event(self, method: str, event: ProviderEvent) -> str:
        for _attempt in range(ATTEMPTS):
            payment = self.repo.payment(event.payment_id or "") if event.payment_id else None
            if payment is None or payment.method != method:
                raise CallbackRefused("the callback names no payment of ours")
            if event.amount is not None and event.amount != payment.amount:
                raise CallbackRefused("the callback's amount or currency is not the payment's")
            succeeded = event.kind is EventKind.PAYMENT_SUCCEEDED
            if payment.status is PaymentStatus.SUCCEEDED:
                self.repo.mark_event(method, event.provider_event_id)
                return "already succeeded"
            if not succeeded and payment.status is PaymentStatus.FAILED:
                self.repo.mark_event(method, event.provider_event_id)
                return "already failed"
            new = payment.model_copy(
                update={
                    "status": PaymentStatus.SUCCEEDED if succeeded else PaymentStatus.FAILED,
                    "provider_reference": event.provider_reference or payment.provider_reference,
                    "failure": None if succeeded else event.provider_event_type,
                    "version": payment.version + 1,
                    "updated_at": self.clock(),
                }
            )
            outcome: Any
            if succeeded:
                outcome = PaymentSucceeded(
                    payment_id=payment.payment_id,
                    order_id=payment.order_id,
                    user_id=payment.user_id,
                    method=payment.method,
                    amount=payment.amount,
                    provider_reference=new.provider_reference or "",
                    succeeded_at=event.occurred_at,
                )
            else:
                outcome = PaymentFailed(
                    payment_id=payment.payment_id,
                    order_id=payment.order_id,
                    method=payment.method,
                    reason=event.provider_event_type,
                )
            if self.repo.save_payment(payment, new, outcome, (method, event.provider_event_id)):
                return new.status.value
            if self.repo.seen_event(method, event.provider_event_id):
                return "duplicate"
        raise Conflict("the payment is changing; the provider will retry", code="TRY_AGAIN")

    def _refund_event(self, method: str, event: ProviderEvent) -> str:
        refund = self.repo.refund(event.refund_id) if event.refund_id else None
        if refund is None:
            raise CallbackRefused("the callback names no refund of ours")
        if refund.status is not RefundStatus.PENDING:
            self.repo.mark_event(method, event.provider_event_id)
            return "already settled"
        succeeded = event.kind is EventKind.REFUND_SUCCEEDED
        marker = (method, event.provider_event_id)
        done = self._finish_refund(refund, succeeded, event.provider_refund_reference, marker)
        if done.status is RefundStatus.PENDING:  # the write lost a race: not durable, so not acknowledged
            raise Conflict("the refund is changing; the provider will retry", code="TRY_AGAIN")
        return "refund " + ("succeeded" if succeeded else "failed")

    # --- refunds ------------------------------------------------------------------------------------------------

    def refund_payment(
        self,
        payment_id: str,
        amount: int | None,
        reason: str,
        by: str,
        idem: tuple[str, str] | None = None,
        reference: str | None = None,
    ) -> Refund:
        """Refund ``amount`` (everything left when None) of a succeeded payment, through its provider. ``idem`` is
        (idempotency record key, request hash), written in the refund's own transaction; ``reference`` says what
        the refund is for (``return:<return_id>``) and travels on its events."""
        payment = self.repo.payment(payment_id)
        if payment is None:
            raise NotFound("no such payment", code="PAYMENT_NOT_FOUND")
        if payment.status is not PaymentStatus.SUCCEEDED:
            raise Conflict("only a succeeded payment can be refunded", code="PAYMENT_NOT_CAPTURED")
        left = payment.amount.amount - payment.refunded.amount
        wanted = left if amount is None else amount
        if wanted <= 0 or wanted > left:
            raise Conflict(f"at most {left} is left to refund on this payment", code="REFUND_EXCEEDS_CAPTURED")
        moment = self.clock()
        refund = Refund(
            refund_id=prefixed("rfd"),
            payment_id=payment.payment_id,
            order_id=payment.order_id,
            amount=Money(amount=wanted, currency=payment.amount.currency),
            status=RefundStatus.PENDING,
            reason=reason,
            requested_by=by,
            reference=reference,
            created_at=moment,
            updated_at=moment,
        )
        self.repo.start_refund(refund, payment, payment.amount.amount, idem)
        return self._send_refund(refund, payment)

    def _send_refund(self, refund: Refund, payment: Payment) -> Refund:
        """Ask the provider (again: it de-duplicates on our refund id). Only an explicit answer settles the refund;
        an error or an answer we cannot read leaves it pending for the reconciliation to ask again, because the
        provider may have paid it out (giving the amount back then could refund twice)."""
        provider = self.gateway().get(payment.method)
        request = RefundRequest(
            refund_id=refund.refund_id,
            payment_id=payment.payment_id,
            provider_reference=payment.provider_reference,
            amount=refund.amount,
            payment_amount=payment.amount,
            reason=refund.reason[:80],
            notify_url=self.gateway().notify_url(payment.method),
        )
        try:
            result = provider.refund(request, self.transport)
        except Exception:  # any failure: the refund stays pending and is asked about again
            return refund
        if result.status.value in ("succeeded", "failed"):
            return self._finish_refund(
                refund, result.status.value == "succeeded", result.provider_refund_reference, None
            )
        return refund

    def _finish_refund(
        self, refund: Refund, succeeded: bool, reference: str | None, provider_event: tuple[str, str] | None
    ) -> Refund:
        payment = self.repo.payment(refund.payment_id)
        if payment is None:
            raise NotFound("no such payment", code="PAYMENT_NOT_FOUND")
        new = refund.model_copy(
            update={
                "status": RefundStatus.SUCCEEDED if succeeded else RefundStatus.FAILED,
                "provider_refund_reference": reference or refund.provider_refund_reference,
                "updated_at": self.clock(),
            }
        )
        event: Any
        if succeeded:
            event = RefundSucceeded(
                refund_id=refund.refund_id,
                payment_id=refund.payment_id,
                order_id=refund.order_id,
                amount=refund.amount,
                refunded_total=payment.refunded,
                reference=refund.reference,
            )
        else:
            event = RefundFailed(
                refund_id=refund.refund_id,
                payment_id=refund.payment_id,
                order_id=refund.order_id,
                amount=refund.amount,
                reason="the provider refused the refund",
                reference=refund.reference,
            )
        give_back = 0 if succeeded else refund.amount.amount
        if not self.repo.finish_refund(refund, new, event, give_back, provider_event):
            latest = self.repo.refund(refund.refund_id)
            return latest or refund
        return new

    def refund_order(
        self,
        order_id: str,
        amount: int | None,
        reason: str,
        by: str,
        idem: tuple[str, str] | None = None,
        reference: str | None = None,
    ) -> Refund:
        """Refund an order's paying payment (all of what is left, or ``amount``)."""
        paying = self.paying_payment(order_id)
        return self.refund_payment(paying.payment_id, amount, reason, by, idem, reference)

    def paying_payment(self, order_id: str) -> Payment:
        """The succeeded payment that paid an order: NotFound (ORDER_NOT_FOUND) when the order is not known here
        yet, Conflict ORDER_NOT_PAID when nothing was captured, Conflict TRY_AGAIN while it is not yet known which of
        several successes paid it."""
        order = self.repo.order(order_id)
        if order is None:
            raise NotFound("no such order", code="ORDER_NOT_FOUND")
        paid = [p for p in self.repo.payments_of(order_id) if p.status is PaymentStatus.SUCCEEDED]
        if not paid:
            raise Conflict("the order has no captured payment to refund", code="ORDER_NOT_PAID")
        if order.paid_by is None and len(paid) > 1:
            # Which attempt paid the order is not known here yet (OrderPaid is on its way); the others are being
            # refunded automatically, so refunding "the first" could hit the wrong charge.
            raise Conflict("the order's payment is being settled; try again shortly", code="TRY_AGAIN")
        return next((p for p in paid if p.payment_id == order.paid_by), paid[0])

    def refund_return(self, return_id: str, order_id: str, amount: Money, by: str) -> ReturnRefund:
        """A received return (the shipping context's ``ReturnReceived``): refund ``amount`` of the order's paying
        payment through its provider, once per return, whatever the number of deliveries. The idempotency record
        ``return:<return_id>`` is written in the refund's own transaction, and it has no expiry: a redelivery
        months later still finds it. More than is left refundable is refunded up to what is left ("capped").

        Raises (so the event is delivered again) while the order or which payment paid it is not known here yet,
        or while concurrent refunds keep moving the payment; Unprocessable for a refund in another currency than
        the payment's (it goes to the dead-letter queue: a person decides)."""
        record = f"return:{return_id}"
        digest = request_hash({"order_id": order_id, "amount": amount.model_dump(mode="json")})
        for _attempt in range(ATTEMPTS):
            earlier = self.repo.idempotency_record(record)
            if earlier:
                refund = self.repo.refund(str(earlier["refund_id"]))
                if refund is None:  # written in one transaction with the record: cannot happen, but never guess
                    raise Conflict("the return's refund is not readable yet", code="IDEMPOTENCY_IN_PROGRESS")
                return ReturnRefund("duplicate", amount.amount, refund, earlier.get("request_hash") == digest)
            try:
                paying = self.paying_payment(order_id)
            except Conflict as exc:
                if exc.code == "ORDER_NOT_PAID":
                    return ReturnRefund("not_paid", amount.amount)
                raise
            # Read again, consistently: the order's index can lag, and what is left decides how much is refunded.
            payment = self.repo.payment(paying.payment_id) or paying
            if amount.currency != payment.amount.currency:
                raise Unprocessable(
                    f"a refund in {amount.currency} of a payment in {payment.amount.currency}", code="CURRENCY_MISMATCH"
                )
            left = payment.amount.amount - payment.refunded.amount
            if left <= 0:
                return ReturnRefund("nothing_left", amount.amount)
            wanted = min(amount.amount, left)
            try:
                refund = self.refund_payment(
                    payment.payment_id, wanted, f"return {return_id}", by, (record, digest), record
                )
            except Conflict as exc:
                # Lost a race: another delivery of this return (its record is found next time round) or another
                # refund of the payment (what is left is read again).
                if exc.code != "REFUND_EXCEEDS_CAPTURED":
                    raise
                continue
            return ReturnRefund("capped" if wanted < amount.amount else "refunded", amount.amount, refund)
        raise Conflict("the payment is changing; try again", code="TRY_AGAIN")

    def refund_in_full(self, payment_id: str, reason: str) -> Refund | None:
        """Refund whatever is left on a payment (automatic refunds); None when nothing is left."""
        payment = self.repo.payment(payment_id)
        if payment is None or payment.status is not PaymentStatus.SUCCEEDED:
            return None
        if payment.amount.amount - payment.refunded.amount <= 0:
            return None
        return self.refund_payment(payment_id, None, reason, "system")

    def admin_refund(self, order_id: str, body: RefundInput, by: str, key: str | None) -> tuple[Refund, bool]:
        """A staff refund; with an Idempotency-Key, a retry returns the first refund (200) instead of a second."""
        if check_key(key, required=False) is None:
            return self.refund_order(order_id, body.amount, body.reason, by), False
        record = f"staff:{by}#refund:{key}"
        digest = request_hash({"order_id": order_id, **body.model_dump(mode="json")})
        for _attempt in range(2):
            earlier = self.repo.idempotency_record(record)
            if earlier:
                if earlier.get("request_hash") != digest:
                    raise Unprocessable(
                        "this Idempotency-Key was used with another request", code="IDEMPOTENCY_KEY_REUSED"
                    )
                refund = self.repo.refund(str(earlier["refund_id"]))
                if refund is None:
                    raise Conflict("the earlier request is not finished", code="IDEMPOTENCY_IN_PROGRESS")
                return refund, True
            try:
                return self.refund_order(order_id, body.amount, body.reason, by, (record, digest)), False
            except Conflict:
                if not self.repo.idempotency_record(record):
                    raise
        raise Conflict("try again", code="TRY_AGAIN")

    # --- reconciliation -----------------------------------------------------------------------------------------

    def reconcile(self, limit: int = 50) -> dict[str, str]:
        """Payments pending for longer than a callback should take: ask the provider, and apply what it says as
        if its callback had come (a lost callback settles here)."""
        cutoff = self.clock() - timedelta(seconds=RECONCILE_AFTER_S)
        outcomes: dict[str, str] = {}
        for payment_id in self.repo.pending_before(cutoff, limit):
            payment = self.repo.payment(payment_id)
            if payment is None or payment.status not in (PaymentStatus.CREATING, PaymentStatus.PENDING):
                continue  # the index is eventually consistent: settled meanwhile
            try:
                provider = self.gateway().get(payment.method)
                result = provider.query(
                    QueryRequest(payment_id=payment.payment_id, provider_reference=payment.provider_reference),
                    self.transport,
                )
            except (ProviderError, Unprocessable) as exc:
                outcomes[payment_id] = f"query failed: {exc}"
                continue
            if result.status is ProviderStatus.SUCCEEDED:
                kind = EventKind.PAYMENT_SUCCEEDED
            elif result.status in (ProviderStatus.FAILED, ProviderStatus.CANCELLED) or self._abandoned(payment):
                # Declined, closed, or not paid long after the order stopped waiting: off the worklist (a late
                # success still counts: a failed payment can still succeed, and is then refunded if unwanted).
                kind = EventKind.PAYMENT_FAILED
            else:
                outcomes[payment_id] = result.provider_status
                continue
            if kind is EventKind.PAYMENT_SUCCEEDED and result.amount is None:
                outcomes[payment_id] = "succeeded without an amount: left for a person"
                continue
            event = ProviderEvent(
                provider=provider.name,
                provider_event_id=f"query:{payment_id}:{kind.value}",
                provider_event_type=f"query:{result.provider_status}",
                kind=kind,
                payment_id=payment_id,
                provider_reference=result.provider_reference,
                amount=result.amount,
                occurred_at=self.clock(),
            )
            try:
                outcomes[payment_id] = self.apply_event(payment.method, event)
            except AppError as exc:
                outcomes[payment_id] = exc.code
        for refund_id in self.repo.pending_refunds_before(cutoff, limit):
            refund = self.repo.refund(refund_id)
            payment = self.repo.payment(refund.payment_id) if refund else None
            if refund is None or payment is None or refund.status is not RefundStatus.PENDING:
                continue
            outcomes[refund_id] = self._send_refund(refund, payment).status.value
        return outcomes

    def _abandoned(self, payment: Payment) -> bool:
        """An attempt nobody will pay any more: its order is no longer waiting, or its window ended long ago."""
        order = self.repo.order(payment.order_id)
        if order is None:
            return False
        if order.status != "pending_payment":
            return True
        due = order.payment_due_at
        return due is not None and self.clock() > due + timedelta(seconds=ABANDONED_AFTER_S)


def service() -> PaymentsService:
    from functions.shared.aws import client
    from functions.shared.settings import table_name

    return PaymentsService(DynamoPaymentsRepository(client("dynamodb"), table_name("payments")))
