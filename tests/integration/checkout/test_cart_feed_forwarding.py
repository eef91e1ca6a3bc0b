"""The checkout's cart feed through the real handlers against moto: POST /cart/items writes a ``cart_addition`` line
for a successful add (and none for a refused one), the lines travel as a CloudWatch Logs subscription event (built as
the local platform builds it), and the CartLogForwarder publishes one CartAdditionsCounted per product and hour."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from functions.checkout import cart_feed
from functions.checkout.handlers import cart_log_forwarder
from functions.checkout.manifest import MANIFEST
from local.apigw import LambdaContext
from local.logs import captured, subscription_event
from tests.conftest import SHOPPER

FORWARDER = next(s for s in MANIFEST.log_subscriptions if s.name == "CartLogForwarder")


def counted(event_spy: Any) -> list[dict[str, Any]]:
    drained = [e for e in event_spy() if e["detail-type"] == "CartAdditionsCounted"]
    assert all(e["source"] == "shop.checkout" for e in drained)
    return [{k: v for k, v in e["detail"].items() if k not in ("occurred_at", "correlation_id")} for e in drained]


def test_successful_adds_are_counted_per_product_and_a_redelivery_publishes_the_same_event(api, product, event_spy):
    phone = product({"FEED-A": 3900, "FEED-B": 4900})
    with captured(cart_feed._feed) as written:
        assert api("POST", "/cart/items", {"sku": "FEED-A", "quantity": 2}, user=SHOPPER).status == 200
        assert api("POST", "/cart/items", {"sku": "feed-b", "quantity": 1}, user=SHOPPER).status == 200
        assert api("POST", "/cart/items", {"sku": "FEED-A", "quantity": 99}, user=SHOPPER).status == 422  # over 99
        assert api("POST", "/cart/items", {"sku": "NO-SUCH-SKU", "quantity": 1}, user=SHOPPER).status == 404
        lines = written.take(FORWARDER.keys)
    records = [json.loads(line)["cart_addition"] for line in lines]
    assert [(r["product_id"], r["sku"], r["quantity"]) for r in records] == [
        (phone["product_id"], "FEED-A", 2),
        (phone["product_id"], "FEED-B", 1),
    ]

    now = int(datetime.now(UTC).timestamp() * 1000)
    event = subscription_event(FORWARDER, "AddCartItem", [(now, line) for line in lines], "2026/01/01/[$LATEST]x")
    context = LambdaContext("CartLogForwarder")
    assert cart_log_forwarder.handler(event, context) == {"additions": 2, "units": 3, "events": 1}
    (first,) = counted(event_spy)
    assert (first["product_id"], first["additions"], first["units"]) == (phone["product_id"], 2, 3)
    assert datetime.fromisoformat(first["hour"]).minute == 0

    cart_log_forwarder.handler(event, context)  # Lambda retrying the same payload
    assert counted(event_spy) == [first]
