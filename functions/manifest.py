"""The whole platform's wiring: every context's manifest plus the shared resources.

``infra/app.py`` builds the CDK app from ``PLATFORM``; ``local/`` builds the local platform from it.
"""

from functions.accounts.manifest import MANIFEST as ACCOUNTS
from functions.analytics.manifest import MANIFEST as ANALYTICS
from functions.audit.manifest import MANIFEST as AUDIT
from functions.catalog.manifest import MANIFEST as CATALOG
from functions.checkout.manifest import MANIFEST as CHECKOUT
from functions.partners.manifest import MANIFEST as PARTNERS
from functions.payments.manifest import MANIFEST as PAYMENTS
from functions.shared.wiring import Platform, Secret
from functions.shipping.manifest import MANIFEST as SHIPPING

PLATFORM = Platform(
    contexts=(CATALOG, ACCOUNTS, CHECKOUT, PAYMENTS, SHIPPING, AUDIT, PARTNERS, ANALYTICS),
    secrets=(
        Secret("cursor", "HMAC key that signs pagination cursors"),
        Secret(
            "payments",
            "Payment provider keys and the callback base URL, as JSON (docs/payments.md); the operator sets it",
        ),
        Secret("carriers", "Each carrier's HMAC-SHA256 callback secret, as JSON {carrier: secret} (docs/shipping.md)"),
    ),
)
PLATFORM.validate()
