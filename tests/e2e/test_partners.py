"""The partner API over real HTTP, as a partner uses it: an admin registers apps (POST /admin/partners), and the
partner calls the signed /partner/v1 routes with the stdlib client (clients/shop_partner.py) or its CLI.

The journey: the catalogue, an order a shopper placed and paid in the change feed with its personal data masked, a
parcel dispatched by the partner once the order is allocated, stock reported by the partner reaching the checkout,
and every change in the audit log. Then what must be refused (a replayed nonce, a tampered body, a stale timestamp,
another secret, a missing scope), revocation and rotation, an app above its rate, and the CLI."""

# ruff: noqa: F811 - the fixtures make_skus, new_shopper and refs come from test_checkout and are parameters here

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

from clients.shop_partner import PartnerClient, PartnerError
from tests.e2e.conftest import REPO, RunningPlatform, platform_env
from tests.e2e.support import Client, error_of, eventually
from tests.e2e.test_checkout import (  # noqa: F401 - fixtures
    HOME,
    MakeSkus,
    add,
    check_out,
    make_skus,
    new_shopper,
    refs,
    wait_for_stock,
)
from tests.e2e.test_shipping import fulfilment, pay, tracking_number

pytestmark = pytest.mark.e2e
ALL_SCOPES = ["products:read", "orders:read", "shipments:write", "inventory:write"]
ADDRESS = {
    "recipient": "张三",
    "phone": "+8613800001234",
    "region": "上海市",
    "city": "上海市",
    "district": "浦东新区",
    "street": "世纪大道 100 号 8 楼",
    "postcode": "200120",
}
NewShopper = Callable[[str], Client]


# --- helpers ----------------------------------------------------------------------------------------------------------


def register(
    admin: Client, url: str, name: str, scopes: list[str], **limits: int
) -> tuple[PartnerClient, dict[str, Any]]:
    """A new partner app (the admin's answer, with its secret shown this once) and a client signing as it."""
    created = admin("POST", "/admin/partners", json={"name": name, "scopes": scopes, **limits})
    assert created.status_code == 201, created.text
    assert created.headers["Cache-Control"] == "no-store"
    app: dict[str, Any] = created.json()
    assert app["status"] == "active" and app["secret"].startswith("sk_")
    return PartnerClient(url, app["app_key"], app["secret"], max_retries=0), app


def send(
    partner: PartnerClient,
    method: str,
    path: str,
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    extra: dict[str, str] | None = None,
) -> requests.Response:
    """A request with exactly the given signed headers (the client's ``signed_headers`` when not given): for replays
    and tampering, which the client itself never does."""
    sent = headers or partner.signed_headers(method, path, [], body)
    return requests.request(
        method,
        partner.base_url + path,
        data=body or None,
        headers={**sent, "Content-Type": "application/json", **(extra or {})},
        timeout=30,
    )


def refused(call: Callable[[], Any], status: int) -> PartnerError:
    with pytest.raises(PartnerError) as caught:
        call()
    assert caught.value.status == status, caught.value
    return caught.value


def in_feed(partner: PartnerClient, since: str, order_id: str) -> dict[str, Any]:
    """The order as the change feed hands it out, once it is there (changes settle for a few seconds first)."""

    def seen() -> dict[str, Any] | None:
        return next((o for o in partner.orders_since(since, limit=50) if o["order_id"] == order_id), None)

    return eventually(seen, f"order {order_id} in the partner feed")


def audited(admin: Client, what: Callable[[list[dict[str, Any]]], bool], **query: str) -> list[dict[str, Any]]:
    """GET /admin/audit's entries for ``query`` once ``what`` holds of them (the log is fed asynchronously)."""

    def entries() -> list[dict[str, Any]] | None:
        response = admin("GET", "/admin/audit", params={**query, "limit": 100})
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        assert what(items), f"the audit log shows {[(e['action'], e['result']['status']) for e in items]}"
        return items

    return eventually(entries, f"the audit entries for {query}")


# --- the journey ------------------------------------------------------------------------------------------------------


def test_a_partner_syncs_the_catalogue_and_orders_ships_a_parcel_and_reports_stock(
    platform: RunningPlatform, url: str, admin: Client, make_skus: MakeSkus, new_shopper: NewShopper
) -> None:
    since = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    partner, app = register(admin, url, "Acme 仓储 WMS", ALL_SCOPES, rate_limit=20)
    app_key = app["app_key"]
    listed = admin("GET", "/admin/partners", params={"limit": 100})
    assert listed.status_code == 200, listed.text
    mine = next(a for a in listed.json()["items"] if a["app_key"] == app_key)
    assert "secret" not in mine and (mine["rate_limit"], mine["burst_limit"]) == (20, 40)

    # The catalogue: a page, and the product made just now among the changes since.
    sku, spare = make_skus(25900, 9900, stock=4)
    page = partner.get("/partner/v1/products", limit=2)
    assert len(page["items"]) <= 2 and page["items"], page

    def product_in_feed() -> dict[str, Any] | None:
        # The feed holds back changes younger than its 5 s settle delay: the product shows once it has settled.
        changed = partner.pages("/partner/v1/products", updated_since=since, limit=50)
        return next((p for p in changed if any(v["sku"] == sku for v in p["variants"])), None)

    product = eventually(product_in_feed, f"product with {sku} in the partner catalogue feed")
    assert {v["sku"] for v in product["variants"]} == {sku, spare} and product["price"]["amount"] == 9900

    # A shopper's paid order in the feed, personal data masked; the same by id.
    shopper = new_shopper("partner")
    add(shopper, sku, 2)
    placed = check_out(shopper, address=ADDRESS)
    assert placed.status_code == 201, placed.text
    order = placed.json()
    order_id = order["order_id"]
    pay(platform, shopper, order)
    fed = in_feed(partner, since, order_id)
    assert fed["shipping_address"]["recipient"] == "张*"
    assert fed["shipping_address"]["phone"] == "+86 138****1234"
    assert fed["shipping_address"]["street"] == "***" and fed["shipping_address"]["city"] == "上海市"
    assert fed["contact_email"] is None or fed["contact_email"].split("@")[0].endswith("***")
    assert [(line["sku"], line["quantity"]) for line in fed["lines"]] == [(sku, 2)]
    assert fed["customer_ref"].startswith("cus_")
    text = json.dumps(fed, ensure_ascii=False)
    assert "张三" not in text and "13800001234" not in text and "世纪大道" not in text and "user_id" not in text
    direct = partner.get(f"/partner/v1/orders/{order_id}")
    assert direct["order_id"] == order_id and direct["shipping_address"] == fed["shipping_address"]
    missing = refused(lambda: partner.get("/partner/v1/orders/ord_00000000000000000000000000"), 404)
    assert missing.code

    # The partner dispatches the parcel once shipping has allocated it; a retry with the key ships nothing more.
    fulfilment(shopper, order_id, "allocated")
    tracking, key = tracking_number("SF"), f"ship-{uuid.uuid4().hex}"
    body = {"carrier": "sf-express", "tracking_number": tracking}
    shipment = partner.post(f"/partner/v1/orders/{order_id}/shipments", body, idempotency_key=key)
    assert (shipment["order_id"], shipment["warehouse"], shipment["lines"]) == (order_id, HOME, {sku: 2})
    again = partner.post(f"/partner/v1/orders/{order_id}/shipments", body, idempotency_key=key)
    assert again["shipment_id"] == shipment["shipment_id"]
    no_key = refused(lambda: partner.post(f"/partner/v1/orders/{order_id}/shipments", body), 400)
    assert no_key.code == "IDEMPOTENCY_KEY_REQUIRED"

    def shipped() -> dict[str, Any]:
        current: dict[str, Any] = partner.get(f"/partner/v1/orders/{order_id}")
        assert current["status"] == "shipped", f"the order is {current['status']}"
        return current

    assert eventually(shipped, f"order {order_id} shipped")["shipment_ids"] == [shipment["shipment_id"]]

    # The partner reports goods received: the checkout's sellable stock follows.
    wait_for_stock(admin, spare, {HOME: (4, 0)}, sellable=4, reserved=0)
    report = {
        "type": "inbound",
        "warehouse": HOME,
        "quantity": 3,
        "reason": "到货入库 partner delivery",
        "reference": "DN-7",
    }
    moved = partner.post(f"/partner/v1/inventory/{spare}", report, idempotency_key=f"stock-{uuid.uuid4().hex}")
    assert moved["stock"]["on_hand"] == 7 and moved["entries"][0]["actor"] == f"app:{app_key}"
    wait_for_stock(admin, spare, {HOME: (7, 0)}, sellable=7, reserved=0)
    zero = {**report, "quantity": 0}
    refused(lambda: partner.post(f"/partner/v1/inventory/{spare}", zero, f"stock-{uuid.uuid4().hex}"), 422)

    # Every change is in the audit log: the admin's app registration, the partner's dispatch and stock report.
    registered = audited(
        admin, lambda items: any(e["action"] == "CreatePartner" for e in items), resource=f"partners/{app_key}"
    )
    creation = next(e for e in registered if e["action"] == "CreatePartner")
    assert creation["actor"].startswith("user:") and creation["result"]["status"] == 201
    assert app["secret"] not in json.dumps(registered)  # the secret never reaches the audit log
    actions = {"PartnerCreateShipment", "PartnerRecordStock"}
    by_app = audited(
        admin,
        lambda items: actions <= {e["action"] for e in items if e["outcome"] == "succeeded"},
        actor=f"app:{app_key}",
    )
    assert {e["app_name"] for e in by_app} == {"Acme 仓储 WMS"} and all(e["roles"] == ["partner"] for e in by_app)
    assert not any(e["method"] == "GET" for e in by_app)  # reads are not audited


# --- what is refused --------------------------------------------------------------------------------------------------


def test_replays_tampering_stale_or_foreign_signatures_and_missing_scopes_are_refused(
    url: str, admin: Client, make_skus: MakeSkus
) -> None:
    partner, app = register(admin, url, "Refusals", ["products:read", "inventory:write"])
    path = "/partner/v1/products"

    # A replayed nonce: the first request passes, the same request again is a 401.
    headers = partner.signed_headers("GET", path, [], b"")
    assert send(partner, "GET", path, headers=headers).status_code == 200
    replay = send(partner, "GET", path, headers=headers)
    assert replay.status_code == 401 and error_of(replay)["code"] == "UNAUTHORIZED", replay.text

    # A stale timestamp, another app's secret, an unknown app, no signature at all: 401 alike.
    stale = partner.signed_headers("GET", path, [], b"", now=datetime.now(UTC).timestamp() - 400)
    assert send(partner, "GET", path, headers=stale).status_code == 401
    forged = PartnerClient(url, app["app_key"], "sk_" + "x" * 43, max_retries=0)
    assert refused(lambda: forged.get(path), 401).code == "UNAUTHORIZED"
    unknown = PartnerClient(url, "app_" + "0" * 26, app["secret"], max_retries=0)
    assert refused(lambda: unknown.get(path), 401).code == "UNAUTHORIZED"
    assert requests.get(url + path, timeout=30).status_code == 401

    # A body other than the one signed: its hash no longer matches X-Content-SHA256 (the function refuses), and
    # declaring the new hash breaks the signature (the authorizer refuses). Nothing is moved.
    (sku,) = make_skus(5900, stock=1)
    target = f"/partner/v1/inventory/{sku}"
    signed_body = json.dumps({"type": "inbound", "warehouse": HOME, "quantity": 1, "reason": "到货"}).encode()
    other_body = signed_body.replace(b'"quantity": 1', b'"quantity": 900')
    key = {"Idempotency-Key": f"tamper-{uuid.uuid4().hex}"}
    tampered = send(
        partner, "POST", target, other_body, partner.signed_headers("POST", target, [], signed_body), extra=key
    )
    assert tampered.status_code == 401 and error_of(tampered)["code"] == "UNAUTHORIZED", tampered.text
    assert "X-Content-SHA256" in error_of(tampered)["message"]  # the function's check, past the authorizer
    redeclared = {
        **partner.signed_headers("POST", target, [], signed_body),
        "X-Content-SHA256": hashlib.sha256(other_body).hexdigest(),
    }
    assert send(partner, "POST", target, other_body, redeclared, extra=key).status_code == 401
    genuine = send(partner, "POST", target, signed_body, extra=key)
    assert genuine.status_code == 201, genuine.text
    assert genuine.json()["stock"]["on_hand"] == 2

    # Signed and genuine, but without the scope: 403, for a read and for a write.
    assert refused(lambda: partner.get("/partner/v1/orders", updated_since="2026-01-01T00:00:00Z"), 403).code
    ship = {"carrier": "sf-express", "tracking_number": "SF00000001"}
    assert refused(lambda: partner.post("/partner/v1/orders/ord_x/shipments", ship, "ship-no-scope"), 403).code
    # And a signed-in shopper's or admin's token is no way into the partner API.
    assert admin("GET", path).status_code == 401


def test_a_revoked_app_is_refused_and_a_rotated_secret_keeps_working_through_its_grace(url: str, admin: Client) -> None:
    path = "/partner/v1/products"
    old, app = register(admin, url, "Rotating", ["products:read"])
    app_key = app["app_key"]
    assert old.get(path, limit=1)["items"] is not None

    rotated = admin("POST", f"/admin/partners/{app_key}/rotate", json={"grace_seconds": 600})
    assert rotated.status_code == 200, rotated.text
    new_secret = rotated.json()["secret"]
    assert new_secret != app["secret"] and rotated.json()["previous_secret_expires_at"]
    new = PartnerClient(url, app_key, new_secret, max_retries=0)
    assert old.get(path, limit=1) is not None and new.get(path, limit=1) is not None  # both during the grace

    # Rotating again with no grace retires the secrets before it at once.
    cut = admin("POST", f"/admin/partners/{app_key}/rotate", json={"grace_seconds": 0})
    assert cut.status_code == 200, cut.text
    newest = PartnerClient(url, app_key, cut.json()["secret"], max_retries=0)
    assert newest.get(path, limit=1) is not None
    refused(lambda: old.get(path, limit=1), 401)
    refused(lambda: new.get(path, limit=1), 401)

    # Revoked: final, from the very next call, with every secret it had.
    revoked = admin("DELETE", f"/admin/partners/{app_key}")
    assert revoked.status_code == 200 and revoked.json()["status"] == "revoked", revoked.text
    assert refused(lambda: newest.get(path, limit=1), 401).code == "UNAUTHORIZED"
    again = admin("POST", f"/admin/partners/{app_key}/rotate", json={})
    assert again.status_code == 409 and error_of(again)["code"] == "APP_REVOKED", again.text
    assert admin("DELETE", f"/admin/partners/app_{'1' * 26}").status_code == 404

    actions = {"CreatePartner", "RotatePartnerSecret", "RevokePartner"}
    entries = audited(admin, lambda items: actions <= {e["action"] for e in items}, resource=f"partners/{app_key}")
    assert sum(e["action"] == "RotatePartnerSecret" for e in entries) == 3  # the refused one too
    text = json.dumps(entries)
    assert app["secret"] not in text and new_secret not in text and cut.json()["secret"] not in text


def test_an_app_above_its_rate_is_throttled_with_retry_after(url: str, admin: Client) -> None:
    # One request a second and none more at once: of requests arriving together, one passes and the others get a 429.
    # (The authorizer runs before the usage plan, in two workers side by side, so its answers come out in pairs.)
    partner, _ = register(admin, url, "Throttled", ["products:read"], rate_limit=1, burst_limit=1)
    path = "/partner/v1/products"
    answers: list[requests.Response] = []
    with ThreadPoolExecutor(max_workers=8) as pool:
        for _ in range(3):  # a busy machine may spread one burst out; another comes at once
            answers += pool.map(lambda _: send(partner, "GET", path), range(8))
            if any(r.status_code == 429 for r in answers):
                break
    statuses = sorted(r.status_code for r in answers)
    assert set(statuses) <= {200, 429} and 200 in statuses and 429 in statuses, statuses
    throttled = next(r for r in answers if r.status_code == 429)
    assert error_of(throttled)["code"] == "THROTTLED"
    assert 1 <= int(throttled.headers["Retry-After"]) <= 2, throttled.headers
    # The client, left to retry, waits out the Retry-After and gets through.
    patient = PartnerClient(url, partner.app_key, partner.secret)
    assert all(patient.get(path, limit=1) is not None for _ in range(3))


def test_the_cli_prints_the_answer_as_json(url: str, admin: Client) -> None:
    partner, _ = register(admin, url, "CLI", ["products:read"])
    command = [sys.executable, "-m", "clients.shop_partner", "--url", url, "--app-key", partner.app_key]
    env = {**platform_env(), "SHOP_APP_SECRET": partner.secret}
    done = subprocess.run(
        [*command, "GET", "/partner/v1/products", "limit=1"],
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr.decode()
    page = json.loads(done.stdout)
    assert len(page["items"]) == 1 and "next_cursor" in page
    failed = subprocess.run(
        [*command, "--secret", "sk_wrong", "GET", "/partner/v1/products"],
        check=False,
        cwd=REPO,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert failed.returncode == 1 and json.loads(failed.stderr)["error"]["code"] == "UNAUTHORIZED"
