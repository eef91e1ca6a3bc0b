"""Which calls are recorded: every audited route (back-office and partner writes, whatever answer they get, refusals
by the HTTP layer included) leaves exactly one record naming the route, the caller and the result; no other route
leaves any. The route lists come from the manifest, so a new route is covered the day it is declared."""

from __future__ import annotations

import re
from typing import Any

import pytest

from functions.audit.events import ActionRecorded
from functions.manifest import PLATFORM
from functions.shared.audit import outcome_of
from functions.shared.http import MAX_BODY_BYTES
from functions.shared.wiring import PUBLIC, Route, is_staff_only
from local.resources import Created
from tests.conftest import ADMIN, PARTNER_APP, SHOPPER, Api, Result
from tests.integration.test_role_matrix import concrete

AUDITED = [r for r in PLATFORM.routes if r.audited]
NOT_AUDITED = [r for r in PLATFORM.routes if not r.audited]


def call(api: Api, route: Route, **kwargs: Any) -> Result:
    """The route called by a caller it lets in: a partner app, an admin, or else a shopper (or nobody)."""
    body = {} if route.method in ("POST", "PUT", "PATCH") else None
    if route.is_partner:
        return api(route.method, concrete(route), body, app=PARTNER_APP, **kwargs)
    if is_staff_only(route.auth):
        return api(route.method, concrete(route), body, user=ADMIN, **kwargs)
    return api(route.method, concrete(route), body, user=None if route.auth is PUBLIC else SHOPPER, **kwargs)


def test_the_manifest_has_back_office_and_partner_writes_to_audit() -> None:
    assert any(r.path.startswith("/admin/") for r in AUDITED)
    assert all(r.method != "GET" for r in AUDITED)


@pytest.mark.parametrize("route", AUDITED, ids=[r.name for r in AUDITED])
def test_every_audited_route_records_the_call(
    module_aws: Created, published: list[dict[str, Any]], route: Route
) -> None:
    r = call(Api(), route)
    assert len(published) == 1, f"{route.name} answered {r.status} and recorded {len(published)} entries"
    record = ActionRecorded.model_validate(published[0])
    assert (record.action, record.method, record.path) == (route.name, route.method, concrete(route))
    expected_actor = f"app:{PARTNER_APP.app_key}" if route.is_partner else f"user:{ADMIN.sub}"
    assert record.actor == expected_actor
    assert record.roles == (["partner"] if route.is_partner else sorted(ADMIN.groups))
    assert record.result.status == r.status
    assert record.outcome == outcome_of(r.status)
    if r.status >= 400:
        assert record.result.error_code == r.body["error"]["code"]
    collection = re.sub(r"^/(admin|partner/v1)/", "", route.path).split("/")[0]
    assert record.resource.split("/")[0] == collection


def test_calls_the_http_layer_refuses_are_recorded_too(module_aws: Created, published: list[dict[str, Any]]) -> None:
    api = Api()
    assert api("POST", "/admin/brands", {"name": "x"}).status == 401
    assert api("POST", "/admin/brands", {"name": "x"}, user=SHOPPER).status == 403
    assert api("POST", "/admin/brands", raw_body="x" * (MAX_BODY_BYTES + 1), user=ADMIN).status == 413
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    assert api("POST", "/admin/brands", raw_body="name=x&password=p", user=ADMIN, headers=form).status == 415
    got = [(p["actor"], p["result"]["status"], p["result"]["error_code"], p["outcome"]) for p in published]
    assert got == [
        ("anonymous", 401, "UNAUTHORIZED", "refused"),
        (f"user:{SHOPPER.sub}", 403, "FORBIDDEN", "refused"),
        (f"user:{ADMIN.sub}", 413, "PAYLOAD_TOO_LARGE", "refused"),
        (f"user:{ADMIN.sub}", 415, "UNSUPPORTED_MEDIA_TYPE", "refused"),
    ]
    assert "password=p" not in str(published)


def test_reads_and_shopper_calls_record_nothing(module_aws: Created, published: list[dict[str, Any]]) -> None:
    assert any(r.method == "GET" for r in NOT_AUDITED) and any(r.method == "POST" for r in NOT_AUDITED)
    api = Api()
    answered = {route.name: call(api, route).status for route in NOT_AUDITED}
    assert published == [], f"recorded: {[p['action'] for p in published]} (answers {answered})"
