"""functions.payments.providers.alipay: notifications signed the way Alipay signs them (its SDKs' ``rsaCheckV1``
content: every parameter but ``sign``/``sign_type``, sorted, ``k=v`` joined by ``&``, SHA256withRSA) are accepted
and anything altered is refused; gateway requests are signed the way Alipay's gateway checks them, and answers are
verified over the raw JSON of their response node.

The helpers below are written from Alipay's documentation, independently of the module under test, so that a shared
mistake cannot make both sides agree."""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from datetime import UTC, datetime
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest

from functions.payments.providers.alipay import AlipayConfig, AlipayProvider, fen, yuan
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
from functions.shared.money import Money
from tests.unit.payments.payments_support import KeyPair

APP_ID = "2015102700040153"
PAYMENT_ID = "pay_01J9Z3K6Y8M2Q4R5S6T7V8W9X0"
REFUND_ID = "ref_01J9Z3K6Y8M2Q4R5S6T7V8W9X1"
NOW = 1_721_000_000.0


@pytest.fixture
def provider(alipay_key: KeyPair, app_key: KeyPair) -> AlipayProvider:
    return AlipayProvider(
        AlipayConfig(app_id=APP_ID, app_private_key=app_key.private_pem, alipay_public_key=alipay_key.public_base64)
    )


def payment_notification(**changes: str) -> dict[str, str]:
    """Alipay's documented example of a trade_status_sync notification, for our app and payment."""
    fields = {
        "notify_time": "2016-07-19 14:10:49",
        "notify_type": "trade_status_sync",
        "notify_id": "4a91b7a78a503640467525113fb7d8bg8e",
        "app_id": APP_ID,
        "charset": "utf-8",
        "version": "1.0",
        "trade_no": "2016071921001003030200089909",
        "out_trade_no": PAYMENT_ID,
        "buyer_id": "2088102116773037",
        "seller_id": "2088102119685838",
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "2.00",
        "receipt_amount": "2.00",
        "refund_fee": "0.00",
        "subject": "大乐透2.1",
        "body": "大乐透2.1",
        "gmt_create": "2016-07-19 14:10:44",
        "gmt_payment": "2016-07-19 14:10:47",
        "fund_bill_list": '[{"amount":"2.00","fundChannel":"ALIPAYACCOUNT"}]',
    }
    fields.update(changes)
    return fields


def alipay_signed(
    fields: dict[str, str], key: KeyPair, *, charset: str = "utf-8", sign_type: str = "RSA2"
) -> dict[str, str]:
    content = "&".join(f"{name}={fields[name]}" for name in sorted(fields))
    sign = base64.b64encode(key.sign(content.encode(charset))).decode()
    return {**fields, "sign": sign, "sign_type": sign_type}


def form(fields: dict[str, str], charset: str = "utf-8") -> bytes:
    return urlencode(fields, encoding=charset).encode()


def refused(provider: AlipayProvider, body: bytes) -> RejectReason:
    with pytest.raises(VerificationError) as caught:
        provider.verify_callback({"Content-Type": "application/x-www-form-urlencoded"}, body)
    return caught.value.reason


# --- notifications ----------------------------------------------------------------------------------------------


def test_a_payment_notification_signed_by_alipay_is_accepted(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    event = provider.verify_callback({}, form(alipay_signed(payment_notification(), alipay_key)))
    assert event.kind is EventKind.PAYMENT_SUCCEEDED
    assert event.payment_id == PAYMENT_ID
    assert event.provider_reference == "2016071921001003030200089909"
    assert event.amount == Money(amount=200, currency="CNY")
    assert event.occurred_at == datetime(2016, 7, 19, 6, 10, 47, tzinfo=UTC)  # 14:10:47 Beijing time
    assert event.provider_event_id == "2016071921001003030200089909/TRADE_SUCCESS"


def test_the_acknowledgement_is_the_plain_text_success(provider: AlipayProvider) -> None:
    answer = provider.acknowledge()
    assert (answer.status_code, answer.content_type, answer.body) == (200, "text/plain", "success")
    refusal = provider.reject(VerificationError(RejectReason.BAD_SIGNATURE, "x"))
    assert (refusal.status_code, refusal.body) == (401, "fail")


def test_the_order_of_the_fields_in_the_body_does_not_matter(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    signed = alipay_signed(payment_notification(), alipay_key)
    reordered = dict(reversed(list(signed.items())))
    assert list(reordered) != list(signed)
    assert provider.verify_callback({}, form(reordered)).kind is EventKind.PAYMENT_SUCCEEDED
    # '+' and '%20' both mean a space in a form body
    assert provider.verify_callback({}, form(signed).replace(b"+", b"%20")).payment_id == PAYMENT_ID


@pytest.mark.parametrize(
    ("field", "value"),
    [("total_amount", "2000.00"), ("trade_status", "TRADE_FINISHED"), ("out_trade_no", "pay_someone_else_00")],
)
def test_a_tampered_field_is_refused(provider: AlipayProvider, alipay_key: KeyPair, field: str, value: str) -> None:
    signed = alipay_signed(payment_notification(), alipay_key)
    assert refused(provider, form({**signed, field: value})) is RejectReason.BAD_SIGNATURE


def test_an_extra_field_or_a_missing_field_is_refused(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    signed = alipay_signed(payment_notification(), alipay_key)
    assert refused(provider, form({**signed, "refund_fee": "2.00", "gmt_refund": "2016-07-20 10:00:00"})) is (
        RejectReason.BAD_SIGNATURE
    )
    assert refused(provider, form({**signed, "passback_params": ""})) is RejectReason.BAD_SIGNATURE
    without = {k: v for k, v in signed.items() if k != "buyer_id"}
    assert refused(provider, form(without)) is RejectReason.BAD_SIGNATURE


def test_empty_values_alipay_sent_are_part_of_what_it_signed(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    """rsaCheckV1 (Java and Python SDK samples) keeps every parameter Alipay sent, empty ones as ``name=``."""
    fields = payment_notification(body="")
    assert provider.verify_callback({}, form(alipay_signed(fields, alipay_key))).kind is EventKind.PAYMENT_SUCCEEDED
    dropped = {k: v for k, v in fields.items() if k != "body"}
    signed_without_empty = {**alipay_signed(dropped, alipay_key), "body": ""}
    assert refused(provider, form(signed_without_empty)) is RejectReason.BAD_SIGNATURE


def test_only_rsa2_is_accepted(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    assert refused(provider, form(alipay_signed(payment_notification(), alipay_key, sign_type="RSA"))) is (
        RejectReason.UNSUPPORTED
    )
    signed = alipay_signed(payment_notification(), alipay_key)
    assert refused(provider, form({k: v for k, v in signed.items() if k != "sign_type"})) is RejectReason.MALFORMED


def test_a_notification_signed_with_another_key_is_forged(provider: AlipayProvider, app_key: KeyPair) -> None:
    """The app's own key is the classic mistake: notifications are verified with Alipay's public key."""
    assert refused(provider, form(alipay_signed(payment_notification(), app_key))) is RejectReason.BAD_SIGNATURE


def test_a_genuine_notification_for_another_app_or_seller_is_refused(alipay_key: KeyPair, app_key: KeyPair) -> None:
    other = AlipayProvider(
        AlipayConfig(
            app_id="2021000000000000", app_private_key=app_key.private_pem, alipay_public_key=alipay_key.public_pem
        )
    )
    body = form(alipay_signed(payment_notification(), alipay_key))
    assert refused(other, body) is RejectReason.WRONG_RECIPIENT
    seller = AlipayProvider(
        AlipayConfig(
            app_id=APP_ID,
            app_private_key=app_key.private_pem,
            alipay_public_key=alipay_key.public_pem,
            seller_id="2088000000000000",
        )
    )
    assert refused(seller, body) is RejectReason.WRONG_RECIPIENT


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"not a form",
        b"sign=abc&sign=abc&sign_type=RSA2",
        "app_id=1&subject=\u4e2d".encode(),
        b"charset=latin-9&sign=a&sign_type=RSA2",
        b"subject=%FF&sign=a&sign_type=RSA2",
    ],
)
def test_bodies_that_are_not_a_well_formed_notification_are_malformed(provider: AlipayProvider, body: bytes) -> None:
    assert refused(provider, body) is RejectReason.MALFORMED


def test_a_sign_that_is_not_base64_is_malformed(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    signed = alipay_signed(payment_notification(), alipay_key)
    assert refused(provider, form({**signed, "sign": "not*base64"})) is RejectReason.MALFORMED


def test_a_gbk_notification_is_verified_over_its_gbk_bytes(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    fields = payment_notification(charset="gbk", subject="测试商品")
    event = provider.verify_callback({}, form(alipay_signed(fields, alipay_key, charset="gbk"), charset="gbk"))
    assert event.kind is EventKind.PAYMENT_SUCCEEDED


def test_a_refund_notification_is_refund_succeeded_with_our_refund_id(
    provider: AlipayProvider, alipay_key: KeyPair
) -> None:
    fields = payment_notification(
        refund_fee="0.50", gmt_refund="2016-07-20 10:00:00.123", out_biz_no=REFUND_ID, notify_time="2016-07-20 10:00:01"
    )
    event = provider.verify_callback({}, form(alipay_signed(fields, alipay_key)))
    assert event.kind is EventKind.REFUND_SUCCEEDED
    assert event.refund_id == REFUND_ID
    assert event.amount == Money(amount=50, currency="CNY")  # refund_fee: the total refunded so far
    assert event.provider_event_id.endswith(f"/TRADE_SUCCESS/{REFUND_ID}")


def test_a_closed_trade_is_payment_failed_and_waiting_is_other(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    closed = payment_notification(trade_status="TRADE_CLOSED", gmt_close="2016-07-19 15:10:44")
    assert provider.verify_callback({}, form(alipay_signed(closed, alipay_key))).kind is EventKind.PAYMENT_FAILED
    waiting = payment_notification(trade_status="WAIT_BUYER_PAY")
    assert provider.verify_callback({}, form(alipay_signed(waiting, alipay_key))).kind is EventKind.OTHER


def test_a_genuine_notification_with_an_unreadable_amount_is_malformed(
    provider: AlipayProvider, alipay_key: KeyPair
) -> None:
    fields = payment_notification(total_amount="2.001")
    assert refused(provider, form(alipay_signed(fields, alipay_key))) is RejectReason.MALFORMED


def test_yuan_and_fen_convert_exactly() -> None:
    assert yuan(Money(amount=1999, currency="CNY")) == "19.99"
    assert yuan(Money(amount=5, currency="CNY")) == "0.05"
    assert [fen(v) for v in ("19.99", "0.05", "2", "2.5", "02.00", "-1", "1e3", "")] == [1999, 5, 200, 250] + [None] * 4
    with pytest.raises(ValueError):
        yuan(Money(amount=100, currency="USD"))


# --- gateway requests ---------------------------------------------------------------------------------------------

CREATE = CreateIntentRequest(
    payment_id=PAYMENT_ID,
    order_id="ord_1",
    amount=Money(amount=1999, currency="CNY"),
    description="订单 ord_1",
    notify_url="https://shop.example.com/callbacks/payments/alipay",
    return_url="https://shop.example.com/orders/ord_1",
)


def gateway_params(request: ProviderRequest) -> dict[str, str]:
    params = dict(parse_qsl(urlsplit(request.url).query, keep_blank_values=True))
    params.update(parse_qsl(request.body.decode(), keep_blank_values=True))
    return params


def gateway_accepts(request: ProviderRequest, app_key: KeyPair) -> bool:
    """What Alipay's gateway checks: all parameters but sign, empty ones dropped, sorted, with the app's key."""
    params = gateway_params(request)
    sign = base64.b64decode(params.pop("sign"))
    content = "&".join(f"{k}={params[k]}" for k in sorted(params) if params[k])
    return app_key.verify(content.encode(), sign)


def test_a_precreate_request_is_signed_with_the_apps_key(provider: AlipayProvider, app_key: KeyPair) -> None:
    request = provider.build_create_request(CREATE, now=NOW)
    assert request.method == "POST" and request.send_from == "server"
    assert request.url.startswith("https://openapi.alipay.com/gateway.do?")
    assert gateway_accepts(request, app_key)
    params = gateway_params(request)
    assert params["method"] == "alipay.trade.precreate"
    assert params["sign_type"] == "RSA2" and params["charset"] == "utf-8" and params["version"] == "1.0"
    assert params["timestamp"] == "2024-07-15 07:33:20"  # 1_721_000_000 is 23:33:20 UTC, Beijing is UTC+8
    assert params["notify_url"] == "https://shop.example.com/callbacks/payments/alipay"
    assert json.loads(params["biz_content"]) == {
        "out_trade_no": PAYMENT_ID,
        "total_amount": "19.99",
        "subject": "订单 ord_1",
        "product_code": "FACE_TO_FACE_PAYMENT",
    }
    assert "biz_content" in request.body.decode() and "biz_content" not in urlsplit(request.url).query
    tampered = ProviderRequest(
        request.method, request.url.replace("19.99", "0.01"), request.headers, request.body.replace(b"19.99", b"0.01")
    )
    assert not gateway_accepts(tampered, app_key)


def test_page_pay_is_a_signed_redirect_and_no_server_call(alipay_key: KeyPair, app_key: KeyPair) -> None:
    page = AlipayProvider(
        AlipayConfig(
            app_id=APP_ID, app_private_key=app_key.private_pem, alipay_public_key=alipay_key.public_pem, product="page"
        )
    )

    def transport(request: ProviderRequest) -> ProviderResponse:
        raise AssertionError("page pay needs no server call")

    result = page.create_intent(CREATE, transport, now=NOW)
    assert result.next_action.kind is NextActionKind.REDIRECT
    url = result.next_action.redirect_url or ""
    redirect = ProviderRequest("GET", url)
    assert gateway_accepts(redirect, app_key)
    params = gateway_params(redirect)
    assert params["method"] == "alipay.trade.page.pay"
    assert params["return_url"] == "https://shop.example.com/orders/ord_1"
    assert json.loads(params["biz_content"])["product_code"] == "FAST_INSTANT_TRADE_PAY"


def alipay_answer(method: str, node: Mapping[str, object], key: KeyPair | None) -> ProviderResponse:
    """An answer as Alipay writes it: the node's raw JSON, then the signature of exactly those characters."""
    raw = json.dumps(node, ensure_ascii=False, separators=(", ", ": "))
    text = f'{{"{method.replace(".", "_")}_response": {raw}'
    if key is not None:
        text += f',"sign":"{base64.b64encode(key.sign(raw.encode())).decode()}"'
    return ProviderResponse(200, {"Content-Type": "text/html;charset=utf-8"}, (text + "}").encode())


def test_a_signed_precreate_answer_gives_the_qr_code(provider: AlipayProvider, alipay_key: KeyPair) -> None:
    node = {"code": "10000", "msg": "Success", "out_trade_no": PAYMENT_ID, "qr_code": "https://qr.alipay.com/bax03"}
    sent: list[ProviderRequest] = []

    def transport(request: ProviderRequest) -> ProviderResponse:
        sent.append(request)
        return alipay_answer("alipay.trade.precreate", node, alipay_key)

    result = provider.create_intent(CREATE, transport, now=NOW)
    assert len(sent) == 1
    assert result.next_action.kind is NextActionKind.QR_CODE
    assert result.next_action.qr_code_url == "https://qr.alipay.com/bax03"


def test_an_unsigned_tampered_or_wrongly_signed_success_answer_is_refused(
    provider: AlipayProvider, alipay_key: KeyPair, app_key: KeyPair
) -> None:
    node = {"code": "10000", "msg": "Success", "out_trade_no": PAYMENT_ID, "qr_code": "https://qr.alipay.com/bax03"}
    for response in (
        alipay_answer("alipay.trade.precreate", node, None),
        alipay_answer("alipay.trade.precreate", node, app_key),
        ProviderResponse(
            200, {}, alipay_answer("alipay.trade.precreate", node, alipay_key).body.replace(b"bax03", b"evil1")
        ),
    ):
        with pytest.raises(ProviderError) as caught:
            provider.parse_create_response(CREATE, response)
        assert caught.value.code == "BAD_RESPONSE_SIGNATURE"


def test_business_errors_and_gateway_failures_are_provider_errors(
    provider: AlipayProvider, alipay_key: KeyPair
) -> None:
    node = {
        "code": "40004",
        "msg": "Business Failed",
        "sub_code": "ACQ.TOTAL_FEE_EXCEED",
        "sub_msg": "订单金额超过限额",
    }
    with pytest.raises(ProviderError) as caught:
        provider.parse_create_response(CREATE, alipay_answer("alipay.trade.precreate", node, alipay_key))
    assert (caught.value.code, caught.value.retryable) == ("ACQ.TOTAL_FEE_EXCEED", False)
    busy = {"code": "20000", "msg": "Service Currently Unavailable", "sub_code": "isp.unknow-error"}
    with pytest.raises(ProviderError) as caught:
        provider.parse_create_response(CREATE, alipay_answer("alipay.trade.precreate", busy, None))
    assert caught.value.retryable
    with pytest.raises(ProviderError) as caught:
        provider.parse_create_response(CREATE, ProviderResponse(502, {}, b""))
    assert caught.value.retryable


def test_a_query_reads_the_trade_status_and_a_signed_not_exist_is_not_found(
    provider: AlipayProvider, alipay_key: KeyPair
) -> None:
    query = QueryRequest(payment_id=PAYMENT_ID)
    request = provider.build_query_request(query, now=NOW)
    assert json.loads(gateway_params(request)["biz_content"]) == {"out_trade_no": PAYMENT_ID}
    node = {
        "code": "10000",
        "msg": "Success",
        "trade_no": "2016071921001003030200089909",
        "out_trade_no": PAYMENT_ID,
        "trade_status": "TRADE_SUCCESS",
        "total_amount": "19.99",
    }
    result = provider.parse_query_response(query, alipay_answer("alipay.trade.query", node, alipay_key))
    assert (result.status, result.amount) == (PaymentStatus.SUCCEEDED, Money(amount=1999, currency="CNY"))
    assert result.provider_reference == "2016071921001003030200089909"
    missing = {"code": "40004", "msg": "Business Failed", "sub_code": "ACQ.TRADE_NOT_EXIST", "sub_msg": "交易不存在"}
    result = provider.parse_query_response(query, alipay_answer("alipay.trade.query", missing, alipay_key))
    assert result.status is PaymentStatus.NOT_FOUND
    with pytest.raises(ProviderError):  # an unsigned "not found" proves nothing
        provider.parse_query_response(query, alipay_answer("alipay.trade.query", missing, None))


def test_a_refund_names_our_refund_id_as_out_request_no(
    provider: AlipayProvider, alipay_key: KeyPair, app_key: KeyPair
) -> None:
    refund = RefundRequest(
        refund_id=REFUND_ID,
        payment_id=PAYMENT_ID,
        amount=Money(amount=50, currency="CNY"),
        payment_amount=Money(amount=1999, currency="CNY"),
        reason="退货",
    )
    request = provider.build_refund_request(refund, now=NOW)
    assert gateway_accepts(request, app_key)
    assert json.loads(gateway_params(request)["biz_content"]) == {
        "out_trade_no": PAYMENT_ID,
        "refund_amount": "0.50",
        "out_request_no": REFUND_ID,
        "refund_reason": "退货",
    }
    node = {"code": "10000", "msg": "Success", "out_trade_no": PAYMENT_ID, "fund_change": "Y", "refund_fee": "0.50"}
    result = provider.parse_refund_response(refund, alipay_answer("alipay.trade.refund", node, alipay_key))
    assert result.status is RefundStatus.SUCCEEDED
    repeated = {**node, "fund_change": "N"}
    result = provider.parse_refund_response(refund, alipay_answer("alipay.trade.refund", repeated, alipay_key))
    assert result.status is RefundStatus.PENDING
