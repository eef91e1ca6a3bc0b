"""Seed data for the local platform: a staff admin, a demo shopper and a demo catalogue.

The two accounts are created directly in the user pool (as an operator would with the AWS CLI): the admin is in
the ``admin`` and ``customer`` groups, the shopper in ``customer``. The catalogue goes through the public HTTP API as
the admin, exactly as a back-office client would create it, so the seed exercises the real handlers, their
validation and their events, and needs no knowledge of how the catalogue stores things.

The data is ``seed_data.json``: a bilingual category tree (categories are referred to by ``key`` within the file),
brands and products with their variants; :class:`SeedData` checks its shape and references.
"""

from __future__ import annotations

import http.client
import json
import threading
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal, TypeVar
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, model_validator

DATA_FILE = Path(__file__).resolve().parent / "seed_data.json"
PARALLEL_REQUESTS = 4
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


class SeedData(_Model):
    categories: tuple[SeedCategory, ...]
    brands: tuple[SeedBrand, ...]
    products: tuple[SeedProduct, ...]

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

    def request(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        headers = {"Content-Type": "application/json", "Accept": "application/json"}
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


def _parallel(function: Callable[[T], R], items: Iterable[T]) -> list[R]:
    with ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS, thread_name_prefix="seed") as pool:
        return list(pool.map(function, items))


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
    finally:
        client.close()
    return SeedSummary(
        categories=len(category_ids),
        brands=len(brand_ids),
        products=len(product_ids),
        variants=sum(len(p.variants) for p in data.products),
    )
