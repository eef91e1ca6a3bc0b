import pytest

from functions.catalog.model import BrandInput, CategoryInput, ProductInput
from functions.catalog.service import CatalogService
from tests.unit.catalog.fakes import FakeCatalogRepository


@pytest.fixture(autouse=True)
def signing_key(cursor_key):
    return cursor_key


@pytest.fixture
def repo() -> FakeCatalogRepository:
    return FakeCatalogRepository()


@pytest.fixture
def svc(repo) -> CatalogService:
    return CatalogService(repo)


@pytest.fixture
def shop(svc):
    """A small tree: Electronics > Phones, Electronics > Audio; brands Huawei and Sony."""
    electronics = svc.create_category(CategoryInput(name="电子 Electronics"))
    phones = svc.create_category(CategoryInput(name="手机 Phones", parent_id=electronics.category_id))
    audio = svc.create_category(CategoryInput(name="音频 Audio", parent_id=electronics.category_id))
    huawei = svc.create_brand(BrandInput(name="华为 Huawei"))
    sony = svc.create_brand(BrandInput(name="Sony"))
    return {"electronics": electronics, "phones": phones, "audio": audio, "huawei": huawei, "sony": sony}


def product_input(category, brand, sku="SKU-1", price=100, status="active", **extra) -> ProductInput:
    variants = extra.pop("variants", None) or [{"sku": sku, "price": {"amount": price, "currency": "CNY"}}]
    return ProductInput.model_validate(
        {
            "name": extra.pop("name", f"Product {sku}"),
            "brand_id": brand.brand_id,
            "category_id": category.category_id,
            "status": status,
            "variants": variants,
            **extra,
        }
    )
