"""GET /partner/v1/products: the published catalogue for partner apps (scope ``products:read``), oldest change first,
paged, with ``updated_since``; changes of the last seconds are held back until they settle. Drafts and archived
products are never in it; only a signed app with the scope gets through."""

from datetime import UTC, datetime, timedelta

import pytest

from functions.catalog.service import FEED_SETTLE_S
from tests.conftest import ADMIN, PARTNER_APP, App
from tests.integration.catalog.conftest import variant

PATH = "/partner/v1/products"


class Clock:
    def __init__(self) -> None:
        self.now = datetime.now(UTC)

    def __call__(self) -> datetime:
        return self.now

    def tick(self, seconds: float = 1) -> None:
        self.now += timedelta(seconds=seconds)

    def settle(self) -> None:
        self.tick(FEED_SETTLE_S + 1)


@pytest.fixture(autouse=True)
def clock(monkeypatch):
    """The catalogue's clock: product changes are stamped with it, and the feed's horizon follows it."""
    clock = Clock()
    monkeypatch.setattr("functions.catalog.service.utcnow", clock)
    return clock


def feed(api, app=PARTNER_APP, **query):
    r = api("GET", PATH, query=query, app=app)
    assert r.status == 200, r.body
    return r.body


def ids(page):
    return [i["product_id"] for i in page["items"]]


def everything(api, **query):
    items, cursor = [], None
    while True:
        page = feed(api, **query, **({"cursor": cursor} if cursor else {}))
        items += page["items"]
        cursor = page["next_cursor"]
        if cursor is None:
            return items


def test_a_partner_gets_the_active_products_with_variants_prices_brand_category_and_images(
    api, shop, new_product, clock
):
    phone = new_product(
        variants=[
            variant("P-BLK", 499900, options={"colour": "black"}, weight_grams=200),
            variant(
                "P-WHT", 509900, options={"colour": "white"}, compare_at_price={"amount": 549900, "currency": "CNY"}
            ),
        ]
    )
    clock.tick()
    image = api("POST", f"/admin/products/{phone['product_id']}/images", {"alt": "front"}, user=ADMIN)
    assert image.status == 201, image.body
    new_product(name="Draft phone", status="draft")
    clock.settle()

    (item,) = feed(api)["items"]

    assert item["product_id"] == phone["product_id"]
    assert item["brand"] == {"brand_id": shop["huawei"], "name": "华为 Huawei"}
    assert item["category"]["category_id"] == shop["phones"]
    assert item["category"]["path"] == [shop["electronics"], shop["phones"]]
    assert item["price"] == {"amount": 499900, "currency": "CNY"}
    assert [(v["sku"], v["price"]["amount"], v["options"]) for v in item["variants"]] == [
        ("P-BLK", 499900, {"colour": "black"}),
        ("P-WHT", 509900, {"colour": "white"}),
    ]
    assert item["variants"][1]["compare_at_price"] == {"amount": 549900, "currency": "CNY"}
    assert item["images"] == [{"url": image.body["image"]["url"], "alt": "front"}]
    assert item["updated_at"] > phone["updated_at"]  # the image was a change
    assert "status" not in item and "version" not in item


def test_pages_follow_the_change_order_without_gaps_or_repeats_and_end_without_a_cursor(api, shop, new_product, clock):
    made = []
    for i in range(5):
        made.append(new_product(name=f"Phone {i}")["product_id"])
        clock.tick()
    clock.settle()

    first = feed(api, limit=2)
    assert ids(first) == made[:2] and first["next_cursor"]
    assert [i["product_id"] for i in everything(api, limit=2)] == made
    assert feed(api, limit=5)["next_cursor"] is None


def test_updated_since_returns_what_changed_from_then_on_and_archived_products_leave(api, shop, new_product, clock):
    old, changed, archived = (new_product(name=f"Phone {i}") for i in range(3))
    clock.tick()
    body = {k: changed[k] for k in ("description", "brand_id", "category_id", "status", "version")}
    body["name"] = "Phone renamed"
    body["variants"] = [{k: v[k] for k in ("sku", "price", "options")} for v in changed["variants"]]
    updated = api("PUT", f"/admin/products/{changed['product_id']}", body, user=ADMIN)
    assert updated.status == 200, updated.body
    assert api("DELETE", f"/admin/products/{archived['product_id']}", user=ADMIN).status == 200
    clock.settle()

    assert ids(feed(api)) == [old["product_id"], changed["product_id"]]
    since = feed(api, updated_since=updated.body["updated_at"])["items"]
    assert [(i["product_id"], i["name"]) for i in since] == [(changed["product_id"], "Phone renamed")]
    assert feed(api, updated_since="2100-01-01T00:00:00+08:00")["items"] == []


def test_changes_of_the_last_seconds_are_held_back_until_they_settle(api, shop, new_product, clock):
    product = new_product()
    clock.tick(FEED_SETTLE_S - 1)

    early = feed(api)
    assert early["items"] == [] and early["next_cursor"] is None
    assert datetime.fromisoformat(early["settled_until"]) == clock.now - timedelta(seconds=FEED_SETTLE_S)
    assert feed(api, updated_since=product["updated_at"])["items"] == []
    clock.tick(2)
    assert ids(feed(api, updated_since=product["updated_at"])) == [product["product_id"]]


def test_a_cursor_belongs_to_its_query(api, shop, new_product, clock):
    for i in range(3):
        new_product(name=f"Phone {i}")
    clock.settle()
    cursor = feed(api, limit=1)["next_cursor"]
    r = api("GET", PATH, query={"limit": 1, "cursor": cursor, "updated_since": "2020-01-01T00:00:00Z"}, app=PARTNER_APP)
    assert r.status == 400 and r.body["error"]["code"] == "INVALID_CURSOR"


def test_bad_parameters_are_422(api):
    for query in (
        {"limit": 0},
        {"limit": 101},
        {"limit": "ten"},
        {"updated_since": "yesterday"},
        {"updated_since": "2024-05-01T10:00:00"},  # no time zone: ambiguous
        {"updated_since": "0001-01-01T00:00:00+08:00"},
        {"cursor": "x" * 3000},
    ):
        r = api("GET", PATH, query=query, app=PARTNER_APP)
        assert r.status == 422, (query, r.body)
        assert r.body["error"]["code"] == "VALIDATION_FAILED", query


def test_only_a_signed_app_with_products_read_gets_in(api, shop, new_product):
    new_product()
    assert api("GET", PATH).status == 401
    # A user's token is no signature: 401, as API Gateway's partner authorizer answers (tests/integration/
    # test_role_matrix.py).
    assert api("GET", PATH, user=ADMIN).status == 401
    no_scope = api("GET", PATH, app=App("app_01M8SXN5K8V9NXKHF8QBX9NOPE", ("orders:read",)))
    assert no_scope.status == 403 and no_scope.body["error"]["code"] == "FORBIDDEN"
