"""WeChat Pay API v3 (direct merchant, Native payment): signed JSON requests out, signed and encrypted callbacks in.

Outgoing (pay.weixin.qq.com API v3 rules, "签名生成"): every request carries
``Authorization: WECHATPAY2-SHA256-RSA2048 mchid="..",nonce_str="..",signature="..",timestamp="..",serial_no=".."``
where ``signature`` is base64 of SHA256withRSA, with the merchant's API private key, over
``METHOD\\nPATH_AND_QUERY\\nTIMESTAMP\\nNONCE\\nBODY\\n`` (an empty body still ends with its ``\\n``) and
``serial_no`` is the merchant API certificate's serial number. ``Accept`` and ``User-Agent`` are required.

* create: ``POST /v3/pay/transactions/native`` (``appid``, ``mchid``, ``description``, ``out_trade_no`` = our
  payment id, ``notify_url``, ``amount.total`` in fen); the answer's ``code_url`` is the QR code to show.
* query: ``GET /v3/pay/transactions/out-trade-no/{out_trade_no}?mchid=..``; ``ORDER_NOT_EXIST`` means not found.
* refund: ``POST /v3/refund/domestic/refunds`` with ``out_refund_no`` = our refund id (idempotent on retry) and
  ``amount.refund``/``amount.total``.

Every 2xx answer must be signed like a callback (below); an unsigned or badly signed success is refused.

Incoming (https://pay.weixin.qq.com/wiki/doc/apiv3/wechatpay/wechatpay4_1.shtml "签名验证", and
wechatpay4_2.shtml "证书和回调报文解密"; the notification answer: apis/chapter3_3_5.shtml "通知应答"):
``Wechatpay-Timestamp``, ``Wechatpay-Nonce``, ``Wechatpay-Signature`` and ``Wechatpay-Serial`` headers; the
signature is SHA256withRSA by WeChat Pay's platform key over ``TIMESTAMP\\nNONCE\\nBODY\\n`` with the raw body.
``Wechatpay-Serial`` names the key: a platform certificate's serial number, or, in the newer "WeChat Pay public key"
mode, a ``PUB_KEY_ID_...`` id; a serial we do not hold (or an expired certificate) is refused. As WeChat Pay's own
SDKs do (wechatpay-go: ``abs(now - timestamp) >= 5 min`` is an error), the timestamp must be less than 300 s from
now either way. Signatures beginning ``WECHATPAY/SIGNTEST/`` are WeChat's probes that merchants really verify, and
fail. Only then is the body parsed: its ``resource`` is AEAD_AES_256_GCM ciphertext (base64, tag appended) under the
32-byte APIv3 key with the resource's ``nonce`` and ``associated_data``; the plaintext is the transaction or refund,
which must be for our ``mchid`` (and ``appid``).

Acknowledged with HTTP 204 and no body (the documented answer is 200 or 204 without a body); refused with 4xx and
``{"code": "FAIL", "message": ".."}``, which makes WeChat Pay retry.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from typing import Any
from urllib.parse import quote, urlsplit

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
    header,
    json_object,
    utc,
)
from functions.payments.providers.keys import (
    DecryptionFailed,
    RsaPublicKey,
    aes_256_gcm_decrypt,
    load_certificate,
    load_rsa_public_key,
    sign_sha256_rsa,
)
from functions.shared.money import Money

BEIJING = timezone(timedelta(hours=8))
SIGN_SCHEME = "WECHATPAY2-SHA256-RSA2048"
AEAD = "AEAD_AES_256_GCM"
TOLERANCE_S = 300
PROBE_PREFIX = "WECHATPAY/SIGNTEST/"

_HEX_RE = re.compile(r"[0-9A-Fa-f]{1,64}")
_TRADE_STATE = {
    "SUCCESS": PaymentStatus.SUCCEEDED,
    "REFUND": PaymentStatus.SUCCEEDED,  # paid, then (partly) refunded
    "NOTPAY": PaymentStatus.REQUIRES_ACTION,
    "USERPAYING": PaymentStatus.PENDING,
    "CLOSED": PaymentStatus.CANCELLED,
    "REVOKED": PaymentStatus.CANCELLED,
    "PAYERROR": PaymentStatus.FAILED,
}
_FAILED_TRADE_STATES = {"CLOSED", "REVOKED", "PAYERROR"}
_REFUND_STATUS = {
    "SUCCESS": RefundStatus.SUCCEEDED,
    "PROCESSING": RefundStatus.PENDING,
    "CLOSED": RefundStatus.FAILED,
    "ABNORMAL": RefundStatus.FAILED,  # the money could not reach the buyer's account: needs a person
}
_REFUND_EVENTS = {
    "REFUND.SUCCESS": EventKind.REFUND_SUCCEEDED,
    "REFUND.ABNORMAL": EventKind.REFUND_FAILED,
    "REFUND.CLOSED": EventKind.REFUND_FAILED,
}


@dataclass(frozen=True)
class WechatPayConfig:
    mchid: str
    appid: str
    merchant_serial_no: str  # the merchant API certificate's serial number
    merchant_private_key: str = field(repr=False)  # apiclient_key.pem
    apiv3_key: str = field(repr=False)  # 32 characters, set in the merchant platform
    platform_keys: Mapping[str, str]  # serial or PUB_KEY_ID_... -> platform certificate or WeChat Pay public key PEM
    api_base: str = "https://api.mch.weixin.qq.com"
    tolerance_s: int = TOLERANCE_S
    user_agent: str = "serverless-shop/0.1 (python)"


@dataclass(frozen=True)
class _PlatformKey:
    key: RsaPublicKey
    not_before: datetime | None = None
    not_after: datetime | None = None


def _key_id(value: str) -> str:
    """Serials compare as numbers (SDKs differ on leading zeros and case); public-key ids compare exactly."""
    return f"serial:{int(value, 16):x}" if _HEX_RE.fullmatch(value) else f"id:{value}"


def _reject(reason: RejectReason, message: str) -> VerificationError:
    return VerificationError(reason, message)


def _b64(text: str) -> bytes | None:
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        return None


def _json(value: Mapping[str, Any]) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


class WechatPayProvider:
    name = "wechat"

    def __init__(self, config: WechatPayConfig) -> None:
        if len(config.apiv3_key.encode()) != 32:
            raise ValueError("the APIv3 key is 32 bytes")
        if not config.platform_keys:
            raise ValueError("WeChat Pay needs at least one platform certificate or public key")
        self.config = config
        self.platform_keys: dict[str, _PlatformKey] = {}
        for key_id, pem in config.platform_keys.items():
            if "CERTIFICATE" in pem:
                certificate = load_certificate(pem)
                if _key_id(key_id) != _key_id(certificate.serial_hex):
                    raise ValueError(f"the certificate configured as {key_id} has serial {certificate.serial_hex}")
                entry = _PlatformKey(certificate.public_key, certificate.not_before, certificate.not_after)
            else:
                entry = _PlatformKey(load_rsa_public_key(pem))
            self.platform_keys[_key_id(key_id)] = entry

    # --- signatures ---------------------------------------------------------------------------------------------

    def authorization(self, method: str, url: str, body: bytes, *, timestamp: int, nonce: str) -> str:
        parts = urlsplit(url)
        target = parts.path + (f"?{parts.query}" if parts.query else "")
        message = f"{method}\n{target}\n{timestamp}\n{nonce}\n".encode() + body + b"\n"
        signature = base64.b64encode(sign_sha256_rsa(self.config.merchant_private_key, message)).decode()
        return (
            f'{SIGN_SCHEME} mchid="{self.config.mchid}",nonce_str="{nonce}",signature="{signature}",'
            f'timestamp="{timestamp}",serial_no="{self.config.merchant_serial_no}"'
        )

    def verify_signed_message(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> None:
        """Check the ``Wechatpay-*`` headers of a callback or an answer against its raw body."""
        timestamp, nonce = header(headers, "Wechatpay-Timestamp"), header(headers, "Wechatpay-Nonce")
        signature, serial = header(headers, "Wechatpay-Signature"), header(headers, "Wechatpay-Serial")
        if not (timestamp and nonce and signature and serial):
            raise _reject(RejectReason.MALFORMED, "missing Wechatpay-Timestamp/-Nonce/-Signature/-Serial")
        scheme = header(headers, "Wechatpay-Signature-Type")
        if scheme is not None and scheme != SIGN_SCHEME:
            raise _reject(RejectReason.UNSUPPORTED, "unsupported Wechatpay-Signature-Type")
        if not re.fullmatch(r"[0-9]{1,12}", timestamp):
            raise _reject(RejectReason.MALFORMED, "Wechatpay-Timestamp is not unix seconds")
        if signature.startswith(PROBE_PREFIX):
            raise _reject(RejectReason.BAD_SIGNATURE, "a signature probe")
        platform = self.platform_keys.get(_key_id(serial.strip()))
        moment = clock(now)
        if platform is None:
            raise _reject(RejectReason.UNKNOWN_KEY, "Wechatpay-Serial names a key we do not hold")
        if platform.not_before and platform.not_after and not platform.not_before <= utc(moment) <= platform.not_after:
            raise _reject(RejectReason.UNKNOWN_KEY, "the platform certificate is not valid now")
        raw_signature = _b64(signature)
        if raw_signature is None:
            raise _reject(RejectReason.MALFORMED, "Wechatpay-Signature is not base64")
        message = f"{timestamp}\n{nonce}\n".encode() + body + b"\n"
        if not platform.key.verify(message, raw_signature):
            raise _reject(RejectReason.BAD_SIGNATURE, "the signature does not match the body")
        age = moment - int(timestamp)
        if age >= self.config.tolerance_s:
            raise _reject(RejectReason.STALE, f"signed {int(age)} s ago, not less than {self.config.tolerance_s} s")
        if -age >= self.config.tolerance_s:
            raise _reject(RejectReason.FUTURE, "the signature's timestamp is in the future")

    def decrypt_resource(self, resource: Mapping[str, Any]) -> dict[str, Any]:
        if resource.get("algorithm") != AEAD:
            raise _reject(RejectReason.UNSUPPORTED, "the resource is not AEAD_AES_256_GCM")
        ciphertext, nonce = resource.get("ciphertext"), resource.get("nonce")
        associated_data = resource.get("associated_data") or ""
        if not (isinstance(ciphertext, str) and isinstance(nonce, str) and nonce and isinstance(associated_data, str)):
            raise _reject(RejectReason.MALFORMED, "the resource has no ciphertext or nonce")
        raw = _b64(ciphertext)
        if raw is None:
            raise _reject(RejectReason.MALFORMED, "the ciphertext is not base64")
        try:
            plaintext = aes_256_gcm_decrypt(
                self.config.apiv3_key.encode(), nonce.encode(), raw, associated_data.encode()
            )
        except DecryptionFailed:
            raise _reject(RejectReason.DECRYPT_FAILED, "the resource does not open with our APIv3 key") from None
        document = json_object(plaintext)
        if document is None:
            raise _reject(RejectReason.MALFORMED, "the decrypted resource is not a JSON object")
        return document

    # --- outgoing -----------------------------------------------------------------------------------------------

    def signed_request(
        self,
        method: str,
        path: str,
        payload: Mapping[str, Any] | None = None,
        *,
        now: float | None = None,
        nonce: str | None = None,
    ) -> ProviderRequest:
        url = self.config.api_base.rstrip("/") + path
        body = _json(payload) if payload is not None else b""
        headers = {
            "Authorization": self.authorization(
                method, url, body, timestamp=int(clock(now)), nonce=nonce or secrets.token_hex(16).upper()
            ),
            "Accept": "application/json",
            "User-Agent": self.config.user_agent,
        }
        if payload is not None:
            headers["Content-Type"] = "application/json"
        return ProviderRequest(method=method, url=url, headers=headers, body=body)

    def build_create_request(
        self, request: CreateIntentRequest, *, now: float | None = None, nonce: str | None = None
    ) -> ProviderRequest:
        if request.amount.currency != "CNY":
            raise ValueError("WeChat Pay Native (direct merchant) is in CNY")
        if request.notify_url is None:
            raise ValueError("WeChat Pay needs a notify_url")
        payload: dict[str, Any] = {
            "appid": self.config.appid,
            "mchid": self.config.mchid,
            "description": request.description,
            "out_trade_no": request.payment_id,
            "attach": request.order_id,
            "notify_url": request.notify_url,
            "amount": {"total": request.amount.amount, "currency": "CNY"},
        }
        if request.expires_at is not None:
            payload["time_expire"] = request.expires_at.astimezone(BEIJING).isoformat(timespec="seconds")
        return self.signed_request("POST", "/v3/pay/transactions/native", payload, now=now, nonce=nonce)

    def parse_create_response(
        self, request: CreateIntentRequest, response: ProviderResponse, *, now: float | None = None
    ) -> CreateIntentResult:
        document = self._document(response, now=now)
        code_url = document.get("code_url")
        if not isinstance(code_url, str) or not code_url:
            raise ProviderError("BAD_RESPONSE", "the Native order answer has no code_url")
        return CreateIntentResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=None,  # the transaction_id exists once the shopper pays
            status=PaymentStatus.REQUIRES_ACTION,
            next_action=NextAction(kind=NextActionKind.QR_CODE, qr_code_url=code_url),
        )

    def build_query_request(
        self, request: QueryRequest, *, now: float | None = None, nonce: str | None = None
    ) -> ProviderRequest:
        path = (
            f"/v3/pay/transactions/out-trade-no/{quote(request.payment_id, safe='')}?mchid={quote(self.config.mchid)}"
        )
        return self.signed_request("GET", path, now=now, nonce=nonce)

    def parse_query_response(
        self, request: QueryRequest, response: ProviderResponse, *, now: float | None = None
    ) -> QueryResult:
        error = json_object(response.body) or {}
        if response.status_code == 404 or error.get("code") == "ORDER_NOT_EXIST":
            return QueryResult(
                provider=self.name,
                payment_id=request.payment_id,
                provider_reference=None,
                status=PaymentStatus.NOT_FOUND,
                amount=None,
                provider_status="ORDER_NOT_EXIST",
            )
        document = self._document(response, now=now)
        if document.get("out_trade_no") != request.payment_id or document.get("mchid") != self.config.mchid:
            raise ProviderError("MISMATCH", "the query answer is for another order")
        state = str(document.get("trade_state"))
        return QueryResult(
            provider=self.name,
            payment_id=request.payment_id,
            provider_reference=_text(document.get("transaction_id")),
            status=_TRADE_STATE.get(state, PaymentStatus.PENDING),
            amount=_money(document.get("amount"), "total"),
            provider_status=state,
        )

    def build_refund_request(
        self, request: RefundRequest, *, now: float | None = None, nonce: str | None = None
    ) -> ProviderRequest:
        if request.amount.currency != "CNY":
            raise ValueError("WeChat Pay domestic refunds are in CNY")
        payload: dict[str, Any] = {
            "out_trade_no": request.payment_id,
            "out_refund_no": request.refund_id,
            "amount": {"refund": request.amount.amount, "total": request.payment_amount.amount, "currency": "CNY"},
        }
        if request.reason:
            payload["reason"] = request.reason
        if request.notify_url:
            payload["notify_url"] = request.notify_url
        return self.signed_request("POST", "/v3/refund/domestic/refunds", payload, now=now, nonce=nonce)

    def parse_refund_response(
        self, request: RefundRequest, response: ProviderResponse, *, now: float | None = None
    ) -> RefundResult:
        document = self._document(response, now=now)
        if document.get("out_refund_no") != request.refund_id:
            raise ProviderError("MISMATCH", "the refund answer is for another refund")
        status = str(document.get("status"))
        return RefundResult(
            provider=self.name,
            refund_id=request.refund_id,
            provider_refund_reference=_text(document.get("refund_id")),
            status=_REFUND_STATUS.get(status, RefundStatus.PENDING),
            amount=_money(document.get("amount"), "refund"),
            provider_status=status,
        )

    def _document(self, response: ProviderResponse, *, now: float | None) -> dict[str, Any]:
        if not 200 <= response.status_code < 300:
            error = json_object(response.body) or {}
            code = str(error.get("code") or f"HTTP_{response.status_code}")
            raise ProviderError(
                code,
                str(error.get("message") or "WeChat Pay refused the request"),
                status_code=response.status_code,
                retryable=response.status_code >= 500
                or response.status_code == 429
                or code in ("SYSTEM_ERROR", "FREQUENCY_LIMITED"),
            )
        try:
            self.verify_signed_message(response.headers, response.body, now=now)
        except VerificationError as error:
            raise ProviderError("BAD_RESPONSE_SIGNATURE", error.message, status_code=response.status_code) from None
        document = json_object(response.body)
        if document is None:
            raise ProviderError("BAD_RESPONSE", "WeChat Pay's answer is not a JSON object")
        return document

    def create_intent(
        self, request: CreateIntentRequest, transport: Transport, *, now: float | None = None
    ) -> CreateIntentResult:
        response = transport(self.build_create_request(request, now=now))
        return self.parse_create_response(request, response, now=now)

    def query(self, request: QueryRequest, transport: Transport, *, now: float | None = None) -> QueryResult:
        response = transport(self.build_query_request(request, now=now))
        return self.parse_query_response(request, response, now=now)

    def refund(self, request: RefundRequest, transport: Transport, *, now: float | None = None) -> RefundResult:
        response = transport(self.build_refund_request(request, now=now))
        return self.parse_refund_response(request, response, now=now)

    # --- incoming -----------------------------------------------------------------------------------------------

    def verify_callback(self, headers: Mapping[str, str], body: bytes, *, now: float | None = None) -> ProviderEvent:
        self.verify_signed_message(headers, body, now=now)
        notification = json_object(body)
        resource = (notification or {}).get("resource")
        if notification is None or not isinstance(resource, dict):
            raise _reject(RejectReason.MALFORMED, "the body is not a WeChat Pay notification")
        event_id, event_type = notification.get("id"), notification.get("event_type")
        if not (isinstance(event_id, str) and event_id and isinstance(event_type, str) and event_type):
            raise _reject(RejectReason.MALFORMED, "the notification has no id or event_type")
        document = self.decrypt_resource(resource)
        if document.get("mchid") != self.config.mchid:
            raise _reject(RejectReason.WRONG_RECIPIENT, "the notification is for another merchant")
        if "appid" in document and document.get("appid") != self.config.appid:
            raise _reject(RejectReason.WRONG_RECIPIENT, "the notification is for another app")
        created = _rfc3339(notification.get("create_time")) or utc(int(header(headers, "Wechatpay-Timestamp") or 0))
        kind, amount, refund_id, refund_reference = EventKind.OTHER, None, None, None
        occurred_at = _rfc3339(document.get("success_time")) or created
        if event_type.startswith("TRANSACTION.") and resource.get("original_type") == "transaction":
            state = document.get("trade_state")
            if state == "SUCCESS":
                kind = EventKind.PAYMENT_SUCCEEDED
            elif state in _FAILED_TRADE_STATES:
                kind = EventKind.PAYMENT_FAILED
            amount = _money(document.get("amount"), "total")
        elif event_type in _REFUND_EVENTS and resource.get("original_type") == "refund":
            kind = _REFUND_EVENTS[event_type]
            amount = _money(document.get("amount"), "refund")
            refund_id, refund_reference = _text(document.get("out_refund_no")), _text(document.get("refund_id"))
            if refund_id is None:
                raise _reject(RejectReason.MALFORMED, "a refund notification without out_refund_no")
        payment_id = _text(document.get("out_trade_no"))
        if kind is not EventKind.OTHER and (amount is None or payment_id is None):
            raise _reject(RejectReason.MALFORMED, f"a {event_type} notification without out_trade_no or amount")
        return ProviderEvent(
            provider=self.name,
            provider_event_id=event_id,
            provider_event_type=event_type,
            kind=kind,
            payment_id=payment_id,
            refund_id=refund_id,
            provider_reference=_text(document.get("transaction_id")),
            provider_refund_reference=refund_reference,
            amount=amount,
            occurred_at=occurred_at,
        )

    def acknowledge(self) -> Acknowledgement:
        return Acknowledgement(204, None, "")

    def reject(self, error: VerificationError) -> Acknowledgement:
        body = json.dumps({"code": "FAIL", "message": error.message}, ensure_ascii=False)
        return Acknowledgement(error.status, "application/json", body)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None


def _money(amount: Any, key: str) -> Money | None:
    if not isinstance(amount, dict):
        return None
    value, currency = amount.get(key), amount.get("currency", "CNY")
    if not isinstance(value, int) or isinstance(value, bool) or not isinstance(currency, str):
        return None
    try:
        return Money(amount=value, currency=currency)
    except ValueError:
        return None


def _rfc3339(value: Any) -> datetime | None:
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value)
    except ValueError:
        return None
    return moment.astimezone(UTC) if moment.tzinfo else None
