"""The checkout's activity feed, producer side (functions.shared.activity): one ``cart_addition`` log line per
successful add-to-cart request (POST /cart/items), for back-office analytics.

The request waits on nothing for it: the line is a local write, and a CloudWatch Logs subscription
(``CartLogForwarder`` in the checkout manifest; the local platform imitates it) delivers the lines to the forwarder,
which counts them per product and UTC hour (functions.checkout.cart_analytics).

No pydantic here: the add-to-cart handler imports this on its cold start.
"""

from __future__ import annotations

from functions.shared.activity import feed_logger, iso, now_ms

CART_ADDITION_KEY = "cart_addition"

_feed = feed_logger("checkout-cart-feed")


def emit_cart_addition(product_id: str, sku: str, quantity: int) -> None:
    """``quantity`` units of ``sku`` (a variant of ``product_id``) went into a cart."""
    record = {"product_id": product_id, "sku": sku, "quantity": quantity, "at": iso(now_ms())}
    _feed.info("added to cart", extra={CART_ADDITION_KEY: record})
