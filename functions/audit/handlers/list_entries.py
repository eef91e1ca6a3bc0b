"""GET /admin/audit: audit entries, newest first, by ``actor`` (``user:<sub>``, ``app:<key>``), ``resource``
(``products/<id>``) and time (``from``/``to``, ISO-8601, default the last 7 days, at most 92). Admins only."""

from datetime import datetime
from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.audit.manifest import MANIFEST
from functions.audit.model import AuditPage
from functions.audit.service import service
from functions.shared.errors import Unprocessable
from functions.shared.http import entrypoint, make_resolver

app = make_resolver(MANIFEST)

ACTOR_PATTERN = r"^((user|app):[^\s]{1,190}|anonymous)$"


def _moment(raw: str | None, name: str) -> datetime | None:
    if raw is None:
        return None
    try:
        return datetime.fromisoformat(raw.replace("Z", "+00:00"))
    except ValueError:
        raise Unprocessable(
            f"{name} is not an ISO-8601 time", code="VALIDATION_FAILED", details=[{"field": name}]
        ) from None


@app.get("/admin/audit", summary="Audit log")
def list_audit_entries(
    actor: Annotated[
        str | None, Query(pattern=ACTOR_PATTERN, max_length=200, description="user:<sub>, app:<app key> or anonymous")
    ] = None,
    resource: Annotated[
        str | None, Query(min_length=1, max_length=300, description="<collection>/<id>, e.g. products/prd_01J...")
    ] = None,
    from_: Annotated[str | None, Query(alias="from", max_length=40, description="ISO-8601, inclusive")] = None,
    to: Annotated[str | None, Query(max_length=40, description="ISO-8601, inclusive; default now")] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> AuditPage:
    return service().entries(actor, resource, _moment(from_, "from"), _moment(to, "to"), limit, cursor)


handler = entrypoint(app)
