"""GET /partner/v1/orders: the order change feed for partner apps (scope ``orders:read``), for incremental sync.

Orders changed at or after ``updated_since``, oldest change first (``updated_at``, then ``order_id``); an order
changed again later comes again later with its new state. Changes of the last few seconds are held back until they
have settled (``settled_until``), so following the cursors never misses one. Personal data is masked. Index and
rules: functions.checkout.feed; shape: functions.checkout.partner; contract: docs/checkout.md."""

from typing import Annotated

from aws_lambda_powertools.event_handler.openapi.params import Query

from functions.checkout.feed import MAX_AGE_DAYS, SETTLE_S
from functions.checkout.manifest import MANIFEST
from functions.checkout.partner import PartnerOrderPage
from functions.checkout.service import service
from functions.shared.http import current_auth, entrypoint, make_resolver

app = make_resolver(MANIFEST)

DESCRIPTION = f"""Orders changed at or after `updated_since`, oldest change first (`updated_at`, then `order_id`),
each in its current state with personal data masked. An order that changes again later appears again later in the
feed with its new state: upsert by `order_id`, keeping the highest `version`.

Changes of the last {SETTLE_S} seconds are not returned yet (`settled_until` says up to when the feed is complete), so
an index entry that shows up a moment late is never skipped.

Sync contract: start with `updated_since` (ISO-8601 with a zone, not in the future, at most {MAX_AGE_DAYS} days
back). Every page has `resume_cursor`: store it. While `next_cursor` is not null, fetch it at once (a page may be
empty and still have one, after days without changes). When it is null you are caught up: later, call again with
`cursor=<resume_cursor>` (`updated_since` is then ignored) and you get exactly the changes since. A cursor resumes for
{MAX_AGE_DAYS} days."""


@app.get("/partner/v1/orders", summary="Order change feed (partner)", description=DESCRIPTION)
def partner_list_orders(
    updated_since: Annotated[
        str | None, Query(max_length=40, description="ISO-8601, inclusive; required unless cursor is sent")
    ] = None,
    limit: Annotated[int, Query(ge=1, le=100)] = 20,
    cursor: Annotated[str | None, Query(max_length=2048)] = None,
) -> PartnerOrderPage:
    return service().partner_orders(str(current_auth(app).app_key), updated_since, limit, cursor)


handler = entrypoint(app)
