from tests.conftest import SHOPPER
from tests.integration.checkout.conftest import checkout


def test_add_to_cart_and_check_out(api, product):
    p = product({"SKU-A": 5000, "SKU-B": 12000}, stock=3)
    r = api("POST", "/cart/items", {"sku": "SKU-A", "quantity": 2}, user=SHOPPER)
    assert r.status == 200, r.body
    r = api("POST", "/cart/items", {"sku": "SKU-B", "quantity": 1}, user=SHOPPER)
    assert r.status == 200, r.body
    cart = api("GET", "/cart", user=SHOPPER).body
    print(cart)
    assert cart["totals"]["subtotal"]["amount"] == 22000
    r = checkout(api, SHOPPER)
    assert r.status == 201, r.body
    order = r.body
    assert order["status"] == "pending_payment"
    inv = api("GET", "/admin/inventory/SKU-A", user=__import__("tests.conftest").conftest.ADMIN).body
    assert inv == {"sku": "SKU-A", "sellable": 1, "reserved": 2, "in_promotions": 0}
    assert api("GET", "/cart", user=SHOPPER).body["lines"] == []
    r = api("POST", f"/orders/{order['order_id']}/cancel", {}, user=SHOPPER)
    assert r.status == 200, r.body
    assert r.body["status"] == "cancelled"
    inv = api("GET", "/admin/inventory/SKU-A", user=__import__("tests.conftest").conftest.ADMIN).body
    assert inv["sellable"] == 3
    assert p
