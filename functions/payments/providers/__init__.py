"""Payment provider adapters: one module per provider, each speaking that provider's real protocol.

* :mod:`~functions.payments.providers.card`: cards through Stripe (PaymentIntents, ``Stripe-Signature`` webhooks);
* :mod:`~functions.payments.providers.alipay`: Alipay open platform (RSA2-signed gateway calls and notifications);
* :mod:`~functions.payments.providers.wechat`: WeChat Pay API v3 (signed requests, signed and encrypted callbacks).

All of them implement :class:`~functions.payments.providers.base.PaymentProvider`. Nothing here does I/O or reads
the environment: keys and endpoints arrive in each adapter's config object, requests are built for a transport the
caller passes in, callbacks are verified from the raw headers and body. Import the adapter you need (its module),
not this package's contents, so a function loads only its own provider.
"""

from functions.payments.providers.base import (
    Acknowledgement,
    CreateIntentRequest,
    CreateIntentResult,
    EventKind,
    NextAction,
    NextActionKind,
    PaymentProvider,
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
)

__all__ = [
    "Acknowledgement",
    "CreateIntentRequest",
    "CreateIntentResult",
    "EventKind",
    "NextAction",
    "NextActionKind",
    "PaymentProvider",
    "PaymentStatus",
    "ProviderError",
    "ProviderEvent",
    "ProviderRequest",
    "ProviderResponse",
    "QueryRequest",
    "QueryResult",
    "RefundRequest",
    "RefundResult",
    "RefundStatus",
    "RejectReason",
    "Transport",
    "VerificationError",
]
