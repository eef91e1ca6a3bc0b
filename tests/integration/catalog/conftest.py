import pytest

from tests.conftest import ADMIN


def variant(sku, amount, **extra):
    return {"sku": sku, "price": {"amount": amount, "currency": "CNY"}, **extra}


@pytest.fixture
def shop(api):
    """Electronics > Phones and Electronics > Audio, brands Huawei and Sony, created through the admin API."""

    def post(path, body):
        r = api("POST", path, body, user=ADMIN)
        assert r.status == 201, r.body
        return r.body

    electronics = post("/admin/categories", {"name": "电子 Electronics"})
    phones = post("/admin/categories", {"name": "手机 Phones", "parent_id": electronics["category_id"]})
    audio = post("/admin/categories", {"name": "音频 Audio", "parent_id": electronics["category_id"]})
    huawei = post("/admin/brands", {"name": "华为 Huawei"})
    sony = post("/admin/brands", {"name": "Sony"})
    return {
        "electronics": electronics["category_id"],
        "phones": phones["category_id"],
        "audio": audio["category_id"],
        "huawei": huawei["brand_id"],
        "sony": sony["brand_id"],
    }


@pytest.fixture
def new_product(api, shop):
    made = []

    def create(name="华为智能手机 P60", category="phones", brand="huawei", variants=None, status="active", **extra):
        body = {
            "name": name,
            "description": "A phone",
            "brand_id": shop[brand],
            "category_id": shop[category],
            "status": status,
            "variants": variants
            or [
                variant(f"SKU-{len(made)}-BLK", 499900, options={"colour": "black"}),
                variant(f"SKU-{len(made)}-WHT", 509900, options={"colour": "white"}),
            ],
            **extra,
        }
        r = api("POST", "/admin/products", body, user=ADMIN)
        assert r.status == 201, r.body
        made.append(r.body)
        return r.body

    return create
