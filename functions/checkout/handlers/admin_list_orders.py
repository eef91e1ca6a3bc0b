"""GET /admin/orders: orders by status and creation time (``from``/``to``, default the last 90 days), newest first.

With ``status``: one Query on ``by_status``; without: the month partitions of ``by_kind``, newest first."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.manifest import MANIFEST
from functions.checkout.model import OrderPage, OrderStatus, check_time
from functions.checkout.service import service
from functions.shared.errors import Unprocessable
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


def _moment(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        moment = datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(f"{name} is not an ISO-8601 time", code="VALIDATION_FAILED") from None
    try:
        return check_time(moment, name)
    except ValueError as exc:
        raise Unprocessable(str(exc), code="VALIDATION_FAILED") from None


@app.get("/admin/orders", summary="Orders (back office)")
def admin_list_orders(
    status: Annotated[OrderStatus | None, Query()] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO-8601, inclusive")] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO-8601, inclusive")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> OrderPage:
    return service().admin_orders(status, _moment(from_, "from"), _moment(to, "to"), limit, cursor)


handler = entrypoint(app)
