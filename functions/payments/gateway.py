"""The payment providers as configured: keys from the ``payments`` secret (read once per container), one adapter
per method, and the HTTP transport that sends their requests.

The secret is JSON: ``{"notify_base_url": ..., "card": {StripeConfig fields}, "alipay": {AlipayConfig fields},
"wechat_pay": {WechatPayConfig fields}}``; a method whose section is missing is not offered. Locally the payment
sandbox (local/payment_sandbox.py) writes it; in AWS the operator does (docs/payments.md). The adapters are the
same either way: only ``api_base``/``gateway`` differ.
"""

from __future__ import annotations

import json
import os
import urllib.error
import urllib.request
from dataclasses import dataclass
from functools import cache
from typing import Any

from functions.payments.providers.base import PaymentProvider, ProviderError, ProviderRequest, ProviderResponse
from functions.shared.errors import Unprocessable

TIMEOUT_S = 8


@dataclass(frozen=True)
class Providers:
    by_method: dict[str, PaymentProvider]
    notify_base_url: str

    def get(self, method: str) -> PaymentProvider:
        provider = self.by_method.get(method)
        if provider is None:
            raise Unprocessable(f"{method} is not offered by this shop", code="METHOD_NOT_AVAILABLE")
        return provider

    def notify_url(self, method: str) -> str:
        return f"{self.notify_base_url.rstrip('/')}/callbacks/payments/{method}"


def build(config: dict[str, Any]) -> Providers:
    # The adapters are imported here, on first use: functions that never talk to a provider (the order projector)
    # do not pay for them at cold start.
    from functions.payments.providers.alipay import AlipayConfig, AlipayProvider
    from functions.payments.providers.card import StripeCardProvider, StripeConfig
    from functions.payments.providers.wechat import WechatPayConfig, WechatPayProvider

    methods: dict[str, PaymentProvider] = {}
    if "card" in config:
        card = dict(config["card"])
        card["webhook_secrets"] = tuple(card.get("webhook_secrets") or ())
        methods["card"] = StripeCardProvider(StripeConfig(**card))
    if "alipay" in config:
        methods["alipay"] = AlipayProvider(AlipayConfig(**config["alipay"]))
    if "wechat_pay" in config:
        methods["wechat_pay"] = WechatPayProvider(WechatPayConfig(**config["wechat_pay"]))
    return Providers(methods, str(config.get("notify_base_url", "")))


@cache
def providers() -> Providers:
    from functions.shared.aws import client

    arn = os.environ["PAYMENTS_SECRET_ARN"]
    raw = client("secretsmanager").get_secret_value(SecretId=arn)["SecretString"]
    try:
        config = json.loads(raw)
    except ValueError:
        config = {}  # not configured yet (a fresh stack's generated placeholder): no method is offered
    return build(config if isinstance(config, dict) else {})


def send(request: ProviderRequest) -> ProviderResponse:
    """The transport: one HTTPS request with a short timeout; an HTTP error status is a response, not an error."""
    if request.send_from != "server":
        raise ValueError("this request is the shopper's browser's to make")
    outgoing = urllib.request.Request(  # noqa: S310 - the provider's configured https URL (loopback locally)
        request.url, data=request.body or None, headers=dict(request.headers), method=request.method
    )
    try:
        with urllib.request.urlopen(outgoing, timeout=TIMEOUT_S) as response:  # noqa: S310
            return ProviderResponse(response.status, dict(response.headers.items()), response.read())
    except urllib.error.HTTPError as exc:
        return ProviderResponse(exc.code, dict(exc.headers.items()), exc.read())
    except (OSError, ValueError) as exc:
        raise ProviderError("UNREACHABLE", f"the provider did not answer: {exc}", retryable=True) from exc
