import pytest

from functions.catalog.events import ProductArchived, ProductCreated, ProductUpdated
from functions.catalog.model import BrandInput, CategoryInput, ProductUpdate
from functions.catalog.service import ListingFilters
from functions.shared.errors import BadRequest, Conflict, NotFound, Unprocessable
from tests.unit.catalog.conftest import product_input


def test_creating_a_product_publishes_product_created_with_the_snapshot(svc, repo, shop):
    product = svc.create_product(product_input(shop["phones"], shop["huawei"]))
    assert product.version == 1
    assert product.category_path == [shop["electronics"].category_id, shop["phones"].category_id]
    assert product.brand_name == "华为 Huawei"
    assert isinstance(repo.events[-1], ProductCreated) and repo.events[-1].product == product


def test_a_product_in_a_sub_category_is_listed_under_its_parent(svc, shop):
    phone = svc.create_product(product_input(shop["phones"], shop["huawei"], sku="P1"))
    headset = svc.create_product(product_input(shop["audio"], shop["sony"], sku="A1"))
    parent = svc.list_products(ListingFilters(category=shop["electronics"].category_id))
    assert {i.product_id for i in parent.items} == {phone.product_id, headset.product_id}
    phones = svc.list_products(ListingFilters(category=shop["phones"].category_id))
    assert [i.product_id for i in phones.items] == [phone.product_id]


def test_brand_and_price_filters_combine_with_category(svc, shop):
    svc.create_product(product_input(shop["phones"], shop["huawei"], sku="P1", price=100))
    cheap_sony = svc.create_product(product_input(shop["phones"], shop["sony"], sku="P2", price=200))
    svc.create_product(product_input(shop["phones"], shop["sony"], sku="P3", price=900))
    page = svc.list_products(
        ListingFilters(category=shop["phones"].category_id, brand=shop["sony"].brand_id, max_price=500)
    )
    assert [i.product_id for i in page.items] == [cheap_sony.product_id]


def test_sorting_by_price_both_ways(svc, shop):
    for i, price in enumerate([300, 100, 200]):
        svc.create_product(product_input(shop["phones"], shop["huawei"], sku=f"P{i}", price=price))
    asc = svc.list_products(ListingFilters(sort="price_asc"))
    desc = svc.list_products(ListingFilters(sort="price_desc"))
    assert [i.price.amount for i in asc.items] == [100, 200, 300]
    assert [i.price.amount for i in desc.items] == [300, 200, 100]


def test_drafts_are_invisible_to_shoppers(svc, shop):
    draft = svc.create_product(product_input(shop["phones"], shop["huawei"], status="draft"))
    assert svc.list_products(ListingFilters()).items == []
    with pytest.raises(NotFound):
        svc.get_product(draft.product_id)
    assert svc.admin_get_product(draft.product_id).status == "draft"


def test_an_update_at_a_stale_version_is_a_conflict_and_changes_nothing(svc, repo, shop):
    product = svc.create_product(product_input(shop["phones"], shop["huawei"]))
    data = product_input(shop["phones"], shop["huawei"], name="Renamed").model_dump()
    svc.update_product(product.product_id, ProductUpdate.model_validate({**data, "version": 1}))
    with pytest.raises(Conflict):
        svc.update_product(product.product_id, ProductUpdate.model_validate({**data, "name": "Again", "version": 1}))
    assert repo.products[product.product_id].name == "Renamed"
    assert repo.products[product.product_id].version == 2
    assert isinstance(repo.events[-1], ProductUpdated)


def test_archiving_hides_the_product_publishes_once_and_is_idempotent(svc, repo, shop):
    product = svc.create_product(product_input(shop["phones"], shop["huawei"]))
    svc.archive_product(product.product_id)
    svc.archive_product(product.product_id)
    assert [type(e) for e in repo.events] == [ProductCreated, ProductArchived]
    assert svc.list_products(ListingFilters()).items == []
    with pytest.raises(NotFound):
        svc.get_product(product.product_id)


def test_a_sku_belongs_to_one_product_even_after_archiving(svc, shop):
    first = svc.create_product(product_input(shop["phones"], shop["huawei"], sku="SAME"))
    svc.archive_product(first.product_id)
    with pytest.raises(Conflict):
        svc.create_product(product_input(shop["phones"], shop["huawei"], sku="same"))


def test_unknown_category_or_brand_is_refused_on_create(svc, shop):
    ghost = shop["phones"].model_copy(update={"category_id": "cat_ghost"})
    with pytest.raises(Unprocessable):
        svc.create_product(product_input(ghost, shop["huawei"]))


def test_prices_must_be_in_the_shop_currency(svc, shop):
    data = product_input(
        shop["phones"], shop["huawei"], variants=[{"sku": "U", "price": {"amount": 1, "currency": "USD"}}]
    )
    with pytest.raises(Unprocessable, match="shop currency"):
        svc.create_product(data)


def test_listing_with_an_unknown_category_is_not_found_but_an_empty_category_is_empty(svc, shop):
    with pytest.raises(NotFound):
        svc.list_products(ListingFilters(category="cat_unknown"))
    assert svc.list_products(ListingFilters(category=shop["audio"].category_id)).items == []


def test_a_reversed_price_range_is_refused(svc):
    with pytest.raises(Unprocessable):
        svc.list_products(ListingFilters(min_price=500, max_price=100))


def test_paging_walks_every_product_once_and_cursors_are_bound_to_their_query(svc, shop):
    ids = {svc.create_product(product_input(shop["phones"], shop["huawei"], sku=f"P{i}")).product_id for i in range(7)}
    seen, cursor = [], None
    while True:
        page = svc.list_products(ListingFilters(limit=3, cursor=cursor))
        seen += [i.product_id for i in page.items]
        cursor = page.next_cursor
        if cursor is None:
            break
        with pytest.raises(BadRequest):
            svc.list_products(ListingFilters(limit=3, cursor=cursor, sort="price_asc"))
    assert sorted(seen) == sorted(ids)


def test_category_and_brand_names_are_unique(svc):
    svc.create_brand(BrandInput(name="Apple"))
    with pytest.raises(Conflict):
        svc.create_brand(BrandInput(name="APPLE"))
    root = svc.create_category(CategoryInput(name="Books"))
    with pytest.raises(Conflict):
        svc.create_category(CategoryInput(name="books"))
    svc.create_category(CategoryInput(name="Books", parent_id=root.category_id))  # another level is fine


def test_categories_nest_at_most_four_levels(svc):
    parent = None
    for level in range(4):
        parent = svc.create_category(CategoryInput(name=f"L{level}", parent_id=parent.category_id if parent else None))
    with pytest.raises(Unprocessable):
        svc.create_category(CategoryInput(name="L4", parent_id=parent.category_id))


def test_the_category_tree_nests_children(svc, shop):
    tree = svc.category_tree()
    assert [n.name for n in tree] == ["电子 Electronics"]
    assert sorted(c.name for c in tree[0].children) == ["手机 Phones", "音频 Audio"]


def test_a_sku_dropped_from_a_product_stays_reserved_to_it(svc, shop):
    first = svc.create_product(product_input(shop["phones"], shop["huawei"], sku="KEEP-A"))
    data = product_input(shop["phones"], shop["huawei"], sku="KEEP-B").model_dump()
    svc.update_product(first.product_id, ProductUpdate.model_validate({**data, "version": 1}))
    with pytest.raises(Conflict):
        svc.create_product(product_input(shop["phones"], shop["huawei"], sku="KEEP-A"))
    back = product_input(shop["phones"], shop["huawei"], sku="KEEP-A").model_dump()
    assert svc.update_product(first.product_id, ProductUpdate.model_validate({**back, "version": 2})).version == 3
