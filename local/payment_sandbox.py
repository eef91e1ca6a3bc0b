"""A local payment sandbox: one loopback HTTP server that behaves like Stripe, Alipay and WeChat Pay (API v3) for the
calls the adapters in :mod:`functions.payments.providers` make, and sends their signed callbacks.

Nothing here imports the adapters' signing or verification code: the sandbox follows each provider's documented
rule on its own (with ``cryptography``), so a test that drives an adapter against it checks the adapter against an
independent implementation, as the unit tests do.

* **Stripe** under ``/card``: ``POST /card/v1/payment_intents`` (``Authorization: Bearer <secret key>``, Stripe's
  ``Idempotency-Key`` semantics: the same key replays the first answer, with other parameters it is a 400
  ``idempotency_error``), ``GET /card/v1/payment_intents/{id}``, ``GET /card/v1/payment_intents/search?query=
  metadata['payment_id']:'...'``, ``POST /card/v1/payment_intents/{id}/confirm`` with Stripe's test payment methods
  (``pm_card_visa`` and friends succeed, ``pm_card_chargeDeclined`` answers 402 ``card_declined``), authorised by the
  secret key or, as Stripe.js does, by the PaymentIntent's ``client_secret`` in the form; ``POST /card/v1/refunds``
  and ``GET /card/v1/refunds?payment_intent=<id>`` (the list of a PaymentIntent's refunds, newest first).
  Events ``payment_intent.succeeded``, ``payment_intent.payment_failed`` and ``refund.created`` are POSTed, signed
  ``Stripe-Signature: t=..,v1=..`` with the webhook secret, to ``<notify_base_url>/callbacks/payments/card``.
* **Alipay** ``POST /alipay/gateway.do``: ``alipay.trade.precreate``, ``alipay.trade.query``, ``alipay.trade.refund``;
  the app's RSA2 signature is verified with the app's public key (``isv.invalid-signature`` otherwise), answers are
  ``{"<method>_response": {...}, "sign": "..."}`` signed over the node's raw JSON with the sandbox's "Alipay" key. As
  on Alipay, a precreated trade only exists once the QR code is scanned (the pay page is opened): before that, a
  query answers ``ACQ.TRADE_NOT_EXIST``. Notifications (``trade_status_sync``: ``TRADE_SUCCESS`` on payment,
  ``TRADE_CLOSED`` on decline, ``refund_fee``/``gmt_refund``/``out_biz_no`` on a refund) are form POSTs signed RSA2
  to the trade's ``notify_url``. ``product="page"``/``"wap"`` works too: the browser's signed ``GET
  /alipay/gateway.do`` (``alipay.trade.page.pay``/``wap.pay``) is verified and redirected to the pay page, and a
  payment there links back to the ``return_url`` with the signed synchronous return parameters.
* **WeChat Pay v3** under ``/wechat``: ``POST /wechat/v3/pay/transactions/native``, ``GET
  /wechat/v3/pay/transactions/out-trade-no/{no}?mchid=..`` (and ``/id/{transaction_id}``), ``POST
  /wechat/v3/refund/domestic/refunds``; the merchant's ``WECHATPAY2-SHA256-RSA2048`` Authorization is verified
  (401 ``SIGN_ERROR`` otherwise), every answer carries ``Wechatpay-Timestamp/-Nonce/-Signature/-Serial`` signed by
  the platform key. Callbacks (``TRANSACTION.SUCCESS``, ``REFUND.SUCCESS``, and for a decline
  ``TRANSACTION.PAYERROR``, a sandbox extension: WeChat Pay itself only notifies successes) carry the resource
  encrypted AEAD_AES_256_GCM with the APIv3 key and go to the order's (or refund's) ``notify_url``.
* **Pages for people**: ``GET /card/pay/<pi id>``, ``/alipay/pay/<out_trade_no>``, ``/wechat/pay/<out_trade_no>``
  show the amount with *Pay* and *Decline* buttons posting to ``.../approve`` and ``.../decline``. Both take
  ``duplicates=N`` (send the callback N times, byte for byte) and ``delay=S`` (send it S seconds later, in the
  background); so do the card confirm call and ``POST /sandbox/<provider>/<id>/resend`` (the last callback of that
  payment again, freshly signed where the signature is timed, like a provider's retry). ``Accept:
  application/json`` gets JSON instead of HTML. ``GET /sandbox/deliveries`` lists recent callback deliveries.

Refunds succeed at once and send the provider's refund notification. State is in memory. Keys are generated on the
first run and kept in ``.local/payment-sandbox.json`` (mode 600; ``PAYMENT_SANDBOX_KEYS_FILE`` moves it); each one
can be given instead as ``SANDBOX_<FIELD>`` (see :data:`KEY_FIELDS`), e.g. ``SANDBOX_STRIPE_WEBHOOK_SECRET``.
:meth:`PaymentSandbox.provider_config` is the JSON the payments context reads from its secret.

Loopback only, like the rest of the local platform: the keys are test keys and the sandbox trusts anyone who can
reach it.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import html
import json
import logging
import os
import re
import secrets
import threading
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote, urlencode, urlsplit

from cryptography import x509
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.hazmat.primitives.ciphers.aead import AESGCM
from cryptography.x509.oid import NameOID

log = logging.getLogger("local.payment_sandbox")

REPO = Path(__file__).resolve().parents[1]
DEFAULT_KEYS_FILE = REPO / ".local" / "payment-sandbox.json"
BEIJING = timezone(timedelta(hours=8), "Asia/Shanghai")
MAX_BODY_BYTES = 1024 * 1024
MAX_DUPLICATES = 20
MAX_DELAY_S = 600.0
MAX_DELIVERIES_KEPT = 500
CALLBACK_TIMEOUT_S = 10.0
TOLERANCE_S = 300

# field in the keys file -> what it is; each can be set instead with the environment variable SANDBOX_<FIELD>
KEY_FIELDS: dict[str, str] = {
    "stripe_secret_key": "the Stripe secret key the shop calls the API with (sk_test_...)",
    "stripe_webhook_secret": "the webhook endpoint's signing secret (whsec_...)",
    "alipay_app_id": "the Alipay app id",
    "alipay_app_private_key": "the app's RSA private key (PEM): the shop signs gateway calls with it",
    "alipay_private_key": "'Alipay's' RSA private key (PEM): the sandbox signs answers and notifications with it",
    "wechat_mchid": "the WeChat Pay merchant id",
    "wechat_appid": "the WeChat app id",
    "wechat_merchant_serial_no": "the merchant API certificate's serial number",
    "wechat_merchant_private_key": "the merchant API private key (PEM): the shop signs requests with it",
    "wechat_apiv3_key": "the 32-character APIv3 key that encrypts callback resources",
    "wechat_platform_private_key": "the platform private key (PEM): the sandbox signs answers and callbacks",
    "wechat_platform_certificate": "the platform certificate (PEM), self-signed, for the shop to verify with",
}
ENV_PREFIX = "SANDBOX_"

_GOOD_CARDS = {"pm_card_visa", "pm_card_mastercard", "pm_card_amex", "pm_card_unionpay", "pm_card_visa_debit"}
_DECLINED_CARDS = {
    "pm_card_chargeDeclined": "generic_decline",
    "pm_card_visa_chargeDeclined": "generic_decline",
    "pm_card_chargeDeclinedInsufficientFunds": "insufficient_funds",
    "pm_card_chargeDeclinedExpiredCard": "expired_card",
}
_ZERO_DECIMAL = {"jpy", "krw", "vnd", "clp", "isk", "ugx", "xaf", "xof", "pyg", "rwf", "kmf", "gnf", "djf", "bif"}
_YUAN_RE = re.compile(r"(0|[1-9][0-9]{0,11})(?:\.([0-9]{1,2}))?")
_SEARCH_RE = re.compile(r"""\s*metadata\[['"]([^'"]+)['"]\]\s*:\s*['"]([^'"]*)['"]\s*""")
_AUTH_PARAM_RE = re.compile(r'(\w+)="([^"]*)"')
_WECHAT_STATE_DESC = {
    "NOTPAY": "未支付",
    "SUCCESS": "支付成功",
    "REFUND": "转入退款",
    "CLOSED": "已关闭",
    "PAYERROR": "支付失败",
}


class SandboxError(ValueError):
    """Bad sandbox configuration (an environment variable that cannot be used)."""


# --- keys -------------------------------------------------------------------------------------------------------------


def _new_private_key() -> rsa.RSAPrivateKey:
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _private_pem(key: rsa.RSAPrivateKey) -> str:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()


def _public_pem(key: rsa.RSAPublicKey) -> str:
    return key.public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo).decode()


def _load_private(pem: str, name: str) -> rsa.RSAPrivateKey:
    try:
        key = serialization.load_pem_private_key(pem.encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise SandboxError(f"{name} is not a PEM private key: {exc}") from None
    if not isinstance(key, rsa.RSAPrivateKey) or key.key_size < 2048:
        raise SandboxError(f"{name} must be an RSA key of at least 2048 bits")
    return key


def _certificate(key: rsa.RSAPrivateKey) -> str:
    now = datetime.now(UTC)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "WeChat Pay sandbox platform certificate")])
    certificate = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - timedelta(days=1))
        .not_valid_after(now + timedelta(days=3650))
        .sign(key, hashes.SHA256())
    )
    return certificate.public_bytes(serialization.Encoding.PEM).decode()


def _digits(count: int) -> str:
    return "".join(secrets.choice("0123456789") for _ in range(count))


def _generate(name: str) -> str:
    if name == "stripe_secret_key":
        return "sk_test_sandbox_" + secrets.token_hex(16)
    if name == "stripe_webhook_secret":
        return "whsec_" + secrets.token_urlsafe(24)
    if name == "alipay_app_id":
        return "2021000" + _digits(9)
    if name == "wechat_mchid":
        return "1900" + _digits(6)
    if name == "wechat_appid":
        return "wx" + secrets.token_hex(8)
    if name == "wechat_merchant_serial_no":
        return secrets.token_hex(20).upper()
    if name == "wechat_apiv3_key":
        return secrets.token_hex(16)
    if name.endswith("private_key"):
        return _private_pem(_new_private_key())
    raise KeyError(name)


@dataclass(frozen=True)
class SandboxKeys:
    """Every key and id the sandbox and the shop share, with the parsed key objects."""

    values: Mapping[str, str]
    path: Path
    alipay_app_key: rsa.RSAPublicKey
    alipay_key: rsa.RSAPrivateKey
    wechat_merchant_key: rsa.RSAPublicKey
    wechat_platform_key: rsa.RSAPrivateKey
    wechat_platform_serial: str

    def __getitem__(self, name: str) -> str:
        return self.values[name]

    @classmethod
    def load(cls, path: Path | None = None, env: Mapping[str, str] | None = None) -> SandboxKeys:
        """Keys from ``SANDBOX_*`` variables, else from the keys file, else new ones (then saved to the file)."""
        env = os.environ if env is None else env
        path = path or Path(env.get("PAYMENT_SANDBOX_KEYS_FILE") or DEFAULT_KEYS_FILE)
        stored: dict[str, str] = {}
        if path.is_file():
            try:
                raw = json.loads(path.read_text())
            except (OSError, ValueError) as exc:
                log.warning("payment sandbox: %s is unreadable (%s); making new keys", path, exc)
                raw = {}
            stored = {k: v for k, v in raw.items() if k in KEY_FIELDS and isinstance(v, str) and v}
        values: dict[str, str] = {}
        changed = False
        for name in KEY_FIELDS:
            from_env = env.get(ENV_PREFIX + name.upper(), "").strip()
            if from_env:
                values[name] = from_env.replace("\\n", "\n")
            elif name in stored:
                values[name] = stored[name]
            elif name != "wechat_platform_certificate":
                values[name] = stored[name] = _generate(name)
                changed = True
        if len(values["wechat_apiv3_key"].encode()) != 32:
            raise SandboxError(f"{ENV_PREFIX}WECHAT_APIV3_KEY must be 32 bytes")
        alipay_app = _load_private(values["alipay_app_private_key"], "alipay_app_private_key")
        alipay = _load_private(values["alipay_private_key"], "alipay_private_key")
        merchant = _load_private(values["wechat_merchant_private_key"], "wechat_merchant_private_key")
        platform = _load_private(values["wechat_platform_private_key"], "wechat_platform_private_key")
        certificate = cls._platform_certificate(values.get("wechat_platform_certificate"), platform)
        if certificate is None:
            pem = _certificate(platform)
            values["wechat_platform_certificate"] = stored["wechat_platform_certificate"] = pem
            certificate = x509.load_pem_x509_certificate(pem.encode())
            changed = True
        if changed:
            cls._save(path, stored)
        return cls(
            values=values,
            path=path,
            alipay_app_key=alipay_app.public_key(),
            alipay_key=alipay,
            wechat_merchant_key=merchant.public_key(),
            wechat_platform_key=platform,
            wechat_platform_serial=format(certificate.serial_number, "X"),
        )

    @staticmethod
    def _platform_certificate(pem: str | None, key: rsa.RSAPrivateKey) -> x509.Certificate | None:
        """The configured certificate if it is for the platform key and valid for another day; else None."""
        if not pem:
            return None
        try:
            certificate = x509.load_pem_x509_certificate(pem.encode())
        except ValueError:
            return None
        ours = _public_pem(key.public_key())
        public = certificate.public_key()
        if not isinstance(public, rsa.RSAPublicKey) or _public_pem(public) != ours:
            return None
        now = datetime.now(UTC)
        if not certificate.not_valid_before_utc <= now <= certificate.not_valid_after_utc - timedelta(days=1):
            return None
        return certificate

    @staticmethod
    def _save(path: Path, values: Mapping[str, str]) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        temporary = path.with_name(f".{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(descriptor, "w") as sink:
            json.dump(dict(values), sink, indent=2, sort_keys=True)
            sink.write("\n")
        os.replace(temporary, path)  # atomic: two platforms starting at once each leave a whole file


# --- small protocol helpers -------------------------------------------------------------------------------------------


def _sign(key: rsa.RSAPrivateKey, message: bytes) -> str:
    return base64.b64encode(key.sign(message, padding.PKCS1v15(), hashes.SHA256())).decode()


def _verify(key: rsa.RSAPublicKey, message: bytes, signature_b64: str) -> bool:
    try:
        signature = base64.b64decode(signature_b64, validate=True)
        key.verify(signature, message, padding.PKCS1v15(), hashes.SHA256())
    except (binascii.Error, ValueError, InvalidSignature):
        return False
    return True


def stripe_signature(payload: bytes, secret: str, timestamp: int) -> str:
    """``Stripe-Signature``: ``t=<unix>,v1=<hex HMAC-SHA256 of "<t>.<payload>" keyed with the whsec_ secret>``."""
    digest = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={digest}"


def alipay_request_content(params: Mapping[str, str]) -> str:
    """Alipay's request rule: every parameter but ``sign``, empty values dropped, sorted, ``k=v`` joined by ``&``."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k != "sign" and params[k] != "")


def alipay_notification_content(params: Mapping[str, str]) -> str:
    """Alipay's notification rule (``rsaCheckV1``): all but ``sign`` and ``sign_type``, empty values included."""
    return "&".join(f"{k}={params[k]}" for k in sorted(params) if k not in ("sign", "sign_type"))


def _yuan(fen: int) -> str:
    return f"{fen // 100}.{fen % 100:02d}"


def _fen(value: str) -> int | None:
    match = _YUAN_RE.fullmatch(value)
    if not match:
        return None
    return int(match.group(1)) * 100 + int((match.group(2) or "0").ljust(2, "0"))


def _beijing(moment: float, *, millis: bool = False) -> str:
    when = datetime.fromtimestamp(moment, BEIJING)
    text = when.strftime("%Y-%m-%d %H:%M:%S")
    return f"{text}.{when.microsecond // 1000:03d}" if millis else text


def _rfc3339(moment: float) -> str:
    return datetime.fromtimestamp(moment, BEIJING).isoformat(timespec="seconds")


def _json(value: Any) -> bytes:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).encode()


def _money_text(amount: int, currency: str) -> str:
    code = currency.lower()
    if code in _ZERO_DECIMAL:
        return f"{amount} {code.upper()}"
    symbol = "¥" if code == "cny" else ""
    return f"{symbol}{amount // 100:,}.{amount % 100:02d}" + ("" if symbol else f" {code.upper()}")


# --- state ------------------------------------------------------------------------------------------------------------


@dataclass
class CardIntent:
    id: str
    client_secret: str
    amount: int
    currency: str
    description: str | None
    metadata: dict[str, str]
    created: int
    status: str = "requires_payment_method"
    amount_received: int = 0
    refunded: int = 0
    latest_charge: str | None = None
    payment_method: str | None = None
    last_payment_error: dict[str, Any] | None = None
    refund_objects: list[dict[str, Any]] = field(default_factory=list)

    def as_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "object": "payment_intent",
            "amount": self.amount,
            "amount_capturable": 0,
            "amount_received": self.amount_received,
            "automatic_payment_methods": {"enabled": True},
            "capture_method": "automatic",
            "client_secret": self.client_secret,
            "confirmation_method": "automatic",
            "created": self.created,
            "currency": self.currency,
            "description": self.description,
            "last_payment_error": self.last_payment_error,
            "latest_charge": self.latest_charge,
            "livemode": False,
            "metadata": dict(self.metadata),
            "next_action": None,
            "payment_method": self.payment_method,
            "payment_method_types": ["card"],
            "status": self.status,
        }


@dataclass
class AlipayTrade:
    out_trade_no: str
    total: int  # fen
    subject: str
    notify_url: str | None
    created: float
    status: str = "PRECREATED"  # not an Alipay status: the QR code exists, the trade does not until it is scanned
    trade_no: str | None = None
    gmt_create: float | None = None
    gmt_payment: float | None = None
    refunds: dict[str, int] = field(default_factory=dict)  # out_request_no -> fen
    return_url: str | None = None  # page/wap pay: where the shopper's browser goes back to
    method: str = "alipay.trade.precreate"

    @property
    def refunded(self) -> int:
        return sum(self.refunds.values())


@dataclass
class WechatOrder:
    out_trade_no: str
    appid: str
    mchid: str
    total: int
    description: str
    attach: str | None
    notify_url: str
    created: float
    trade_state: str = "NOTPAY"
    transaction_id: str | None = None
    success_time: float | None = None
    openid: str = ""
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)  # out_refund_no -> the refund document

    @property
    def refunded(self) -> int:
        return sum(int(r["amount"]["refund"]) for r in self.refunds.values())

    def as_json(self) -> dict[str, Any]:
        paid = self.transaction_id is not None and self.trade_state in ("SUCCESS", "REFUND")
        document: dict[str, Any] = {
            "appid": self.appid,
            "mchid": self.mchid,
            "out_trade_no": self.out_trade_no,
            "trade_type": "NATIVE",
            "trade_state": self.trade_state,
            "trade_state_desc": _WECHAT_STATE_DESC.get(self.trade_state, self.trade_state),
            "amount": {"total": self.total, "currency": "CNY"},
        }
        if self.attach is not None:
            document["attach"] = self.attach
        if self.transaction_id is not None:
            document["transaction_id"] = self.transaction_id
        if paid:
            document["bank_type"] = "OTHERS"
            document["success_time"] = _rfc3339(self.success_time or self.created)
            document["payer"] = {"openid": self.openid}
            document["amount"] = {
                "total": self.total,
                "payer_total": self.total,
                "currency": "CNY",
                "payer_currency": "CNY",
            }
        return document


@dataclass
class Callback:
    """A callback to send: ``sign`` makes (headers, body) now (timed signatures are made afresh on every resend)."""

    provider: str
    key: str  # the payment it is about (pi id / out_trade_no)
    kind: str  # the event type, for the delivery log
    url: str | None
    sign: Callable[[], tuple[dict[str, str], bytes]]


@dataclass(frozen=True)
class Delivery:
    provider: str
    key: str
    kind: str
    url: str | None
    status: int | None  # None: not delivered (no URL, connection refused)
    response: str
    at: float

    def as_json(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "id": self.key,
            "event": self.kind,
            "url": self.url,
            "status": self.status,
            "response": self.response,
            "at": self.at,
        }


@dataclass(frozen=True)
class Request:
    method: str
    target: str  # path and query exactly as sent (WeChat signs it)
    path: str
    query: dict[str, str]
    headers: dict[str, str]  # lower-case names
    body: bytes

    def form(self) -> dict[str, str]:
        return dict(parse_qsl(self.body.decode("utf-8", "replace"), keep_blank_values=True))

    @property
    def wants_json(self) -> bool:
        return "application/json" in self.headers.get("accept", "")


@dataclass(frozen=True)
class Reply:
    status: int
    body: bytes
    content_type: str = "application/json; charset=utf-8"
    headers: tuple[tuple[str, str], ...] = ()


def _json_reply(status: int, value: Any, headers: tuple[tuple[str, str], ...] = ()) -> Reply:
    return Reply(status, _json(value), headers=headers)


def _stripe_error(status: int, message: str, kind: str = "invalid_request_error", **extra: Any) -> Reply:
    return _json_reply(status, {"error": {"type": kind, "message": message, **extra}})


# --- the sandbox ------------------------------------------------------------------------------------------------------


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128
    sandbox: PaymentSandbox


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    protocol_version = "HTTP/1.1"
    server_version = "PaymentSandbox/1"

    def _serve(self) -> None:
        length = int(self.headers.get("Content-Length") or 0)
        if length > MAX_BODY_BYTES:
            self.close_connection = True
            reply = _json_reply(413, {"error": "body too large"})
        else:
            body = self.rfile.read(length) if length > 0 else b""
            parts = urlsplit(self.path)
            request = Request(
                method=self.command,
                target=self.path,
                path=parts.path,
                query=dict(parse_qsl(parts.query, keep_blank_values=True)),
                headers={k.lower(): v for k, v in self.headers.items()},
                body=body,
            )
            reply = self.server.sandbox.handle(request)
        self.send_response(reply.status)
        self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers:
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_HEAD = do_PUT = do_DELETE = _serve

    def log_message(self, format: str, *args: Any) -> None:
        log.debug("payment sandbox: " + format, *args)


Handler = Callable[..., Reply]


class PaymentSandbox:
    """The sandbox server. Binds at construction (a taken port fails at once); :meth:`start` serves."""

    def __init__(
        self,
        port: int = 0,
        *,
        notify_base_url: str | None = None,
        keys_path: Path | None = None,
        env: Mapping[str, str] | None = None,
        host: str = "127.0.0.1",
    ) -> None:
        self.keys = SandboxKeys.load(keys_path, env)
        self.notify_base_url = notify_base_url.rstrip("/") if notify_base_url else None
        self._server = _Server((host, port), _Handler)
        self._server.sandbox = self
        self._thread: threading.Thread | None = None
        self._stopped = threading.Event()
        self._lock = threading.RLock()
        self.intents: dict[str, CardIntent] = {}
        self.trades: dict[str, AlipayTrade] = {}
        self.orders: dict[str, WechatOrder] = {}
        self._idempotency: dict[str, tuple[str, bytes, Reply]] = {}
        self._last_callback: dict[tuple[str, str], Callback] = {}
        self.deliveries: list[Delivery] = []
        self._routes: list[tuple[str, re.Pattern[str], Handler]] = [
            ("POST", re.compile(r"/card/v1/payment_intents"), self._card_create),
            ("GET", re.compile(r"/card/v1/payment_intents/search"), self._card_search),
            ("GET", re.compile(r"/card/v1/payment_intents/([^/]+)"), self._card_retrieve),
            ("POST", re.compile(r"/card/v1/payment_intents/([^/]+)/confirm"), self._card_confirm),
            ("POST", re.compile(r"/card/v1/refunds"), self._card_refund),
            ("GET", re.compile(r"/card/v1/refunds"), self._card_refunds),
            ("GET", re.compile(r"/card/pay/([^/]+)"), self._card_page),
            ("POST", re.compile(r"/card/pay/([^/]+)/(approve|decline)"), self._card_page_action),
            ("POST", re.compile(r"/alipay/gateway\.do"), self._alipay_gateway),
            ("GET", re.compile(r"/alipay/gateway\.do"), self._alipay_browser),
            ("GET", re.compile(r"/alipay/pay/([^/]+)"), self._alipay_page),
            ("POST", re.compile(r"/alipay/pay/([^/]+)/(approve|decline)"), self._alipay_page_action),
            ("POST", re.compile(r"/wechat/v3/pay/transactions/native"), self._wechat_native),
            ("GET", re.compile(r"/wechat/v3/pay/transactions/out-trade-no/([^/]+)"), self._wechat_query),
            ("GET", re.compile(r"/wechat/v3/pay/transactions/id/([^/]+)"), self._wechat_query_by_id),
            ("POST", re.compile(r"/wechat/v3/refund/domestic/refunds"), self._wechat_refund),
            ("GET", re.compile(r"/wechat/pay/([^/]+)"), self._wechat_page),
            ("POST", re.compile(r"/wechat/pay/([^/]+)/(approve|decline)"), self._wechat_page_action),
            ("POST", re.compile(r"/sandbox/([a-z_]+)/([^/]+)/resend"), self._resend),
            ("GET", re.compile(r"/sandbox/deliveries"), self._deliveries),
            ("GET", re.compile(r"/(?:sandbox)?/?"), self._index),
        ]

    # --- life cycle ----------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        return int(self._server.server_address[1])

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def keys_path(self) -> Path:
        return self.keys.path

    def start(self) -> None:
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="payment-sandbox", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self._stopped.set()
        if self._thread is not None:
            self._server.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._server.server_close()

    def __enter__(self) -> PaymentSandbox:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # --- the configuration the shop keeps in its secret ----------------------------------------------------------

    def provider_config(self) -> dict[str, Any]:
        """``{"notify_base_url", "card", "alipay", "wechat_pay"}``; each provider's keys are its config dataclass's
        field names (``StripeConfig``, ``AlipayConfig``, ``WechatPayConfig``)."""
        keys = self.keys
        return {
            "notify_base_url": self.notify_base_url,
            "card": {
                "secret_key": keys["stripe_secret_key"],
                "webhook_secrets": [keys["stripe_webhook_secret"]],
                "api_base": f"{self.url}/card",
            },
            "alipay": {
                "app_id": keys["alipay_app_id"],
                "app_private_key": keys["alipay_app_private_key"],
                "alipay_public_key": _public_pem(keys.alipay_key.public_key()),
                "gateway": f"{self.url}/alipay/gateway.do",
                "product": "page",  # a redirect to the pay page, as the issue asks (precreate: a QR code)
            },
            "wechat_pay": {
                "mchid": keys["wechat_mchid"],
                "appid": keys["wechat_appid"],
                "merchant_serial_no": keys["wechat_merchant_serial_no"],
                "merchant_private_key": keys["wechat_merchant_private_key"],
                "apiv3_key": keys["wechat_apiv3_key"],
                "platform_keys": {keys.wechat_platform_serial: keys["wechat_platform_certificate"]},
                "api_base": f"{self.url}/wechat",
            },
        }

    def config_json(self) -> str:
        return json.dumps(self.provider_config(), indent=2)

    # --- signing, for the sandbox and for tests that make their own callbacks ------------------------------------

    def stripe_webhook(self, event: Mapping[str, Any], *, timestamp: int | None = None) -> tuple[dict[str, str], bytes]:
        """A Stripe event body (pretty-printed, as Stripe sends it) and its headers, signed now."""
        body = json.dumps(event, indent=2).encode()
        moment = int(time.time()) if timestamp is None else timestamp
        return {
            "Content-Type": "application/json; charset=utf-8",
            "User-Agent": "Stripe/1.0 (+https://stripe.com/docs/webhooks)",
            "Stripe-Signature": stripe_signature(body, self.keys["stripe_webhook_secret"], moment),
        }, body

    def alipay_notification(self, params: Mapping[str, str]) -> tuple[dict[str, str], bytes]:
        """A form-encoded Alipay notification: ``sign_type=RSA2`` added, signed with the sandbox's Alipay key."""
        fields = {k: v for k, v in params.items() if k not in ("sign", "sign_type")}
        fields.setdefault("charset", "utf-8")
        fields["sign_type"] = "RSA2"
        fields["sign"] = _sign(self.keys.alipay_key, alipay_notification_content(fields).encode("utf-8"))
        headers = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8", "User-Agent": "Mozilla/4.0"}
        return headers, urlencode(fields).encode()

    def wechat_encrypt(self, document: Mapping[str, Any], original_type: str) -> dict[str, str]:
        """A callback ``resource``: the document sealed AEAD_AES_256_GCM with the APIv3 key (tag appended)."""
        nonce = secrets.token_hex(6)
        associated = original_type
        sealed = AESGCM(self.keys["wechat_apiv3_key"].encode()).encrypt(
            nonce.encode(), _json(document), associated.encode()
        )
        return {
            "original_type": original_type,
            "algorithm": "AEAD_AES_256_GCM",
            "ciphertext": base64.b64encode(sealed).decode(),
            "associated_data": associated,
            "nonce": nonce,
        }

    def wechat_signed_headers(self, body: bytes, *, timestamp: int | None = None) -> dict[str, str]:
        """``Wechatpay-*`` headers signing ``TIMESTAMP\\nNONCE\\nBODY\\n`` with the platform key."""
        moment = int(time.time()) if timestamp is None else timestamp
        nonce = secrets.token_hex(16).upper()
        message = f"{moment}\n{nonce}\n".encode() + body + b"\n"
        return {
            "Wechatpay-Timestamp": str(moment),
            "Wechatpay-Nonce": nonce,
            "Wechatpay-Signature": _sign(self.keys.wechat_platform_key, message),
            "Wechatpay-Serial": self.keys.wechat_platform_serial,
            "Wechatpay-Signature-Type": "WECHATPAY2-SHA256-RSA2048",
        }

    def wechat_notification(
        self, event_type: str, original_type: str, document: Mapping[str, Any], summary: str = ""
    ) -> Callable[[], tuple[dict[str, str], bytes]]:
        """A WeChat Pay callback; the returned function signs it (same id and body, a fresh signature) each call."""
        notification = {
            "id": str(uuid.uuid4()),
            "create_time": _rfc3339(time.time()),
            "resource_type": "encrypt-resource",
            "event_type": event_type,
            "summary": summary,
            "resource": self.wechat_encrypt(document, original_type),
        }
        body = _json(notification)

        def sign() -> tuple[dict[str, str], bytes]:
            headers = {
                "Content-Type": "application/json",
                "User-Agent": "Mozilla/4.0",
                **self.wechat_signed_headers(body),
            }
            return headers, body

        return sign

    # --- dispatch ------------------------------------------------------------------------------------------------

    def handle(self, request: Request) -> Reply:
        method = "GET" if request.method == "HEAD" else request.method
        allowed = False
        for route_method, pattern, handler in self._routes:
            match = pattern.fullmatch(request.path)
            if match is None:
                continue
            if route_method != method:
                allowed = True
                continue
            try:
                return handler(request, *match.groups())
            except Exception as exc:
                log.exception("payment sandbox: %s %s failed", request.method, request.path)
                return _json_reply(500, {"error": f"sandbox failure: {exc}"})
        if allowed:
            return _json_reply(405, {"error": f"{request.method} is not allowed on {request.path}"})
        return _json_reply(404, {"error": f"the payment sandbox has nothing at {request.path}"})

    def send(self, callback: Callback, *, duplicates: int = 1, delay_s: float = 0.0) -> list[Delivery] | None:
        """Send ``callback`` ``duplicates`` times (the same signed bytes), now (returns the deliveries) or after
        ``delay_s`` in a background thread (returns None)."""
        self._last_callback[(callback.provider, callback.key)] = callback

        def deliver() -> list[Delivery]:
            headers, body = callback.sign()
            return [self._post(callback, headers, body) for _ in range(duplicates)]

        if delay_s <= 0:
            return deliver()

        def later() -> None:
            if not self._stopped.wait(delay_s):
                deliver()

        threading.Thread(target=later, name="payment-sandbox-callback", daemon=True).start()
        return None

    def _send_async(self, callback: Callback, duplicates: int = 1, delay_s: float = 0.0) -> None:
        """As a provider does it: the API answer does not wait for the callback."""
        self._last_callback[(callback.provider, callback.key)] = callback

        def run() -> None:
            if delay_s > 0 and self._stopped.wait(delay_s):
                return
            self.send(callback, duplicates=duplicates)

        threading.Thread(target=run, name="payment-sandbox-callback", daemon=True).start()

    def _post(self, callback: Callback, headers: Mapping[str, str], body: bytes) -> Delivery:
        status: int | None = None
        if callback.url is None:
            response = "no callback URL: the sandbox has no notify_base_url and the request named no notify_url"
        else:
            outgoing = urllib.request.Request(callback.url, data=body, headers=dict(headers), method="POST")  # noqa: S310
            try:
                with urllib.request.urlopen(outgoing, timeout=CALLBACK_TIMEOUT_S) as answer:  # noqa: S310
                    status, response = answer.status, answer.read(500).decode("utf-8", "replace")
            except urllib.error.HTTPError as exc:
                status, response = exc.code, exc.read(500).decode("utf-8", "replace")
            except (OSError, ValueError) as exc:
                response = f"not delivered: {exc}"
        delivery = Delivery(callback.provider, callback.key, callback.kind, callback.url, status, response, time.time())
        if status is None or not 200 <= status < 300:
            log.warning(
                "payment sandbox: %s callback %s to %s: %s",
                callback.provider,
                callback.kind,
                callback.url,
                status or response,
            )
        with self._lock:
            self.deliveries.append(delivery)
            del self.deliveries[:-MAX_DELIVERIES_KEPT]
        return delivery

    def _notify_url(self, provider: str) -> str | None:
        return f"{self.notify_base_url}/callbacks/payments/{provider}" if self.notify_base_url else None

    @staticmethod
    def _options(request: Request) -> tuple[int, float] | Reply:
        try:
            duplicates = int(request.query.get("duplicates") or 1)
            delay = float(request.query.get("delay") or 0)
        except ValueError:
            return _json_reply(400, {"error": "duplicates is an integer and delay a number of seconds"})
        if not 1 <= duplicates <= MAX_DUPLICATES or not 0 <= delay <= MAX_DELAY_S:
            return _json_reply(400, {"error": f"duplicates is 1..{MAX_DUPLICATES}, delay 0..{MAX_DELAY_S:g} s"})
        return duplicates, delay

    def _outcome(
        self,
        request: Request,
        title: str,
        status: str,
        callback: Callback | None,
        duplicates: int,
        delay: float,
        back: str | None = None,
    ) -> Reply:
        """Send the callback of an approve/decline and say what happened."""
        deliveries = self.send(callback, duplicates=duplicates, delay_s=delay) if callback else None
        sent = [d.as_json() for d in deliveries or []]
        if request.wants_json:
            return _json_reply(200, {"status": status, "deliveries": sent, "delayed_s": delay if callback else None})
        if callback is None:
            note = "No callback."
        elif deliveries is None:
            note = f"The callback will be sent to {callback.url} in {delay:g} s."
        else:
            note = "; ".join(f"callback to {d['url']}: HTTP {d['status'] or d['response']}" for d in sent)
        link = f'<p><a href="{html.escape(back)}">Back to the shop</a></p>' if back else ""
        return _page(title, f"<p class=status>{html.escape(status)}</p><p>{html.escape(note)}</p>{link}")

    # --- Stripe --------------------------------------------------------------------------------------------------

    def _card_key_ok(self, request: Request) -> bool:
        auth = request.headers.get("authorization", "")
        token = ""
        if auth.startswith("Bearer "):
            token = auth[len("Bearer ") :].strip()
        elif auth.startswith("Basic "):
            try:
                token = base64.b64decode(auth[len("Basic ") :]).decode().split(":", 1)[0]
            except (binascii.Error, ValueError):
                token = ""
        return hmac.compare_digest(token.encode(), self.keys["stripe_secret_key"].encode())

    @staticmethod
    def _bad_key() -> Reply:
        return _stripe_error(401, "Invalid API Key provided")

    def _idempotent(self, request: Request, action: Callable[[], Reply]) -> Reply:
        key = request.headers.get("idempotency-key")
        if not key:
            return action()
        with self._lock:
            seen = self._idempotency.get(key)
            if seen is not None:
                path, body, reply = seen
                if path != request.path or body != request.body:
                    return _stripe_error(
                        400,
                        "Keys for idempotent requests can only be used with the same parameters they were first "
                        "used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                        "idempotency_error",
                    )
                return Reply(
                    reply.status, reply.body, reply.content_type, (*reply.headers, ("Idempotent-Replayed", "true"))
                )
            reply = action()
            if reply.status < 500:
                self._idempotency[key] = (request.path, request.body, reply)
            return reply

    def _card_create(self, request: Request) -> Reply:
        if not self._card_key_ok(request):
            return self._bad_key()
        form = request.form()

        def create() -> Reply:
            raw_amount, currency = form.get("amount", ""), form.get("currency", "")
            if not raw_amount.isdigit() or int(raw_amount) < 1:
                return _stripe_error(400, "Missing required param: amount.", param="amount", code="parameter_missing")
            if not re.fullmatch(r"[a-z]{3}", currency):
                return _stripe_error(400, "Invalid currency.", param="currency", code="parameter_invalid_string")
            metadata = {
                k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[") and k.endswith("]")
            }
            ident = "pi_" + secrets.token_urlsafe(18).replace("-", "a").replace("_", "b")
            intent = CardIntent(
                id=ident,
                client_secret=f"{ident}_secret_{secrets.token_urlsafe(18).replace('-', 'c').replace('_', 'd')}",
                amount=int(raw_amount),
                currency=currency,
                description=form.get("description"),
                metadata=metadata,
                created=int(time.time()),
            )
            self.intents[ident] = intent
            return _json_reply(200, intent.as_json())

        return self._idempotent(request, create)

    def _card_search(self, request: Request) -> Reply:
        if not self._card_key_ok(request):
            return self._bad_key()
        match = _SEARCH_RE.fullmatch(request.query.get("query", ""))
        if match is None:
            return _stripe_error(400, "The sandbox searches on one metadata['key']:'value' clause.", param="query")
        name, value = match.groups()
        with self._lock:
            found = [i.as_json() for i in self.intents.values() if i.metadata.get(name) == value]
        found.sort(key=lambda i: -int(i["created"]))
        return _json_reply(
            200,
            {
                "object": "search_result",
                "data": found,
                "has_more": False,
                "next_page": None,
                "url": "/v1/payment_intents/search",
            },
        )

    def _card_retrieve(self, request: Request, ident: str) -> Reply:
        intent = self.intents.get(ident)
        secret_ok = intent is not None and request.query.get("client_secret") == intent.client_secret
        if not (self._card_key_ok(request) or secret_ok):
            return self._bad_key()
        if intent is None:
            return _stripe_error(404, f"No such payment_intent: '{ident}'", code="resource_missing", param="intent")
        return _json_reply(200, intent.as_json())

    def _card_confirm(self, request: Request, ident: str) -> Reply:
        options = self._options(request)
        if isinstance(options, Reply):
            return options
        form = request.form()
        intent = self.intents.get(ident)
        secret_ok = intent is not None and hmac.compare_digest(
            form.get("client_secret", "").encode(), intent.client_secret.encode()
        )
        if not (self._card_key_ok(request) or secret_ok):
            return self._bad_key()
        return self._idempotent(request, lambda: self._confirm(ident, form.get("payment_method", ""), *options))

    def _confirm(self, ident: str, payment_method: str, duplicates: int, delay: float) -> Reply:
        with self._lock:
            intent = self.intents.get(ident)
            if intent is None:
                return _stripe_error(404, f"No such payment_intent: '{ident}'", code="resource_missing")
            if intent.status not in ("requires_payment_method", "requires_confirmation"):
                return _stripe_error(
                    400,
                    f"This PaymentIntent's status is {intent.status}, so it cannot be confirmed.",
                    code="payment_intent_unexpected_state",
                    payment_intent=intent.as_json(),
                )
            if payment_method not in _GOOD_CARDS and payment_method not in _DECLINED_CARDS:
                return _stripe_error(
                    400,
                    f"No such PaymentMethod: '{payment_method}' (the sandbox knows pm_card_visa and "
                    "pm_card_chargeDeclined, among Stripe's test payment methods)",
                    code="resource_missing",
                    param="payment_method",
                )
            intent.payment_method = "pm_" + secrets.token_hex(12)
            charge = "ch_" + secrets.token_hex(12)
            if payment_method in _GOOD_CARDS:
                intent.status, intent.amount_received, intent.latest_charge = "succeeded", intent.amount, charge
                intent.last_payment_error = None
                event_type, reply = "payment_intent.succeeded", _json_reply(200, intent.as_json())
            else:
                decline_code = _DECLINED_CARDS[payment_method]
                error = {
                    "type": "card_error",
                    "code": "card_declined",
                    "decline_code": decline_code,
                    "message": "Your card was declined.",
                    "charge": charge,
                }
                intent.status, intent.latest_charge, intent.last_payment_error = (
                    "requires_payment_method",
                    charge,
                    error,
                )
                event_type = "payment_intent.payment_failed"
                reply = _json_reply(402, {"error": {**error, "payment_intent": intent.as_json()}})
            callback = self._card_event(intent, event_type, intent.as_json())
        self._send_async(callback, duplicates, delay)
        return reply

    def _card_event(self, intent: CardIntent, event_type: str, obj: dict[str, Any]) -> Callback:
        event = {
            "id": "evt_" + secrets.token_hex(12),
            "object": "event",
            "api_version": "2024-06-20",
            "created": int(time.time()),
            "data": {"object": obj},
            "livemode": False,
            "pending_webhooks": 1,
            "request": {"id": None, "idempotency_key": None},
            "type": event_type,
        }
        callback = Callback("card", intent.id, event_type, self._notify_url("card"), lambda: self.stripe_webhook(event))
        payment_id = intent.metadata.get("payment_id")
        if payment_id:
            self._last_callback[("card", payment_id)] = callback
        return callback

    def _card_refund(self, request: Request) -> Reply:
        if not self._card_key_ok(request):
            return self._bad_key()
        form = request.form()
        callbacks: list[Callback] = []

        def refund() -> Reply:
            intent = self.intents.get(form.get("payment_intent", ""))
            if intent is None:
                return _stripe_error(400, "No such payment_intent.", code="resource_missing", param="payment_intent")
            if intent.status != "succeeded":
                return _stripe_error(
                    400, "This PaymentIntent does not have a successful charge to refund.", code="charge_not_refundable"
                )
            remaining = intent.amount_received - intent.refunded
            raw = form.get("amount") or str(remaining)
            if not raw.isdigit() or int(raw) < 1:
                return _stripe_error(400, "Invalid positive integer", param="amount", code="parameter_invalid_integer")
            if int(raw) > remaining:
                return _stripe_error(
                    400,
                    f"Refund amount ({raw}) is greater than unrefunded amount on charge ({remaining})",
                    code="amount_too_large",
                    param="amount",
                )
            intent.refunded += int(raw)
            obj = {
                "id": "re_" + secrets.token_hex(12),
                "object": "refund",
                "amount": int(raw),
                "balance_transaction": None,
                "charge": intent.latest_charge,
                "created": int(time.time()),
                "currency": intent.currency,
                "metadata": {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")},
                "payment_intent": intent.id,
                "reason": None,
                "status": "succeeded",
            }
            intent.refund_objects.append(obj)
            callbacks.append(self._card_event(intent, "refund.created", obj))
            return _json_reply(200, obj)

        with self._lock:
            reply = self._idempotent(request, refund)
        for callback in callbacks:
            self._send_async(callback)
        return reply

    def _card_refunds(self, request: Request) -> Reply:
        """Stripe's "list all refunds", filtered by ``payment_intent`` (newest first, one page)."""
        if not self._card_key_ok(request):
            return self._bad_key()
        wanted = request.query.get("payment_intent")
        with self._lock:
            if wanted:
                intents = [self.intents[wanted]] if wanted in self.intents else []
            else:
                intents = list(self.intents.values())
            found = sorted((r for i in intents for r in i.refund_objects), key=lambda r: -int(r["created"]))
        return _json_reply(200, {"object": "list", "data": found, "has_more": False, "url": "/v1/refunds"})

    def _card_page(self, request: Request, ident: str) -> Reply:
        intent = self.intents.get(ident)
        if intent is None:
            return _page("Card payment", "<p>No such PaymentIntent.</p>", 404)
        return _pay_page(
            "Card (Stripe sandbox)",
            intent.description or "",
            _money_text(intent.amount, intent.currency),
            f"/card/pay/{quote(ident)}",
            request,
            intent.status,
            "Pay with pm_card_visa",
            "Decline (pm_card_chargeDeclined)",
        )

    def _card_page_action(self, request: Request, ident: str, action: str) -> Reply:
        options = self._options(request)
        if isinstance(options, Reply):
            return options
        duplicates, delay = options
        with self._lock:
            intent = self.intents.get(ident)
            if intent is None:
                return _page("Card payment", "<p>No such PaymentIntent.</p>", 404)
            if intent.status not in ("requires_payment_method", "requires_confirmation"):
                return _page("Card payment", f"<p>This payment is {html.escape(intent.status)}.</p>", 409)
            method = "pm_card_visa" if action == "approve" else "pm_card_chargeDeclined"
            self._confirm_quietly(intent, method)
            event_type = "payment_intent.succeeded" if action == "approve" else "payment_intent.payment_failed"
            callback = self._card_event(intent, event_type, intent.as_json())
            status = intent.status if action == "approve" else "declined"
        return self._outcome(request, "Card payment", status, callback, duplicates, delay)

    @staticmethod
    def _confirm_quietly(intent: CardIntent, payment_method: str) -> None:
        intent.payment_method = "pm_" + secrets.token_hex(12)
        intent.latest_charge = "ch_" + secrets.token_hex(12)
        if payment_method in _GOOD_CARDS:
            intent.status, intent.amount_received, intent.last_payment_error = "succeeded", intent.amount, None
        else:
            intent.status = "requires_payment_method"
            intent.last_payment_error = {
                "type": "card_error",
                "code": "card_declined",
                "decline_code": _DECLINED_CARDS[payment_method],
                "message": "Your card was declined.",
                "charge": intent.latest_charge,
            }

    # --- Alipay --------------------------------------------------------------------------------------------------

    def _alipay_answer(self, method: str, node: Mapping[str, Any]) -> Reply:
        key = method.replace(".", "_") + "_response" if method else "error_response"
        text = json.dumps(node, ensure_ascii=False, separators=(",", ":"))
        signature = _sign(self.keys.alipay_key, text.encode("utf-8"))
        body = "{" + json.dumps(key) + ":" + text + ',"sign":' + json.dumps(signature) + "}"
        return Reply(200, body.encode("utf-8"), "text/html;charset=utf-8")

    @staticmethod
    def _alipay_error(code: str, msg: str, sub_code: str, sub_msg: str, **extra: str) -> dict[str, str]:
        return {"code": code, "msg": msg, "sub_code": sub_code, "sub_msg": sub_msg, **extra}

    def _alipay_gateway(self, request: Request) -> Reply:
        params = dict(request.query)
        for name, value in request.form().items():
            params.setdefault(name, value)
        method = params.get("method", "")
        handlers: dict[str, Callable[[dict[str, Any], dict[str, str]], dict[str, Any]]] = {
            "alipay.trade.precreate": self._alipay_precreate,
            "alipay.trade.query": self._alipay_query,
            "alipay.trade.refund": self._alipay_refund,
        }
        if method not in handlers:
            return self._alipay_answer(
                "", self._alipay_error("40002", "Invalid Arguments", "isv.invalid-method", "不存在的方法名")
            )
        if params.get("app_id") != self.keys["alipay_app_id"]:
            node = self._alipay_error("40002", "Invalid Arguments", "isv.invalid-app-id", "无效的AppID参数")
            return self._alipay_answer(method, node)
        if params.get("sign_type") != "RSA2" or not _verify(
            self.keys.alipay_app_key, alipay_request_content(params).encode("utf-8"), params.get("sign", "")
        ):
            node = self._alipay_error(
                "40002",
                "Invalid Arguments",
                "isv.invalid-signature",
                "验签出错, 建议检查签名字符串或签名私钥与应用公钥是否匹配",
            )
            return self._alipay_answer(method, node)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        if not isinstance(biz, dict):
            node = self._alipay_error("40002", "Invalid Arguments", "isv.invalid-biz-content", "biz_content 无效")
            return self._alipay_answer(method, node)
        return self._alipay_answer(method, handlers[method](biz, params))

    def _alipay_precreate(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        out_trade_no = str(biz.get("out_trade_no") or "")
        total = _fen(str(biz.get("total_amount") or ""))
        subject = str(biz.get("subject") or "")
        if not out_trade_no or total is None or total <= 0 or not subject:
            return self._alipay_error(
                "40002",
                "Invalid Arguments",
                "isv.missing-required-arguments",
                "缺少必选参数 out_trade_no/total_amount/subject",
            )
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is not None and trade.status == "TRADE_SUCCESS":
                return self._alipay_error("40004", "Business Failed", "ACQ.TRADE_HAS_SUCCESS", "交易已被支付")
            if trade is not None and trade.status == "TRADE_CLOSED":
                return self._alipay_error("40004", "Business Failed", "ACQ.TRADE_HAS_CLOSE", "交易已经关闭")
            if trade is not None and trade.total != total:
                return self._alipay_error("40004", "Business Failed", "ACQ.CONTEXT_INCONSISTENT", "交易信息被篡改")
            if trade is None:
                trade = AlipayTrade(out_trade_no, total, subject, params.get("notify_url") or None, time.time())
                self.trades[out_trade_no] = trade
        return {
            "code": "10000",
            "msg": "Success",
            "out_trade_no": out_trade_no,
            "qr_code": f"{self.url}/alipay/pay/{quote(out_trade_no)}",
        }

    def _alipay_find(self, biz: Mapping[str, Any]) -> AlipayTrade | None:
        out_trade_no, trade_no = biz.get("out_trade_no"), biz.get("trade_no")
        if isinstance(out_trade_no, str) and out_trade_no in self.trades:
            return self.trades[out_trade_no]
        return next((t for t in self.trades.values() if trade_no and t.trade_no == trade_no), None)

    def _alipay_query(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        with self._lock:
            trade = self._alipay_find(biz)
            if trade is None or trade.status == "PRECREATED":
                return self._alipay_error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            node: dict[str, Any] = {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": "sho***@example.com",
                "trade_status": trade.status,
                "total_amount": _yuan(trade.total),
                "buyer_user_type": "PRIVATE",
            }
            if trade.gmt_payment is not None:
                node |= {
                    "buyer_pay_amount": _yuan(trade.total),
                    "invoice_amount": _yuan(trade.total),
                    "receipt_amount": _yuan(trade.total),
                    "point_amount": "0.00",
                    "send_pay_date": _beijing(trade.gmt_payment),
                    "buyer_user_id": "2088102177846880",
                }
            return node

    def _alipay_refund(self, biz: dict[str, Any], params: dict[str, str]) -> dict[str, Any]:
        amount = _fen(str(biz.get("refund_amount") or ""))
        if amount is None or amount <= 0:
            return self._alipay_error("40002", "Invalid Arguments", "isv.invalid-parameter", "refund_amount 无效")
        with self._lock:
            trade = self._alipay_find(biz)
            if trade is None or trade.status == "PRECREATED":
                return self._alipay_error("40004", "Business Failed", "ACQ.TRADE_NOT_EXIST", "交易不存在")
            request_no = str(biz.get("out_request_no") or trade.out_trade_no)
            repeated = request_no in trade.refunds
            if not repeated:
                if trade.status != "TRADE_SUCCESS":
                    return self._alipay_error("40004", "Business Failed", "ACQ.TRADE_STATUS_ERROR", "交易状态不合法")
                if amount > trade.total - trade.refunded:
                    return self._alipay_error(
                        "40004", "Business Failed", "ACQ.REFUND_AMT_NOT_EQUAL_TOTAL", "退款金额超限"
                    )
                trade.refunds[request_no] = amount
                if trade.refunded == trade.total:
                    trade.status = "TRADE_CLOSED"
            moment = time.time()
            node = {
                "code": "10000",
                "msg": "Success",
                "trade_no": trade.trade_no,
                "out_trade_no": trade.out_trade_no,
                "buyer_logon_id": "sho***@example.com",
                "fund_change": "N" if repeated else "Y",
                "refund_fee": _yuan(trade.refunded),
                "gmt_refund_pay": _beijing(moment),
                "buyer_user_id": "2088102177846880",
                "send_back_fee": _yuan(trade.refunds[request_no]),
            }
            callback = None if repeated else self._alipay_callback(trade, refund=(request_no, moment))
        if callback is not None:
            self._send_async(callback)
        return node

    def _alipay_callback(self, trade: AlipayTrade, *, refund: tuple[str, float] | None = None) -> Callback:
        now = time.time()
        total = _yuan(trade.total)
        fields = {
            "notify_time": _beijing(now),
            "notify_type": "trade_status_sync",
            "notify_id": secrets.token_hex(16) + _digits(6),
            "charset": "utf-8",
            "version": "1.0",
            "app_id": self.keys["alipay_app_id"],
            "auth_app_id": self.keys["alipay_app_id"],
            "trade_no": trade.trade_no or "",
            "out_trade_no": trade.out_trade_no,
            "buyer_id": "2088102177846880",
            "buyer_logon_id": "sho***@example.com",
            "seller_id": "2088102177649450",
            "seller_email": "sandbox-seller@example.com",
            "trade_status": trade.status,
            "total_amount": total,
            "subject": trade.subject,
            "gmt_create": _beijing(trade.gmt_create or trade.created),
        }
        if trade.gmt_payment is not None:
            fields |= {
                "receipt_amount": total,
                "invoice_amount": total,
                "buyer_pay_amount": total,
                "point_amount": "0.00",
                "gmt_payment": _beijing(trade.gmt_payment),
                "fund_bill_list": json.dumps([{"amount": total, "fundChannel": "ALIPAYACCOUNT"}]),
            }
        if trade.status == "TRADE_CLOSED":
            fields["gmt_close"] = _beijing(now)
        kind = trade.status
        if refund is not None:
            request_no, moment = refund
            fields |= {
                "out_biz_no": request_no,
                "refund_fee": _yuan(trade.refunded),
                "gmt_refund": _beijing(moment, millis=True),
            }
            kind = f"refund:{trade.status}"
        signed = self.alipay_notification(fields)
        url = trade.notify_url or self._notify_url("alipay")
        return Callback("alipay", trade.out_trade_no, kind, url, lambda: signed)

    def _alipay_scan(self, trade: AlipayTrade) -> None:
        """The shopper scans the QR code: now the trade exists (WAIT_BUYER_PAY) and has Alipay's number."""
        if trade.status == "PRECREATED":
            trade.status = "WAIT_BUYER_PAY"
            trade.gmt_create = time.time()
            trade.trade_no = datetime.now(BEIJING).strftime("%Y%m%d") + "22001" + _digits(15)

    def _alipay_page(self, request: Request, out_trade_no: str) -> Reply:
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return _page("Alipay", "<p>No such trade.</p>", 404)
            self._alipay_scan(trade)
        return _pay_page(
            "Alipay (sandbox)",
            trade.subject,
            _money_text(trade.total, "cny"),
            f"/alipay/pay/{quote(out_trade_no)}",
            request,
            trade.status,
        )

    def _alipay_page_action(self, request: Request, out_trade_no: str, action: str) -> Reply:
        options = self._options(request)
        if isinstance(options, Reply):
            return options
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                return _page("Alipay", "<p>No such trade.</p>", 404)
            self._alipay_scan(trade)
            if trade.status != "WAIT_BUYER_PAY":
                return _page("Alipay", f"<p>This trade is {html.escape(trade.status)}.</p>", 409)
            if action == "approve":
                trade.status, trade.gmt_payment = "TRADE_SUCCESS", time.time()
            else:
                trade.status = "TRADE_CLOSED"
            callback = self._alipay_callback(trade)
            back = self._alipay_return(trade) if action == "approve" else trade.return_url
        return self._outcome(request, "Alipay", trade.status, callback, *options, back=back)

    def _alipay_return(self, trade: AlipayTrade) -> str | None:
        """Page/wap pay: the signed synchronous return (``<method>.return``) to the shop's return_url."""
        if not trade.return_url:
            return None
        fields = {
            "charset": "utf-8",
            "out_trade_no": trade.out_trade_no,
            "method": f"{trade.method}.return",
            "total_amount": _yuan(trade.total),
            "trade_no": trade.trade_no or "",
            "auth_app_id": self.keys["alipay_app_id"],
            "version": "1.0",
            "app_id": self.keys["alipay_app_id"],
            "seller_id": "2088102177649450",
            "timestamp": _beijing(time.time()),
        }
        _, query = self.alipay_notification(fields)
        separator = "&" if "?" in trade.return_url else "?"
        return f"{trade.return_url}{separator}{query.decode()}"

    def _alipay_browser(self, request: Request) -> Reply:
        """``GET gateway.do``: the shopper's browser arrives with a signed page/wap pay request."""
        params = dict(request.query)
        method = params.get("method", "")
        if method not in ("alipay.trade.page.pay", "alipay.trade.wap.pay"):
            return _page("Alipay", "<p>The browser gateway takes alipay.trade.page.pay and wap.pay.</p>", 400)
        if params.get("app_id") != self.keys["alipay_app_id"] or not _verify(
            self.keys.alipay_app_key, alipay_request_content(params).encode("utf-8"), params.get("sign", "")
        ):
            return _page("Alipay", "<p>isv.invalid-signature: the request is not signed by the app's key.</p>", 400)
        try:
            biz = json.loads(params.get("biz_content") or "{}")
        except ValueError:
            biz = None
        total = _fen(str((biz or {}).get("total_amount") or "")) if isinstance(biz, dict) else None
        if not isinstance(biz, dict) or not biz.get("out_trade_no") or not biz.get("subject") or not total:
            return _page("Alipay", "<p>isv.missing-required-arguments</p>", 400)
        out_trade_no = str(biz["out_trade_no"])
        with self._lock:
            trade = self.trades.get(out_trade_no)
            if trade is None:
                trade = AlipayTrade(
                    out_trade_no,
                    total,
                    str(biz["subject"]),
                    params.get("notify_url") or None,
                    time.time(),
                    return_url=params.get("return_url") or None,
                    method=method,
                )
                self.trades[out_trade_no] = trade
            self._alipay_scan(trade)
        return Reply(302, b"", "text/plain", (("Location", f"/alipay/pay/{quote(out_trade_no)}"),))

    # --- WeChat Pay ----------------------------------------------------------------------------------------------

    def _wechat_reply(self, status: int, document: Mapping[str, Any] | None) -> Reply:
        body = _json(document) if document is not None else b""
        headers = self.wechat_signed_headers(body)
        headers["Request-ID"] = secrets.token_hex(16)
        return Reply(status, body, "application/json; charset=utf-8", tuple(headers.items()))

    def _wechat_error(self, status: int, code: str, message: str) -> Reply:
        return self._wechat_reply(status, {"code": code, "message": message})

    def _wechat_authorised(self, request: Request) -> Reply | None:
        """None when the Authorization is the merchant's valid signature of this request; else the 401 to send."""
        auth = request.headers.get("authorization", "")
        scheme, _, rest = auth.partition(" ")
        if scheme != "WECHATPAY2-SHA256-RSA2048":
            return self._wechat_error(401, "SIGN_ERROR", "Authorization 不是 WECHATPAY2-SHA256-RSA2048")
        fields = dict(_AUTH_PARAM_RE.findall(rest))
        if fields.get("mchid") != self.keys["wechat_mchid"]:
            return self._wechat_error(401, "SIGN_ERROR", "mchid 与签名不匹配")
        if fields.get("serial_no", "").upper() != self.keys["wechat_merchant_serial_no"].upper():
            return self._wechat_error(401, "SIGN_ERROR", "商户证书序列号有误")
        timestamp = fields.get("timestamp", "")
        if not timestamp.isdigit() or abs(time.time() - int(timestamp)) >= TOLERANCE_S:
            return self._wechat_error(401, "SIGN_ERROR", "timestamp 过期或无效")
        message = f"{request.method}\n{request.target}\n{timestamp}\n{fields.get('nonce_str', '')}\n".encode()
        if not _verify(self.keys.wechat_merchant_key, message + request.body + b"\n", fields.get("signature", "")):
            return self._wechat_error(401, "SIGN_ERROR", "签名错误")
        return None

    def _wechat_body(self, request: Request) -> dict[str, Any] | None:
        try:
            document = json.loads(request.body.decode("utf-8"))
        except (ValueError, UnicodeDecodeError):
            return None
        return document if isinstance(document, dict) else None

    def _wechat_native(self, request: Request) -> Reply:
        refused = self._wechat_authorised(request)
        if refused is not None:
            return refused
        body = self._wechat_body(request)
        if body is None:
            return self._wechat_error(400, "PARAM_ERROR", "请求体不是 JSON 对象")
        amount = body.get("amount") if isinstance(body.get("amount"), dict) else {}
        total = amount.get("total") if isinstance(amount, dict) else None
        out_trade_no, notify_url = body.get("out_trade_no"), body.get("notify_url")
        if not (isinstance(out_trade_no, str) and out_trade_no and isinstance(notify_url, str) and notify_url):
            return self._wechat_error(400, "PARAM_ERROR", "缺少参数 out_trade_no 或 notify_url")
        if not isinstance(total, int) or isinstance(total, bool) or total <= 0 or not body.get("description"):
            return self._wechat_error(400, "PARAM_ERROR", "amount.total 或 description 无效")
        if body.get("mchid") != self.keys["wechat_mchid"]:
            return self._wechat_error(400, "MCH_NOT_EXISTS", "商户号不存在")
        if body.get("appid") != self.keys["wechat_appid"]:
            return self._wechat_error(400, "APPID_MCHID_NOT_MATCH", "appid 和 mch_id 不匹配")
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is not None and order.trade_state in ("SUCCESS", "REFUND"):
                return self._wechat_error(400, "ORDERPAID", "该订单已支付")
            if order is not None and order.trade_state != "NOTPAY":
                return self._wechat_error(400, "ORDER_CLOSED", "订单已关闭")
            if order is not None and order.total != total:
                return self._wechat_error(400, "INVALID_REQUEST", "201 商户订单号重复")
            if order is None:
                attach = body.get("attach")
                self.orders[out_trade_no] = WechatOrder(
                    out_trade_no=out_trade_no,
                    appid=str(body["appid"]),
                    mchid=str(body["mchid"]),
                    total=total,
                    description=str(body["description"]),
                    attach=attach if isinstance(attach, str) else None,
                    notify_url=notify_url,
                    created=time.time(),
                )
        return self._wechat_reply(200, {"code_url": f"{self.url}/wechat/pay/{quote(out_trade_no)}"})

    def _wechat_query(self, request: Request, out_trade_no: str) -> Reply:
        return self._wechat_query_order(request, self.orders.get(out_trade_no))

    def _wechat_query_by_id(self, request: Request, transaction_id: str) -> Reply:
        found = next((o for o in self.orders.values() if o.transaction_id == transaction_id), None)
        return self._wechat_query_order(request, found)

    def _wechat_query_order(self, request: Request, order: WechatOrder | None) -> Reply:
        refused = self._wechat_authorised(request)
        if refused is not None:
            return refused
        if request.query.get("mchid") != self.keys["wechat_mchid"]:
            return self._wechat_error(400, "PARAM_ERROR", "mchid 无效")
        if order is None:
            return self._wechat_error(404, "ORDER_NOT_EXIST", "订单不存在")
        with self._lock:
            return self._wechat_reply(200, order.as_json())

    def _wechat_refund(self, request: Request) -> Reply:
        refused = self._wechat_authorised(request)
        if refused is not None:
            return refused
        body = self._wechat_body(request)
        amount = (body or {}).get("amount")
        if body is None or not isinstance(amount, dict):
            return self._wechat_error(400, "PARAM_ERROR", "缺少参数 amount")
        refund, total = amount.get("refund"), amount.get("total")
        out_refund_no = body.get("out_refund_no")
        if not (isinstance(refund, int) and isinstance(total, int) and refund > 0 and isinstance(out_refund_no, str)):
            return self._wechat_error(400, "PARAM_ERROR", "amount.refund/amount.total/out_refund_no 无效")
        with self._lock:
            order = self.orders.get(str(body.get("out_trade_no") or "")) or next(
                (
                    o
                    for o in self.orders.values()
                    if o.transaction_id and o.transaction_id == body.get("transaction_id")
                ),
                None,
            )
            if order is None:
                return self._wechat_error(404, "RESOURCE_NOT_EXISTS", "订单不存在")
            if out_refund_no in order.refunds:
                return self._wechat_reply(200, order.refunds[out_refund_no])
            if order.trade_state not in ("SUCCESS", "REFUND"):
                return self._wechat_error(400, "INVALID_REQUEST", "订单未支付, 不能退款")
            if total != order.total:
                return self._wechat_error(400, "PARAM_ERROR", "订单金额与实际支付金额不一致")
            if refund > order.total - order.refunded:
                return self._wechat_error(400, "INVALID_REQUEST", "申请退款金额超过订单可退金额")
            now = time.time()
            document: dict[str, Any] = {
                "refund_id": "5030" + _digits(25),
                "out_refund_no": out_refund_no,
                "transaction_id": order.transaction_id,
                "out_trade_no": order.out_trade_no,
                "channel": "ORIGINAL",
                "user_received_account": "支付用户零钱",
                "success_time": _rfc3339(now),
                "create_time": _rfc3339(now),
                "status": "SUCCESS",
                "funds_account": "AVAILABLE",
                "amount": {
                    "total": order.total,
                    "refund": refund,
                    "payer_total": order.total,
                    "payer_refund": refund,
                    "settlement_total": order.total,
                    "settlement_refund": refund,
                    "discount_refund": 0,
                    "currency": "CNY",
                    "from": [],
                },
                "promotion_detail": [],
            }
            order.refunds[out_refund_no] = document
            order.trade_state = "REFUND"
            resource = {
                "mchid": order.mchid,
                "out_trade_no": order.out_trade_no,
                "transaction_id": order.transaction_id,
                "out_refund_no": out_refund_no,
                "refund_id": document["refund_id"],
                "refund_status": "SUCCESS",
                "success_time": document["success_time"],
                "user_received_account": document["user_received_account"],
                "amount": {"total": order.total, "refund": refund, "payer_total": order.total, "payer_refund": refund},
            }
            notify_url = body.get("notify_url") if isinstance(body.get("notify_url"), str) else None
            sign = self.wechat_notification("REFUND.SUCCESS", "refund", resource, "退款成功")
            callback = Callback("wechat", order.out_trade_no, "REFUND.SUCCESS", notify_url or order.notify_url, sign)
        self._send_async(callback)
        return self._wechat_reply(200, document)

    def _wechat_page(self, request: Request, out_trade_no: str) -> Reply:
        order = self.orders.get(out_trade_no)
        if order is None:
            return _page("WeChat Pay", "<p>No such order.</p>", 404)
        return _pay_page(
            "WeChat Pay (sandbox)",
            order.description,
            _money_text(order.total, "cny"),
            f"/wechat/pay/{quote(out_trade_no)}",
            request,
            order.trade_state,
        )

    def _wechat_page_action(self, request: Request, out_trade_no: str, action: str) -> Reply:
        options = self._options(request)
        if isinstance(options, Reply):
            return options
        with self._lock:
            order = self.orders.get(out_trade_no)
            if order is None:
                return _page("WeChat Pay", "<p>No such order.</p>", 404)
            if order.trade_state != "NOTPAY":
                return _page("WeChat Pay", f"<p>This order is {html.escape(order.trade_state)}.</p>", 409)
            if action == "approve":
                order.trade_state, order.success_time = "SUCCESS", time.time()
                order.transaction_id = "4200" + _digits(24)
                order.openid = "oUpF8uMuAJO_M2pxb1Q9zNjWeS6o"
                event_type, summary = "TRANSACTION.SUCCESS", "支付成功"
            else:
                order.trade_state = "PAYERROR"
                event_type, summary = "TRANSACTION.PAYERROR", "支付失败"
            sign = self.wechat_notification(event_type, "transaction", order.as_json(), summary)
            callback = Callback("wechat", out_trade_no, event_type, order.notify_url, sign)
        return self._outcome(request, "WeChat Pay", order.trade_state, callback, *options)

    # --- the sandbox's own endpoints -----------------------------------------------------------------------------

    def _resend(self, request: Request, provider: str, key: str) -> Reply:
        options = self._options(request)
        if isinstance(options, Reply):
            return options
        provider = {"wechat_pay": "wechat", "stripe": "card"}.get(provider, provider)
        callback = self._last_callback.get((provider, key))
        if callback is None:
            return _json_reply(404, {"error": f"no {provider} callback has been sent for {key}"})
        deliveries = self.send(callback, duplicates=options[0], delay_s=options[1])
        return _json_reply(200, {"event": callback.kind, "deliveries": [d.as_json() for d in deliveries or []]})

    def _deliveries(self, request: Request) -> Reply:
        with self._lock:
            return _json_reply(200, {"deliveries": [d.as_json() for d in self.deliveries]})

    def _index(self, request: Request) -> Reply:
        with self._lock:
            rows = [
                (
                    f"/card/pay/{i.id}",
                    "card",
                    i.metadata.get("payment_id", i.id),
                    _money_text(i.amount, i.currency),
                    i.status,
                )
                for i in self.intents.values()
            ]
            rows += [
                (f"/alipay/pay/{t.out_trade_no}", "alipay", t.out_trade_no, _money_text(t.total, "cny"), t.status)
                for t in self.trades.values()
            ]
            rows += [
                (f"/wechat/pay/{o.out_trade_no}", "wechat", o.out_trade_no, _money_text(o.total, "cny"), o.trade_state)
                for o in self.orders.values()
            ]
        items = "".join(
            f'<li><a href="{html.escape(link)}">{html.escape(p)} {html.escape(ident)}</a> {html.escape(amount)} '
            f"({html.escape(status)})</li>"
            for link, p, ident, amount, status in rows
        )
        return _page("Payment sandbox", f"<ul>{items or '<li>no payments yet</li>'}</ul>")


# --- pages ------------------------------------------------------------------------------------------------------------

_STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:30rem;margin:3rem auto;padding:0 1rem;color:#222}"
    ".amount{font-size:2.2rem;font-weight:600;margin:.5rem 0}.status{font-weight:600}"
    "form{display:inline-block;margin-right:.5rem}button{font-size:1rem;padding:.6rem 1.2rem;cursor:pointer}"
    ".muted{color:#777;font-size:.9rem}"
)


def _page(title: str, content: str, status: int = 200) -> Reply:
    document = (
        f'<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head><body><h1>{html.escape(title)}</h1>{content}"
        '<p class="muted">Local payment sandbox: no real money moves.</p></body></html>'
    )
    return Reply(status, document.encode(), "text/html; charset=utf-8")


def _pay_page(
    title: str,
    description: str,
    amount: str,
    base: str,
    request: Request,
    status: str,
    pay: str = "Pay",
    decline: str = "Decline",
) -> Reply:
    query = urlencode({k: v for k, v in request.query.items() if k in ("duplicates", "delay")})
    suffix = f"?{query}" if query else ""
    content = (
        f"<p>{html.escape(description)}</p><p class=amount>{html.escape(amount)}</p>"
        f'<p class="muted">status: {html.escape(status)}</p>'
        f'<form method="post" action="{html.escape(base)}/approve{html.escape(suffix)}"><button>{html.escape(pay)}'
        "</button></form>"
        f'<form method="post" action="{html.escape(base)}/decline{html.escape(suffix)}"><button>'
        f"{html.escape(decline)}</button></form>"
    )
    return _page(title, content)
