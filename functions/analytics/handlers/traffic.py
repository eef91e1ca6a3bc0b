"""GET /admin/analytics/traffic: product views and searches per day, the period's most searched queries and the
queries that found nothing. Analysts and admins."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.analytics.handlers._params import From, To
from functions.analytics.manifest import MANIFEST
from functions.analytics.model import TrafficReport
from functions.analytics.service import service
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)


@app.get("/admin/analytics/traffic", summary="Traffic report")
def traffic_report(
    from_: From = None,
    to: To = None,
    limit: Annotated[int, Query(ge=1, le=100, description="Queries in each list")] = 20,
) -> TrafficReport:
    return service().traffic(from_, to, limit)


handler = entrypoint(app)
