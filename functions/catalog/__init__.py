"""Catalogue: products with variants (SKUs), the category tree, brands and product images.

Layers: ``handlers/`` (one module per route: parse, authorise, call the service, shape the response) ->
``service.py`` (use cases) -> ``model.py`` (entities and rules, no I/O) and ``repository.py`` (DynamoDB; the key
design and access patterns are documented there). ``events.py`` holds what the context publishes.

Access patterns (all on the ``catalog`` table): product page = 1 GetItem; listing by category/brand/price in any
sort order = 1 Query on the ``by_price`` or ``by_newest`` index; categories = 1 Query; brands = 1 Query; a product
change = 1 BatchGetItem (category + brand) + 1 TransactWriteItems (product, SKU guards, listing rows, outbox event).

Invariants: SKUs are unique across the shop; a stale ``version`` never overwrites a newer edit; only active products
are visible to shoppers; every change and its event are written in one transaction (transactional outbox).
"""
