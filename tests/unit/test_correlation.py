"""One correlation id from the HTTP request to the last consumer: events take the current one, a consumer takes it
from the event it handles, and the HTTP entrypoint starts it from the request id."""

from __future__ import annotations

import json

from functions.shared import correlation
from functions.shared.events import DomainEvent, detail_of, parse


class SomethingHappened(DomainEvent):
    """Not registered (no SOURCE): the schema check only knows the platform's own events."""

    what: str = "it"


def test_an_event_created_while_serving_a_request_carries_its_id() -> None:
    correlation.use("req-123")
    assert SomethingHappened().correlation_id == "req-123"


def test_a_consumer_takes_the_id_of_the_event_it_handles_and_passes_it_on() -> None:
    correlation.use("req-123")
    first = SomethingHappened()
    correlation.use(None)
    envelope = {"source": "shop.tests", "detail-type": "SomethingHappened", "detail": first.detail_json()}
    detail_of(envelope)
    assert correlation.current() == "req-123"
    assert SomethingHappened().correlation_id == "req-123"


def test_an_event_without_an_id_starts_its_own_chain_from_its_event_id() -> None:
    correlation.use(None)
    orphan = SomethingHappened()
    assert orphan.correlation_id is None
    detail_of({"detail": json.loads(orphan.detail_json())})
    assert correlation.current() == orphan.event_id


def test_parsing_a_platform_event_takes_on_its_correlation_id() -> None:
    from functions.accounts.events import AddressDeleted

    correlation.use("req-9")
    sent = AddressDeleted(user_id="u1", address_id="adr_1", version=2, default_address_id=None)
    correlation.use(None)
    parse(AddressDeleted.SOURCE, "AddressDeleted", sent.detail_json())
    assert correlation.current() == "req-9"


def test_the_http_entrypoint_starts_the_chain_from_the_request_id() -> None:
    from aws_lambda_powertools.event_handler import Response

    from functions.shared.http import entrypoint, make_resolver
    from functions.shared.wiring import ContextManifest, Route

    manifest = ContextManifest(
        name="tests", routes=(Route(name="Ping", handler="x.y.handler", method="GET", path="/ping"),)
    )
    app = make_resolver(manifest)
    seen: list[str | None] = []

    @app.get("/ping")
    def ping() -> Response[str]:
        seen.append(SomethingHappened().correlation_id)
        return Response(200, "application/json", "{}")

    from local.apigw import LambdaContext, build_event

    event = build_event(manifest.routes[0], "/ping", request_id="req-abc")
    entrypoint(app)(event, LambdaContext("Ping"))
    assert seen == ["req-abc"]
