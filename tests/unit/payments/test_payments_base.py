"""functions.payments.providers.base: the values that cross the provider interface refuse what they must not carry,
every adapter is a PaymentProvider, and verifying a callback never imports ``cryptography`` where it is not needed."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from pydantic import ValidationError

from functions.payments.providers.alipay import AlipayConfig, AlipayProvider
from functions.payments.providers.base import (
    CreateIntentRequest,
    NextAction,
    NextActionKind,
    PaymentProvider,
    ProviderResponse,
    RefundRequest,
    RejectReason,
    VerificationError,
)
from functions.payments.providers.card import StripeCardProvider, StripeConfig
from functions.payments.providers.wechat import WechatPayConfig, WechatPayProvider
from functions.shared.money import Money
from tests.unit.payments.payments_support import KeyPair

REPO = Path(__file__).resolve().parents[3]


def create(**changes: object) -> CreateIntentRequest:
    fields: dict[str, object] = {
        "payment_id": "pay_01J9Z3K6Y8M2Q4R5S6T7V8W9X0",
        "order_id": "ord_1",
        "amount": {"amount": 1999, "currency": "CNY"},
        "description": "Order ord_1",
        **changes,
    }
    return CreateIntentRequest.model_validate(fields)


def test_a_create_request_is_for_a_positive_integer_amount() -> None:
    assert create().amount == Money(amount=1999, currency="CNY")
    for amount in ({"amount": 0, "currency": "CNY"}, {"amount": 19.99, "currency": "CNY"}, {"amount": "1999"}):
        with pytest.raises(ValidationError):
            create(amount=amount)


def test_a_create_request_cannot_carry_a_card_number_or_anything_unknown() -> None:
    for field in ("card_number", "card", "cvc", "status"):
        with pytest.raises(ValidationError, match="Extra inputs are not permitted"):
            create(**{field: "4242424242424242"})


def test_our_ids_must_fit_every_providers_order_number() -> None:
    for payment_id in ("short", "pay_" + "X" * 40, "pay 01J9Z3K6Y8M2Q4R5S6T7V8W9X0", "pay_é1J9Z3K6Y8M2Q4R5S6T7V8"):
        with pytest.raises(ValidationError):
            create(payment_id=payment_id)


def test_expiry_needs_a_time_zone() -> None:
    with pytest.raises(ValidationError, match="time zone"):
        create(expires_at="2024-07-15T00:00:00")
    assert create(expires_at="2024-07-15T00:00:00Z").expires_at is not None


def test_a_refund_is_positive_in_the_payments_currency_and_at_most_the_payment() -> None:
    base = {
        "refund_id": "ref_000001",
        "payment_id": "pay_000001",
        "payment_amount": {"amount": 1000, "currency": "CNY"},
    }
    assert RefundRequest.model_validate({**base, "amount": {"amount": 1000, "currency": "CNY"}})
    for amount in (
        {"amount": 1001, "currency": "CNY"},
        {"amount": 0, "currency": "CNY"},
        {"amount": 5, "currency": "USD"},
    ):
        with pytest.raises(ValidationError):
            RefundRequest.model_validate({**base, "amount": amount})


def test_a_next_action_carries_exactly_its_own_value() -> None:
    assert NextAction(kind=NextActionKind.QR_CODE, qr_code_url="weixin://x").qr_code_url == "weixin://x"
    assert NextAction(kind=NextActionKind.NONE).kind is NextActionKind.NONE
    with pytest.raises(ValidationError):
        NextAction(kind=NextActionKind.QR_CODE, redirect_url="https://x")
    with pytest.raises(ValidationError):
        NextAction(kind=NextActionKind.REDIRECT, redirect_url="https://x", client_secret="pi_secret")


def test_headers_are_looked_up_without_regard_to_case() -> None:
    response = ProviderResponse(200, {"wechatpay-serial": "ABC"})
    assert response.header("Wechatpay-Serial") == "ABC"
    assert response.header("Wechatpay-Nonce") is None


@pytest.mark.parametrize(
    ("reason", "status"),
    [
        (RejectReason.BAD_SIGNATURE, 401),
        (RejectReason.STALE, 401),
        (RejectReason.FUTURE, 401),
        (RejectReason.UNKNOWN_KEY, 401),
        (RejectReason.MALFORMED, 400),
        (RejectReason.UNSUPPORTED, 400),
        (RejectReason.DECRYPT_FAILED, 400),
        (RejectReason.WRONG_RECIPIENT, 400),
    ],
)
def test_each_reason_maps_to_401_or_400(reason: RejectReason, status: int) -> None:
    error = VerificationError(reason, "why")
    assert (error.status, error.code, error.message) == (status, reason.value, "why")


def test_every_adapter_is_a_payment_provider(alipay_key: KeyPair, merchant_key: KeyPair, platform_key: KeyPair) -> None:
    adapters: list[object] = [
        StripeCardProvider(StripeConfig(secret_key="sk_test_1", webhook_secrets=("whsec_1",))),
        AlipayProvider(AlipayConfig(app_id="1", app_private_key="unused", alipay_public_key=alipay_key.public_pem)),
        WechatPayProvider(
            WechatPayConfig(
                mchid="1",
                appid="wx1",
                merchant_serial_no="1",
                merchant_private_key=merchant_key.private_pem,
                apiv3_key="k" * 32,
                platform_keys={"PUB_KEY_ID_1": platform_key.public_pem},
            )
        ),
    ]
    assert [a.name for a in adapters if isinstance(a, PaymentProvider)] == ["card", "alipay", "wechat"]  # type: ignore[attr-defined]


def test_loading_the_adapters_does_not_import_cryptography() -> None:
    """Callback verification runs on the standard library; only signing and decryption import cryptography."""
    code = (
        "import sys\n"
        "import functions.payments.providers.card, functions.payments.providers.alipay\n"
        "import functions.payments.providers.wechat\n"
        "assert 'cryptography' not in sys.modules, sorted(m for m in sys.modules if m.startswith('crypto'))\n"
    )
    result = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=False)
    assert result.returncode == 0, result.stderr
