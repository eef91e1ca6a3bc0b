"""A flash sale under load, over HTTP against the local platform: no oversell, no shopper above their limit, no 5xx.

The script starts ``python -m local`` itself (free loopback ports, ``LOCAL_SEED=0``, ``--workers`` handler processes)
unless ``--url`` (and ``--moto-url``) of a running platform are given. Through the HTTP API it creates a product,
waits until the checkout has projected it, gives it stock and puts ``--units`` of it on a flash sale with a
per-shopper limit of 1. ``--shoppers`` accounts sign up through ``POST /auth/signup`` (or, with ``--signup pool``,
are created in the user pool through boto3 against moto, as the seed does) and log in over HTTP. Then
``--attempts`` purchase attempts run from ``--concurrency`` concurrent clients; every shopper tries at least once
and the remaining attempts go to shoppers drawn at random, so some try twice or more, sometimes at the same moment.
An attempt is ``POST /cart/items`` (the SKU, quantity 1) and ``POST /checkout`` with a fresh ``Idempotency-Key``;
when the cart still holds the SKU from an earlier failed attempt (quantity 2) the client sets it back to 1 first,
as a "buy now" button would.

Afterwards it counts, from the back office (``GET /admin/orders``, ``GET /promotions``, ``GET /admin/inventory``):
orders and units sold, oversold units, shoppers with more than their share, and compares them with what the clients
saw. In the same run it times the floor: bare conditional decrements (``UpdateItem`` with
``ConditionExpression remaining >= :one``) from as many threads against the same moto server, i.e. the most any
stock-taking design could get out of this moto. It ends with what the code's constants mean for AWS.

Run: ``PYTHONPATH=. .venv/bin/python bench/flash_sale.py [--units 100 --attempts 2000 --shoppers 1000
--concurrency 50 --workers 4]``. Prints the figures and writes ``bench/results/flash_sale.json``. Exit status 1
when any unit is oversold, a shopper got more than their limit, a request answered 5xx (or failed in transport), a
shopper was told SOLD_OUT while units were left, or the units do not add up; 2 when the sale could not be set up.
See bench/README.md for how to read it.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import itertools
import json
import os
import queue
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import textwrap
import threading
import time
import uuid
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlencode, urlsplit
from zoneinfo import ZoneInfo

if __package__ in (None, ""):  # run as a script: make the repository importable without PYTHONPATH
    sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench.report import REPO_ROOT, load_warning, machine, table, write_json
from functions.checkout.model import MAX_SHARDS, SHARD_TX_PER_SECOND, shards_for

T = TypeVar("T")
R = TypeVar("R")

PASSWORD = "Sunny-Day-42"  # meets the user pool's policy (functions.accounts.domain.PASSWORD_POLICY)
REGULAR_PRICE = 599900
SALE_PRICE = 99900
START_TIMEOUT_S = 90.0
STOP_TIMEOUT_S = 20.0
PROJECTION_TIMEOUT_S = 30.0
REQUEST_TIMEOUT_S = 120.0
SETUP_PARALLEL = 8  # clients used to create and log in the shoppers (setup, not measured)
ADDRESS = {
    "recipient": "李雷",
    "phone": "+8613812345678",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号",
    "postcode": "200120",
}

# DynamoDB's documented per-partition throughput (on-demand and provisioned alike) and the price of a write in a
# transaction; the capacity note below is arithmetic on these and on the checkout's own constants.
PARTITION_WCU_PER_S = 1000
PARTITION_RCU_PER_S = 3000
TRANSACTION_WRITE_COST = 2  # WCU per item of at most 1 KB written inside TransactWriteItems


class SetupFailed(RuntimeError):
    """The sale could not be prepared (a setup request did not succeed): nothing was measured."""


# --- HTTP ------------------------------------------------------------------------------------------------------------


@dataclass
class Reply:
    status: int  # 0: the request failed in transport (connection reset, timeout)
    body: Any
    ms: float

    @property
    def code(self) -> str:
        """The error code of an error body (DESIGN.md §4), or the exception name of a transport failure."""
        if isinstance(self.body, dict) and isinstance(self.body.get("error"), dict):
            return str(self.body["error"].get("code") or "")
        return ""


class Http:
    """A small JSON client for the gateway: one keep-alive connection per thread, every request timed."""

    def __init__(self, url: str, timeout_s: float = REQUEST_TIMEOUT_S) -> None:
        parts = urlsplit(url)
        self.url = url.rstrip("/")
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout_s
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.connections_opened = 0

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
                self.connections_opened += 1
        return connection

    def _drop(self) -> None:
        connection = getattr(self._local, "connection", None)
        self._local.connection = None
        if connection is not None:
            connection.close()

    def call(
        self,
        method: str,
        path: str,
        body: Any = None,
        token: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        sent = {"Accept": "application/json", **(headers or {})}
        if body is not None:
            sent["Content-Type"] = "application/json"
        if token:
            sent["Authorization"] = f"Bearer {token}"
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        started = time.perf_counter()
        try:
            connection = self._connection()
            connection.request(method, path, body=payload, headers=sent)
            response = connection.getresponse()
            raw = response.read()
            status = response.status
            if response.getheader("Connection", "").lower() == "close":
                self._drop()
        except (OSError, http.client.HTTPException) as exc:
            self._drop()
            error = {"error": {"code": f"transport:{type(exc).__name__}", "message": str(exc)}}
            return Reply(0, error, (time.perf_counter() - started) * 1000)
        elapsed = (time.perf_counter() - started) * 1000
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return Reply(status, parsed, elapsed)

    def expect(self, status: int, method: str, path: str, body: Any = None, token: str | None = None) -> Any:
        reply = self.call(method, path, body, token)
        if reply.status != status:
            raise SetupFailed(f"{method} {path} answered {reply.status} (expected {status}): {str(reply.body)[:400]}")
        return reply.body

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


def parallel(function: Callable[[T], R], items: Iterable[T], workers: int) -> list[R]:
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="flash") as pool:
        return list(pool.map(function, items))


# --- the platform ----------------------------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class LocalPlatform:
    """``python -m local`` as a subprocess on free loopback ports (as tests/e2e/conftest.py starts it)."""

    def __init__(self, workers: int, log_path: Path) -> None:
        self.workers = workers
        self.log_path = log_path
        self.port = free_port()
        self.moto_port = free_port()
        self.process: subprocess.Popen[bytes] | None = None
        self.url = f"http://127.0.0.1:{self.port}"
        self.moto_url = f"http://127.0.0.1:{self.moto_port}"

    def log_tail(self, lines: int = 30) -> str:
        try:
            text = self.log_path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            return ""
        return "\n".join(text.splitlines()[-lines:])

    def start(self) -> float:
        env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "POWERTOOLS_"))}
        env.update(
            PYTHONPATH=str(REPO_ROOT),
            PYTHONUNBUFFERED="1",
            PORT=str(self.port),
            MOTO_PORT=str(self.moto_port),
            LOCAL_WORKERS=str(self.workers),
            LOCAL_SEED="0",  # the benchmark makes its own data; the demo catalogue only costs start-up time
        )
        started = time.monotonic()
        with self.log_path.open("wb") as sink:
            self.process = subprocess.Popen(
                [sys.executable, "-m", "local"], cwd=REPO_ROOT, env=env, stdout=sink, stderr=subprocess.STDOUT
            )
        probe = Http(self.url, timeout_s=2)
        try:
            while True:
                if self.process.poll() is not None:
                    raise SetupFailed(f"the platform exited with {self.process.returncode}:\n{self.log_tail()}")
                if probe.call("GET", "/health").status == 200:
                    return time.monotonic() - started
                if time.monotonic() - started > START_TIMEOUT_S:
                    raise SetupFailed(
                        f"the platform was not healthy within {START_TIMEOUT_S:.0f} s:\n{self.log_tail()}"
                    )
                time.sleep(0.2)
        finally:
            probe.close()

    def stop(self) -> int | None:
        """SIGINT, as a developer's Ctrl-C; killed if it does not stop in time. Returns its exit status."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return None if process is None else process.returncode
        process.send_signal(signal.SIGINT)
        try:
            return process.wait(timeout=STOP_TIMEOUT_S)
        except subprocess.TimeoutExpired:
            process.kill()
            return process.wait()


def user_pool(moto_url: str) -> tuple[Any, str]:
    """A Cognito client on the local moto and the id of the platform's user pool (the one named ``*-users``)."""
    from local.runner import EndpointSession  # boto3 with dummy credentials, pinned to the moto endpoint

    idp = EndpointSession(moto_url).client("cognito-idp")
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if str(p["Name"]).endswith("-users")]
    if len(pools) != 1:
        raise SetupFailed(f"expected one '*-users' user pool on {moto_url}, found {len(pools)}")
    return idp, str(pools[0]["Id"])


# --- setup: shoppers, the product, the sale --------------------------------------------------------------------------


@dataclass
class Sale:
    sku: str
    product_id: str
    promotion_id: str
    units: int
    shards: int
    per_user_limit: int
    stock_before: int
    starts_at: str
    ends_at: str


def iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def create_admin(api: Http, moto_url: str, tag: str) -> str:
    """A staff account of this run's own (groups admin and customer), created in the pool as the seed does."""
    from local.seed import Account, create_account

    idp, pool_id = user_pool(moto_url)
    email = f"flash-admin-{tag}@example.com"
    create_account(idp, pool_id, Account(email, PASSWORD, "Flash Admin", ("admin", "customer")))
    tokens = api.expect(200, "POST", "/auth/login", {"email": email, "password": PASSWORD})
    return str(tokens["id_token"])


def create_shoppers(api: Http, moto_url: str, count: int, tag: str, signup: str) -> tuple[list[str], dict[str, float]]:
    """``count`` signed-in shoppers (their ID tokens): accounts made in the pool (or over HTTP), logins over HTTP."""
    emails = [f"flash-{tag}-{i}@example.com" for i in range(count)]
    started = time.monotonic()
    if signup == "http":

        def sign_up(email: str) -> None:
            api.expect(201, "POST", "/auth/signup", {"email": email, "password": PASSWORD})

        parallel(sign_up, emails, SETUP_PARALLEL)
    else:
        from local.seed import Account, create_account

        idp, pool_id = user_pool(moto_url)

        def make(email: str) -> None:
            create_account(idp, pool_id, Account(email, PASSWORD, "Flash Shopper", ("customer",)))

        parallel(make, emails, SETUP_PARALLEL)
    accounts_s = time.monotonic() - started

    def log_in(email: str) -> str:
        return str(api.expect(200, "POST", "/auth/login", {"email": email, "password": PASSWORD})["id_token"])

    started = time.monotonic()
    tokens = parallel(log_in, emails, SETUP_PARALLEL)
    return tokens, {"accounts_s": round(accounts_s, 2), "logins_s": round(time.monotonic() - started, 2)}


def create_sale(api: Http, admin: str, units: int, peak: int, tag: str) -> tuple[Sale, dict[str, float]]:
    """A product (one SKU) in the catalogue, projected into the checkout, with stock, and a flash sale on it."""
    started = time.monotonic()
    category = api.expect(201, "POST", "/admin/categories", {"name": f"Flash sale {tag}"}, admin)["category_id"]
    brand = api.expect(201, "POST", "/admin/brands", {"name": f"Flash brand {tag}"}, admin)["brand_id"]
    sku = f"FLASH-{tag}".upper()
    product = api.expect(
        201,
        "POST",
        "/admin/products",
        {
            "name": f"Flash sale phone {tag}",
            "description": "The product of the flash-sale benchmark",
            "brand_id": brand,
            "category_id": category,
            "status": "active",
            "variants": [
                {"sku": sku, "price": {"amount": REGULAR_PRICE, "currency": "CNY"}, "options": {"colour": "black"}}
            ],
        },
        admin,
    )
    created_s = time.monotonic() - started
    # The checkout learns of the SKU from the catalogue's ProductCreated (stream -> relay -> bus -> queue -> consumer).
    deadline = time.monotonic() + PROJECTION_TIMEOUT_S
    while True:
        reply = api.call("GET", f"/admin/inventory/{sku}", token=admin)
        if reply.status == 200:
            break
        if reply.status != 404 or time.monotonic() > deadline:
            raise SetupFailed(f"the checkout did not learn of {sku}: GET /admin/inventory answered {reply.status}")
        time.sleep(0.1)
    projected_s = time.monotonic() - started - created_s
    stock = units * 2  # as much again at the regular price: the sale's units must come out of it, and only those
    # Goods arrive in a warehouse (shipping); the checkout's sellable stock follows from StockMovementRecorded.
    warehouse = f"FS-{tag}".upper()[:32]
    house = {
        "code": warehouse,
        "name": f"Flash sale {tag}",
        "address": {"region": "Shanghai", "city": "Shanghai", "street": "1 Bench Road"},
    }
    api.expect(201, "POST", "/admin/warehouses", house, admin)
    movement = {"type": "inbound", "warehouse": warehouse, "quantity": stock, "reason": "flash sale benchmark"}
    api.expect(201, "POST", f"/admin/inventory/{sku}/movements", movement, admin)
    deadline = time.monotonic() + PROJECTION_TIMEOUT_S
    while api.expect(200, "GET", f"/admin/inventory/{sku}", None, admin).get("sellable", 0) < stock:
        if time.monotonic() > deadline:
            raise SetupFailed(f"the checkout's sellable stock of {sku} did not reach {stock}")
        time.sleep(0.1)
    now = datetime.now(UTC)
    starts_at, ends_at = iso(now - timedelta(minutes=1)), iso(now + timedelta(minutes=30))
    body = {
        "name": f"Flash sale {tag}",
        "sku": sku,
        "price": {"amount": SALE_PRICE, "currency": "CNY"},
        "quantity": units,
        "starts_at": starts_at,
        "ends_at": ends_at,
        "per_user_limit": 1,
        "expected_peak_per_second": peak,
    }
    promotion = api.expect(201, "POST", "/admin/promotions", body, admin)
    sale = Sale(
        sku=sku,
        product_id=str(product["product_id"]),
        promotion_id=str(promotion["promotion_id"]),
        units=units,
        shards=int(promotion["shards"]),
        per_user_limit=int(promotion["per_user_limit"]),
        stock_before=stock,
        starts_at=starts_at,
        ends_at=ends_at,
    )
    return sale, {"product_s": round(created_s, 2), "projection_s": round(projected_s, 2)}


# --- the purchase attempts -------------------------------------------------------------------------------------------


@dataclass
class Attempt:
    shopper: int
    outcome: str = ""
    ms: float = 0.0
    checkout_ms: float | None = None
    checkout_started: float | None = None  # time.perf_counter() when the checkout request was sent
    checkout_ended: float | None = None
    ended: float = 0.0  # time.perf_counter() when the attempt was over
    checkout_status: int | None = None
    statuses: list[int] = field(default_factory=list)
    fixed_quantity: bool = False
    order_id: str | None = None


def attempt_plan(shoppers: int, attempts: int, seed: int) -> list[int]:
    """Which shopper makes each attempt: everyone once (as far as attempts go), the rest drawn at random."""
    rng = random.Random(seed)
    plan = list(range(min(shoppers, attempts)))
    plan += [rng.randrange(shoppers) for _ in range(attempts - len(plan))]
    rng.shuffle(plan)
    return plan


def _outcome(reply: Reply, prefix: str = "") -> str:
    if reply.status == 0:
        return f"{prefix}{reply.code}"
    return f"{prefix}{reply.status} {reply.code or 'OK'}"


def purchase(api: Http, sale: Sale, shopper: int, token: str) -> Attempt:
    result = Attempt(shopper)
    started = time.perf_counter()
    try:
        added = api.call("POST", "/cart/items", {"sku": sale.sku, "quantity": 1}, token)
        result.statuses.append(added.status)
        if not 200 <= added.status < 300:
            result.outcome = _outcome(added, "cart: ")
            return result
        lines = added.body.get("lines", []) if isinstance(added.body, dict) else []
        quantity = next((int(line["quantity"]) for line in lines if line.get("sku") == sale.sku), 1)
        if quantity > 1:  # left from an earlier attempt that did not buy: "buy now" means one
            result.fixed_quantity = True
            fixed = api.call("PUT", f"/cart/items/{quote(sale.sku)}", {"quantity": 1}, token)
            result.statuses.append(fixed.status)
            if not 200 <= fixed.status < 300:
                result.outcome = _outcome(fixed, "cart: ")
                return result
        key = {"Idempotency-Key": uuid.uuid4().hex}
        result.checkout_started = time.perf_counter()
        placed = api.call("POST", "/checkout", {"address": ADDRESS}, token, headers=key)
        result.checkout_ended = time.perf_counter()
        result.statuses.append(placed.status)
        result.checkout_ms, result.checkout_status = placed.ms, placed.status
        result.outcome = "201 order" if placed.status == 201 else _outcome(placed)
        if placed.status == 201 and isinstance(placed.body, dict):
            result.order_id = str(placed.body.get("order_id"))
        return result
    finally:
        result.ended = time.perf_counter()
        result.ms = (result.ended - started) * 1000


def run_attempts(
    api: Http, sale: Sale, tokens: Sequence[str], plan: Sequence[int], concurrency: int
) -> tuple[list[Attempt], float, float]:
    """Run the plan from ``concurrency`` client threads that all start when the sale "opens". Each client opens its
    keep-alive connection beforehand, one at a time: the local gateway's listen backlog is the standard library's
    default of 5, and when 50 clients connected in the same instant a few connections were reset (a storefront's
    clients arrive through many front ends; a reset here would say nothing about the checkout)."""
    work: queue.SimpleQueue[tuple[int, int]] = queue.SimpleQueue()
    for index, shopper in enumerate(plan):
        work.put((index, shopper))
    results: list[Attempt | None] = [None] * len(plan)
    connect = threading.Lock()
    gate = threading.Barrier(concurrency + 1)
    done = itertools.count(1)
    step = max(1, len(plan) // 8)
    started = time.monotonic()

    def client() -> None:
        with connect:
            api.call("GET", "/health")
        gate.wait()
        while True:
            try:
                index, shopper = work.get_nowait()
            except queue.Empty:
                return
            results[index] = purchase(api, sale, shopper, tokens[shopper])
            n = next(done)
            if n % step == 0:
                print(f"  {n}/{len(plan)} attempts ({time.monotonic() - started:.0f} s)", flush=True)

    threads = [threading.Thread(target=client, name=f"client-{i}", daemon=True) for i in range(concurrency)]
    for thread in threads:
        thread.start()
    gate.wait()
    started = time.monotonic()
    opened = time.perf_counter()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    return [r for r in results if r is not None], elapsed, opened


# --- what the back office sees afterwards ----------------------------------------------------------------------------


def all_orders(api: Http, admin: str, since: str) -> list[dict[str, Any]]:
    orders: list[dict[str, Any]] = []
    query: dict[str, Any] = {"from": since, "limit": 100}
    while True:
        page = api.expect(200, "GET", f"/admin/orders?{urlencode(query)}", token=admin)
        orders += page["items"]
        if not page.get("next_cursor"):
            return orders
        query["cursor"] = page["next_cursor"]


def audit(api: Http, admin: str, sale: Sale, since: str, attempts: Sequence[Attempt]) -> dict[str, Any]:
    orders = all_orders(api, admin, since)
    sale_lines = [(order, line) for order in orders for line in order["lines"] if line["sku"] == sale.sku]
    at_sale_price = [(o, ln) for o, ln in sale_lines if ln.get("promotion_id") == sale.promotion_id]
    units_by_shopper = Counter[str]()
    for order, line in at_sale_price:
        units_by_shopper[order["user_id"]] += int(line["quantity"])
    units_from_orders = sum(units_by_shopper.values())
    promotions = api.expect(200, "GET", "/promotions?limit=20")["items"]
    promotion = next((p for p in promotions if p["promotion_id"] == sale.promotion_id), None)
    remaining = int(promotion["remaining"]) if promotion and promotion.get("remaining") is not None else None
    inventory = api.expect(200, "GET", f"/admin/inventory/{sale.sku}", token=admin)
    client_orders = {a.order_id for a in attempts if a.order_id}
    listed = {str(o["order_id"]) for o, _ in sale_lines}
    sold_per_promotion = None if remaining is None else sale.units - remaining
    return {
        "orders_listed": len(listed),
        "orders_at_sale_price": len({str(o["order_id"]) for o, _ in at_sale_price}),
        "lines_not_at_sale_price": len(sale_lines) - len(at_sale_price),
        "units_from_orders": units_from_orders,
        "promotion_remaining": remaining,
        "units_sold_per_promotion": sold_per_promotion,
        "inventory": inventory,
        "units_sold_per_inventory": None if remaining is None else int(inventory["in_promotions"]) - remaining,
        "oversold": max(0, units_from_orders - sale.units, (sold_per_promotion or 0) - sale.units),
        "shoppers_with_orders": len(units_by_shopper),
        "limit_violations": sum(1 for units in units_by_shopper.values() if units > sale.per_user_limit),
        "orders_answered_201_not_listed": len(client_orders - listed),
        "orders_listed_not_answered_201": len(listed - client_orders),
    }


ANALYTICS_WAIT_S = 90.0


def analytics_books(api: Http, admin: str, sale: Sale, attempts: Sequence[Attempt], whole_shop: bool) -> dict[str, Any]:
    """What the back office's analytics counted for the sale, once the counts have settled (the add-to-cart lines
    and the orders reach the AnalyticsRecorder asynchronously): the product's add-to-cart count against the adds
    answered 2xx, and (on a platform started here, where the sale is the shop's only business) the orders placed."""
    adds = sum(1 for a in attempts if a.statuses and 200 <= a.statuses[0] < 300)
    placed = sum(1 for a in attempts if a.order_id)
    today = datetime.now(ZoneInfo(os.environ.get("SHOP_TIMEZONE", "Asia/Shanghai"))).date()
    period = f"from={(today - timedelta(days=1)).isoformat()}&to={today.isoformat()}"
    deadline = time.monotonic() + ANALYTICS_WAIT_S
    counted_adds = counted_placed = None
    while True:
        report = api.expect(200, "GET", f"/admin/analytics/products?{period}&sort=views&limit=100", token=admin)
        row = next((p for p in report["items"] if p["product_id"] == sale.product_id), None)
        counted_adds = int(row["cart_additions"]) if row else 0
        funnel = api.expect(200, "GET", f"/admin/analytics/funnel?{period}", token=admin)["steps"]
        counted_placed = next(int(s["count"]) for s in funnel if s["step"] == "orders_placed")
        settled = counted_adds >= adds and (not whole_shop or counted_placed >= placed)
        if settled or time.monotonic() > deadline:
            break
        time.sleep(1.0)
    time.sleep(2.0)  # anything still on its way that would count twice shows now
    report = api.expect(200, "GET", f"/admin/analytics/products?{period}&sort=views&limit=100", token=admin)
    row = next((p for p in report["items"] if p["product_id"] == sale.product_id), None)
    funnel = api.expect(200, "GET", f"/admin/analytics/funnel?{period}", token=admin)["steps"]
    return {
        "adds_answered_2xx": adds,
        "cart_additions_counted": int(row["cart_additions"]) if row else 0,
        "orders_answered_201": placed,
        "orders_placed_counted": next(int(s["count"]) for s in funnel if s["step"] == "orders_placed"),
        "whole_shop": whole_shop,
    }


# --- the floor: bare conditional decrements on the same moto --------------------------------------------------------


def floor(moto_url: str, operations: int, threads: int, tag: str) -> dict[str, Any]:
    """``operations`` UpdateItem calls with ``remaining >= :one`` from ``threads`` threads on one item."""
    from botocore.config import Config

    from local.runner import EndpointSession

    ddb = EndpointSession(moto_url).client("dynamodb", config=Config(max_pool_connections=threads + 2))
    name = f"bench-flash-floor-{tag}"
    ddb.create_table(
        TableName=name,
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        BillingMode="PAY_PER_REQUEST",
    )
    try:
        key = {"pk": {"S": "SHARD#0"}}
        ddb.put_item(TableName=name, Item={**key, "remaining": {"N": str(operations)}})
        tickets = iter(range(operations))
        lock = threading.Lock()
        counts = Counter[str]()
        gate = threading.Barrier(threads + 1)

        def work() -> None:
            gate.wait()
            while True:
                with lock:
                    if next(tickets, None) is None:
                        return
                try:
                    ddb.update_item(
                        TableName=name,
                        Key=key,
                        UpdateExpression="SET remaining = remaining - :one",
                        ConditionExpression="remaining >= :one",
                        ExpressionAttributeValues={":one": {"N": "1"}},
                    )
                    outcome = "ok"
                except ddb.exceptions.ConditionalCheckFailedException:
                    outcome = "condition_failed"
                except Exception as exc:  # a floor that errors is reported, not hidden
                    outcome = type(exc).__name__
                with lock:
                    counts[outcome] += 1

        workers = [threading.Thread(target=work, name=f"floor-{i}", daemon=True) for i in range(threads)]
        for worker in workers:
            worker.start()
        gate.wait()
        started = time.perf_counter()
        for worker in workers:
            worker.join()
        elapsed = time.perf_counter() - started
        left = int(ddb.get_item(TableName=name, Key=key, ConsistentRead=True)["Item"]["remaining"]["N"])
    finally:
        ddb.delete_table(TableName=name)
    return {
        "operations": operations,
        "threads": threads,
        "elapsed_s": round(elapsed, 2),
        "per_second": round(operations / elapsed, 1),
        "outcomes": dict(counts),
        "remaining_after": left,
        "atomic": left == 0 and counts["ok"] == operations,
    }


# --- AWS capacity, from the code's constants -------------------------------------------------------------------------


def capacity(shards: int) -> dict[str, Any]:
    """What one SKU's flash sale sustains in AWS with ``shards`` shards, by the design's own arithmetic, and the
    limits the key design puts on it (DynamoDB's per-partition throughput: 1,000 WCU/s and 3,000 RCU/s)."""
    per_order_writes_in_sale_partition = 2  # the shard taken + the shopper's buy counter, both pk PROMO#<id>
    one_partition = PARTITION_WCU_PER_S // (per_order_writes_in_sale_partition * TRANSACTION_WRITE_COST)
    # Reads of shared items per attempt (add to cart + checkout), from the code paths (repository.py docstring):
    # the add reads the SKU record (GetItem) and prices the cart (SKU record + stock + every shard), eventually
    # consistent (0.5 RCU per item up to 4 KB); the checkout prices it again strongly consistent (1 RCU per item).
    sku_rcu = 0.5 + 2 * 0.5 + 2 * 1.0  # pk SKU#<sku>: INFO and STOCK
    shard_rcu = shards * (0.5 + 1.0)  # pk PROMO#<id>: every shard, in each of the two pricings
    return {
        "shards": shards,
        "shard_tx_per_second": SHARD_TX_PER_SECOND,
        "design_orders_per_second": shards * SHARD_TX_PER_SECOND,
        "max_shards": MAX_SHARDS,
        "design_max_orders_per_second": MAX_SHARDS * SHARD_TX_PER_SECOND,
        "writes_per_order": {
            "shared": "one shard item (each shard takes 1/N of the orders)",
            "per_shopper": "the shopper's buy counter (PROMO#<id> / USER#<user>), their cart (deleted)",
            "new": "the order, the idempotency record, the outbox event",
        },
        "one_partition_orders_per_second": one_partition,
        "attempt_rcu_on_sku_partition": sku_rcu,
        "attempt_rcu_on_sale_partition": shard_rcu,
        "attempts_per_second_sku_partition_reads": int(PARTITION_RCU_PER_S / sku_rcu),
        "attempts_per_second_sale_partition_reads": int(PARTITION_RCU_PER_S / shard_rcu),
        "attempts_per_second_per_shard_item_reads": int(PARTITION_RCU_PER_S / 1.5),
    }


def capacity_lines(c: dict[str, Any], units: int, peak: int, width: int = 116) -> list[str]:
    n, per_shard = c["shards"], c["shard_tx_per_second"]
    expected = shards_for(units, peak)
    derived = f"= shards_for({units} units, {peak}/s peak)"
    if expected != n:
        derived += f" would be {expected}"
    paragraphs = [
        f"Capacity in AWS, from the code's constants: this sale has {n} shard(s) {derived}, SHARD_TX_PER_SECOND ="
        f" {per_shard}, so one SKU sustains {n} x {per_shard} = {c['design_orders_per_second']:,} flash-sale"
        f" orders/s by design (at most MAX_SHARDS {c['max_shards']} x {per_shard} ="
        f" {c['design_max_orders_per_second']:,}/s). The shards are the only items every order shares: an order's"
        " transaction also writes the shopper's own buy counter and cart (hot only if one shopper hammers the sale)"
        " and new items (the order, its idempotency record, the outbox event) that no other order touches.",
        "Caveats from the key design (DynamoDB serves 1,000 WCU/s and 3,000 RCU/s per partition; a write inside a"
        f" transaction costs {TRANSACTION_WRITE_COST} WCU):",
        "- each shard (PROMO#<id>#SHARD#<k>) and each shopper's counter (PROMO#<id>#USER#<user>) has a partition"
        " key of its own, so the shards do not share one partition's write budget (had they shared one, the sale"
        f" would top out near {c['one_partition_orders_per_second']} orders/s until DynamoDB split it for heat).",
        f"- every attempt, sold out or not, reads all {n} shard(s) twice (cart pricing, eventually consistent;"
        f" checkout, consistent), and each shard is read by every attempt:"
        f" {c['attempts_per_second_per_shard_item_reads']:,} attempts/s whatever N is.",
        "- every new order also writes the shop-wide order index partitions (STATUS#pending_payment#<s>,"
        " ORDERS#<month>#<s>), spread over 8 shards: a few thousand orders/s for the whole shop.",
        f"- the SKU's record and stock (SKU#<sku>) take {c['attempt_rcu_on_sku_partition']:g} RCU per attempt: at most"
        f" {c['attempts_per_second_sku_partition_reads']:,} attempts/s whatever N is.",
    ]
    lines: list[str] = []
    for text in paragraphs:
        lines += textwrap.wrap(text, width, subsequent_indent="  " if text.startswith("- ") else "")
    return lines


# --- report ----------------------------------------------------------------------------------------------------------


def quantiles(values: Sequence[float]) -> dict[str, float | None]:
    if not values:
        return {"p50": None, "p95": None, "p99": None, "max": None}
    if len(values) == 1:
        return {"p50": values[0], "p95": values[0], "p99": values[0], "max": values[0]}
    q = statistics.quantiles(values, n=100, method="inclusive")
    return {"p50": round(q[49], 1), "p95": round(q[94], 1), "p99": round(q[98], 1), "max": round(max(values), 1)}


def selling(attempts: Sequence[Attempt], opened_at: float) -> dict[str, Any]:
    """How long the units lasted, and whether anybody was told SOLD_OUT while units were still there: a SOLD_OUT
    answered before the last successful checkout was even sent (nothing is cancelled during the run, so units
    cannot come back)."""
    placed = [a for a in attempts if a.checkout_status == 201 and a.checkout_started and a.checkout_ended]
    if not placed:
        return {"sold_out_after_s": None, "orders_per_second_while_units_lasted": None, "early_sold_out": 0}
    last_sent = max(a.checkout_started or 0.0 for a in placed)
    last_done = max(a.checkout_ended or 0.0 for a in placed)
    early = [
        a
        for a in attempts
        if a.outcome.endswith("SOLD_OUT") and a.checkout_ended is not None and a.checkout_ended < last_sent
    ]
    window = last_done - opened_at
    return {
        "sold_out_after_s": round(window, 2),
        "orders_per_second_while_units_lasted": round(len(placed) / window, 1) if window > 0 else None,
        "attempts_finished_while_units_lasted": sum(1 for a in attempts if a.ended <= last_done),
        "early_sold_out": len(early),
    }


def summarise(attempts: Sequence[Attempt], elapsed_s: float, plan: Sequence[int], opened_at: float) -> dict[str, Any]:
    statuses = [s for a in attempts for s in a.statuses]
    tries = Counter(Counter(plan).values())
    return {
        **selling(attempts, opened_at),
        "attempts": len(attempts),
        "elapsed_s": round(elapsed_s, 2),
        "attempts_per_second": round(len(attempts) / elapsed_s, 1) if elapsed_s else None,
        "http_requests": len(statuses),
        "requests_per_second": round(len(statuses) / elapsed_s, 1) if elapsed_s else None,
        "orders_created": sum(1 for a in attempts if a.checkout_status == 201),
        "outcomes": dict(Counter(a.outcome for a in attempts).most_common()),
        "server_errors_5xx": sum(1 for s in statuses if s >= 500),
        "transport_errors": sum(1 for s in statuses if s == 0),
        "cart_quantity_fixes": sum(1 for a in attempts if a.fixed_quantity),
        "tries_per_shopper": {str(k): v for k, v in sorted(tries.items())},
        "latency_ms": {
            "checkout_request": quantiles([a.checkout_ms for a in attempts if a.checkout_ms is not None]),
            "attempt": quantiles([a.ms for a in attempts]),
        },
    }


def checks(payload: dict[str, Any]) -> list[dict[str, Any]]:
    run, books, sale = payload["purchases"], payload["audit"], payload["sale"]
    a = books["analytics"]
    accounted = books["units_from_orders"] == books["units_sold_per_promotion"] == books["units_sold_per_inventory"]
    inventory = books["inventory"]
    untouched = inventory["sellable"] == sale["stock_before"] - sale["units"] and inventory["reserved"] == 0
    return [
        {"check": "oversold units", "value": books["oversold"], "ok": books["oversold"] == 0},
        {
            "check": f"shoppers above the per-shopper limit ({sale['per_user_limit']})",
            "value": books["limit_violations"],
            "ok": books["limit_violations"] == 0,
        },
        {"check": "5xx responses", "value": run["server_errors_5xx"], "ok": run["server_errors_5xx"] == 0},
        {
            "check": "SOLD_OUT answered before the last order was sent",
            "value": run["early_sold_out"],
            "ok": run["early_sold_out"] == 0,
        },
        {"check": "transport errors", "value": run["transport_errors"], "ok": run["transport_errors"] == 0},
        {
            "check": "units: orders = promotion = inventory",
            "value": f"{books['units_from_orders']} = {books['units_sold_per_promotion']}"
            f" = {books['units_sold_per_inventory']}",
            "ok": accounted,
        },
        {
            "check": "orders answered 201 = orders listed",
            "value": f"{run['orders_created']} / {books['orders_listed']}",
            "ok": books["orders_answered_201_not_listed"] == 0 and books["orders_listed_not_answered_201"] == 0,
        },
        {
            "check": "analytics counted each add to cart once (counted = answered 2xx)",
            "value": f"{a['cart_additions_counted']} = {a['adds_answered_2xx']}",
            "ok": a["cart_additions_counted"] == a["adds_answered_2xx"],
        },
        {
            "check": "analytics counted each order placed once (platform started here only)",
            "value": f"{a['orders_placed_counted']} = {a['orders_answered_201']}" if a["whole_shop"] else "not checked",
            "ok": not a["whole_shop"] or a["orders_placed_counted"] == a["orders_answered_201"],
        },
        {
            "check": "regular stock untouched (sellable, reserved)",
            "value": f"{inventory['sellable']}, {inventory['reserved']}",
            "ok": untouched and books["lines_not_at_sale_price"] == 0,
        },
    ]


def print_report(payload: dict[str, Any]) -> None:
    m, s, sale = payload["machine"], payload["settings"], payload["sale"]
    run, books, fl = payload["purchases"], payload["audit"], payload["floor"]
    setup = payload["setup"]
    print()
    print(f"Flash sale over HTTP, {m['date']}, Python {m['python']}, {m['cpu_count']} CPUs, load {m['load_average']}")
    print(
        f"{sale['units']} units on {sale['shards']} shard(s), per-shopper limit {sale['per_user_limit']};"
        f" {run['attempts']} attempts from {s['shoppers']} shoppers, {s['concurrency']} concurrent clients;"
        f" platform: {s['platform']}"
    )
    tries = ", ".join(f"{k}x: {v}" for k, v in run["tries_per_shopper"].items())
    print(f"tries per shopper: {tries}; cart quantity set back to 1 before checkout: {run['cart_quantity_fixes']}")
    print(
        f"keep-alive connections the clients opened: {run['connections_opened']} (of which reconnects:"
        f" {run['connections_opened'] - s['concurrency']})"
    )
    print(
        f"setup: platform {setup.get('platform_s', '-')} s, {s['shoppers']} accounts ({s['signup']})"
        f" {setup['accounts_s']} s, logins {setup['logins_s']} s, product {setup['product_s']} s,"
        f" projection into the checkout {setup['projection_s']} s"
    )
    print()
    rows = [
        ["orders created (201)", run["orders_created"]],
        ["orders listed by GET /admin/orders", books["orders_listed"]],
        ["units sold, from the orders", books["units_from_orders"]],
        ["units sold, from the promotion's remaining", books["units_sold_per_promotion"]],
        ["units sold, from GET /admin/inventory (in_promotions - remaining)", books["units_sold_per_inventory"]],
        ["promotion remaining", books["promotion_remaining"]],
        ["oversold units", books["oversold"]],
        ["shoppers with an order", books["shoppers_with_orders"]],
        ["per-shopper limit violations", books["limit_violations"]],
        ["5xx responses", run["server_errors_5xx"]],
        ["transport errors", run["transport_errors"]],
    ]
    print(table(["figure", "value"], rows, right=(1,)))
    print()
    print("Outcomes of the attempts:")
    print(table(["outcome", "attempts"], [[k, v] for k, v in run["outcomes"].items()], right=(1,)))
    print()
    lat = run["latency_ms"]
    lat_rows = [
        [name, *(lat[key][p] for p in ("p50", "p95", "p99", "max"))]
        for name, key in (("POST /checkout", "checkout_request"), ("whole attempt", "attempt"))
    ]
    print(table(["latency ms", "p50", "p95", "p99", "max"], lat_rows, right=(1, 2, 3, 4)))
    print()
    ratio = payload["ratio_to_floor"]
    print(
        f"Throughput: {run['attempts_per_second']} attempts/s ({run['requests_per_second']} HTTP requests/s,"
        f" {run['elapsed_s']} s for {run['attempts']} attempts); the units lasted {run['sold_out_after_s']} s:"
        f" {run['orders_per_second_while_units_lasted']} orders/s, {run['attempts_finished_while_units_lasted']}"
        " attempts finished by then"
    )
    print(
        f"Floor: {fl['per_second']} bare conditional decrements/s ({fl['operations']} UpdateItem"
        f" 'remaining >= :one' from {fl['threads']} threads on the same moto, {fl['elapsed_s']} s;"
        f" atomic: {'yes' if fl['atomic'] else 'NO'}, outcomes {fl['outcomes']})"
    )
    print(f"Ratio: attempts/s / decrements/s = {ratio:.3f} (1 attempt = 2-3 HTTP requests, several DynamoDB calls)")
    print()
    for line in payload["capacity_note"]:
        print(line)
    print()
    print("Checks:")
    for c in payload["checks"]:
        print(f"  [{'ok' if c['ok'] else 'FAILED'}] {c['check']}: {c['value']}")
    if payload.get("load_warning"):
        print(payload["load_warning"])


# --- main ------------------------------------------------------------------------------------------------------------


@contextlib.contextmanager
def platform_for(args: argparse.Namespace, directory: Path) -> Iterator[tuple[str, str, dict[str, Any]]]:
    """(gateway URL, moto URL, facts) of the platform to drive: the given one, or one started here."""
    if args.url:
        yield args.url.rstrip("/"), args.moto_url.rstrip("/"), {"platform": f"given ({args.url})"}
        return
    local = LocalPlatform(args.workers, directory / "platform.log")
    print(f"starting the local platform ({args.workers} workers) ...", flush=True)
    try:
        started_s = local.start()
        facts = {"platform": f"python -m local, {args.workers} workers", "platform_s": round(started_s, 1)}
        yield local.url, local.moto_url, facts
    finally:
        code = local.stop()
        if code not in (0, None):
            print(f"note: the platform exited with {code}; its last lines:\n{local.log_tail()}", file=sys.stderr)


def run(args: argparse.Namespace) -> dict[str, Any]:
    tag = secrets.token_hex(3)
    since = iso(datetime.now(UTC) - timedelta(seconds=5))
    with tempfile.TemporaryDirectory(prefix="bench-flash-") as tmp, platform_for(args, Path(tmp)) as (url, moto, facts):
        api = Http(url)
        try:
            print(f"platform at {url} (moto {moto}); creating {args.shoppers} shoppers ...", flush=True)
            admin = create_admin(api, moto, tag)
            tokens, shopper_times = create_shoppers(api, moto, args.shoppers, tag, args.signup)
            print("creating the product and the flash sale ...", flush=True)
            sale, sale_times = create_sale(api, admin, args.units, args.peak, tag)
            plan = attempt_plan(args.shoppers, args.attempts, args.seed)
            print(f"running {len(plan)} attempts with {args.concurrency} concurrent clients ...", flush=True)
            opened = api.connections_opened
            attempts, elapsed, opened_at = run_attempts(api, sale, tokens, plan, args.concurrency)
            connections = api.connections_opened - opened
            warning = load_warning()
            print("auditing the orders and the stock ...", flush=True)
            books = audit(api, admin, sale, since, attempts)
            print("waiting for the analytics counts ...", flush=True)
            books["analytics"] = analytics_books(api, admin, sale, attempts, whole_shop=not args.url)
            print(f"timing the floor ({args.floor_operations} conditional decrements) ...", flush=True)
            bare = floor(moto, args.floor_operations, args.concurrency, tag)
        finally:
            api.close()
    purchases = {**summarise(attempts, elapsed, plan, opened_at), "connections_opened": connections}
    payload: dict[str, Any] = {
        "benchmark": "flash_sale",
        "machine": machine(),
        "settings": {
            "units": args.units,
            "attempts": args.attempts,
            "shoppers": args.shoppers,
            "concurrency": args.concurrency,
            "workers": args.workers if not args.url else None,
            "peak_per_second": args.peak,
            "signup": "pool (boto3 on moto)" if args.signup == "pool" else "POST /auth/signup",
            "seed": args.seed,
            "platform": facts["platform"],
        },
        "setup": {**{k: v for k, v in facts.items() if k != "platform"}, **shopper_times, **sale_times},
        "sale": sale.__dict__,
        "purchases": purchases,
        "audit": books,
        "floor": bare,
        "ratio_to_floor": round(purchases["attempts_per_second"] / bare["per_second"], 4),
        "capacity": capacity(sale.shards),
        "load_warning": warning,
    }
    payload["capacity_note"] = capacity_lines(payload["capacity"], args.units, args.peak)
    payload["checks"] = checks(payload)
    payload["passed"] = all(c["ok"] for c in payload["checks"])
    return payload


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--units", type=int, default=100, help="units on the flash sale")
    parser.add_argument("--attempts", type=int, default=2000, help="purchase attempts (add to cart + checkout)")
    parser.add_argument("--shoppers", type=int, default=1000, help="distinct signed-in shoppers")
    parser.add_argument("--concurrency", type=int, default=50, help="concurrent clients (and floor threads)")
    parser.add_argument("--workers", type=int, default=4, help="LOCAL_WORKERS of the platform started here")
    parser.add_argument("--url", default="", help="gateway of a running platform (then --moto-url too)")
    parser.add_argument("--moto-url", default="", help="its moto endpoint (printed at start-up as 'AWS (moto)')")
    parser.add_argument("--peak", type=int, default=2000, help="the sale's expected_peak_per_second (sets shards)")
    parser.add_argument(
        "--signup", choices=("http", "pool"), default="http", help="accounts via POST /auth/signup or in the pool"
    )
    parser.add_argument("--floor-operations", type=int, default=2000, help="conditional decrements for the floor")
    parser.add_argument("--seed", type=int, default=7, help="seed of the attempt plan")
    parser.add_argument("--out", default="flash_sale.json", help="file name under bench/results/")
    args = parser.parse_args(argv)
    if min(args.units, args.attempts, args.shoppers, args.concurrency, args.workers, args.floor_operations) < 1:
        parser.error("--units, --attempts, --shoppers, --concurrency, --workers, --floor-operations must be >= 1")
    if bool(args.url) != bool(args.moto_url):
        parser.error("--url and --moto-url go together (the shoppers and the floor need the platform's moto)")
    try:
        payload = run(args)
    except SetupFailed as exc:
        print(f"flash sale: setup failed, nothing measured: {exc}", file=sys.stderr)
        return 2
    print_report(payload)
    path = write_json(args.out, payload)
    print(f"\nwrote {path.relative_to(REPO_ROOT)}")
    return 0 if payload["passed"] else 1


if __name__ == "__main__":
    raise SystemExit(main())
