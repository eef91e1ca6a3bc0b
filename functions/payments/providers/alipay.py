"""Alipay (open platform, public-key mode): RSA2-signed gateway requests out, RSA2-signed asynchronous
notifications in.

Outgoing (https://opendocs.alipay.com/common/02kf5q, "自行实现签名"): every call goes to one gateway
(``https://openapi.alipay.com/gateway.do``; the sandbox is ``https://openapi-sandbox.dl.alipaydev.com/gateway.do``)
with the common parameters ``app_id, method, format=JSON, charset, sign_type=RSA2, timestamp`` (Beijing time,
``yyyy-MM-dd HH:mm:ss``), ``version=1.0``, optionally ``notify_url``/``return_url``, and the business parameters as
one JSON string in ``biz_content``. The string to sign is every parameter except ``sign`` and except empty values,
sorted by name, written ``name=value`` and joined with ``&``, encoded in ``charset``; ``sign`` is base64 of its
SHA256withRSA signature with the app's private key. As Alipay's SDKs do, the common parameters and ``sign`` travel
in the query string and ``biz_content`` in the form body.

* create: ``alipay.trade.precreate`` (server call; the answer's ``qr_code`` is the QR code to show), or, with
  ``product="page"``/``"wap"``, ``alipay.trade.page.pay``/``alipay.trade.wap.pay``: no server call at all, the
  signed gateway URL *is* the redirect for the shopper's browser.
* query: ``alipay.trade.query``; ``ACQ.TRADE_NOT_EXIST`` means Alipay has no such trade (before the shopper scans
  it there is none).
* refund: ``alipay.trade.refund`` with ``out_request_no`` = our refund id, which makes a retry idempotent.

Answers are ``{"<method with _>_response": {...}, "sign": "..."}``; the signature covers the *raw* JSON text of the
response node, so it is cut out of the body, never re-serialised. A success (``code`` 10000) without a valid
signature is refused.

Incoming (opendocs.alipay.com, "异步通知验签"; the SDKs' ``AlipaySignature.rsaCheckV1``): a form-encoded POST.
Remove ``sign`` and ``sign_type``; every other parameter Alipay sent, empty ones included, sorted by name, written
``name=value``, joined with ``&``, encoded in the notification's ``charset``, is what was signed with Alipay's
private key (SHA256withRSA); verify with *Alipay's* public key (not the app's). Only ``sign_type=RSA2`` is accepted
(``RSA`` is SHA-1). Then the notification must be for our ``app_id`` (and ``seller_id`` when configured).
Alipay re-sends until the answer is the plain text ``success`` (8 times over 25 hours).

Alipay notifications carry no freshness guarantee to check against (the retries span a day), so there is no
staleness window here: replay protection is the de-duplication of events by ``provider_event_id``
(``trade_no/trade_status[/out_biz_no]``, identical across retries) and the payment state machine, which only moves
forward.

Amounts are yuan strings with at most two decimals (``"19.99"``); this adapter converts them to and from fen.
The domestic open platform trades in CNY only.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import unquote_to_bytes, urlencode

from functions.payments.providers.base import (
    Acknowledgement,
    CreateIntentRequest,
    CreateIntentResult,
    EventKind,
    NextAction,
    NextActionKind,
    PaymentStatus,
    ProviderError,
    ProviderEvent,
    ProviderRequest,
    ProviderResponse,
    QueryRequest,
    QueryResult,
    RefundRequest,
    RefundResult,
    RefundStatus,
    RejectReason,
    Transport,
    VerificationError,
    clock,
)
from functions.payments.providers.keys import RsaPublicKey, load_rsa_public_key, sign_sha256_rsa
from functions.shared.money import Money

BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")  # China has no daylight saving time
SUCCESS_CODE = "10000"
MAX_FIELDS = 200

_PRODUCTS = {
    "precreate": ("alipay.trade.precreate", "FACE_TO_FACE_PAYMENT"),
    "page": ("alipay.trade.page.pay", "FAST_INSTANT_TRADE_PAY"),
    "wap": ("alipay.trade.wap.pay", "QUICK_WAP_WAY"),
}
_CHARSETS = {"utf-8": "utf-8", "utf8": "utf-8", "gbk": "gbk", "gb2312": "gbk"}  # GBK is a superset of GB2312
_YUAN_RE = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")
_TRADE_STATUS = {
    "WAIT_BUYER_PAY": PaymentStatus.REQUIRES_ACTION,
    "TRADE_SUCCESS": PaymentStatus.SUCCEEDED,
    "TRADE_FINISHED": PaymentStatus.SUCCEEDED,
    "TRADE_CLOSED": PaymentStatus.CANCELLED,  # closed unpaid, or closed by a full refund
}


@dataclass(frozen=True)
class AlipayConfig:
    app_id: str
    app_private_key: str = field(repr=False)  # PKCS#8/PKCS#1, PEM or bare base64
    alipay_public_key: str  # Alipay's public key (not the app's): PEM or the console's bare base64
    gateway: str = "https://openapi.alipay.com/gateway.do"
    product: str = "precreate"  # precreate (QR code) | page (PC web redirect) | wap (mobile web redirect)
    seller_id: str | None = None  # when set, notifications for another seller are refused
    charset: str = "utf-8"


def yuan(amount: Money) -> str:
    if amount.currency != "CNY":
        raise ValueError("Alipay's domestic open platform trades in CNY")
    return f"{amount.amount // 100}.{amount.amount % 100:02d}"


def fen(value: str) -> int | None:
    match = _YUAN_RE.fullmatch(value)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def request_sign_content(params: Mapping[str, str | None]) -> str:
    """The request rule: all parameters but ``sign``, empty values dropped, sorted, ``k=v`` joined by ``&``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] not in (None, ""))


def notification_sign_content(params: Mapping[str, str]) -> str:
    """The notification rule (``rsaCheckV1``): all parameters but ``sign`` and ``sign_type``, empty ones included."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def beijing_time(now: float) -> str:
    return datetime.fromtimestamp(now, BEIJING).strftime("%Y-%m-%d %H:%M:%S")


def _parse_beijing(value: str | None) -> datetime | None:
    if not value:
        return None
    for pattern in ("%Y-%m-%d %H:%M:%S", "%Y-%m-%d %H:%M:%S.%f"):
        try:
            return datetime.strptime(value, pattern).replace(tzinfo=BEIJING).astimezone(UTC)
        except ValueError:
            continue
    return None


def _reject(reason: RejectReason, message: str) -> VerificationError:
    return VerificationError(reason, message)


def parse_form(body: bytes) -> dict[str, str]:
    """A form-encoded body (percent-encoded, ``+`` for space), decoded in the charset it names (``charset``,
    default UTF-8). Every field appears once."""
    try:
        text = body.decode("ascii")
    except UnicodeDecodeError:
        raise _reject(RejectReason.MALFORMED, "a form body is percent-encoded ASCII") from None
    items = text.split("&") if text else []
    if len(items) > MAX_FIELDS:
        raise _reject(RejectReason.MALFORMED, "too many fields")
    pairs: list[tuple[bytes, bytes]] = []
    for item in items:
        key, separator, value = item.partition("=")
        if not separator or not key:
            raise _reject(RejectReason.MALFORMED, "the body is not a form")
        pairs.append((unquote_to_bytes(key.replace("+", " ")), unquote_to_bytes(value.replace("+", " "))))
    raw_charset = next((v for k, v in pairs if k == b"charset"), b"utf-8")
    charset = _CHARSETS.get(raw_charset.decode("ascii", "replace").strip().lower())
    if charset is None:
        raise _reject(RejectReason.MALFORMED, "unsupported charset")
    params: dict[str, str] = {}
    for raw_key, raw_value in pairs:
        try:
            key, value = raw_key.decode(charset), raw_value.decode(charset)
        except UnicodeDecodeError:
            raise _reject(RejectReason.MALFORMED, f"a field is not valid {charset}") from None
        if key in params:
            raise _reject(RejectReason.MALFORMED, f"the field {key!r} appears twice")
        params[key] = value
    return params


class AlipayProvider:
    name = "alipay"

    def __init__(self, config: AlipayConfig) -> None:
        if config.product not in _PRODUCTS:
            raise ValueError(f"unknown Alipay product {config.product!r}")
        if _CHARSETS.get(config.charset.lower()) != "utf-8":
            raise ValueError("requests are sent in UTF-8")
        self.config = config
        self.alipay_key: RsaPublicKey = load_rsa_public_key(config.alipay_public_key)

    # --- outgoing -----------------------------------------------------------------------------------------------

    def build_request(
        self,
        method: str,
        biz: Mapping[str, Any],
        *,
        now: float | None = None,
        notify_url: str | None = None,
        return_url: str | None = None,
        browser: bool = False,
    ) -> ProviderRequest:
        common: dict[str, str] = {
            "app_id": self.config.app_id,
            "method": method,
            "format": "JSON",
            "charset": "utf-8",
            "sign_type": "RSA2",
            "timestamp": beijing_time(clock(now)),
            "version": "1.0",
        }
        if notify_url:
            common["notify_url"] = notify_url
        if return_url:
            common["return_url"] = return_url
        business = {"biz_content": json.dumps(biz, ensure_ascii=False, separators=(",", ":"))}
        signature = sign_sha256_rsa(self.config.app_private_key, request_sign_content(common | business).encode())
        common["sign"] = base64.b64encode(signature).decode()
        if browser:
            url = f"{self.config.gateway}?{urlencode(common | business)}"
            return ProviderRequest(method="GET", url=url, send_from="browser")
        return ProviderRequest(
            method="POST",
            url=f"{self.config.gateway}?{urlencode(common)}",
            headers={"Content-Type": "application/x-www-form-urlencoded;charset=utf-8", "Accept": "application/json"},
            body=urlencode(business).encode(),
        )

    def build_create_request(self, request: CreateIntentRequest, *, now: float | None = None) -> ProviderRequest:
        method, product_code = _PRODUCTS[self.config.product]
        biz: dict[str, Any] = {
            "out_trade_no": request.payment_id,
            "total_amount": yuan(request.amount),
            "subject": request.description,
            "product_code": product_code,
        }
        if request.expires_at is not None:
            biz["time_expire"] = request.expires_at.astimezone(BEIJING).strftime("%Y-%m-%d %H:%M:%S")
        browser = self.config.product != "precreate"
        return self.build_request(
            method,
            biz,
            now=now,
            notify_url=request.notify_url,
            return_url=request.return_url if browser else None,
            browser=browser,
        )

    def parse_create_response(self, request: CreateIntentRequest, response: ProviderResponse) -> CreateIntentResult:
        node, _ = self._node(response, "alipay.trade.precreate")
        _raise_unless_success(node)
        qr_code = node.get("qr_code")
        if node.get("out_trade_no") != request.payment_id or not isinstance(qr_code, str) or not qr_code:
            raise ProviderError("BAD_RESPONSE", "the precreate answer is for another trade or has no qr_code")
        return CreateIntentResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=None,  # Alipay numbers the trade (trade_no) once the shopper scans it
            status=PaymentStatus.REQUIRES_ACTION,
            next_action=NextAction(kind=NextActionKind.QR_CODE, qr_code_url=qr_code),
        )

    def build_query_request(self, request: QueryRequest, *, now: float | None = None) -> ProviderRequest:
        return self.build_request("alipay.trade.query", {"out_trade_no": request.payment_id}, now=now)

    def parse_query_response(self, request: QueryRequest, response: ProviderResponse) -> QueryResult:
        node, signed = self._node(response, "alipay.trade.query")
        if signed and node.get("code") == "40004" and node.get("sub_code") == "ACQ.TRADE_NOT_EXIST":
            return QueryResult(
                provider=self.name,
                payment_id=request.payment_id,
                provider_reference=None,
                status=PaymentStatus.NOT_FOUND,
                amount=None,
                provider_status="ACQ.TRADE_NOT_EXIST",
            )
        _raise_unless_success(node)
        if node.get("out_trade_no") != request.payment_id:
            raise ProviderError("MISMATCH", "the query answer is for another trade")
        status = str(node.get("trade_status"))
        total = fen(str(node.get("total_amount", "")))
        return QueryResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=_text(node.get("trade_no")),
            status=_TRADE_STATUS.get(status, PaymentStatus.PENDING),
            amount=Money(amount=total, currency="CNY") if total is not None else None,
            provider_status=status,
        )

    def build_refund_request(self, request: RefundRequest, *, now: float | None = None) -> ProviderRequest:
        biz = {
            "out_trade_no": request.payment_id,
            "refund_amount": yuan(request.amount),
            "out_request_no": request.refund_id,
        }
        if request.reason:
            biz["refund_reason"] = request.reason
        return self.build_request("alipay.trade.refund", biz, now=now)

    def parse_refund_response(self, request: RefundRequest, response: ProviderResponse) -> RefundResult:
        node, _ = self._node(response, "alipay.trade.refund")
        _raise_unless_success(node)
        if node.get("out_trade_no") != request.payment_id:
            raise ProviderError("MISMATCH", "the refund answer is for another trade")
        # fund_change "N" answers a repeated out_request_no (or a refund with no money moved): confirm by query.
        changed = node.get("fund_change") == "Y"
        return RefundResult(
            provider=self.name,
            refund_id=request.refund_id,
            provider_refund_reference=None,  # Alipay knows the refund by our out_request_no
            status=RefundStatus.SUCCEEDED if changed else RefundStatus.PENDING,
            amount=request.amount,
            provider_status=f"fund_change={node.get('fund_change')}",
        )

    def _node(self, response: ProviderResponse, method: str) -> tuple[dict[str, Any], bool]:
        """The response node and whether it was signed (a present signature must verify)."""
        if not 200 <= response.status_code < 300:
            raise ProviderError(
                f"HTTP_{response.status_code}",
                "the Alipay gateway did not answer",
                status_code=response.status_code,
                retryable=response.status_code >= 500 or response.status_code == 429,
            )
        try:
            text = response.body.decode("utf-8")
            document = json.loads(text)
        except (ValueError, RecursionError):
            raise ProviderError("BAD_RESPONSE", "Alipay's answer is not JSON") from None
        if not isinstance(document, dict):
            raise ProviderError("BAD_RESPONSE", "Alipay's answer is not a JSON object")
        for key in (method.replace(".", "_") + "_response", "error_response"):
            if isinstance(document.get(key), dict):
                raw = _raw_member(text, key, document[key])
                break
        else:
            raise ProviderError("BAD_RESPONSE", "Alipay's answer has no response node")
        node: dict[str, Any] = document[key]
        sign = document.get("sign")
        if isinstance(sign, str) and sign:
            if raw is None or not self.alipay_key.verify(raw.encode("utf-8"), _b64(sign) or b""):
                raise ProviderError("BAD_RESPONSE_SIGNATURE", "Alipay's answer is not signed by Alipay's key")
            return node, True
        if node.get("code") == SUCCESS_CODE:
            raise ProviderError("BAD_RESPONSE_SIGNATURE", "Alipay's success answer is unsigned")
        return node, False

    def create_intent(
        self, request: CreateIntentRequest, transport: Transport, *, now: float | None = None
    ) -> CreateIntentResult:
        outgoing = self.build_create_request(request, now=now)
        if outgoing.send_from == "browser":
            return CreateIntentResult(
                provider=self.name,
                payment_id=request.payment_id,
                provider_reference=None,
                status=PaymentStatus.REQUIRES_ACTION,
                next_action=NextAction(kind=NextActionKind.REDIRECT, redirect_url=outgoing.url),
            )
        return self.parse_create_response(request, transport(outgoing))

    def query(self, request: QueryRequest, transport: Transport, *, now: float | None = None) -> QueryResult:
        return self.parse_query_response(request, transport(self.build_query_request(request, now=now)))

    def refund(self, request: RefundRequest, transport: Transport, *, now: float | None = None) -> RefundResult:
        return self.parse_refund_response(request, transport(self.build_refund_request(request, now=now)))

    # --- incoming -----------------------------------------------------------------------------------------------

    def verify_notification(self, body: bytes) -> dict[str, str]:
        """Verify a notification's signature; returns its fields (without ``sign``/``sign_type``)."""
        params = parse_form(body)
        sign, sign_type = params.pop("sign", ""), params.pop("sign_type", "")
        if not sign or not sign_type:
            raise _reject(RejectReason.MALFORMED, "the notification has no sign or sign_type")
        if sign_type != "RSA2":
            raise _reject(RejectReason.UNSUPPORTED, "only RSA2 (SHA256withRSA) notifications are accepted")
        signature = _b64(sign)
        if signature is None:
            raise _reject(RejectReason.MALFORMED, "sign is not base64")
        charset = _CHARSETS[params.get("charset", "utf-8").strip().lower()]
        if not self.alipay_key.verify(notification_sign_content(params).encode(charset), signature):
            raise _reject(RejectReason.BAD_SIGNATURE, "the notification is not signed by Alipay's key")
        if params.get("app_id") != self.config.app_id:
            raise _reject(RejectReason.WRONG_RECIPIENT, "the notification is for another app")
        if self.config.seller_id and params.get("seller_id") != self.config.seller_id:
            raise _reject(RejectReason.WRONG_RECIPIENT, "the notification is for another seller")
        return params

    def verify_callback(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> ProviderEvent:
        params = self.verify_notification(body)
        trade_status = params.get("trade_status", "")
        trade_no, payment_id = params.get("trade_no") or None, params.get("out_trade_no") or None
        refund_id = params.get("out_biz_no") or None
        is_refund = bool(refund_id or params.get("gmt_refund"))
        kind, amount_field, time_field = EventKind.OTHER, "total_amount", "notify_time"
        if is_refund and trade_status in ("TRADE_SUCCESS", "TRADE_CLOSED", "TRADE_FINISHED"):
            # refund_fee is the total refunded on the trade so far, not this refund alone
            kind, amount_field, time_field = EventKind.REFUND_SUCCEEDED, "refund_fee", "gmt_refund"
        elif trade_status in ("TRADE_SUCCESS", "TRADE_FINISHED"):
            kind, time_field = EventKind.PAYMENT_SUCCEEDED, "gmt_payment"
        elif trade_status == "TRADE_CLOSED":
            kind, time_field = EventKind.PAYMENT_FAILED, "gmt_close"
        amount = None
        if kind is not EventKind.OTHER:
            value = fen(params.get(amount_field, ""))
            if value is None or not trade_no or not payment_id:
                raise _reject(RejectReason.MALFORMED, "a trade notification without trade numbers or an amount")
            amount = Money(amount=value, currency="CNY")
        occurred_at = _parse_beijing(params.get(time_field)) or _parse_beijing(params.get("notify_time"))
        if occurred_at is None:
            raise _reject(RejectReason.MALFORMED, "the notification has no notify_time")
        event_id = "/".join(p for p in (trade_no or params.get("notify_id", ""), trade_status, refund_id) if p)
        return ProviderEvent(
            provider=self.name,
            provider_event_id=event_id or "unknown",
            provider_event_type=f"{params.get('notify_type', '')}:{trade_status}",
            kind=kind,
            payment_id=payment_id,
            refund_id=refund_id if kind is EventKind.REFUND_SUCCEEDED else None,
            provider_reference=trade_no,
            amount=amount,
            occurred_at=occurred_at,
        )

    def acknowledge(self) -> Acknowledgement:
        return Acknowledgement(200, "text/plain", "success")

    def reject(self, error: VerificationError) -> Acknowledgement:
        return Acknowledgement(error.status, "text/plain", "fail")


def _raise_unless_success(node: Mapping[str, Any]) -> None:
    code = node.get("code")
    if code != SUCCESS_CODE:
        raise ProviderError(
            str(node.get("sub_code") or code or "BAD_RESPONSE"),
            str(node.get("sub_msg") or node.get("msg") or "Alipay refused the request"),
            retryable=code == "20000",  # service temporarily unavailable
        )


def _raw_member(text: str, key: str, value: Any) -> str | None:
    """The exact text of ``"key": value`` in the body: the signature covers these characters, not a re-encoding."""
    decoder = json.JSONDecoder()
    needle = json.dumps(key)
    index = text.find(needle)
    while index != -1:
        position = index + len(needle)
        while position < len(text) and text[position] in " \t\r\n":
            position += 1
        if position < len(text) and text[position] == ":":
            position += 1
            while position < len(text) and text[position] in " \t\r\n":
                position += 1
            try:
                candidate, end = decoder.raw_decode(text, position)
            except ValueError:
                candidate, end = None, position
            if candidate == value:
                return text[position:end]
        index = text.find(needle, index + 1)
    return None


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
