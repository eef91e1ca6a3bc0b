"""Counting a feed's facts per product and UTC hour (functions.shared.forwarding), through the two forwarders'
decoders: log lines as the feeds write them, in a CloudWatch Logs subscription event as the local platform builds it."""

from __future__ import annotations

import base64
import gzip
import json
from datetime import UTC, datetime, timedelta
from typing import Any

from functions.catalog.manifest import MANIFEST as CATALOG
from functions.catalog.search import analytics
from functions.checkout import cart_analytics
from functions.checkout.manifest import MANIFEST as CHECKOUT
from functions.shared.ids import new_id
from local.logs import subscription_event

SEARCH_FORWARDER = next(s for s in CATALOG.log_subscriptions if s.name == "SearchLogForwarder")
CART_FORWARDER = next(s for s in CHECKOUT.log_subscriptions if s.name == "CartLogForwarder")
T0 = datetime(2026, 11, 22, 10, 15, tzinfo=UTC)


def _at(moment: datetime) -> str:
    return moment.isoformat().replace("+00:00", "Z")


def view(product_id: str, at: datetime, search_id: str | None = None) -> str:
    return json.dumps(
        {"level": "INFO", "product_view": {"product_id": product_id, "search_id": search_id, "at": _at(at)}}
    )


def addition(product_id: str, at: datetime, quantity: int) -> str:
    record = {"product_id": product_id, "sku": "SKU-1", "quantity": quantity, "at": _at(at)}
    return json.dumps({"level": "INFO", "cart_addition": record})


def delivery(lines: list[str], first_id: int = 0, subscription: Any = SEARCH_FORWARDER) -> dict[str, Any]:
    ms = int(T0.timestamp() * 1000)
    source = subscription.sources[-1]
    return subscription_event(subscription, source, [(ms, line) for line in lines], "stream", first_id)


def view_counts(event: dict[str, Any]) -> list[tuple[str, datetime, int, int]]:
    views = [r for r in analytics.decode(event) if isinstance(r, analytics.ProductView)]
    return [(e.product_id, e.hour, e.views, e.from_search) for e in analytics.view_counts(views)]


def test_views_of_a_product_in_one_hour_are_one_count_and_another_hour_is_another() -> None:
    event = delivery(
        [
            view("prd_a", T0),
            view("prd_a", T0 + timedelta(minutes=40)),
            view("prd_b", T0),
            view("prd_a", T0 + timedelta(hours=1)),
        ]
    )
    hour = T0.replace(minute=0)
    assert view_counts(event) == [
        ("prd_a", hour, 2, 0),
        ("prd_b", hour, 1, 0),
        ("prd_a", hour + timedelta(hours=1), 1, 0),
    ]


def test_from_search_counts_only_views_with_a_search_id_a_search_could_have_issued() -> None:
    recent = new_id(int((T0 - timedelta(minutes=2)).timestamp() * 1000))
    stale = new_id(int((T0 - timedelta(days=3)).timestamp() * 1000))
    event = delivery([view("prd_a", T0, recent), view("prd_a", T0, stale), view("prd_a", T0)])
    assert view_counts(event) == [("prd_a", T0.replace(minute=0), 3, 1)]


def test_a_delivery_decoded_again_has_the_same_event_ids_and_other_lines_other_ids() -> None:
    lines = [view("prd_a", T0), view("prd_a", T0), view("prd_b", T0)]

    def ids(event: dict[str, Any]) -> list[str]:
        views = [r for r in analytics.decode(event) if isinstance(r, analytics.ProductView)]
        return [e.event_id for e in analytics.view_counts(views)]

    first = ids(delivery(lines))
    assert ids(delivery(lines)) == first  # Lambda retrying the same payload
    assert len(set(first)) == 2 and all(i.startswith("pvc_") and len(i) == 36 for i in first)
    assert set(ids(delivery(lines, first_id=100))).isdisjoint(first)  # the same product and hour, other lines


def test_cart_additions_are_counted_with_their_units_and_malformed_lines_are_skipped() -> None:
    lines = [
        addition("prd_a", T0, 2),
        addition("prd_a", T0 + timedelta(minutes=1), 3),
        addition("prd_b", T0, 1),
        json.dumps({"cart_addition": {"product_id": "prd_c", "at": _at(T0)}}),  # no quantity
        json.dumps({"cart_addition": "not a record"}),
        "not json",
    ]
    counted = cart_analytics.counts(cart_analytics.decode(delivery(lines, subscription=CART_FORWARDER)))
    assert [(c.product_id, c.hour, c.additions, c.units) for c in counted] == [
        ("prd_a", T0.replace(minute=0), 2, 5),
        ("prd_b", T0.replace(minute=0), 1, 1),
    ]
    assert all(c.event_id.startswith("cac_") for c in counted)


def test_a_control_message_carries_nothing() -> None:
    """CloudWatch Logs checking that the destination is reachable, when the subscription is created."""
    data = {
        "messageType": "CONTROL_MESSAGE",
        "owner": "CloudwatchLogs",
        "logGroup": "",
        "logStream": "",
        "subscriptionFilters": [],
        "logEvents": [{"id": "", "timestamp": 0, "message": "CWL CONTROL MESSAGE: Checking health of destination"}],
    }
    packed = base64.b64encode(gzip.compress(json.dumps(data).encode())).decode()
    assert cart_analytics.decode({"awslogs": {"data": packed}}) == []
