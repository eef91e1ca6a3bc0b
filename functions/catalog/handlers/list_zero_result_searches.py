"""GET /admin/search/zero-results?date=YYYY-MM-DD: the queries that found nothing on a day (UTC), with how often
they were searched, most searched first: what shoppers want and the shop does not have (or cannot find). One Query
on ``ZERO#<date>`` (functions.catalog.search.analytics); the feed is asynchronous, so the last seconds may be missing.
"""

from datetime import date
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query
from pydantic import BaseModel, Field

from functions.catalog.manifest import MANIFEST
from functions.catalog.search.analytics import SearchLog
from functions.shared.aws import client
from functions.shared.http import entrypoint, make_resolver
from functions.shared.settings import table_name

app = make_resolver(MANIFEST)


class ZeroResultQuery(BaseModel):
    q: str = Field(description="The query as first typed that day (queries are grouped case- and width-insensitively)")
    count: int = Field(description="Searches for it that day that found nothing")


class ZeroResultReport(BaseModel):
    date: date
    items: list[ZeroResultQuery]
    total: int = Field(description="Distinct zero-result queries that day (items holds at most limit of them)")


@app.get("/admin/search/zero-results", summary="Queries that found nothing on a day")
def list_zero_result_searches(
    day: Annotated[date, Query(alias="date", description="UTC day, YYYY-MM-DD")],
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> ZeroResultReport:
    found = SearchLog(client("dynamodb"), table_name("search")).zero_results(day)
    items = [ZeroResultQuery(q=q, count=n) for q, n in found[:limit]]
    return ZeroResultReport(date=day, items=items, total=len(found))


handler = entrypoint(app)
