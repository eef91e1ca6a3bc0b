"""One order from checkout to delivery, and back (return -> refund), counted: Lambda invocations per function,
DynamoDB requests per API and events per detail type.

The order goes through the real handlers, in one process, against the project's serialised moto server
(``bench.harness.LocalAws``), in the order the platform runs them:

* an HTTP step (checkout, payment, the provider's and the carrier's callbacks, staff actions) is one invocation of
  the route's function with the API Gateway event the local gateway builds;
* every committed DynamoDB write that carries outbox items is one invocation of its table's outbox relay (as one
  DynamoDB stream batch would be), with those items as the stream's NEW_IMAGE records; the relay's PutEvents goes
  to moto's EventBridge, whose rules (made from the manifests) put the events on the consumers' queues;
* each event is then delivered to every consumer whose manifest ``EventPattern`` matches it (the subscribers come
  from the manifests, never from a list here), received from that consumer's own queue, one message per invocation;
  a timer consumer that postpones its message (the payment window) is invoked again when the message is due;
* the completion schedule runs with the checkout's clock moved past the return window.

Every AWS request is recorded with botocore hooks on boto3's default session (``bench.awscount``, installed before
any client exists); the harness's own requests (receiving and deleting queue messages, secrets set-up, checks) go
through a separate session and are not counted. A first order warms the process (clients, cached secrets); the
second is the one reported. Figures are per order, unbatched; an estimate with batches of ``--batch`` orders per
consumer, relay and schedule invocation follows, labelled as such.

Run: ``PYTHONPATH=. .venv/bin/python bench/order_path.py [--batch 10] [--strict]``. Prints tables and writes
``bench/results/order_path.json``. See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import importlib
import json
import logging
import os
import sys
import time
import urllib.parse
import urllib.request
import uuid
from collections import Counter, deque
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository importable without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

import boto3

from bench.awscount import SHORT, Recorder
from bench.capacity import IndexKeys
from bench.harness import CATALOG_STAFF, Bench, Claims, LocalAws, outcome
from bench.report import REPO_ROOT, machine, table, write_json
from functions.manifest import PLATFORM
from functions.shared.outbox import OUTBOX_PREFIX
from functions.shared.wiring import Consumer, Function, Route, Schedule, StreamConsumer
from local.apigw import LambdaContext
from local.pump import sqs_record

# AWS's serverless e-commerce sample (aws-samples/aws-serverless-ecommerce-platform), per order for the steps it has.
SAMPLE = {"lambda_invocations": 25, "dynamodb_requests": 26}
GOAL = {"lambda_invocations": SAMPLE["lambda_invocations"] / 2, "dynamodb_requests": SAMPLE["dynamodb_requests"] / 2}
SAMPLE_STEPS = ("place order", "pay", "allocate", "dispatch", "deliver")
WHOLE_STEPS = (*SAMPLE_STEPS, "return", "refund", "complete")
# Step labels only (never routing): a consumer that starts a step of its own; everything else an invocation causes
# belongs to the step of what caused it.
STEP_STARTS = {"OrderAllocator": "allocate"}
COMPLETION_SCHEDULE = "CompleteDeliveredOrders"
CARRIER = "sf-express"
WAREHOUSE = "WH-OP"
REGION_NAME = "上海市"
STOCK = 10_000
NOTIFY_BASE_URL = "http://127.0.0.1:9/order-path"  # nothing listens: the sandbox's callbacks are captured instead
FULFILMENT_STAFF: Claims = {
    "sub": "44444444-4444-4444-8444-444444444444",
    "email": "fulfilment@example.com",
    "cognito:groups": ["customer", "fulfilment"],
    "token_use": "id",
}
ADDRESS = {
    "recipient": "李雷",
    "phone": "+8613812345678",
    "region": REGION_NAME,
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}


# --- what happened ----------------------------------------------------------------------------------------------


@dataclass
class Invocation:
    step: str
    function: str
    kind: str  # route, consumer, relay, schedule
    trigger: str  # "POST /checkout", "OrderPlaced", "stream: 1 record(s)", "schedule"
    requests: list[dict[str, Any]]
    published: list[str]  # detail types this invocation wrote to an outbox (committed)
    outcome: str  # ok, postponed (a timer), or what went wrong
    ms: float

    @property
    def dynamodb(self) -> list[dict[str, Any]]:
        return [r for r in self.requests if r["service"] == "dynamodb"]


@dataclass
class Written:
    """One committed write that carried outbox items: what one DynamoDB stream batch delivers to one relay."""

    table: str
    items: list[dict[str, Any]]


class Tap:
    """Botocore hooks on the default session: the outbox items of every committed DynamoDB write and the entries of
    every accepted PutEvents, since the last :meth:`take`."""

    def __init__(self) -> None:
        self.written: list[Written] = []
        self.published: list[dict[str, Any]] = []

    @classmethod
    def install(cls) -> Tap:
        if boto3.DEFAULT_SESSION is None:
            boto3.setup_default_session()
        session = boto3.DEFAULT_SESSION
        assert session is not None
        tap = cls()
        session.events.register("provide-client-params", tap._params)
        session.events.register("after-call", tap._after)
        return tap

    def take(self) -> tuple[list[Written], list[dict[str, Any]]]:
        written, published = self.written, self.published
        self.written, self.published = [], []
        return written, published

    @staticmethod
    def _params(params: dict[str, Any], context: dict[str, Any], **_: Any) -> None:
        context["order_path_params"] = params  # returns None: the parameters are left as they are

    def _after(self, http_response: Any, parsed: dict[str, Any], model: Any, context: dict[str, Any], **_: Any) -> None:
        if int(http_response.status_code) >= 300:
            return
        params = context.get("order_path_params") or {}
        service = model.service_model.service_name
        if service == "dynamodb":
            by_table: dict[str, list[dict[str, Any]]] = {}
            for table_name, item in _written_items(model.name, params):
                if str(item.get("pk", {}).get("S", "")).startswith(OUTBOX_PREFIX):
                    by_table.setdefault(table_name, []).append(item)
            self.written += [Written(t, items) for t, items in by_table.items()]
        elif service == "events" and model.name == "PutEvents":
            results = parsed.get("Entries") or []
            for i, entry in enumerate(params.get("Entries") or []):
                if i < len(results) and results[i].get("ErrorCode"):
                    continue
                self.published.append(entry)


def _written_items(operation: str, params: dict[str, Any]) -> Iterator[tuple[str, dict[str, Any]]]:
    if operation == "TransactWriteItems":
        for element in params.get("TransactItems") or []:
            put = element.get("Put")
            if put:
                yield put["TableName"], put["Item"]
    elif operation == "PutItem":
        yield params["TableName"], params["Item"]
    elif operation == "BatchWriteItem":
        for table_name, requests in (params.get("RequestItems") or {}).items():
            for request in requests:
                if "PutRequest" in request:
                    yield table_name, request["PutRequest"]["Item"]


# --- the engine: invoke, relay, deliver -----------------------------------------------------------------------------


def _kind(function: Function) -> str:
    if isinstance(function, Route):
        return "route"
    if isinstance(function, StreamConsumer):
        return "relay"
    if isinstance(function, Consumer):
        return "consumer"
    if isinstance(function, Schedule):
        return "schedule"
    return type(function).__name__.lower()


def subscribers(source: str, detail_type: str) -> list[Consumer]:
    """The consumers whose manifest patterns match an event (what the EventBridge rules built from them do)."""
    return [
        c
        for c in PLATFORM.functions
        if isinstance(c, Consumer) and any(p.source == source and detail_type in p.detail_types for p in c.patterns)
    ]


def scheduled_event(name: str) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [f"arn:aws:events:us-east-1:123456789012:rule/{name}"],
        "detail": {},
    }


def with_headers(event: dict[str, Any], headers: dict[str, str]) -> dict[str, Any]:
    event["headers"] = {**(event.get("headers") or {}), **headers}
    event["multiValueHeaders"] = {**(event.get("multiValueHeaders") or {}), **{k: [v] for k, v in headers.items()}}
    return event


@dataclass
class _Postponed:
    consumer: Consumer
    receipt: str
    step: str


@dataclass
class Engine:
    aws: LocalAws
    bench: Bench
    recorder: Recorder
    tap: Tap
    harness: boto3.Session
    counting: bool = False
    invocations: list[Invocation] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    unrouted: list[str] = field(default_factory=list)  # events moto did not put on a subscriber's queue
    unsubscribed: Counter[str] = field(default_factory=Counter)  # published events no consumer subscribes to
    postponed: list[_Postponed] = field(default_factory=list)
    tmp: str = ""  # a temporary directory for files the set-up needs (the payment sandbox's keys)

    def __post_init__(self) -> None:
        self._sqs = self.harness.client("sqs")
        self._arns: dict[str, str] = {}
        env = self.aws.created.env
        self._relays: dict[str, StreamConsumer] = {}
        for reader in (f for f in PLATFORM.functions if isinstance(f, StreamConsumer)):
            physical = env.get(f"{reader.table.upper()}_TABLE_NAME")
            if physical:
                self._relays[physical] = reader
        self._work: deque[tuple[str, str, Any]] = deque()

    # one invocation ----------------------------------------------------------------------------------------------

    def call(self, step: str, function: Function, event: dict[str, Any], trigger: str) -> Any:
        self.recorder.take(f"{step}:{function.name}")  # drop the harness's requests made since the last call
        self.tap.take()
        os.environ["AWS_LAMBDA_FUNCTION_NAME"] = function.name
        if isinstance(function, Consumer) and function.name in self.aws.created.queue_urls:
            os.environ["CONSUMER_QUEUE_URL"] = self.aws.created.queue_urls[function.name]
        module = importlib.import_module(function.module)
        handler: Callable[[dict[str, Any], Any], Any] = getattr(module, function.attribute)
        response: Any = None
        error: str | None = None
        started = time.perf_counter()
        try:
            response = handler(event, LambdaContext(function.name, function.memory_mb, function.timeout_s))
        except Exception as exc:  # a handler that raises is a failed invocation, reported, not a crash of the bench
            error = f"{type(exc).__name__}: {exc}"
        elapsed = (time.perf_counter() - started) * 1000
        calls = [c.as_dict() for c in self.recorder.take("harness")]
        written, published = self.tap.take()
        problem = error or outcome(response)
        state = "ok" if problem is None else problem
        if problem and isinstance(function, Consumer) and function.timer and "batch item failure" in problem:
            state = "postponed"
        if state not in ("ok", "postponed"):
            self.problems.append(f"{step}: {function.name} ({trigger}): {state}")
        detail_types = [str(item["detail_type"]["S"]) for w in written for item in w.items]
        if self.counting:
            self.invocations.append(
                Invocation(step, function.name, _kind(function), trigger, calls, detail_types, state, round(elapsed, 1))
            )
        for w in written:
            self._work.append(("relay", step, w))
        if published:
            self._work.append(("deliver", step, published))
        return response

    def http(
        self,
        step: str,
        method: str,
        path: str,
        body: Any = None,
        claims: Claims | None = None,
        headers: dict[str, str] | None = None,
        raw: str | None = None,
    ) -> dict[str, Any]:
        """One HTTP request to a route, then everything it sets off; the parsed body (2xx expected)."""
        event = self.bench.event(method, path, body, claims)
        if raw is not None:
            event["body"], event["isBase64Encoded"] = raw, False
        if headers:
            with_headers(event, headers)
        route = self.bench.route_for(event)
        response = self.call(step, route, event, f"{method} {route.path}")
        self.settle()
        problem = outcome(response) if isinstance(response, dict) else "the handler raised (see the problems)"
        if problem is not None:
            raise RuntimeError(f"{method} {path}: {problem}")
        text = response.get("body") or ""
        parsed: dict[str, Any] = json.loads(text) if text else {}
        return parsed

    def schedule(self, step: str, name: str) -> Any:
        function = self.bench.function(name)
        response = self.call(step, function, scheduled_event(name), "schedule")
        self.settle()
        return response

    # what an invocation sets off -----------------------------------------------------------------------------------

    def settle(self) -> None:
        """Run relays and consumers until nothing is left to deliver (postponed timers stay postponed)."""
        while self._work:
            what, step, payload = self._work.popleft()
            if what == "relay":
                self._relay(step, payload)
            else:
                self._deliver(step, payload)

    def _relay(self, step: str, written: Written) -> None:
        from bench.scenarios.relay import stream_event

        reader = self._relays.get(written.table)
        if reader is None:
            self.problems.append(f"{step}: outbox items in {written.table}, which no stream consumer reads")
            return
        event = stream_event(self.bench, reader, written.items)
        self.call(step, reader, event, f"stream: {len(written.items)} record(s)")

    def _queue_arn(self, consumer: Consumer) -> str:
        if consumer.name not in self._arns:
            url = self.aws.created.queue_urls[consumer.name]
            attributes = self._sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"]
            self._arns[consumer.name] = attributes["QueueArn"]
        return self._arns[consumer.name]

    def _deliver(self, step: str, entries: list[dict[str, Any]]) -> None:
        expected: dict[str, tuple[Consumer, set[str]]] = {}
        for entry in entries:
            found = subscribers(entry["Source"], entry["DetailType"])
            if not found:
                self.unsubscribed[entry["DetailType"]] += int(self.counting)
            event_id = str(json.loads(entry["Detail"]).get("event_id", ""))
            for consumer in found:
                expected.setdefault(consumer.name, (consumer, set()))[1].add(event_id)
        for consumer, ids in expected.values():
            messages = self._receive(consumer)
            seen = {self._event_id(m) for m in messages}
            for entry in entries:  # moto's rules did not route it (should not happen): send it as EventBridge would
                event_id = str(json.loads(entry["Detail"]).get("event_id", ""))
                if event_id in ids and event_id not in seen:
                    self.unrouted.append(f"{entry['DetailType']} -> {consumer.name}")
                    self._sqs.send_message(
                        QueueUrl=self.aws.created.queue_urls[consumer.name], MessageBody=json.dumps(_envelope(entry))
                    )
                    messages += self._receive(consumer)
            for message in messages:
                self._consume(STEP_STARTS.get(consumer.name, step), consumer, message)

    @staticmethod
    def _event_id(message: dict[str, Any]) -> str:
        try:
            return str(json.loads(message.get("Body") or "{}").get("detail", {}).get("event_id", ""))
        except ValueError:
            return ""

    def _receive(self, consumer: Consumer) -> list[dict[str, Any]]:
        url = self.aws.created.queue_urls[consumer.name]
        out: list[dict[str, Any]] = []
        while True:
            got = self._sqs.receive_message(
                QueueUrl=url, MaxNumberOfMessages=10, AttributeNames=["All"], MessageAttributeNames=["All"]
            ).get("Messages", [])
            if not got:
                return out
            out += [dict(m) for m in got]

    def _consume(self, step: str, consumer: Consumer, message: dict[str, Any]) -> None:
        record = sqs_record(message, self._queue_arn(consumer))
        body = json.loads(message.get("Body") or "{}")
        response = self.call(step, consumer, {"Records": [record]}, str(body.get("detail-type", "?")))
        url = self.aws.created.queue_urls[consumer.name]
        if consumer.timer and outcome(response) is not None:
            self.postponed.append(_Postponed(consumer, message["ReceiptHandle"], step))
            return
        self._sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])

    def left_in_queues(self) -> dict[str, int]:
        """Messages still on a consumer's queue (visible or not): an event moto routed that no manifest pattern
        predicted, or one left unprocessed."""
        left = {}
        for name, url in self.aws.created.queue_urls.items():
            attributes = self._sqs.get_queue_attributes(
                QueueUrl=url, AttributeNames=["ApproximateNumberOfMessages", "ApproximateNumberOfMessagesNotVisible"]
            )["Attributes"]
            count = sum(int(v) for v in attributes.values())
            if count:
                left[name] = count
        return left

    def fire_postponed(self) -> None:
        """The postponed timer messages come back: as if their time had come (visibility set to 0 now)."""
        waiting, self.postponed = self.postponed, []
        for p in waiting:
            url = self.aws.created.queue_urls[p.consumer.name]
            self._sqs.change_message_visibility(QueueUrl=url, ReceiptHandle=p.receipt, VisibilityTimeout=0)
            for message in self._receive(p.consumer):
                self._consume(p.step, p.consumer, message)
        self.settle()


def _envelope(entry: dict[str, Any]) -> dict[str, Any]:
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": entry["DetailType"],
        "source": entry["Source"],
        "account": "123456789012",
        "time": datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": "us-east-1",
        "resources": [],
        "detail": json.loads(entry["Detail"]),
    }


# --- the journey ------------------------------------------------------------------------------------------------------


@contextmanager
def checkout_clock(ahead: timedelta) -> Iterator[None]:
    """The checkout's clock (``functions.checkout.service.now``) moved ``ahead``: the return window has ended."""
    module = importlib.import_module("functions.checkout.service")
    real: Callable[[], datetime] = module.now
    setattr(module, "now", lambda: real() + ahead)  # noqa: B010 - a module attribute the service looks up per call
    try:
        yield
    finally:
        setattr(module, "now", real)  # noqa: B010


def find(value: Any, key: str) -> Any:
    """The first value under ``key`` anywhere in a parsed JSON document."""
    if isinstance(value, dict):
        if value.get(key):
            return value[key]
        for v in value.values():
            found = find(v, key)
            if found:
                return found
    if isinstance(value, list):
        for v in value:
            found = find(v, key)
            if found:
                return found
    return None


@dataclass
class World:
    """What set-up made: the SKUs, the payment sandbox, the carrier's secret."""

    skus: list[str]
    sandbox: Any
    callbacks: list[Any]  # the sandbox's outgoing callbacks, captured instead of sent
    carrier_secret: str


def set_up(engine: Engine) -> World:
    """Catalogue, warehouse, stock, provider sandbox and carrier secret, through the handlers (not counted)."""
    from functions.payments import gateway
    from functions.shipping import service as shipping_service
    from local.payment_sandbox import PaymentSandbox

    step = "set-up"
    tag = engine.bench.tag
    category = engine.http(step, "POST", "/admin/categories", {"name": f"Order path {tag}"}, CATALOG_STAFF)
    brand = engine.http(step, "POST", "/admin/brands", {"name": f"Order path brand {tag}"}, CATALOG_STAFF)
    skus = [f"OP-{tag}-A".upper(), f"OP-{tag}-B".upper()]
    product = {
        "name": f"Order path product {tag}",
        "description": "Bought once per run, from checkout to delivery",
        "brand_id": brand["brand_id"],
        "category_id": category["category_id"],
        "status": "active",
        "variants": [
            {"sku": sku, "price": {"amount": 12900 + 1000 * i, "currency": "CNY"}, "options": {"edition": str(i)}}
            for i, sku in enumerate(skus)
        ],
    }
    engine.http(step, "POST", "/admin/products", product, CATALOG_STAFF)
    warehouse = {
        "code": WAREHOUSE,
        "name": "Order path warehouse",
        "address": {"region": REGION_NAME, "city": REGION_NAME, "street": "1 Depot Road", "postcode": "200000"},
        "priority": 10,
        "active": True,
    }
    engine.http(step, "POST", "/admin/warehouses", warehouse, FULFILMENT_STAFF)
    for sku in skus:
        movement = {"type": "inbound", "warehouse": WAREHOUSE, "quantity": STOCK, "reason": "order path stock"}
        engine.http(step, "POST", f"/admin/inventory/{sku}/movements", movement, CATALOG_STAFF)

    secrets_client = engine.harness.client("secretsmanager")
    env = engine.aws.created.env
    carrier_secret = uuid.uuid4().hex
    secrets_client.put_secret_value(
        SecretId=env["CARRIERS_SECRET_ARN"], SecretString=json.dumps({CARRIER: carrier_secret})
    )
    shipping_service._carrier_cache.clear()

    logging.getLogger("local.payment_sandbox").setLevel(logging.ERROR)
    os.environ["PAYMENT_SANDBOX_KEYS_FILE"] = str(Path(engine.tmp) / "payment-sandbox.json")  # never .local
    sandbox = PaymentSandbox(0, notify_base_url=NOTIFY_BASE_URL)
    sandbox.start()
    callbacks: list[Any] = []

    def capture(callback: Any, duplicates: int = 1, delay_s: float = 0.0) -> None:
        callbacks.append(callback)  # delivered by the journey, as an HTTP request to the callback route

    sandbox._send_async = capture  # type: ignore[method-assign]
    secrets_client.put_secret_value(SecretId=env["PAYMENTS_SECRET_ARN"], SecretString=sandbox.config_json())
    gateway.providers.cache_clear()
    return World(skus, sandbox, callbacks, carrier_secret)


def provider_callbacks(engine: Engine, world: World, step: str) -> int:
    """The provider's callbacks the sandbox would have sent since the last call, as HTTP requests."""
    sent, world.callbacks[:] = list(world.callbacks), []
    for callback in sent:
        headers, body = callback.sign()
        engine.http(step, "POST", f"/callbacks/payments/{callback.provider}", headers=dict(headers), raw=body.decode())
    return len(sent)


def confirm_card(world: World, client_secret: str) -> None:
    """What Stripe.js does in the shopper's browser: confirm the PaymentIntent with a test card (not AWS)."""
    intent = client_secret.split("_secret_", 1)[0]
    form = urllib.parse.urlencode({"client_secret": client_secret, "payment_method": "pm_card_visa"}).encode()
    request = urllib.request.Request(
        f"{world.sandbox.url}/card/v1/payment_intents/{intent}/confirm", data=form, method="POST"
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        if answer.status != 200:
            raise RuntimeError(f"the sandbox refused the card confirmation: {answer.status}")


def carrier_callback(engine: Engine, world: World, step: str, tracking: str, status: str) -> dict[str, Any]:
    from functions.shipping.service import carrier_signature

    moment = datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    raw = json.dumps(
        {
            "tracking_number": tracking,
            "events": [
                {
                    "event_id": f"{tracking}-{status}",
                    "status": status,
                    "occurred_at": moment,
                    "location": "上海市浦东新区",
                }
            ],
        },
        ensure_ascii=False,
    )
    timestamp = str(int(time.time()))
    signature = carrier_signature(world.carrier_secret, timestamp, raw.encode())
    headers = {"X-Carrier-Timestamp": timestamp, "X-Carrier-Signature": signature}
    return engine.http(step, "POST", f"/callbacks/carriers/{CARRIER}", headers=headers, raw=raw)


def journey(engine: Engine, world: World) -> dict[str, Any]:
    """One order, every step; returns what the contexts show at the end (read through the handlers, not counted)."""
    shopper: Claims = {
        "sub": str(uuid.uuid4()),
        "email": f"op-{uuid.uuid4().hex[:8]}@example.com",
        "cognito:groups": ["customer"],
    }
    checks: dict[str, Any] = {}
    counting = engine.counting
    engine.counting = False  # the cart is not part of the path (the sample's path starts at the order)
    for sku in world.skus:
        engine.http("cart", "POST", "/cart/items", {"sku": sku, "quantity": 1}, shopper)
    engine.counting = counting

    order = engine.http(
        "place order", "POST", "/checkout", {"address": ADDRESS}, shopper, headers={"Idempotency-Key": uuid.uuid4().hex}
    )
    order_id = str(order["order_id"])

    payment = engine.http(
        "pay",
        "POST",
        f"/orders/{order_id}/payments",
        {"method": "card"},
        shopper,
        headers={"Idempotency-Key": uuid.uuid4().hex},
    )
    client_secret = find(payment, "client_secret")
    if not client_secret:
        raise RuntimeError(f"CreatePayment gave no client secret: {json.dumps(payment)[:300]}")
    confirm_card(world, str(client_secret))
    if not provider_callbacks(engine, world, "pay"):
        engine.problems.append("pay: the payment sandbox sent no callback after the card was confirmed")
    engine.fire_postponed()  # the payment window's timer, when its time comes: the order is paid by then

    shipment = engine.http(
        "dispatch",
        "POST",
        f"/admin/orders/{order_id}/shipments",
        {"carrier": CARRIER, "tracking_number": f"SF{uuid.uuid4().hex[:12]}".upper()},
        FULFILMENT_STAFF,
    )
    carrier_callback(engine, world, "deliver", str(shipment["tracking_number"]), "delivered")
    checks["after delivery"] = order_status(engine, order_id, shopper)

    line = order["lines"][0]
    returned = engine.http(
        "return",
        "POST",
        f"/orders/{order_id}/returns",
        {"kind": "return", "reason": "does not fit", "lines": [{"sku": line["sku"], "quantity": 1}]},
        shopper,
    )
    return_id = str(returned["return_id"])
    engine.http("return", "POST", f"/admin/returns/{return_id}/approve", {}, FULFILMENT_STAFF)
    engine.http("refund", "POST", f"/admin/returns/{return_id}/receive", {"condition": "resellable"}, FULFILMENT_STAFF)
    provider_callbacks(engine, world, "refund")  # the provider's refund notification
    checks["return"] = return_status(engine, return_id, shopper)

    if COMPLETION_SCHEDULE in {f.name for f in PLATFORM.functions}:
        from functions.checkout.model import return_window_days

        with checkout_clock(timedelta(days=return_window_days(), hours=1)):
            engine.schedule("complete", COMPLETION_SCHEDULE)
    else:
        engine.problems.append(f"complete: no {COMPLETION_SCHEDULE} schedule in the manifest")
    checks["at the end"] = order_status(engine, order_id, shopper)
    checks["order_id"] = order_id
    return checks


def _quiet_get(engine: Engine, path: str, claims: Claims) -> dict[str, Any]:
    counting, engine.counting = engine.counting, False
    try:
        return engine.http("check", "GET", path, claims=claims)
    finally:
        engine.counting = counting


def order_status(engine: Engine, order_id: str, shopper: Claims) -> str:
    return str(_quiet_get(engine, f"/orders/{order_id}", shopper).get("status"))


def return_status(engine: Engine, return_id: str, shopper: Claims) -> str:
    return str(_quiet_get(engine, f"/returns/{return_id}", shopper).get("status"))


# --- totals ---------------------------------------------------------------------------------------------------------


def totals(invocations: list[Invocation], steps: tuple[str, ...], batch: int) -> dict[str, Any]:
    chosen = [i for i in invocations if i.step in steps]
    ddb = [r for i in chosen for r in i.dynamodb]
    other = [r for i in chosen for r in i.requests if r["service"] != "dynamodb"]
    est_rcu = sum(r["est_rcu"] or 0 for r in ddb)
    est_wcu = sum(r["est_wcu"] or 0 for r in ddb)
    return {
        "steps": list(steps),
        "lambda_invocations": len(chosen),
        "invocations_by_kind": dict(Counter(i.kind for i in chosen)),
        "invocations_by_function": dict(Counter(i.function for i in chosen)),
        "dynamodb_requests": len(ddb),
        "dynamodb_by_api": dict(Counter(r["operation"] for r in ddb)),
        "scans": sum(1 for r in ddb if r["operation"] == "Scan"),
        "dynamodb_errors": dict(Counter(f"{r['operation']}:{r['error']}" for r in ddb if r["error"])),
        "other_aws_requests": dict(Counter(f"{SHORT.get(r['service'], r['service'])}:{r['operation']}" for r in other)),
        "events": dict(Counter(d for i in chosen for d in i.published)),
        "events_total": sum(len(i.published) for i in chosen),
        "est_rcu": round(est_rcu, 2),
        "est_wcu": round(est_wcu, 2),
        "amortised": amortised(chosen, batch),
    }


def amortised(chosen: list[Invocation], batch: int) -> dict[str, Any]:
    """An estimate with ``batch`` orders per consumer, relay and schedule invocation: an HTTP request is always
    one invocation; a consumer processes the records of a batch one by one (Powertools' BatchProcessor), so its
    DynamoDB requests stay per order; a relay puts up to 10 entries per PutEvents; a schedule's index query serves
    every order it finds."""
    invocations = 0.0
    ddb = 0.0
    put_events = 0.0
    for i in chosen:
        share = 1.0 if i.kind == "route" else 1.0 / batch
        invocations += share
        for r in i.dynamodb:
            per_run = i.kind == "schedule" and r["operation"] in ("Query", "Scan")
            ddb += 1.0 / batch if per_run else 1.0
        for r in i.requests:
            if r["service"] == "events" and r["operation"] == "PutEvents":
                put_events += 1.0 / batch if i.kind == "relay" else 1.0
    return {
        "batch": batch,
        "lambda_invocations": round(invocations, 2),
        "dynamodb_requests": round(ddb, 2),
        "put_events": round(put_events, 2),
        "note": "estimate, not measured: HTTP invocations 1 each; consumer, relay and schedule invocations / batch; "
        "DynamoDB requests per order except a schedule's index Query (/ batch); relay PutEvents / batch",
    }


def per_step(invocations: list[Invocation]) -> list[dict[str, Any]]:
    rows = []
    for step in WHOLE_STEPS:
        chosen = [i for i in invocations if i.step == step]
        ddb = [r for i in chosen for r in i.dynamodb]
        rows.append(
            {
                "step": step,
                "in_sample": step in SAMPLE_STEPS,
                "invocations": len(chosen),
                "by_kind": dict(Counter(i.kind for i in chosen)),
                "functions": [f"{i.function} ({i.trigger})" for i in chosen],
                "dynamodb_requests": len(ddb),
                "dynamodb_by_api": dict(Counter(r["operation"] for r in ddb)),
                "events": [d for i in chosen for d in i.published],
            }
        )
    return rows


def per_function(invocations: list[Invocation]) -> list[dict[str, Any]]:
    out: dict[str, dict[str, Any]] = {}
    for i in invocations:
        row = out.setdefault(
            i.function,
            {
                "function": i.function,
                "kind": i.kind,
                "steps": [],
                "invocations": 0,
                "dynamodb": Counter(),
                "other": Counter(),
            },
        )
        if i.step not in row["steps"]:
            row["steps"].append(i.step)
        row["invocations"] += 1
        row["dynamodb"].update(r["operation"] for r in i.dynamodb)
        row["other"].update(
            f"{SHORT.get(r['service'], r['service'])}:{r['operation']}"
            for r in i.requests
            if r["service"] != "dynamodb"
        )
    return [{**r, "dynamodb": dict(r["dynamodb"]), "other": dict(r["other"])} for r in out.values()]


def one_off(first: list[Invocation], second: list[Invocation]) -> dict[str, int]:
    """Requests the first order made and the second did not (per-container one-offs: secrets, ...)."""
    a = Counter(f"{SHORT.get(r['service'], r['service'])}:{r['operation']}" for i in first for r in i.requests)
    b = Counter(f"{SHORT.get(r['service'], r['service'])}:{r['operation']}" for i in second for r in i.requests)
    return dict(a - b)


# --- run and report -------------------------------------------------------------------------------------------------


def run(args: argparse.Namespace) -> dict[str, Any]:
    import tempfile

    started = time.monotonic()
    with tempfile.TemporaryDirectory(prefix="bench-order-path-") as tmp, LocalAws(prefix="orderpath") as aws:
        # Hooks before any client of the default session exists (create_all used a session of its own).
        recorder = Recorder.install(_index_keys(aws))
        tap = Tap.install()
        os.environ["POWERTOOLS_LOG_LEVEL"] = "WARNING"  # before any handler module (and its Logger) is imported
        harness = boto3.Session()
        engine = Engine(aws, Bench(stream_arns=aws.created.stream_arns), recorder, tap, harness, tmp=tmp)
        print(f"moto at {aws.endpoint}; setting up ...", flush=True)
        world = set_up(engine)
        setup_problems, engine.problems = engine.problems, []
        try:
            runs = []
            for label in ("warm-up order", "measured order"):
                engine.counting, engine.invocations = True, []
                engine.unsubscribed.clear()
                engine.problems, engine.unrouted = [], []
                print(f"  {label} ...", flush=True)
                try:
                    checks = journey(engine, world)
                except Exception as exc:  # report what was measured up to the failure
                    checks = {"failed": f"{type(exc).__name__}: {exc}"}
                    engine.problems.append(f"journey stopped: {type(exc).__name__}: {exc}")
                runs.append(
                    {
                        "label": label,
                        "checks": checks,
                        "invocations": list(engine.invocations),
                        "problems": list(engine.problems),
                        "unrouted": list(engine.unrouted),
                        "unsubscribed_events": dict(engine.unsubscribed),
                        "left_in_queues": engine.left_in_queues(),
                    }
                )
        finally:
            world.sandbox.stop()
    return build_payload(runs, setup_problems, args.batch, time.monotonic() - started)


def _index_keys(aws: LocalAws) -> IndexKeys:
    keys: IndexKeys = {}
    for t in PLATFORM.tables:
        physical = aws.created.env.get(f"{t.name.upper()}_TABLE_NAME")
        if physical:
            keys[physical] = [(i.partition_key, i.sort_key) for i in t.indexes]
    return keys


def expected_statuses(checks: dict[str, Any]) -> list[str]:
    """What the order and the return should show at each point if every context did its part."""
    wanted = {"after delivery": "delivered", "return": "refunded", "at the end": "completed"}
    return [
        f"{point}: {checks.get(point)!r}, expected {status!r}"
        for point, status in wanted.items()
        if checks.get(point) != status
    ]


def build_payload(runs: list[dict[str, Any]], setup_problems: list[str], batch: int, elapsed: float) -> dict[str, Any]:
    warm, measured = runs[0], runs[-1]
    invocations: list[Invocation] = measured["invocations"]
    sample = totals(invocations, SAMPLE_STEPS, batch)
    whole = totals(invocations, WHOLE_STEPS, batch)
    scans_anywhere = sum(1 for run in runs for i in run["invocations"] for r in i.dynamodb if r["operation"] == "Scan")
    goal = {
        "text": "for the sample's steps, at most half of its 25 Lambda invocations and 26 DynamoDB requests per "
        "order; no Scan anywhere on the order path",
        "sample": SAMPLE,
        "limit": GOAL,
        "lambda_invocations_met": sample["lambda_invocations"] <= GOAL["lambda_invocations"],
        "dynamodb_requests_met": sample["dynamodb_requests"] <= GOAL["dynamodb_requests"],
        "no_scans_met": scans_anywhere == 0,
    }
    goal["met"] = bool(goal["lambda_invocations_met"] and goal["dynamodb_requests_met"] and goal["no_scans_met"])
    status_problems = expected_statuses(measured["checks"])
    return {
        "benchmark": "order_path",
        "machine": machine(),
        "settings": {"batch": batch, "payment_method": "card", "carrier": CARRIER, "steps": list(WHOLE_STEPS)},
        "notes": {
            "counted": "per order, unbatched; the measured order is the second of the process (caches warm)",
            "relay": "one relay invocation per committed write that carried outbox items (one stream batch each)",
            "timer": "the payment window's timer is invoked at placement (it postpones the message) and when due",
            "not_counted": "the cart, the harness's queue reads, the checks; the provider's and carrier's own work",
        },
        "setup_problems": setup_problems,
        "goal": goal,
        "sample_steps": sample,
        "whole_path": whole,
        "per_step": per_step(invocations),
        "per_function": per_function(invocations),
        "one_off_first_order": one_off(warm["invocations"], invocations),
        "runs": [{**run, "invocations": [asdict(i) for i in run["invocations"]]} for run in runs],
        "summary": {
            "problems": measured["problems"] + status_problems,
            "unrouted": measured["unrouted"],
            "unsubscribed_events": measured["unsubscribed_events"],
            "left_in_queues": measured["left_in_queues"],
            "warm_up_differs": _shape(warm["invocations"]) != _shape(invocations),
            "elapsed_s": round(elapsed, 1),
        },
    }


def _shape(invocations: list[Invocation]) -> list[tuple[str, str, int]]:
    return [(i.step, i.function, len(i.dynamodb)) for i in invocations]


def _counter_text(counts: dict[str, Any]) -> str:
    return " ".join(f"{k}x{v}" if v != 1 else k for k, v in counts.items()) or "-"


def print_report(payload: dict[str, Any]) -> None:
    m = payload["machine"]
    measured = payload["runs"][-1]
    print()
    print(f"One order from checkout to delivery and back, {m['date']}, Python {m['python']}")
    print("Per order, unbatched, the second order of the process (caches warm). * = a step AWS's sample also has.")
    print()
    rows = []
    for inv in measured["invocations"]:
        ddb = Counter(r["operation"] for r in inv["requests"] if r["service"] == "dynamodb")
        other = Counter(
            f"{SHORT.get(r['service'], r['service'])}:{r['operation']}"
            for r in inv["requests"]
            if r["service"] != "dynamodb"
        )
        rows.append(
            [
                f"{inv['step']}{' *' if inv['step'] in SAMPLE_STEPS else ''}",
                inv["function"],
                inv["kind"],
                inv["trigger"],
                sum(ddb.values()),
                _counter_text(dict(ddb)),
                _counter_text(dict(other)),
                _counter_text(dict(Counter(inv["published"]))),
                "" if inv["outcome"] == "ok" else inv["outcome"][:60],
            ]
        )
    headers = ["step", "function", "kind", "trigger", "ddb", "DynamoDB", "other AWS", "events written", "note"]
    print(table(headers, rows, right=(4,)))
    print()
    step_rows = [
        [
            f"{s['step']}{' *' if s['in_sample'] else ''}",
            s["invocations"],
            _counter_text(s["by_kind"]),
            s["dynamodb_requests"],
            _counter_text(s["dynamodb_by_api"]),
            _counter_text(dict(Counter(s["events"]))),
        ]
        for s in payload["per_step"]
    ]
    print(table(["step", "invocations", "by kind", "ddb", "DynamoDB by API", "events"], step_rows, right=(1, 3)))
    print()
    groups = (("sample's steps *", payload["sample_steps"]), ("whole path", payload["whole_path"]))
    group_rows: list[list[Any]] = [
        [
            name,
            g["lambda_invocations"],
            _counter_text(g["invocations_by_kind"]),
            g["dynamodb_requests"],
            g["scans"],
            g["events_total"],
            f"{g['est_rcu']:g}/{g['est_wcu']:g}",
        ]
        for name, g in groups
    ]
    group_rows.append(
        ["AWS sample (its steps)", SAMPLE["lambda_invocations"], "", SAMPLE["dynamodb_requests"], "", "", ""]
    )
    headers = ["measured, per order", "invocations", "by kind", "ddb", "scans", "events", "est. RCU/WCU"]
    print(table(headers, group_rows, right=(1, 3, 4, 5, 6)))
    for name, g in groups:
        others = _counter_text(g["other_aws_requests"])
        print(f"  {name}: DynamoDB {_counter_text(g['dynamodb_by_api'])}; other AWS {others}")
    print()
    batch = payload["settings"]["batch"]
    estimate_rows = [
        [name, g["amortised"]["lambda_invocations"], g["amortised"]["dynamodb_requests"], g["amortised"]["put_events"]]
        for name, g in groups
    ]
    headers = [f"ESTIMATE (not measured), {batch} orders per batch", "invocations", "ddb", "PutEvents"]
    print(table(headers, estimate_rows, right=(1, 2, 3)))
    print(f"  {payload['sample_steps']['amortised']['note']}")
    goal = payload["goal"]
    print()
    verdict = "met" if goal["met"] else "NOT MET"
    print(
        f"Goal [{verdict}]: sample's steps <= {goal['limit']['lambda_invocations']:g} invocations "
        f"({payload['sample_steps']['lambda_invocations']}: {'ok' if goal['lambda_invocations_met'] else 'over'}), "
        f"<= {goal['limit']['dynamodb_requests']:g} DynamoDB requests "
        f"({payload['sample_steps']['dynamodb_requests']}: {'ok' if goal['dynamodb_requests_met'] else 'over'}), "
        f"no Scan ({'none' if goal['no_scans_met'] else 'SCANS FOUND'})"
    )
    if payload["one_off_first_order"]:
        print(f"First order only (per-container one-offs): {_counter_text(payload['one_off_first_order'])}")
    summary = payload["summary"]
    if summary["unsubscribed_events"]:
        print(f"Events no consumer subscribes to: {_counter_text(summary['unsubscribed_events'])}")
    if summary["warm_up_differs"]:
        print("note: the warm-up order took another path (see runs[0] in the JSON)")
    for problem in payload["setup_problems"]:
        print(f"  ! set-up: {problem}")
    for problem in summary["problems"]:
        print(f"  ! {problem}")
    if summary["left_in_queues"]:
        print(f"  ! messages left on queues after the order: {_counter_text(summary['left_in_queues'])}")
    for unrouted in summary["unrouted"]:
        print(f"  ! moto did not route {unrouted} (sent directly)")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--batch", type=int, default=10, help="orders per batch for the amortised estimate")
    parser.add_argument("--out", default="order_path.json", help="file name under bench/results/")
    parser.add_argument("--strict", action="store_true", help="exit 1 on any problem or when the goal is not met")
    args = parser.parse_args(argv)
    payload = run(args)
    print_report(payload)
    path = write_json(args.out, payload)
    print(f"\nwrote {path.relative_to(REPO_ROOT)}")
    summary = payload["summary"]
    failed = bool(summary["problems"] or summary["unrouted"] or summary["left_in_queues"]) or not payload["goal"]["met"]
    return 1 if args.strict and failed else 0


if __name__ == "__main__":
    raise SystemExit(main())
