"""GET /admin/inventory/{sku}/movements: the SKU's stock per warehouse (on hand, allocated, available) and its
ledger, newest first; the ledger's deltas add up to on hand."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Path, Query
from pydantic import BaseModel

from functions.shared.http import entrypoint, make_resolver
from functions.shipping.manifest import MANIFEST
from functions.shipping.model import SKU_PATTERN, LedgerEntry, StockView
from functions.shipping.service import service

app = make_resolver(MANIFEST)


class StockLedger(BaseModel):
    stock: StockView
    items: list[LedgerEntry]
    next_cursor: str | None = None


@app.get("/admin/inventory/<sku>/movements", summary="A SKU's warehouse stock and ledger")
def list_movements(
    sku: Annotated[str, Path(pattern=SKU_PATTERN)],
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> StockLedger:
    svc = service()
    page = svc.ledger(sku, limit, cursor)
    return StockLedger(stock=svc.stock_view(sku), items=page.items, next_cursor=page.next_cursor)


handler = entrypoint(app)
