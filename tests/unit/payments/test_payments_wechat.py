"""functions.payments.providers.wechat: callbacks signed the way WeChat Pay signs them (SHA256withRSA by the platform
key over ``timestamp\\nnonce\\nbody\\n``) with a resource sealed the way it seals them (AEAD_AES_256_GCM under the
APIv3 key) are verified and opened; anything altered, stale, from an unknown certificate or sealed under another key
is refused. Requests carry the ``WECHATPAY2-SHA256-RSA2048`` Authorization that WeChat Pay checks, and answers must
be signed. The platform certificate is a self-signed stand-in made with ``cryptography``."""

from __future__ import annotations

import base64
import json
import re
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

from functions.payments.providers.base import (
    CreateIntentRequest,
    EventKind,
    NextActionKind,
    PaymentStatus,
    ProviderError,
    ProviderRequest,
    ProviderResponse,
    QueryRequest,
    RefundRequest,
    RefundStatus,
    RejectReason,
    VerificationError,
)
from functions.payments.providers.wechat import WechatPayConfig, WechatPayProvider
from functions.shared.money import Money
from tests.unit.payments.payments_support import KeyPair, certificate_pem

MCHID, APPID = "1900009191", "wxd678efh567hg6787"
APIV3_KEY = "0123456789abcdefghijABCDEFGHIJ01"  # 32 characters, as the merchant platform requires
SERIAL = "5157F09EFDC096DE15EBE81A47057A7232F1B8E1"
MERCHANT_SERIAL = "1DDE55AD98ED71D6EDD4A4A16996DE7B47773A8C"
PAYMENT_ID = "pay_01J9Z3K6Y8M2Q4R5S6T7V8W9X0"
REFUND_ID = "ref_01J9Z3K6Y8M2Q4R5S6T7V8W9X1"
NOW = 1_721_000_000


@pytest.fixture(scope="module")
def platform_certificate(platform_key: KeyPair) -> str:
    issued = datetime.fromtimestamp(NOW, UTC) - timedelta(days=30)
    return certificate_pem(platform_key, int(SERIAL, 16), not_before=issued, not_after=issued + timedelta(days=1825))


def make_provider(merchant_key: KeyPair, keys: dict[str, str], **overrides: Any) -> WechatPayProvider:
    config: dict[str, Any] = {
        "mchid": MCHID,
        "appid": APPID,
        "merchant_serial_no": MERCHANT_SERIAL,
        "merchant_private_key": merchant_key.private_pem,
        "apiv3_key": APIV3_KEY,
        "platform_keys": keys,
        **overrides,
    }
    return WechatPayProvider(WechatPayConfig(**config))


@pytest.fixture
def provider(merchant_key: KeyPair, platform_certificate: str) -> WechatPayProvider:
    return make_provider(merchant_key, {SERIAL: platform_certificate})


def transaction(**changes: Any) -> dict[str, Any]:
    document = {
        "appid": APPID,
        "mchid": MCHID,
        "out_trade_no": PAYMENT_ID,
        "transaction_id": "1217752501201407033233368018",
        "trade_type": "NATIVE",
        "trade_state": "SUCCESS",
        "trade_state_desc": "支付成功",
        "bank_type": "CMC",
        "attach": "ord_1",
        "success_time": "2024-07-15T07:33:10+08:00",
        "payer": {"openid": "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"},
        "amount": {"total": 1999, "payer_total": 1999, "currency": "CNY", "payer_currency": "CNY"},
    }
    document.update(changes)
    return document


def sealed(
    document: dict[str, Any],
    *,
    key: str = APIV3_KEY,
    associated_data: str = "transaction",
    original_type: str = "transaction",
) -> dict[str, Any]:
    """A resource as WeChat Pay seals it: AES-256-GCM, the tag appended to the ciphertext, base64."""
    nonce = "fdasflkja484"
    ciphertext = AESGCM(key.encode()).encrypt(nonce.encode(), json.dumps(document).encode(), associated_data.encode())
    return {
        "original_type": original_type,
        "algorithm": "AEAD_AES_256_GCM",
        "ciphertext": base64.b64encode(ciphertext).decode(),
        "associated_data": associated_data,
        "nonce": nonce,
    }


def notification(resource: dict[str, Any], event_type: str = "TRANSACTION.SUCCESS") -> bytes:
    body = {
        "id": "EV-2018022511223320873",
        "create_time": "2024-07-15T07:33:15+08:00",
        "resource_type": "encrypt-resource",
        "event_type": event_type,
        "summary": "支付成功",
        "resource": resource,
    }
    return json.dumps(body, ensure_ascii=False).encode()


def wechat_headers(
    body: bytes,
    key: KeyPair,
    *,
    timestamp: int = NOW,
    serial: str = SERIAL,
    nonce: str = "5K8264ILTKCH16CQ2502SI8ZNMTM67VS",
) -> dict[str, str]:
    signature = key.sign(f"{timestamp}\n{nonce}\n".encode() + body + b"\n")
    return {
        "Wechatpay-Timestamp": str(timestamp),
        "Wechatpay-Nonce": nonce,
        "Wechatpay-Signature": base64.b64encode(signature).decode(),
        "Wechatpay-Serial": serial,
        "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
    }


def refused(provider: WechatPayProvider, headers: dict[str, str], body: bytes, *, now: float = NOW) -> RejectReason:
    with pytest.raises(VerificationError) as caught:
        provider.verify_callback(headers, body, now=now)
    return caught.value.reason


# --- callbacks ----------------------------------------------------------------------------------------------------


def test_a_signed_payment_callback_is_verified_and_its_resource_opened(
    provider: WechatPayProvider, platform_key: KeyPair
) -> None:
    body = notification(sealed(transaction()))
    event = provider.verify_callback(wechat_headers(body, platform_key), body, now=NOW)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.provider_event_id == "EV-2018022511223320873"
    assert event.payment_id == PAYMENT_ID
    assert event.provider_reference == "1217752501201407033233368018"
    assert event.amount == Money(amount=1999, currency="CNY")
    assert event.occurred_at == datetime(2024, 7, 14, 23, 33, 10, tzinfo=UTC)


def test_headers_are_found_whatever_their_case(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction()))
    lowered = {k.lower(): v for k, v in wechat_headers(body, platform_key).items()}
    assert provider.verify_callback(lowered, body, now=NOW).kind is EventKind.PAYMENT_SUCCEEDED


def test_the_acknowledgement_is_204_without_a_body_and_a_refusal_is_fail_json(provider: WechatPayProvider) -> None:
    answer = provider.acknowledge()
    assert (answer.status_code, answer.content_type, answer.body) == (204, None, "")
    refusal = provider.reject(VerificationError(RejectReason.STALE, "signed 400 s ago"))
    assert refusal.status_code == 401
    assert json.loads(refusal.body) == {"code": "FAIL", "message": "signed 400 s ago"}


def test_a_tampered_body_is_refused(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction()))
    headers = wechat_headers(body, platform_key)
    assert (
        refused(provider, headers, body.replace(b"TRANSACTION.SUCCESS", b"REFUND.SUCCESS"))
        is RejectReason.BAD_SIGNATURE
    )
    assert refused(provider, headers, json.dumps(json.loads(body)).encode()) is RejectReason.BAD_SIGNATURE


def test_a_signature_by_another_key_is_refused(provider: WechatPayProvider, merchant_key: KeyPair) -> None:
    body = notification(sealed(transaction()))
    assert refused(provider, wechat_headers(body, merchant_key), body) is RejectReason.BAD_SIGNATURE


def test_an_unknown_serial_is_refused_and_a_differently_written_serial_is_the_same(
    provider: WechatPayProvider, platform_key: KeyPair
) -> None:
    body = notification(sealed(transaction()))
    assert refused(
        provider, wechat_headers(body, platform_key, serial="7132D72A03E93CDDF8C03BBD1F37EEDF843C2C2A"), body
    ) is (RejectReason.UNKNOWN_KEY)
    for spelling in (SERIAL.lower(), "00" + SERIAL):
        headers = wechat_headers(body, platform_key, serial=spelling)
        assert provider.verify_callback(headers, body, now=NOW).kind is EventKind.PAYMENT_SUCCEEDED


def test_the_five_minute_tolerance_holds_in_both_directions(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction()))
    provider.verify_callback(wechat_headers(body, platform_key, timestamp=NOW - 299), body, now=NOW)
    provider.verify_callback(wechat_headers(body, platform_key, timestamp=NOW + 299), body, now=NOW)
    assert refused(provider, wechat_headers(body, platform_key, timestamp=NOW - 300), body) is RejectReason.STALE
    assert refused(provider, wechat_headers(body, platform_key, timestamp=NOW + 300), body) is RejectReason.FUTURE


def test_a_resource_sealed_under_another_apiv3_key_does_not_open(
    provider: WechatPayProvider, platform_key: KeyPair
) -> None:
    body = notification(sealed(transaction(), key="X" * 32))
    assert refused(provider, wechat_headers(body, platform_key), body) is RejectReason.DECRYPT_FAILED


def test_a_provider_with_the_wrong_apiv3_key_cannot_open_a_genuine_resource(
    merchant_key: KeyPair, platform_key: KeyPair, platform_certificate: str
) -> None:
    wrong = make_provider(merchant_key, {SERIAL: platform_certificate}, apiv3_key="Y" * 32)
    body = notification(sealed(transaction()))
    assert refused(wrong, wechat_headers(body, platform_key), body) is RejectReason.DECRYPT_FAILED


def test_associated_data_is_authenticated(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    resource = {**sealed(transaction()), "associated_data": "certificate"}
    body = notification(resource)
    assert refused(provider, wechat_headers(body, platform_key), body) is RejectReason.DECRYPT_FAILED


def test_wechats_signature_probe_fails(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction()))
    headers = {**wechat_headers(body, platform_key), "Wechatpay-Signature": "WECHATPAY/SIGNTEST/AAAAAAAA"}
    assert refused(provider, headers, body) is RejectReason.BAD_SIGNATURE


@pytest.mark.parametrize(
    ("change", "reason"),
    [
        ({"Wechatpay-Signature": None}, RejectReason.MALFORMED),
        ({"Wechatpay-Serial": None}, RejectReason.MALFORMED),
        ({"Wechatpay-Timestamp": "yesterday"}, RejectReason.MALFORMED),
        ({"Wechatpay-Signature": "not*base64"}, RejectReason.MALFORMED),
        ({"Wechatpay-Signature-Type": "WECHATPAY2-SM2-WITH-SM3"}, RejectReason.UNSUPPORTED),
    ],
)
def test_missing_or_malformed_headers_are_refused(
    provider: WechatPayProvider, platform_key: KeyPair, change: dict[str, str | None], reason: RejectReason
) -> None:
    body = notification(sealed(transaction()))
    headers = {**wechat_headers(body, platform_key), **change}
    assert refused(provider, {k: v for k, v in headers.items() if v is not None}, body) is reason


def test_a_genuine_callback_for_another_merchant_is_refused(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction(mchid="1230000109")))
    assert refused(provider, wechat_headers(body, platform_key), body) is RejectReason.WRONG_RECIPIENT


def test_an_unknown_algorithm_is_refused(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification({**sealed(transaction()), "algorithm": "AEAD_SM4_GCM"})
    assert refused(provider, wechat_headers(body, platform_key), body) is RejectReason.UNSUPPORTED


def test_an_expired_platform_certificate_is_not_trusted(merchant_key: KeyPair, platform_key: KeyPair) -> None:
    past = datetime.fromtimestamp(NOW, UTC) - timedelta(days=400)
    expired = certificate_pem(platform_key, int(SERIAL, 16), not_before=past, not_after=past + timedelta(days=365))
    stale_provider = make_provider(merchant_key, {SERIAL: expired})
    body = notification(sealed(transaction()))
    assert refused(stale_provider, wechat_headers(body, platform_key), body) is RejectReason.UNKNOWN_KEY


def test_the_wechat_pay_public_key_mode_is_supported(merchant_key: KeyPair, platform_key: KeyPair) -> None:
    key_id = "PUB_KEY_ID_0119000091912024071500000000000001"
    public_key_provider = make_provider(merchant_key, {key_id: platform_key.public_pem})
    body = notification(sealed(transaction()))
    event = public_key_provider.verify_callback(wechat_headers(body, platform_key, serial=key_id), body, now=NOW)
    assert event.kind is EventKind.PAYMENT_SUCCEEDED


def refund_document(status: str = "SUCCESS") -> dict[str, Any]:
    return {
        "mchid": MCHID,
        "out_trade_no": PAYMENT_ID,
        "transaction_id": "1217752501201407033233368018",
        "out_refund_no": REFUND_ID,
        "refund_id": "50000000382019052709732678859",
        "refund_status": status,
        "success_time": "2024-07-16T10:00:00+08:00",
        "user_received_account": "招商银行信用卡0403",
        "amount": {"total": 1999, "refund": 500, "payer_total": 1999, "payer_refund": 500},
    }


@pytest.mark.parametrize(
    ("event_type", "kind"),
    [
        ("REFUND.SUCCESS", EventKind.REFUND_SUCCEEDED),
        ("REFUND.ABNORMAL", EventKind.REFUND_FAILED),
        ("REFUND.CLOSED", EventKind.REFUND_FAILED),
    ],
)
def test_refund_callbacks_carry_our_refund_id(
    provider: WechatPayProvider, platform_key: KeyPair, event_type: str, kind: EventKind
) -> None:
    body = notification(sealed(refund_document(), associated_data="refund", original_type="refund"), event_type)
    event = provider.verify_callback(wechat_headers(body, platform_key), body, now=NOW)
    assert event.kind is kind
    assert (event.refund_id, event.provider_refund_reference) == (REFUND_ID, "50000000382019052709732678859")
    assert event.amount == Money(amount=500, currency="CNY")


def test_a_closed_transaction_is_payment_failed(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = notification(sealed(transaction(trade_state="CLOSED", success_time=None)), "TRANSACTION.CLOSED")
    event = provider.verify_callback(wechat_headers(body, platform_key), body, now=NOW)
    assert event.kind is EventKind.PAYMENT_FAILED
    assert event.occurred_at == datetime(2024, 7, 14, 23, 33, 15, tzinfo=UTC)  # the notification's create_time


def test_the_config_is_checked_when_the_provider_is_made(merchant_key: KeyPair, platform_certificate: str) -> None:
    with pytest.raises(ValueError, match="serial"):
        make_provider(merchant_key, {"0123456789ABCDEF": platform_certificate})
    with pytest.raises(ValueError, match="32 bytes"):
        make_provider(merchant_key, {SERIAL: platform_certificate}, apiv3_key="short")
    assert APIV3_KEY not in repr(make_provider(merchant_key, {SERIAL: platform_certificate}).config)


# --- requests and answers -----------------------------------------------------------------------------------------

CREATE = CreateIntentRequest(
    payment_id=PAYMENT_ID,
    order_id="ord_1",
    amount=Money(amount=1999, currency="CNY"),
    description="Image形象店-深圳腾大-QQ公仔",
    notify_url="https://shop.example.com/callbacks/payments/wechat",
    expires_at=datetime(2024, 7, 15, 0, 0, tzinfo=UTC),
)


def authorization_fields(request: ProviderRequest) -> dict[str, str]:
    scheme, _, rest = request.headers["Authorization"].partition(" ")
    assert scheme == "WECHATPAY2-SHA256-RSA2048"
    return dict(re.findall(r'(\w+)="([^"]*)"', rest))


def wechat_accepts(request: ProviderRequest, merchant_key: KeyPair) -> bool:
    """What WeChat Pay checks: the signature over METHOD, path with query, timestamp, nonce and body, each + \\n."""
    fields = authorization_fields(request)
    target = request.url.removeprefix("https://api.mch.weixin.qq.com")
    message = (
        f"{request.method}\n{target}\n{fields['timestamp']}\n{fields['nonce_str']}\n".encode() + request.body + b"\n"
    )
    return merchant_key.verify(message, base64.b64decode(fields["signature"]))


def test_a_native_order_is_signed_with_the_merchant_key(provider: WechatPayProvider, merchant_key: KeyPair) -> None:
    request = provider.build_create_request(CREATE, now=NOW, nonce="593BEC0C930BF1AFEB40B4A08C8FB242")
    assert (request.method, request.url) == ("POST", "https://api.mch.weixin.qq.com/v3/pay/transactions/native")
    assert request.headers["Accept"] == "application/json" and request.headers["User-Agent"]
    fields = authorization_fields(request)
    assert fields == {
        "mchid": MCHID,
        "nonce_str": "593BEC0C930BF1AFEB40B4A08C8FB242",
        "signature": fields["signature"],
        "timestamp": str(NOW),
        "serial_no": MERCHANT_SERIAL,
    }
    assert wechat_accepts(request, merchant_key)
    assert json.loads(request.body) == {
        "appid": APPID,
        "mchid": MCHID,
        "description": "Image形象店-深圳腾大-QQ公仔",
        "out_trade_no": PAYMENT_ID,
        "attach": "ord_1",
        "notify_url": "https://shop.example.com/callbacks/payments/wechat",
        "amount": {"total": 1999, "currency": "CNY"},
        "time_expire": "2024-07-15T08:00:00+08:00",
    }
    tampered = ProviderRequest(request.method, request.url, request.headers, request.body.replace(b"1999", b"1"))
    assert not wechat_accepts(tampered, merchant_key)


def signed_answer(
    status: int, document: dict[str, Any] | None, key: KeyPair, *, timestamp: int = NOW
) -> ProviderResponse:
    body = json.dumps(document).encode() if document is not None else b""
    return ProviderResponse(status, {**wechat_headers(body, key, timestamp=timestamp), "Request-ID": "r-1"}, body)


def test_a_signed_answer_gives_the_code_url(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    answer = signed_answer(200, {"code_url": "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"}, platform_key)
    result = provider.create_intent(CREATE, lambda request: answer, now=NOW)
    assert result.next_action.kind is NextActionKind.QR_CODE
    assert result.next_action.qr_code_url == "weixin://wxpay/bizpayurl?pr=p4lpSuKzz"


def test_an_unsigned_or_stale_success_answer_is_refused(provider: WechatPayProvider, platform_key: KeyPair) -> None:
    body = json.dumps({"code_url": "weixin://wxpay/bizpayurl?pr=evil"}).encode()
    for answer in (
        ProviderResponse(200, {}, body),
        signed_answer(200, {"code_url": "weixin://x"}, platform_key, timestamp=NOW - 600),
        ProviderResponse(200, signed_answer(200, {"code_url": "weixin://x"}, platform_key).headers, body),
    ):
        with pytest.raises(ProviderError) as caught:
            provider.parse_create_response(CREATE, answer, now=NOW)
        assert caught.value.code == "BAD_RESPONSE_SIGNATURE"


def test_error_answers_are_provider_errors(provider: WechatPayProvider) -> None:
    error = json.dumps({"code": "PARAM_ERROR", "message": "参数错误"}).encode()
    with pytest.raises(ProviderError) as caught:
        provider.parse_create_response(CREATE, ProviderResponse(400, {}, error), now=NOW)
    assert (caught.value.code, caught.value.retryable) == ("PARAM_ERROR", False)
    busy = json.dumps({"code": "SYSTEM_ERROR", "message": "系统错误"}).encode()
    with pytest.raises(ProviderError) as caught:
        provider.parse_create_response(CREATE, ProviderResponse(500, {}, busy), now=NOW)
    assert caught.value.retryable


def test_a_query_is_a_signed_get_by_out_trade_no(
    provider: WechatPayProvider, merchant_key: KeyPair, platform_key: KeyPair
) -> None:
    query = QueryRequest(payment_id=PAYMENT_ID)
    request = provider.build_query_request(query, now=NOW)
    assert request.url == f"https://api.mch.weixin.qq.com/v3/pay/transactions/out-trade-no/{PAYMENT_ID}?mchid={MCHID}"
    assert (request.method, request.body) == ("GET", b"")
    assert wechat_accepts(request, merchant_key)
    result = provider.parse_query_response(query, signed_answer(200, transaction(), platform_key), now=NOW)
    assert (result.status, result.amount) == (PaymentStatus.SUCCEEDED, Money(amount=1999, currency="CNY"))
    not_paid = provider.parse_query_response(
        query, signed_answer(200, transaction(trade_state="NOTPAY"), platform_key), now=NOW
    )
    assert not_paid.status is PaymentStatus.REQUIRES_ACTION
    missing = ProviderResponse(404, {}, json.dumps({"code": "ORDER_NOT_EXIST", "message": "订单不存在"}).encode())
    assert provider.parse_query_response(query, missing, now=NOW).status is PaymentStatus.NOT_FOUND


def test_a_refund_is_signed_and_names_our_refund_id(
    provider: WechatPayProvider, merchant_key: KeyPair, platform_key: KeyPair
) -> None:
    refund = RefundRequest(
        refund_id=REFUND_ID,
        payment_id=PAYMENT_ID,
        amount=Money(amount=500, currency="CNY"),
        payment_amount=Money(amount=1999, currency="CNY"),
        reason="商品已售完",
        notify_url="https://shop.example.com/callbacks/payments/wechat",
    )
    request = provider.build_refund_request(refund, now=NOW)
    assert request.url == "https://api.mch.weixin.qq.com/v3/refund/domestic/refunds"
    assert wechat_accepts(request, merchant_key)
    assert json.loads(request.body) == {
        "out_trade_no": PAYMENT_ID,
        "out_refund_no": REFUND_ID,
        "amount": {"refund": 500, "total": 1999, "currency": "CNY"},
        "reason": "商品已售完",
        "notify_url": "https://shop.example.com/callbacks/payments/wechat",
    }
    document = {
        "refund_id": "50000000382019052709732678859",
        "out_refund_no": REFUND_ID,
        "status": "PROCESSING",
        "amount": {"refund": 500, "total": 1999, "currency": "CNY"},
    }
    result = provider.parse_refund_response(refund, signed_answer(200, document, platform_key), now=NOW)
    assert (result.status, result.amount) == (RefundStatus.PENDING, Money(amount=500, currency="CNY"))
