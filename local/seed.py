"""Seed data for the local platform: a staff admin, a demo shopper and a demo catalogue.

The two accounts are created directly in the user pool (as an operator would with the AWS CLI): the admin is in
the ``admin`` and ``customer`` groups, the shopper in ``customer``. The catalogue goes through the public HTTP API as
the admin, exactly as a back-office client would create it, so the seed exercises the real handlers, their
validation and their events, and needs no knowledge of how the catalogue stores things.

Then it makes the shop buyable, again through the API: it creates the demo warehouses (``POST /admin/warehouses``),
receives every SKU's stock in them (``POST /admin/inventory/{sku}/movements``, type ``inbound``; some SKUs are spread
over two warehouses, so that split shipments can be seen), waits (bounded) until the checkout's sellable stock shows
those units (asynchronous twice over: the checkout learns each SKU from the catalogue's ProductCreated and its stock
from the shipping context's StockMovementRecorded, each through outbox, stream, relay, EventBridge and SQS), creates
the demo coupons (``POST /admin/coupons``) and starts the flash sales (``POST /admin/promotions``), which take their
units out of sellable stock.

The stock step can be run again on the same platform without doubling anything: an existing warehouse is kept, and
each inbound movement carries an ``Idempotency-Key`` made from its SKU and warehouse, so a repeat (or a retry after a
lost answer) replays the first movement instead of receiving the goods twice.

The data is ``seed_data.json``: a bilingual category tree (categories are referred to by ``key`` within the file),
brands and products with their variants, the warehouses, the stock rule, coupons and flash sales; :class:`SeedData`
checks its shape and references.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal, Protocol, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_FILE = Path(__file__).resolve().parent / "seed_data.json"
PARALLEL_REQUESTS = 4
CHECKOUT_WAIT_S = 60.0  # bound on the wait for the checkout to show the seeded stock (seconds when idle)
CHECKOUT_POLL_S = 0.3
# Answers of the stock routes after which nothing was written, so the seed tries again in the next round: the SKU is
# not projected to the checkout yet, or the movement's transaction lost a race with another write to the SKU (or, on
# a retry, the first attempt with the same Idempotency-Key is still being written).
RETRY_LATER = {(404, "SKU_NOT_FOUND"), (409, "TRY_AGAIN"), (409, "IDEMPOTENCY_IN_PROGRESS")}
STOCK_STRIDE = 37  # spreads the units over the range by the SKU's position, so neighbouring SKUs differ
SEED_REASON = "demo stock (local seed)"
T = TypeVar("T")
R = TypeVar("R")


class SeedError(RuntimeError):
    pass


# --- the data file ------------------------------------------------------------------------------------------------


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SeedCategory(_Model):
    key: str
    name: str
    children: tuple[SeedCategory, ...] = ()


class SeedBrand(_Model):
    key: str
    name: str


class SeedMoney(_Model):
    amount: int = Field(gt=0)
    currency: Literal["CNY"] = "CNY"


class SeedVariant(_Model):
    sku: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]*$")
    options: dict[str, str]
    price: SeedMoney
    compare_at_price: SeedMoney | None = None
    weight_grams: int = Field(gt=0)


class SeedProduct(_Model):
    name: str
    description: str
    brand: str
    category: str
    variants: tuple[SeedVariant, ...] = Field(min_length=1, max_length=3)


class SeedStock(_Model):
    """Stock: each SKU gets a deterministic number of units in [min_units, max_units], picked by its position in the
    file; the ``out_of_stock`` SKUs get none, so a shopper can see "out of stock". The units are received in the
    warehouses in turn by position; every ``split_every``-th stocked SKU keeps a third of them in the next
    warehouse too (0: none), so an order of it with another SKU may ship in two parcels."""

    min_units: int = Field(default=20, ge=1)
    max_units: int = Field(default=200, ge=1)
    out_of_stock: tuple[str, ...] = ()
    split_every: int = Field(default=4, ge=0)

    def units_for(self, position: int) -> int:
        return self.min_units + (position * STOCK_STRIDE) % (self.max_units - self.min_units + 1)


class SeedAddress(_Model):
    region: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=100)
    street: str = Field(min_length=1, max_length=300)
    postcode: str = Field(default="000000", pattern=r"^[A-Za-z0-9 -]{3,12}$")
    country: str = Field(default="CN", pattern=r"^[A-Z]{2}$")


class SeedWarehouse(_Model):
    """A warehouse as ``POST /admin/warehouses`` takes it; a lower ``priority`` ships first among equally near."""

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{1,31}$")
    name: str = Field(min_length=1, max_length=100)
    address: SeedAddress
    priority: int = Field(ge=0, le=1000)
    active: bool = True

    def body(self) -> dict[str, Any]:
        return self.model_dump(mode="json")

    def describe(self, skus: int, units: int) -> str:
        return (
            f"{self.code} {self.name} ({self.address.region}), priority {self.priority}: {units:,} units of {skus} SKUs"
        )


class SeedCoupon(_Model):
    """A coupon valid from the moment of seeding for ``valid_days``."""

    code: str = Field(pattern=r"^[A-Z0-9][A-Z0-9_-]{2,31}$")
    kind: Literal["percentage", "fixed"]
    percent_off: int | None = Field(default=None, ge=1, le=100)
    amount_off: SeedMoney | None = None
    max_discount: SeedMoney | None = None
    min_spend: SeedMoney | None = None
    usage_limit: int = Field(ge=1)
    per_user_limit: int = Field(default=1, ge=1)
    valid_days: int = Field(ge=1, le=3660)
    description: str = ""

    @model_validator(mode="after")
    def _kind(self) -> SeedCoupon:
        if (self.kind == "percentage") != (self.percent_off is not None and self.amount_off is None):
            raise ValueError(f"coupon {self.code}: a percentage coupon has percent_off, a fixed one amount_off")
        return self

    def body(self, now: datetime) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude={"valid_days"}, exclude_none=True)
        body.update(starts_at=_iso(now), ends_at=_iso(now + timedelta(days=self.valid_days)))
        return body

    def describe(self, now: datetime) -> str:
        off = f"{self.percent_off}% off" if self.percent_off is not None else f"{_yuan(self.amount_off)} off"
        cap = f" (at most {_yuan(self.max_discount)})" if self.max_discount else ""
        spend = f" from {_yuan(self.min_spend)}" if self.min_spend else ""
        until = (now + timedelta(days=self.valid_days)).strftime("%Y-%m-%d")
        return (
            f"{self.code}: {off}{cap}{spend}, {self.usage_limit} uses ({self.per_user_limit} per shopper), "
            f"until {until}"
        )


class SeedFlashSale(_Model):
    """A flash sale running from the moment of seeding for ``hours``; its units are stock the SKU gets on top of its
    own (the sale takes them out of sellable stock)."""

    name: str = Field(min_length=1, max_length=200)
    sku: str
    price: SeedMoney
    quantity: int = Field(ge=1, le=100_000)
    per_user_limit: int = Field(default=1, ge=1, le=99)
    hours: int = Field(ge=1, le=24 * 30)

    def body(self, now: datetime) -> dict[str, Any]:
        body = self.model_dump(mode="json", exclude={"hours"})
        body.update(starts_at=_iso(now), ends_at=_iso(now + timedelta(hours=self.hours)))
        return body

    def describe(self, now: datetime, regular: SeedMoney) -> str:
        until = (now + timedelta(hours=self.hours)).strftime("%Y-%m-%d %H:%M UTC")
        return (
            f"{self.sku} at {_yuan(self.price)} (was {_yuan(regular)}): {self.quantity} units, "
            f"{self.per_user_limit} per shopper, until {until}"
        )


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _yuan(money: SeedMoney | None) -> str:
    yuan, fen = divmod(money.amount if money else 0, 100)
    return f"¥{yuan:,}.{fen:02d}"


class SeedData(_Model):
    categories: tuple[SeedCategory, ...]
    brands: tuple[SeedBrand, ...]
    products: tuple[SeedProduct, ...]
    warehouses: tuple[SeedWarehouse, ...] = ()
    stock: SeedStock = SeedStock()
    coupons: tuple[SeedCoupon, ...] = ()
    flash_sales: tuple[SeedFlashSale, ...] = ()

    def variants(self) -> list[SeedVariant]:
        return [v for p in self.products for v in p.variants]

    def stock_plan(self) -> list[tuple[str, int]]:
        """(SKU, units the seed adds), in file order: the stock rule's units, none for the out-of-stock SKUs, and a
        flash sale's units on top for its SKU (the sale takes them back out of sellable stock)."""
        on_sale: dict[str, int] = {}
        for sale in self.flash_sales:
            on_sale[sale.sku] = on_sale.get(sale.sku, 0) + sale.quantity
        plan = []
        for position, variant in enumerate(self.variants()):
            own = 0 if variant.sku in self.stock.out_of_stock else self.stock.units_for(position)
            plan.append((variant.sku, own + on_sale.get(variant.sku, 0)))
        return plan

    def inbound_plan(self) -> list[tuple[str, str, int]]:
        """(SKU, warehouse, units) of every inbound movement the seed records, in file order (see :class:`SeedStock`
        for how the units are placed)."""
        houses = [w.code for w in self.warehouses if w.active]
        split = self.stock.split_every
        plan: list[tuple[str, str, int]] = []
        stocked = 0
        for position, (sku, units) in enumerate(self.stock_plan()):
            if units <= 0 or not houses:
                continue
            home = houses[position % len(houses)]
            if split and stocked % split == 0 and len(houses) > 1 and units >= 3:
                other = houses[(position + 1) % len(houses)]
                plan += [(sku, home, units - units // 3), (sku, other, units // 3)]
            else:
                plan.append((sku, home, units))
            stocked += 1
        return plan

    def all_categories(self) -> list[tuple[SeedCategory, SeedCategory | None]]:
        """Every category with its parent, parents before their children."""
        out: list[tuple[SeedCategory, SeedCategory | None]] = []
        level: list[tuple[SeedCategory, SeedCategory | None]] = [(c, None) for c in self.categories]
        while level:
            out.extend(level)
            level = [(child, parent) for parent, _ in level for child in parent.children]
        return out

    @model_validator(mode="after")
    def _references(self) -> SeedData:
        category_keys = [c.key for c, _ in self.all_categories()]
        brand_keys = [b.key for b in self.brands]
        skus = [v.sku for p in self.products for v in p.variants]
        for label, keys in (("category", category_keys), ("brand", brand_keys), ("SKU", skus)):
            duplicates = sorted({k for k in keys if keys.count(k) > 1})
            if duplicates:
                raise ValueError(f"duplicate {label} keys: {duplicates}")
        for product in self.products:
            if product.category not in category_keys:
                raise ValueError(f"{product.name}: unknown category {product.category!r}")
            if product.brand not in brand_keys:
                raise ValueError(f"{product.name}: unknown brand {product.brand!r}")
        if self.stock.min_units > self.stock.max_units:
            raise ValueError("stock: min_units is above max_units")
        unknown = sorted(set(self.stock.out_of_stock) - set(skus))
        if unknown:
            raise ValueError(f"stock: unknown out-of-stock SKUs {unknown}")
        houses = [w.code for w in self.warehouses]
        if len(houses) != len(set(houses)):
            raise ValueError(f"duplicate warehouse codes: {sorted({c for c in houses if houses.count(c) > 1})}")
        if not any(w.active for w in self.warehouses) and len(self.stock.out_of_stock) < len(skus):
            raise ValueError("stock: no active warehouse to receive it")
        codes = [c.code for c in self.coupons]
        if len(codes) != len(set(codes)):
            raise ValueError(f"duplicate coupon codes: {sorted({c for c in codes if codes.count(c) > 1})}")
        prices = {v.sku: v.price for v in self.variants()}
        sale_skus = [sale.sku for sale in self.flash_sales]
        for sale in self.flash_sales:
            if sale.sku not in prices:
                raise ValueError(f"flash sale {sale.name!r}: unknown SKU {sale.sku!r}")
            if sale.sku in self.stock.out_of_stock:
                raise ValueError(f"flash sale {sale.name!r}: {sale.sku} is out of stock")
            if sale_skus.count(sale.sku) > 1:
                raise ValueError(f"flash sale {sale.name!r}: another flash sale on {sale.sku} would overlap it")
            if sale.price.amount >= prices[sale.sku].amount:
                raise ValueError(f"flash sale {sale.name!r}: the price is not below {sale.sku}'s regular price")
        return self


def load_data(path: Path = DATA_FILE) -> SeedData:
    return SeedData.model_validate_json(path.read_text(encoding="utf-8"))


# --- accounts -----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Account:
    email: str
    password: str
    name: str
    groups: tuple[str, ...]


def create_account(idp: Any, user_pool_id: str, account: Account) -> None:
    """Create a confirmed user with a permanent password, as ``aws cognito-idp admin-*`` would."""
    try:
        idp.admin_create_user(
            UserPoolId=user_pool_id,
            Username=account.email,
            UserAttributes=[
                {"Name": "email", "Value": account.email},
                {"Name": "email_verified", "Value": "true"},
                {"Name": "name", "Value": account.name},
            ],
            MessageAction="SUPPRESS",
        )
        idp.admin_set_user_password(
            UserPoolId=user_pool_id, Username=account.email, Password=account.password, Permanent=True
        )
    except idp.exceptions.InvalidPasswordException as exc:
        raise SeedError(f"the password for {account.email} does not meet the user pool's policy: {exc}") from exc
    except idp.exceptions.InvalidParameterException as exc:
        raise SeedError(f"cannot create the account {account.email}: {exc}") from exc
    for group in account.groups:
        idp.admin_add_user_to_group(UserPoolId=user_pool_id, Username=account.email, GroupName=group)


# --- the catalogue, through the HTTP API ------------------------------------------------------------------------


class ApiClient:
    """A small JSON client for the gateway: one keep-alive connection per thread."""

    def __init__(self, base_url: str, timeout_s: float = 30.0) -> None:
        parts = urlsplit(base_url)
        self._host = parts.hostname or "127.0.0.1"
        self._port = parts.port or 80
        self._timeout = timeout_s
        self._local = threading.local()
        self._opened: list[http.client.HTTPConnection] = []
        self._lock = threading.Lock()
        self.token: str | None = None

    def _connection(self) -> http.client.HTTPConnection:
        connection: http.client.HTTPConnection | None = getattr(self._local, "connection", None)
        if connection is None:
            connection = http.client.HTTPConnection(self._host, self._port, timeout=self._timeout)
            self._local.connection = connection
            with self._lock:
                self._opened.append(connection)
        return connection

    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json", **(headers or {})}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        payload = None if body is None else json.dumps(body, ensure_ascii=False).encode()
        connection = self._connection()
        connection.request(method, path, body=payload, headers=headers)
        response = connection.getresponse()
        raw = response.read()
        try:
            parsed = json.loads(raw) if raw else None
        except ValueError:
            parsed = raw.decode(errors="replace")
        return response.status, parsed

    def expect(self, status: int, method: str, path: str, body: Any = None) -> dict[str, Any]:
        got, parsed = self.request(method, path, body)
        if got != status or not isinstance(parsed, dict):
            raise SeedError(f"{method} {path} answered {got} (expected {status}): {json.dumps(parsed)[:500]}")
        return parsed

    def close(self) -> None:
        with self._lock:
            opened, self._opened = self._opened, []
        for connection in opened:
            connection.close()


@dataclass(frozen=True)
class SeedSummary:
    categories: int
    brands: int
    products: int
    variants: int
    stocked_skus: int = 0  # SKUs with sellable stock
    stock_units: int = 0  # sellable units over all SKUs (a flash sale's units not included)
    out_of_stock: tuple[str, ...] = ()
    warehouses: tuple[str, ...] = ()  # one line each: code, name, region, priority, units received
    split_skus: int = 0  # SKUs whose stock is in two warehouses
    coupons: tuple[str, ...] = ()  # one line each: code, discount, limits, end
    flash_sales: tuple[str, ...] = ()  # one line each: SKU, prices, units, limit, end


def _parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    pool = ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS, thread_name_prefix="seed")
    try:
        return list(pool.map(function, items))
    except BaseException:  # a SeedError, or Ctrl-C: do not send the requests still queued
        pool.shutdown(wait=False, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=True)


def seed_catalogue(base_url: str, admin_email: str, admin_password: str, data: SeedData) -> SeedSummary:
    client = ApiClient(base_url)
    try:
        tokens = client.expect(200, "POST", "/auth/login", {"email": admin_email, "password": admin_password})
        client.token = str(tokens["id_token"])

        category_ids: dict[str, str] = {}
        level: list[tuple[SeedCategory, SeedCategory | None]] = [(c, None) for c in data.categories]
        while level:

            def create_category(item: tuple[SeedCategory, SeedCategory | None]) -> tuple[str, str]:
                category, parent = item
                body = {"name": category.name, "parent_id": category_ids[parent.key] if parent else None}
                created = client.expect(201, "POST", "/admin/categories", body)
                return category.key, str(created["category_id"])

            category_ids.update(_parallel(create_category, level))
            level = [(child, parent) for parent, _ in level for child in parent.children]

        def create_brand(brand: SeedBrand) -> tuple[str, str]:
            return brand.key, str(client.expect(201, "POST", "/admin/brands", {"name": brand.name})["brand_id"])

        brand_ids = dict(_parallel(create_brand, data.brands))

        def create_product(product: SeedProduct) -> str:
            body = {
                "name": product.name,
                "description": product.description,
                "brand_id": brand_ids[product.brand],
                "category_id": category_ids[product.category],
                "status": "active",
                "variants": [v.model_dump(mode="json") for v in product.variants],
            }
            return str(client.expect(201, "POST", "/admin/products", body)["product_id"])

        product_ids = _parallel(create_product, data.products)
        sellable = seed_stock(client, data)
        now = datetime.now(UTC).replace(microsecond=0)
        for coupon in data.coupons:
            client.expect(201, "POST", "/admin/coupons", coupon.body(now))
        for sale in data.flash_sales:
            client.expect(201, "POST", "/admin/promotions", sale.body(now))
            sellable[sale.sku] -= sale.quantity
    finally:
        client.close()
    prices = {v.sku: v.price for v in data.variants()}
    inbound = data.inbound_plan()
    homes: dict[str, set[str]] = {}
    for sku, warehouse, _units in inbound:
        homes.setdefault(sku, set()).add(warehouse)
    return SeedSummary(
        categories=len(category_ids),
        brands=len(brand_ids),
        products=len(product_ids),
        variants=len(prices),
        stocked_skus=sum(1 for units in sellable.values() if units > 0),
        stock_units=sum(sellable.values()),
        out_of_stock=tuple(sku for sku, units in sellable.items() if units == 0),
        warehouses=tuple(
            w.describe(
                len({s for s, code, _ in inbound if code == w.code}),
                sum(units for _, code, units in inbound if code == w.code),
            )
            for w in data.warehouses
        ),
        split_skus=sum(1 for codes in homes.values() if len(codes) > 1),
        coupons=tuple(c.describe(now) for c in data.coupons),
        flash_sales=tuple(s.describe(now, prices[s.sku]) for s in data.flash_sales),
    )


class Requester(Protocol):
    def request(
        self, method: str, path: str, body: Any = None, headers: dict[str, str] | None = None
    ) -> tuple[int, Any]: ...


def _code(parsed: Any) -> str | None:
    error = parsed.get("error") if isinstance(parsed, dict) else None
    return str(error.get("code")) if isinstance(error, dict) else None


def seed_warehouses(client: Requester, data: SeedData, attempts: int = 5) -> None:
    """Create the demo warehouses, one at a time (they are one record, so parallel writes would only collide); one
    that exists already is kept as it is."""
    for warehouse in data.warehouses:
        for _ in range(attempts):
            status, parsed = client.request("POST", "/admin/warehouses", warehouse.body())
            if status == 201 or (status, _code(parsed)) == (409, "WAREHOUSE_EXISTS"):
                break
            if (status, _code(parsed)) != (409, "TRY_AGAIN"):
                raise SeedError(f"creating warehouse {warehouse.code} answered {status}: {json.dumps(parsed)[:500]}")
        else:
            raise SeedError(f"creating warehouse {warehouse.code}: still TRY_AGAIN after {attempts} attempts")


def seed_stock(
    client: Requester, data: SeedData, timeout_s: float = CHECKOUT_WAIT_S, poll_s: float = CHECKOUT_POLL_S
) -> dict[str, int]:
    """Give every seeded SKU its stock, and wait until the checkout can sell it; returns the sellable units by SKU.

    First the warehouses, then one inbound movement per (SKU, warehouse) of :meth:`SeedData.inbound_plan`, each
    with an ``Idempotency-Key`` of its own (``seed:<SKU>:<warehouse>``): a movement answered :data:`RETRY_LATER`
    wrote nothing and is sent again in the next round, and a repeat of one that was written is replayed (200), never
    received twice. Then it polls ``GET /admin/inventory/{sku}`` until the checkout knows every SKU (404 until the
    catalogue's ProductCreated reaches it) and its sellable stock shows the units received (StockMovementRecorded).
    :class:`SeedError` after ``timeout_s`` (for both together), naming the SKUs still missing and why."""
    plan = dict(data.stock_plan())
    seed_warehouses(client, data)
    deadline = time.monotonic() + timeout_s

    def receive(movement: tuple[str, str, int]) -> bool:
        sku, warehouse, units = movement
        body = {
            "type": "inbound",
            "warehouse": warehouse,
            "quantity": units,
            "reason": SEED_REASON,
            "reference": "local seed",
        }
        headers = {"Idempotency-Key": f"seed:{sku}:{warehouse}"}
        status, parsed = client.request("POST", f"/admin/inventory/{sku}/movements", body, headers)
        if status in (200, 201):
            return True
        if (status, _code(parsed)) in RETRY_LATER:
            return False
        answer = json.dumps(parsed)[:500]
        raise SeedError(f"receiving {units} units of {sku} in {warehouse} answered {status}: {answer}")

    movements = data.inbound_plan()
    while movements:
        done = _parallel(receive, movements)
        movements = [m for m, ok in zip(movements, done, strict=True) if not ok]
        if movements and time.monotonic() >= deadline:
            shown = ", ".join(f"{s} in {w}" for s, w, _ in movements[:10])
            raise SeedError(
                f"{len(movements)} inbound movements were still refused (TRY_AGAIN) after {timeout_s:.0f} s: {shown}"
            )
        if movements:
            time.sleep(poll_s)

    seen: dict[str, int | None] = {}  # SKU -> sellable units the checkout shows (None: it does not know the SKU)

    def visible(sku: str) -> bool:
        status, parsed = client.request("GET", f"/admin/inventory/{sku}")
        if status == 200 and isinstance(parsed, dict):
            seen[sku] = int(parsed.get("sellable", 0))
            return seen[sku] >= plan[sku]  # type: ignore[operator]
        if (status, _code(parsed)) in RETRY_LATER:
            seen[sku] = None
            return False
        raise SeedError(f"reading the stock of {sku} answered {status}: {json.dumps(parsed)[:500]}")

    pending = list(plan)
    while True:
        done = _parallel(visible, pending)
        pending = [sku for sku, ok in zip(pending, done, strict=True) if not ok]
        if not pending:
            return plan
        if time.monotonic() >= deadline:
            unknown = [sku for sku in pending if seen.get(sku) is None]
            short = [sku for sku in pending if seen.get(sku) is not None]
            problems = []
            if unknown:
                problems.append(
                    f"the checkout did not learn {len(unknown)} of the {len(plan)} seeded SKUs within "
                    f"{timeout_s:.0f} s of their creation (the CheckoutCatalogProjector consumer of ProductCreated): "
                    + _some(unknown)
                )
            if short:
                problems.append(
                    f"the checkout's sellable stock of {len(short)} SKUs did not reach the units received within "
                    f"{timeout_s:.0f} s (the CheckoutStockSync consumer of StockMovementRecorded): "
                    + _some([f"{sku} {seen[sku]} of {plan[sku]}" for sku in short])
                )
            raise SeedError("; ".join(problems))
        time.sleep(poll_s)


def _some(items: list[str]) -> str:
    return ", ".join(items[:10]) + (f" and {len(items) - 10} more" if len(items) > 10 else "")
