"""The local payment sandbox against the real adapters: each adapter creates, queries and refunds over HTTP with a
urllib transport, the sandbox's callbacks arrive at a small receiver standing in for the gateway's callback route,
and the adapter's own ``verify_callback`` must accept them and read the right event."""

from __future__ import annotations

import html
import json
import re
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from functions.payments.providers.alipay import AlipayConfig, AlipayProvider
from functions.payments.providers.base import (
    CreateIntentRequest,
    EventKind,
    NextActionKind,
    PaymentStatus,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    ProviderResponse,
    QueryRequest,
    RefundRequest,
    RefundStatus,
)
from functions.payments.providers.card import StripeCardProvider, StripeConfig
from functions.payments.providers.wechat import WechatPayConfig, WechatPayProvider
from functions.shared.money import Money
from local.payment_sandbox import PaymentSandbox, SandboxKeys

ACKS = {"card": (200, b'{"received": true}'), "alipay": (200, b"success"), "wechat": (204, b"")}


@dataclass(frozen=True)
class Received:
    provider: str
    headers: dict[str, str]
    body: bytes


class Receiver:
    """Stands in for the gateway's ``/callbacks/payments/<provider>`` route: records and acknowledges."""

    def __init__(self) -> None:
        self.received: list[Received] = []
        self.changed = threading.Condition()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                provider = self.path.rsplit("/", 1)[-1]
                with receiver.changed:
                    receiver.received.append(Received(provider, dict(self.headers.items()), body))
                    receiver.changed.notify_all()
                status, answer = ACKS.get(provider, (404, b""))
                self.send_response(status)
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def wait(self, provider: Any, payment_id: str, count: int = 1, timeout_s: float = 10.0) -> list[ProviderEvent]:
        """The verified events for ``payment_id`` once ``count`` have arrived (every callback must verify)."""
        deadline = time.monotonic() + timeout_s
        with self.changed:
            while True:
                events = [
                    (r, provider.verify_callback(r.headers, r.body))
                    for r in self.received
                    if r.provider == provider.name
                ]
                mine = [event for _, event in events if event.payment_id == payment_id]
                if len(mine) >= count or time.monotonic() > deadline:
                    return mine
                self.changed.wait(0.1)

    def bodies(self, provider: str, needle: str) -> list[bytes]:
        with self.changed:
            return [r.body for r in self.received if r.provider == provider and needle.encode() in r.body]


def transport(request: ProviderRequest) -> ProviderResponse:
    outgoing = urllib.request.Request(
        request.url, data=request.body or None, headers=dict(request.headers), method=request.method
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=10) as answer:
            return ProviderResponse(answer.status, dict(answer.headers.items()), answer.read())
    except urllib.error.HTTPError as error:
        return ProviderResponse(error.code, dict(error.headers.items()), error.read())


def post(url: str, form: dict[str, str] | None = None, *, accept_json: bool = True) -> tuple[int, bytes]:
    data = urllib.parse.urlencode(form or {}).encode()
    headers = {"Content-Type": "application/x-www-form-urlencoded"}
    if accept_json:
        headers["Accept"] = "application/json"
    try:
        with urllib.request.urlopen(urllib.request.Request(url, data=data, headers=headers), timeout=10) as answer:
            return answer.status, answer.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode()


@pytest.fixture(scope="module")
def receiver() -> Iterator[Receiver]:
    receiver = Receiver()
    yield receiver
    receiver.server.shutdown()
    receiver.server.server_close()


@pytest.fixture(scope="module")
def keys_file(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("sandbox") / "payment-sandbox.json"


@pytest.fixture(scope="module")
def sandbox(receiver: Receiver, keys_file: Path) -> Iterator[PaymentSandbox]:
    with PaymentSandbox(0, notify_base_url=receiver.url, keys_path=keys_file, env={}) as running:
        yield running


@pytest.fixture(scope="module")
def config(sandbox: PaymentSandbox) -> dict[str, Any]:
    # through JSON, as the payments context reads it from its secret
    return json.loads(sandbox.config_json())  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def card(config: dict[str, Any]) -> StripeCardProvider:
    settings = config["card"]
    return StripeCardProvider(StripeConfig(**{**settings, "webhook_secrets": tuple(settings["webhook_secrets"])}))


@pytest.fixture(scope="module")
def alipay(config: dict[str, Any]) -> AlipayProvider:
    """The QR-code product (precreate); the platform's default is page pay (a redirect), tested on its own below."""
    return AlipayProvider(AlipayConfig(**{**config["alipay"], "product": "precreate"}))


@pytest.fixture(scope="module")
def wechat(config: dict[str, Any]) -> WechatPayProvider:
    return WechatPayProvider(WechatPayConfig(**config["wechat_pay"]))


def new_id(prefix: str = "pay") -> str:
    return f"{prefix}_{uuid.uuid4().hex[:24]}"


def create(payment_id: str, amount: int, receiver: Receiver, provider: str) -> CreateIntentRequest:
    return CreateIntentRequest(
        payment_id=payment_id,
        order_id=f"ord_{payment_id[4:]}",
        amount=Money(amount=amount, currency="CNY"),
        description="Sandbox order",
        notify_url=f"{receiver.url}/callbacks/payments/{provider}",
    )


def refund_request(payment_id: str, amount: int, total: int, reference: str | None = None) -> RefundRequest:
    return RefundRequest(
        refund_id=new_id("ref"),
        payment_id=payment_id,
        provider_reference=reference,
        amount=Money(amount=amount, currency="CNY"),
        payment_amount=Money(amount=total, currency="CNY"),
    )


# --- the configuration ------------------------------------------------------------------------------------------------


def test_the_config_has_the_shape_of_the_secret(sandbox: PaymentSandbox, receiver: Receiver) -> None:
    config = sandbox.provider_config()
    assert set(config) == {"notify_base_url", "card", "alipay", "wechat_pay"}
    assert config["notify_base_url"] == receiver.url
    assert config["card"]["api_base"] == f"{sandbox.url}/card"
    assert config["card"]["webhook_secrets"][0].startswith("whsec_")
    assert config["alipay"]["gateway"] == f"{sandbox.url}/alipay/gateway.do"
    assert len(config["wechat_pay"]["apiv3_key"]) == 32


def test_the_payments_context_builds_every_method_from_it(config: dict[str, Any]) -> None:
    gateway = pytest.importorskip("functions.payments.gateway")
    providers = gateway.build(config)
    assert set(providers.by_method) == {"card", "alipay", "wechat_pay"}


def test_keys_survive_a_restart_and_yield_to_the_environment(keys_file: Path, sandbox: PaymentSandbox) -> None:
    again = SandboxKeys.load(keys_file, {})
    assert dict(again.values) == dict(sandbox.keys.values)
    assert oct(keys_file.stat().st_mode & 0o777) == "0o600"
    overridden = SandboxKeys.load(keys_file, {"SANDBOX_STRIPE_WEBHOOK_SECRET": "whsec_from_the_environment"})
    assert overridden["stripe_webhook_secret"] == "whsec_from_the_environment"
    assert SandboxKeys.load(keys_file, {})["stripe_webhook_secret"] == sandbox.keys["stripe_webhook_secret"]


# --- card (Stripe) ----------------------------------------------------------------------------------------------------


def test_card_pay_query_refund(sandbox: PaymentSandbox, receiver: Receiver, card: StripeCardProvider) -> None:
    payment_id = new_id()
    request = create(payment_id, 1999, receiver, "card")
    created = card.create_intent(request, transport)
    assert created.next_action.kind is NextActionKind.CLIENT_SECRET
    assert created.status is PaymentStatus.REQUIRES_ACTION
    assert card.create_intent(request, transport).provider_reference == created.provider_reference  # idempotent
    assert card.query(QueryRequest(payment_id=payment_id), transport).status is PaymentStatus.REQUIRES_ACTION

    # the shopper's browser confirms with the client secret, as Stripe.js does
    secret = created.next_action.client_secret
    assert secret is not None
    status, body = post(
        f"{sandbox.url}/card/v1/payment_intents/{created.provider_reference}/confirm",
        {"client_secret": secret, "payment_method": "pm_card_visa"},
    )
    assert status == 200 and json.loads(body)["status"] == "succeeded"

    [event] = receiver.wait(card, payment_id)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(amount=1999, currency="CNY")
    assert event.provider_reference == created.provider_reference

    by_search = card.query(QueryRequest(payment_id=payment_id), transport)
    by_id = card.query(QueryRequest(payment_id=payment_id, provider_reference=created.provider_reference), transport)
    assert by_search.status is by_id.status is PaymentStatus.SUCCEEDED
    assert by_id.amount == Money(amount=1999, currency="CNY")

    refund = refund_request(payment_id, 500, 1999, created.provider_reference)
    result = card.refund(refund, transport)
    assert result.status is RefundStatus.SUCCEEDED
    assert card.refund(refund, transport).provider_refund_reference == result.provider_refund_reference
    events = receiver.wait(card, payment_id, 2)
    refunded = [e for e in events if e.kind is EventKind.REFUND_SUCCEEDED]
    assert len(refunded) == 1  # the replayed refund sent nothing new
    assert refunded[0].refund_id == refund.refund_id
    assert refunded[0].amount == Money(amount=500, currency="CNY")


def test_card_decline(sandbox: PaymentSandbox, receiver: Receiver, card: StripeCardProvider) -> None:
    payment_id = new_id()
    created = card.create_intent(create(payment_id, 2500, receiver, "card"), transport)
    status, body = post(
        f"{sandbox.url}/card/v1/payment_intents/{created.provider_reference}/confirm",
        {"client_secret": created.next_action.client_secret or "", "payment_method": "pm_card_chargeDeclined"},
    )
    assert status == 402
    assert json.loads(body)["error"]["code"] == "card_declined"
    [event] = receiver.wait(card, payment_id)
    assert event.kind is EventKind.PAYMENT_FAILED
    assert event.amount == Money(amount=2500, currency="CNY")


def test_card_pay_page_sends_duplicates(sandbox: PaymentSandbox, receiver: Receiver, card: StripeCardProvider) -> None:
    payment_id = new_id()
    created = card.create_intent(create(payment_id, 4200, receiver, "card"), transport)
    page_status, page = get(f"{sandbox.url}/card/pay/{created.provider_reference}?duplicates=2")
    assert page_status == 200 and "¥42.00" in page and "approve?duplicates=2" in page
    status, body = post(f"{sandbox.url}/card/pay/{created.provider_reference}/approve?duplicates=2")
    assert status == 200
    assert [d["status"] for d in json.loads(body)["deliveries"]] == [200, 200]
    events = receiver.wait(card, payment_id, 2)
    assert [e.kind for e in events] == [EventKind.PAYMENT_SUCCEEDED] * 2
    first, second = receiver.bodies("card", payment_id)
    assert first == second
    assert post(f"{sandbox.url}/card/pay/{created.provider_reference}/approve")[0] == 409


def test_card_refuses_a_wrong_key_and_a_reused_idempotency_key(sandbox: PaymentSandbox) -> None:
    wrong = StripeCardProvider(
        StripeConfig(secret_key="sk_test_wrong", webhook_secrets=("whsec_x",), api_base=f"{sandbox.url}/card")
    )
    with pytest.raises(ProviderError) as refused:
        wrong.query(QueryRequest(payment_id=new_id()), transport)
    assert refused.value.status_code == 401
    key = sandbox.keys["stripe_secret_key"]
    headers = {"Authorization": f"Bearer {key}", "Idempotency-Key": "same-key"}
    first = transport(
        ProviderRequest("POST", f"{sandbox.url}/card/v1/payment_intents", headers, b"amount=100&currency=cny")
    )
    again = transport(
        ProviderRequest("POST", f"{sandbox.url}/card/v1/payment_intents", headers, b"amount=100&currency=cny")
    )
    other = transport(
        ProviderRequest("POST", f"{sandbox.url}/card/v1/payment_intents", headers, b"amount=200&currency=cny")
    )
    assert first.status_code == again.status_code == 200
    assert json.loads(first.body)["id"] == json.loads(again.body)["id"]
    assert again.header("Idempotent-Replayed") == "true"
    assert other.status_code == 400 and json.loads(other.body)["error"]["type"] == "idempotency_error"


# --- Alipay -----------------------------------------------------------------------------------------------------------


def test_alipay_pay_query_refund(sandbox: PaymentSandbox, receiver: Receiver, alipay: AlipayProvider) -> None:
    payment_id = new_id()
    created = alipay.create_intent(create(payment_id, 1999, receiver, "alipay"), transport)
    assert created.next_action.kind is NextActionKind.QR_CODE
    assert created.next_action.qr_code_url == f"{sandbox.url}/alipay/pay/{payment_id}"
    assert alipay.query(QueryRequest(payment_id=payment_id), transport).status is PaymentStatus.NOT_FOUND  # not scanned

    status, page = get(created.next_action.qr_code_url)
    assert status == 200 and "¥19.99" in page and "/approve" in page and "/decline" in page
    assert alipay.query(QueryRequest(payment_id=payment_id), transport).status is PaymentStatus.REQUIRES_ACTION

    status, _ = post(f"{created.next_action.qr_code_url}/approve", accept_json=False)  # the HTML form
    assert status == 200
    [event] = receiver.wait(alipay, payment_id)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(amount=1999, currency="CNY")
    assert event.provider_reference

    queried = alipay.query(QueryRequest(payment_id=payment_id), transport)
    assert queried.status is PaymentStatus.SUCCEEDED
    assert queried.provider_reference == event.provider_reference
    assert queried.amount == Money(amount=1999, currency="CNY")

    refund = refund_request(payment_id, 1999, 1999)
    assert alipay.refund(refund, transport).status is RefundStatus.SUCCEEDED
    assert alipay.refund(refund, transport).status is RefundStatus.PENDING  # a repeat moves no money: fund_change=N
    events = receiver.wait(alipay, payment_id, 2)
    assert [e.kind for e in events] == [EventKind.PAYMENT_SUCCEEDED, EventKind.REFUND_SUCCEEDED]
    assert events[1].refund_id == refund.refund_id
    assert events[1].amount == Money(amount=1999, currency="CNY")
    assert alipay.query(QueryRequest(payment_id=payment_id), transport).status is PaymentStatus.CANCELLED


def test_alipay_decline_duplicates_and_resend(
    sandbox: PaymentSandbox, receiver: Receiver, alipay: AlipayProvider
) -> None:
    payment_id = new_id()
    created = alipay.create_intent(create(payment_id, 800, receiver, "alipay"), transport)
    status, body = post(f"{created.next_action.qr_code_url}/decline?duplicates=2")
    assert status == 200 and json.loads(body)["status"] == "TRADE_CLOSED"
    events = receiver.wait(alipay, payment_id, 2)
    assert [e.kind for e in events] == [EventKind.PAYMENT_FAILED] * 2
    assert events[0].provider_event_id == events[1].provider_event_id
    status, body = post(f"{sandbox.url}/sandbox/alipay/{payment_id}/resend")
    assert status == 200 and json.loads(body)["deliveries"][0]["status"] == 200
    assert len(receiver.wait(alipay, payment_id, 3)) == 3
    assert len(set(receiver.bodies("alipay", payment_id))) == 1


def test_alipay_refuses_a_request_signed_with_another_key(sandbox: PaymentSandbox, config: dict[str, Any]) -> None:
    impostor = AlipayProvider(
        AlipayConfig(**{**config["alipay"], "app_private_key": config["wechat_pay"]["merchant_private_key"]})
    )
    with pytest.raises(ProviderError) as refused:
        impostor.query(QueryRequest(payment_id=new_id()), transport)
    assert refused.value.code == "isv.invalid-signature"


def test_alipay_page_pay_redirects_the_browser(
    sandbox: PaymentSandbox, receiver: Receiver, config: dict[str, Any]
) -> None:
    page_pay = AlipayProvider(AlipayConfig(**{**config["alipay"], "product": "page"}))
    payment_id = new_id()
    request = create(payment_id, 12345, receiver, "alipay").model_copy(update={"return_url": "http://shop.test/paid"})
    created = page_pay.create_intent(request, transport)
    assert created.next_action.kind is NextActionKind.REDIRECT and created.next_action.redirect_url
    status, page = get(created.next_action.redirect_url)  # urllib follows the redirect to the pay page
    assert status == 200 and "¥123.45" in page
    status, body = post(f"{sandbox.url}/alipay/pay/{payment_id}/approve", accept_json=False)
    assert status == 200
    back = re.search(r'href="http://shop\.test/paid\?([^"]+)"', body.decode())
    assert back, body
    returned = page_pay.verify_notification(html.unescape(back.group(1)).encode())
    assert returned["out_trade_no"] == payment_id and returned["total_amount"] == "123.45"
    [event] = receiver.wait(page_pay, payment_id)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED


# --- WeChat Pay -------------------------------------------------------------------------------------------------------


def test_wechat_pay_query_refund(sandbox: PaymentSandbox, receiver: Receiver, wechat: WechatPayProvider) -> None:
    payment_id = new_id()
    created = wechat.create_intent(create(payment_id, 2999, receiver, "wechat"), transport)
    assert created.next_action.qr_code_url == f"{sandbox.url}/wechat/pay/{payment_id}"
    assert wechat.query(QueryRequest(payment_id=payment_id), transport).status is PaymentStatus.REQUIRES_ACTION
    assert wechat.query(QueryRequest(payment_id=new_id()), transport).status is PaymentStatus.NOT_FOUND

    status, page = get(created.next_action.qr_code_url)
    assert status == 200 and "¥29.99" in page
    status, body = post(f"{created.next_action.qr_code_url}/approve")
    assert status == 200 and json.loads(body)["deliveries"][0]["status"] == 204
    [event] = receiver.wait(wechat, payment_id)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.amount == Money(amount=2999, currency="CNY")

    queried = wechat.query(QueryRequest(payment_id=payment_id), transport)
    assert queried.status is PaymentStatus.SUCCEEDED
    assert queried.provider_reference == event.provider_reference

    refund = refund_request(payment_id, 1000, 2999)
    result = wechat.refund(refund, transport)
    assert result.status is RefundStatus.SUCCEEDED
    assert wechat.refund(refund, transport).provider_refund_reference == result.provider_refund_reference
    events = receiver.wait(wechat, payment_id, 2)
    assert [e.kind for e in events] == [EventKind.PAYMENT_SUCCEEDED, EventKind.REFUND_SUCCEEDED]
    assert events[1].refund_id == refund.refund_id
    assert events[1].amount == Money(amount=1000, currency="CNY")
    assert wechat.query(QueryRequest(payment_id=payment_id), transport).provider_status == "REFUND"


def test_wechat_decline_and_delayed_duplicates(
    sandbox: PaymentSandbox, receiver: Receiver, wechat: WechatPayProvider
) -> None:
    declined = new_id()
    created = wechat.create_intent(create(declined, 500, receiver, "wechat"), transport)
    assert post(f"{created.next_action.qr_code_url}/decline")[0] == 200
    [event] = receiver.wait(wechat, declined)
    assert event.kind is EventKind.PAYMENT_FAILED

    paid = new_id()
    created = wechat.create_intent(create(paid, 700, receiver, "wechat"), transport)
    started = time.monotonic()
    status, body = post(f"{created.next_action.qr_code_url}/approve?duplicates=2&delay=0.5")
    assert status == 200 and json.loads(body)["deliveries"] == []
    assert time.monotonic() - started < 0.5
    events = receiver.wait(wechat, paid, 2)
    assert time.monotonic() - started >= 0.5
    assert [e.kind for e in events] == [EventKind.PAYMENT_SUCCEEDED] * 2
    assert events[0].provider_event_id == events[1].provider_event_id


def test_wechat_refuses_a_bad_authorization(sandbox: PaymentSandbox, config: dict[str, Any]) -> None:
    impostor = WechatPayProvider(
        WechatPayConfig(**{**config["wechat_pay"], "merchant_private_key": config["alipay"]["app_private_key"]})
    )
    with pytest.raises(ProviderError) as refused:
        impostor.query(QueryRequest(payment_id=new_id()), transport)
    assert refused.value.code == "SIGN_ERROR"
